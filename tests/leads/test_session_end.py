"""A session's end closes its sockets: logout (that session's), password change and deactivation
(every socket of the user, and its API tokens). Run on the production pub/sub Redis layer."""

from http import HTTPStatus

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import make_agent
from tests.helpers import dashboard_socket, logged_in_browser

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
]

CLOSE_CEILING = 1  # seconds: the promise is "within a second"
ABSENCE_WINDOW = 0.3
NEW_PASSWORD = "a-new-Passw0rd-nobody-guesses"


@pytest.fixture(autouse=True)
def pubsub_layer(settings) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [django_settings.REDIS_URL], "prefix": "crokodial-test"},
        }
    }
    assert isinstance(get_channel_layer(), RedisPubSubChannelLayer)


async def closed_with(communicator: WebsocketCommunicator) -> int | None:
    message = await communicator.receive_output(timeout=CLOSE_CEILING)
    assert message["type"] == "websocket.close", message
    return message.get("code")


async def still_open(communicator: WebsocketCommunicator) -> bool:
    await communicator.send_json_to({"type": "ping"})
    return await communicator.receive_json_from(timeout=3) == {"type": "pong"}


async def test_logout_closes_the_sockets_of_that_session_only(agent):
    desk = await sync_to_async(logged_in_browser)(agent)
    laptop = await sync_to_async(logged_in_browser)(agent)

    async with (
        dashboard_socket(desk) as desk_tab,
        dashboard_socket(desk) as desk_other_tab,
        dashboard_socket(laptop) as other,
    ):
        response = await sync_to_async(desk.post)("/accounts/logout/")
        assert response.status_code == HTTPStatus.FOUND

        assert await closed_with(desk_tab) == 4401
        assert await closed_with(desk_other_tab) == 4401
        assert await still_open(other)


def set_password(user) -> None:
    user.set_password(NEW_PASSWORD)
    user.save()


def change_in_admin(user) -> None:
    admin = Client()
    admin.force_login(make_agent("root", is_admin=True))
    response = admin.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == HTTPStatus.FOUND, response.content[:2000]


def change_with_command(user, monkeypatch) -> None:
    from django.contrib.auth.management.commands import changepassword

    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": NEW_PASSWORD)
    call_command("changepassword", user.username)


def deactivate(user) -> None:
    user.is_active = False
    user.save()


ENDINGS = {
    "set_password": lambda user, monkeypatch: set_password(user),
    "admin": lambda user, monkeypatch: change_in_admin(user),
    "changepassword": change_with_command,
    "deactivation": lambda user, monkeypatch: deactivate(user),
}


@pytest.mark.parametrize("ending", ENDINGS)
async def test_password_change_or_deactivation_closes_every_socket_of_the_user(
    agent, other_agent, ending, monkeypatch
):
    desk = await sync_to_async(logged_in_browser)(agent)
    laptop = await sync_to_async(logged_in_browser)(agent)
    bystander = await sync_to_async(logged_in_browser)(other_agent)

    async with (
        dashboard_socket(desk) as first,
        dashboard_socket(laptop) as second,
        dashboard_socket(bystander) as other,
    ):
        user = await get_user_model().objects.aget(pk=agent.pk)
        await sync_to_async(ENDINGS[ending])(user, monkeypatch)

        assert await closed_with(first) == 4401
        assert await closed_with(second) == 4401
        assert await still_open(other)


@pytest.mark.parametrize("ending", ENDINGS)
async def test_password_change_or_deactivation_ends_the_api_token(agent, ending, monkeypatch):
    token = await Token.objects.acreate(user=agent)
    api = APIClient(headers={"Authorization": f"Token {token.key}"})
    assert (await sync_to_async(api.get)("/api/leads")).status_code == HTTPStatus.OK

    user = await get_user_model().objects.aget(pk=agent.pk)
    await sync_to_async(ENDINGS[ending])(user, monkeypatch)

    assert (await sync_to_async(api.get)("/api/leads")).status_code == HTTPStatus.UNAUTHORIZED
    assert not await Token.objects.filter(user=agent).aexists()


async def test_a_login_that_only_updates_last_login_closes_nothing(agent):
    desk = await sync_to_async(logged_in_browser)(agent)

    async with dashboard_socket(desk) as tab:
        await sync_to_async(logged_in_browser)(agent)

        assert await tab.receive_nothing(timeout=ABSENCE_WINDOW)
        assert await still_open(tab)
