"""The fast path's outage copy of credentials (docs/failures.md): kept for valid pairs only,
deleted as soon as a pair is retired by rotation, by the admin, or refused by the database."""

import pytest
from django.core.cache import cache

from webhooks.models import NextGenCredential
from webhooks.services import (
    _last_known_good,
    _last_known_good_key,
    api_key_hash,
    nextgen_credential_issue,
    nextgen_credential_tenant_cached,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_copies():
    _last_known_good.clear()
    yield
    _last_known_good.clear()


def _copy(sid: str, api_key: str) -> int | None:
    return cache.get(_last_known_good_key(sid, api_key_hash(api_key)))


def test_a_confirmed_pair_is_copied_under_a_digest_not_the_key(agent):
    credential, api_key = nextgen_credential_issue(tenant=agent)

    assert nextgen_credential_tenant_cached(sid=credential.sid, api_key=api_key) == agent.pk

    assert _copy(credential.sid, api_key) == agent.pk
    assert api_key not in _last_known_good_key(credential.sid, api_key_hash(api_key))


def test_a_wrong_key_leaves_no_copy(agent):
    credential, _ = nextgen_credential_issue(tenant=agent)

    assert nextgen_credential_tenant_cached(sid=credential.sid, api_key="wrong") is None

    assert _copy(credential.sid, "wrong") is None


def test_rotation_deletes_the_old_pairs_copy(agent, django_capture_on_commit_callbacks):
    credential, api_key = nextgen_credential_issue(tenant=agent)
    nextgen_credential_tenant_cached(sid=credential.sid, api_key=api_key)

    with django_capture_on_commit_callbacks(execute=True):
        nextgen_credential_issue(tenant=agent, rotate=True)

    assert _copy(credential.sid, api_key) is None


def test_deactivating_in_the_admin_deletes_the_copy(
    agent, client, django_capture_on_commit_callbacks
):
    from tests.factories import make_agent

    credential, api_key = nextgen_credential_issue(tenant=agent)
    nextgen_credential_tenant_cached(sid=credential.sid, api_key=api_key)
    client.force_login(make_agent("root", is_admin=True))

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/webhooks/nextgencredential/{credential.pk}/change/", {})

    assert NextGenCredential.objects.get(pk=credential.pk).is_active is False
    assert _copy(credential.sid, api_key) is None
