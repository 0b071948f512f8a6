"""CONTRACT §7: a listed phone's lead is stored flagged whichever door it comes in by."""

from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from imports.models import ImportJob
from leads.dnc import dnc_entry_add
from leads.events import tenant_events_held
from leads.models import DoNotCallEntry, Lead
from tests.factories import make_lead
from tests.helpers import nextgen_body
from tests.imports.conftest import csv_upload
from webhooks.serializers import nextgen_payload_validate
from webhooks.services import NextGenDelivery, nextgen_credential_issue, nextgen_leads_receive

pytestmark = pytest.mark.django_db

WEBHOOK_FIXTURES = Path(__file__).parent.parent / "webhooks" / "fixtures"
LISTED = "+12104611180"  # the phone of nextgen_data.json


def listed(tenant, phone: str = LISTED) -> None:
    dnc_entry_add(tenant=tenant, phone=phone, reason="Asked not to be called")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what waits for the commit (events, the import's queueing) as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def upload(committed, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"

    def post(client: APIClient, content: bytes, name: str = "leads.csv"):
        with committed():
            return client.post(
                "/api/csv-upload", {"file": csv_upload(content, name)}, format="multipart"
            )

    return post


@pytest.fixture
def webhook(agent):
    credential, api_key = nextgen_credential_issue(tenant=agent)

    def post(body: dict[str, Any]):
        return APIClient().post(
            "/api/webhooks/nextgen",
            body,
            format="json",
            HTTP_SID=credential.sid,
            HTTP_APIKEY=api_key,
        )

    return post


# --- The webhook, default path ----------------------------------------------------------------


def test_webhook_stores_a_listed_phone_flagged_and_says_so(webhook, agent, committed):
    listed(agent)

    with tenant_events_held() as events, committed():
        answer = webhook(nextgen_body())

    assert answer.status_code == HTTPStatus.CREATED
    assert answer.json()["doNotCall"] is True
    lead = Lead.objects.get(pk=answer.json()["leadId"])
    assert lead.do_not_call is True
    (event,) = [event.payload for event in events]
    assert event["type"] == "new_lead_notification"
    assert event["lead"]["doNotCall"] is True


def test_webhook_answer_keeps_its_keys_for_an_unlisted_phone(webhook, agent):
    listed(agent, "+13125550100")

    answer = webhook(nextgen_body())

    assert answer.status_code == HTTPStatus.CREATED
    assert "doNotCall" not in answer.json()
    assert Lead.objects.get().do_not_call is False


def test_webhook_repost_of_a_lead_listed_since_says_so(webhook, agent):
    first = webhook(nextgen_body()).json()
    listed(agent)

    again = webhook(nextgen_body(city="Austin"))

    assert again.status_code == HTTPStatus.OK
    assert again.json()["doNotCall"] is True
    assert again.json()["leadId"] == first["leadId"]


def test_webhook_giving_a_known_lead_a_listed_phone_flags_it(webhook, agent):
    listed(agent)
    webhook(nextgen_body(phone="", email="maria@example.com"))

    answer = webhook(nextgen_body(email="maria@example.com"))

    assert answer.json()["isNew"] is False
    assert answer.json()["doNotCall"] is True
    assert Lead.objects.get().do_not_call is True


def test_another_agents_list_does_not_flag_my_webhook_lead(webhook, other_agent):
    listed(other_agent)

    answer = webhook(nextgen_body())

    assert "doNotCall" not in answer.json()
    assert Lead.objects.get().do_not_call is False


# --- The webhook, fast path (the task runs in-process here) -----------------------------------


def test_fast_path_worker_stores_the_lead_flagged_and_its_event_says_so(
    webhook, agent, settings, committed
):
    settings.USE_FAST_PATH = True
    listed(agent)

    with tenant_events_held() as events, committed():
        answer = webhook(nextgen_body())

    assert answer.status_code == HTTPStatus.ACCEPTED
    assert "doNotCall" not in answer.json()  # the web process does not ask the database
    assert Lead.objects.get(tenant=agent).do_not_call is True
    stored = [event.payload for event in events if event.payload["type"] != "lead_stub"]
    assert [event["lead"]["doNotCall"] for event in stored] == [True]


def test_fast_path_batch_flags_listed_phones_among_new_and_known_leads(
    agent, other_agent, committed
):
    known = make_lead(agent, phone="+13125550101", email="known@example.com")
    listed(agent)
    listed(agent, "+13125550101")
    payloads = [
        (agent, nextgen_body()),
        (agent, nextgen_body(lead_id="NG2", phone="3125550102", email="new@example.com")),
        (agent, nextgen_body(lead_id="NG3", phone="3125550101", email="known@example.com")),
        (other_agent, nextgen_body()),
    ]
    deliveries = [
        NextGenDelivery(
            tenant_id=tenant.pk,
            fields=nextgen_payload_validate(body),
            trace_id=f"t{n}",
            stub_id=f"s{n}",
        )
        for n, (tenant, body) in enumerate(payloads)
    ]

    with tenant_events_held() as events, committed():
        nextgen_leads_receive(deliveries=deliveries)

    flags = {(lead.tenant_id, lead.phone): lead.do_not_call for lead in Lead.objects.order_by("pk")}
    assert flags == {
        (agent.pk, LISTED): True,
        (agent.pk, "+13125550102"): False,
        (agent.pk, "+13125550101"): True,
        (other_agent.pk, LISTED): False,
    }
    by_stub = {event.payload["stubId"]: event.payload["lead"]["doNotCall"] for event in events}
    assert by_stub == {"s0": True, "s1": False, "s2": True, "s3": False}
    known.refresh_from_db()
    assert known.do_not_call is True


# --- Imports -----------------------------------------------------------------------------------

GENERIC_CSV = (
    b"First Name,Last Name,Phone,Email\n"
    b"Ann,Listed,(210) 461-1180,ann@example.com\n"
    b"Bob,Free,(210) 461-1181,bob@example.com\n"
    b"Cy,Known,(312) 555-0101,cy@example.com\n"
    b"Dee,Bad,N/A,\n"
)


def test_import_stores_listed_phones_flagged_and_counts_them(agent_client, agent, upload):
    make_lead(agent, phone="+13125550101", email="cy@example.com")
    listed(agent)
    listed(agent, "+13125550101")

    answer = upload(agent_client, GENERIC_CSV)

    job = agent_client.get(answer.json()["url"]).json()
    assert job["stats"]["doNotCall"] == 2
    assert (job["stats"]["imported"], job["stats"]["failed"]) == (2, 1)
    flags = dict(Lead.objects.filter(tenant=agent).values_list("phone", "do_not_call"))
    assert flags == {"+12104611180": True, "+12104611181": False, "+13125550101": True}


def test_reimporting_after_listing_counts_the_known_lead(agent_client, agent, upload):
    upload(agent_client, GENERIC_CSV)
    listed(agent)

    answer = upload(agent_client, GENERIC_CSV, "again.csv")

    job = ImportJob.objects.get(pk=answer.json()["id"])
    assert job.do_not_call == 1
    assert Lead.objects.get(tenant=agent, phone=LISTED).do_not_call is True


def test_import_into_another_tenant_ignores_my_list(other_client, other_agent, agent, upload):
    listed(agent)

    answer = upload(other_client, GENERIC_CSV)

    assert ImportJob.objects.get(pk=answer.json()["id"]).do_not_call == 0
    assert not Lead.objects.filter(tenant=other_agent, do_not_call=True).exists()


# --- Uploading a list --------------------------------------------------------------------------


def post_list(client, content: str, name: str = "dnc.csv"):
    return client.post(
        "/api/dnc/upload", {"file": csv_upload(content.encode(), name)}, format="multipart"
    )


def test_uploading_a_list_counts_added_listed_and_invalid(agent_client, agent):
    lead = make_lead(agent, phone="+13125550101")
    listed(agent)
    content = (
        "Name,Mobile Phone,Reason\n"
        "Ann,(210) 461-1180,Again\n"
        "Bob,312-555-0101,Asked by email\n"
        "Cy,312 555 0102,\n"
        "Dee,N/A,whatever\n"
        "Eve,312-555-0101,Twice in the file\n"
        "Fay,,no number\n"
    )

    answer = post_list(agent_client, content, "vendor list.csv")

    assert answer.status_code == HTTPStatus.OK
    assert answer.json() == {
        "added": 2,
        "alreadyListed": 2,
        "invalid": 2,
        "invalidRows": [{"line": 5, "value": "N/A"}, {"line": 7, "value": ""}],
    }
    reasons = dict(DoNotCallEntry.objects.filter(source="upload").values_list("phone", "reason"))
    assert reasons == {
        "+13125550101": "Asked by email",
        "+13125550102": "Listed from vendor list.csv",
    }
    lead.refresh_from_db()
    assert lead.do_not_call is True


@pytest.mark.parametrize(
    "content",
    ["Name,Email\nAnn,ann@example.com\n", "", "\x00\x01\x02binary"],
)
def test_a_list_without_a_phone_column_or_not_csv_is_a_400(agent_client, content):
    answer = post_list(agent_client, content)

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert "file" in answer.json()["fields"]
    assert not DoNotCallEntry.objects.exists()


def test_a_list_upload_without_a_file_is_a_400(agent_client):
    answer = agent_client.post("/api/dnc/upload", {}, format="multipart")

    assert answer.status_code == HTTPStatus.BAD_REQUEST


def test_a_list_over_the_upload_limit_is_a_413(agent_client, settings):
    settings.IMPORT_MAX_BYTES = 100

    answer = post_list(agent_client, "Phone\n" + "2104611180\n" * 50)

    assert answer.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert not DoNotCallEntry.objects.exists()
