"""CONTRACT §4: NextGen posts each lead it sells to POST /api/webhooks/nextgen."""

import json
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from crokodial.asgi import application
from leads.models import Lead, LeadStatus
from tests.factories import make_agent, make_disposition
from tests.helpers import nextgen_body, nextgen_credentials

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOK_PATHS = ["/api/webhooks/nextgen", "/api/webhooks/nextgen/"]
WEBHOOK = WEBHOOK_PATHS[0]
ANSWER_KEYS = {"success", "leadId", "isNew", "processMs", "traceId"}
GENERATED_TRACE_ID = re.compile(r"[0-9a-f]{32}")
PREMIUM_NOTE = "Premium listing applied: base $45.00 + premium $12.50 = $57.50"
THREADS = 8


def deliver(
    client: Client,
    body: Any,
    credentials: dict[str, str],
    *,
    path: str = WEBHOOK,
    headers: dict[str, str] | None = None,
):
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(
        path, raw, content_type="application/json", headers={**credentials, **(headers or {})}
    )


def assert_refused(response, status: HTTPStatus) -> dict[str, Any]:
    assert response.status_code == status
    body = response.json()
    assert body["success"] is False
    assert isinstance(body["error"], str)
    assert body["error"]
    assert body["traceId"]
    return body


# --- Credentials -----------------------------------------------------------------------------

BAD_CREDENTIALS: dict[str, Callable[[dict, dict, dict], dict[str, str]]] = {
    "no headers": lambda current, rotated_out, other: {},
    "missing sid": lambda current, rotated_out, other: {"apikey": current["apikey"]},
    "missing apikey": lambda current, rotated_out, other: {"sid": current["sid"]},
    "empty values": lambda current, rotated_out, other: {"sid": "", "apikey": ""},
    "wrong apikey": lambda current, rotated_out, other: {"sid": current["sid"], "apikey": "nope"},
    "unknown sid": lambda current, rotated_out, other: {
        "sid": "ng_0000000000000000",
        "apikey": current["apikey"],
    },
    "rotated pair": lambda current, rotated_out, other: rotated_out,
    "old apikey with new sid": lambda current, rotated_out, other: {
        "sid": current["sid"],
        "apikey": rotated_out["apikey"],
    },
    "other tenant's apikey": lambda current, rotated_out, other: {
        "sid": current["sid"],
        "apikey": other["apikey"],
    },
    "other tenant's sid": lambda current, rotated_out, other: {
        "sid": other["sid"],
        "apikey": current["apikey"],
    },
}


@pytest.mark.parametrize("case", list(BAD_CREDENTIALS))
def test_delivery_without_valid_credentials_is_refused_and_stores_nothing(
    client, agent, other_agent, case
):
    rotated_out = nextgen_credentials(agent)
    current = nextgen_credentials(agent, rotate=True)
    other = nextgen_credentials(other_agent)

    response = deliver(client, nextgen_body(), BAD_CREDENTIALS[case](current, rotated_out, other))

    assert_refused(response, HTTPStatus.UNAUTHORIZED)
    assert Lead.objects.count() == 0


def test_rotated_credentials_work_at_once(client, agent):
    nextgen_credentials(agent)
    current = nextgen_credentials(agent, rotate=True)

    response = deliver(client, nextgen_body(), current)

    assert response.status_code == HTTPStatus.CREATED
    assert Lead.objects.get().tenant == agent


# --- A new lead ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", WEBHOOK_PATHS)
def test_new_lead_answers_201_with_its_id_and_timing(client, agent, credentials, path):
    response = deliver(client, nextgen_body(), credentials, path=path)

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert set(body) == ANSWER_KEYS
    assert body["success"] is True
    assert body["isNew"] is True
    assert isinstance(body["processMs"], int | float)
    assert not isinstance(body["processMs"], bool)
    assert body["processMs"] >= 0
    assert float(response["X-Process-Time"]) >= 0
    lead = Lead.objects.get()
    assert body["leadId"] == lead.pk
    assert lead.tenant == agent


def test_request_id_is_the_trace_id(client, credentials):
    response = deliver(
        client, nextgen_body(), credentials, headers={"X-Request-ID": "ng-req.42:a_b"}
    )

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["traceId"] == "ng-req.42:a_b"
    assert response["X-Request-ID"] == "ng-req.42:a_b"


@pytest.mark.parametrize(
    "request_id", [None, "", "has spaces", "x" * 65, "<script>", "line\tbreak"]
)
def test_trace_id_is_generated_when_request_id_is_missing_or_unsafe(
    client, credentials, request_id
):
    headers = {} if request_id is None else {"X-Request-ID": request_id}

    response = deliver(client, nextgen_body(), credentials, headers=headers)

    trace_id = response.json()["traceId"]
    assert GENERATED_TRACE_ID.fullmatch(trace_id)
    assert response["X-Request-ID"] == trace_id


def test_refusals_carry_the_request_id_as_trace_id(client):
    response = deliver(client, nextgen_body(), {}, headers={"X-Request-ID": "vendor-trace-7"})

    assert assert_refused(response, HTTPStatus.UNAUTHORIZED)["traceId"] == "vendor-trace-7"


# --- Invalid bodies --------------------------------------------------------------------------

WRONG_VALUES = [
    ("tobacco_user", "maybe"),
    ("tobacco_user", {}),
    ("tobacco_user", 2),
    ("pregnant", [True]),
    ("household_size", "many"),
    ("household_size", -1),
    ("price", "abc"),
    ("price", "-5"),
    ("price", "123456789012"),
    ("price", True),
    ("state", "Texass"),
    ("state", True),
    ("email", "not-an-email"),
    ("email", False),
    ("phone", "123"),
    ("phone", True),
    ("phone", {"number": "2104611180"}),
    ("zip_code", "ABCDE"),
    ("medical_conditions", 5),
    ("medical_conditions", [1, 2]),
    ("product", "coupon"),
    ("first_name", {"given": "Maria"}),
    ("created_at", "last tuesday"),
    # What a database cannot store (NUL, lone surrogates, NaN) is refused, never a 500.
    ("email", "maria\x00@example.com"),
    ("email", "maria\ud800@example.com"),
    ("medical_conditions", "Asthma\x00"),
    ("medical_conditions", ["Asthma", "\udfff"]),
    ("landing_page", "/tx\x00"),
    ("landing_page", "/tx\ud800"),
    ("tcpa_consent", {"text\x00id": "tcpa-2026-03"}),
]


@pytest.mark.parametrize(("field", "value"), WRONG_VALUES)
def test_wrong_value_is_rejected_with_its_field_error_and_stores_nothing(
    client, credentials, field, value
):
    response = deliver(client, nextgen_body(**{field: value}), credentials)

    body = assert_refused(response, HTTPStatus.BAD_REQUEST)
    assert field in body["fields"]
    assert Lead.objects.count() == 0


@pytest.mark.parametrize("raw", ['{"phone": "2104611180", "lead_score": NaN}', '{"x": [Infinity]}'])
def test_nan_and_infinity_are_not_json(client, credentials, raw):
    response = deliver(client, raw, credentials)

    body = assert_refused(response, HTTPStatus.BAD_REQUEST)
    assert "not valid JSON" in body["error"]
    assert Lead.objects.count() == 0


def test_lead_without_phone_or_email_is_rejected(client, credentials):
    body = nextgen_body()
    del body["phone"], body["email"]

    response = deliver(client, body, credentials)

    assert "phone" in assert_refused(response, HTTPStatus.BAD_REQUEST)["fields"]
    assert Lead.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        '{"lead_id": "NG1", "phone": ',
        "[" + json.dumps(nextgen_body()) + "]",
        '"a lead"',
        "42",
        "null",
    ],
    ids=["bad json", "array", "string", "number", "null"],
)
def test_body_that_is_not_one_json_object_is_rejected(client, credentials, raw):
    response = deliver(client, raw, credentials)

    assert_refused(response, HTTPStatus.BAD_REQUEST)
    assert Lead.objects.count() == 0


def oversized_body(size: int) -> str:
    body = nextgen_body(comments="")
    body["comments"] = "x" * (size - len(json.dumps(body)))
    raw = json.dumps(body)
    assert len(raw) == size
    return raw


OVERSIZED = [
    pytest.param(1024 * 1024 + 1, id="just over 1 MB"),
    pytest.param(3 * 1024 * 1024, id="over Django's 2.5 MB upload limit"),
]


# The limit lives at the edge (crokodial.edge), in front of the ASGI app: tests go through it.
@pytest.mark.asyncio
@pytest.mark.parametrize("size", OVERSIZED)
async def test_production_door_refuses_a_body_over_one_megabyte(size):
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        response = await http.post(
            WEBHOOK,
            content=oversized_body(size),
            headers={"Content-Type": "application/json", "sid": "ng_x", "apikey": "x"},
        )

    assert_refused(response, HTTPStatus.REQUEST_ENTITY_TOO_LARGE)


# --- Accepted shapes and normalisation -------------------------------------------------------


def test_form_encoded_delivery_creates_the_lead(client, credentials):
    response = client.post(
        WEBHOOK,
        (FIXTURES / "nextgen_form.txt").read_text().strip(),
        content_type="application/x-www-form-urlencoded",
        headers=credentials,
    )

    assert response.status_code == HTTPStatus.CREATED
    lead = Lead.objects.get(pk=response.json()["leadId"])
    assert lead.nextgen_id == "NG2026112500077"
    assert lead.name == "Jose Treviño"
    assert lead.phone == "+12105550147"
    assert lead.tobacco_user is False
    assert lead.has_prescription is True
    assert lead.household_size == 3
    assert lead.medical_conditions == "Asthma, Diabetes"
    assert lead.price == Decimal("45.00")


@pytest.mark.parametrize(
    "conditions",
    [["Asthma", "Diabetes"], "Asthma, Diabetes", " Asthma ,Diabetes, "],
    ids=["list", "comma string", "untidy comma string"],
)
def test_medical_conditions_come_as_a_list_or_a_comma_string(client, credentials, conditions):
    response = deliver(client, nextgen_body(medical_conditions=conditions), credentials)

    assert response.status_code == HTTPStatus.CREATED
    assert Lead.objects.get().medical_conditions == "Asthma, Diabetes"


def test_unknown_fields_are_kept_in_vendor_data(client, credentials):
    response = deliver(client, nextgen_body("nextgen_variant.json"), credentials)

    assert response.status_code == HTTPStatus.CREATED
    assert Lead.objects.get().vendor_data == {
        "age": 46,
        "landing_page": "https://quotes.example.com/tx",
        "utm_term": "health insurance texas",
        "tcpa_consent": {"given": True, "text_id": "tcpa-2026-03"},
    }


def test_sample_delivery_is_stored_normalised(client, agent, credentials):
    response = deliver(client, nextgen_body(), credentials)

    lead = Lead.objects.get(pk=response.json()["leadId"])
    assert lead.tenant == agent
    assert lead.source == "NextGen"
    assert lead.status == LeadStatus.NEW
    assert lead.nextgen_id == "NG2026112500042"
    assert (lead.first_name, lead.last_name) == ("Maria", "Hernández")
    assert lead.email == "maria.hernandez@example.com"
    assert lead.phone == "+12104611180"
    assert (lead.street1, lead.city, lead.state, lead.zipcode) == (
        "400 Oak Ave, Apt 3",
        "San Antonio",
        "TX",
        "78201",
    )
    assert lead.time_zone == "America/Chicago"
    assert lead.dob == date(1980, 3, 15)
    assert lead.gender == "Female"
    assert lead.height == "5'5\""
    assert lead.weight == "140"
    assert lead.tobacco_user is False
    assert lead.has_medical_condition is True
    assert lead.medical_conditions == "Asthma"
    assert lead.household_size == 3
    assert lead.product == "data"
    assert lead.price == Decimal("45.00")
    assert lead.premium_price is None
    assert lead.call_log_id == "CL-88213"
    assert lead.call_duration == 0
    assert lead.vendor_created_at.isoformat() == "2026-11-25T14:03:00+00:00"
    assert lead.notes == ""


def test_variant_spellings_are_normalised(client, credentials):
    response = deliver(client, nextgen_body("nextgen_variant.json"), credentials)

    lead = Lead.objects.get(pk=response.json()["leadId"])
    assert lead.nextgen_id == "NGX-7731"  # nextgen_id wins over lead_id
    assert lead.phone == "+12105550123"  # from phone_number
    assert lead.email == "ana.lopez@example.com"
    assert lead.state == "TX"
    assert lead.time_zone == "America/Chicago"
    assert lead.dob == date(1980, 3, 15)  # from date_of_birth
    assert lead.gender == "Female"
    assert lead.height == "5'10\""
    assert lead.price == Decimal("45.00")
    assert (lead.tobacco_user, lead.pregnant, lead.has_prescription) == (False, False, True)
    assert (lead.has_medicare_parts_ab, lead.has_medical_condition) == (False, True)


def test_unreadable_optional_details_do_not_cost_the_lead(client, credentials):
    body = nextgen_body(dob="sometime in 1980", gender="prefer not to say", height="tall")

    response = deliver(client, body, credentials)

    assert response.status_code == HTTPStatus.CREATED
    lead = Lead.objects.get()
    assert (lead.dob, lead.gender, lead.height) == (None, "", "")


@pytest.mark.parametrize(
    ("zip_code", "state", "stored"),
    [
        ("78201", "TX", "78201"),
        (78201, "TX", "78201"),
        ("7302", "NJ", "07302"),
        (7302, "NJ", "07302"),
    ],
)
def test_zip_code_loses_no_leading_zero(client, credentials, zip_code, state, stored):
    response = deliver(client, nextgen_body(zip_code=zip_code, state=state), credentials)

    assert response.status_code == HTTPStatus.CREATED
    assert Lead.objects.get().zipcode == stored


def test_lead_with_email_only_is_accepted(client, credentials):
    body = nextgen_body()
    del body["phone"]

    response = deliver(client, body, credentials)

    assert response.status_code == HTTPStatus.CREATED
    assert Lead.objects.get().phone == ""


# --- Redeliveries and merges -----------------------------------------------------------------


def test_same_lead_id_again_answers_200_and_keeps_one_lead(client, credentials):
    first = deliver(client, nextgen_body(), credentials)
    again = deliver(client, nextgen_body(), credentials)

    assert again.status_code == HTTPStatus.OK
    assert again.json()["isNew"] is False
    assert again.json()["leadId"] == first.json()["leadId"]
    assert Lead.objects.count() == 1


def test_same_phone_under_another_lead_id_merges_into_the_lead(client, credentials):
    first = deliver(client, nextgen_body(), credentials)
    again = deliver(
        client, nextgen_body(lead_id="NG-OTHER-1", email="maria@example.org"), credentials
    )

    assert again.status_code == HTTPStatus.OK
    assert again.json()["leadId"] == first.json()["leadId"]
    assert Lead.objects.count() == 1
    assert Lead.objects.get().email == "maria@example.org"


def test_same_email_under_another_lead_id_merges_into_the_lead(client, credentials):
    first = deliver(client, nextgen_body(), credentials)
    again = deliver(client, nextgen_body(lead_id="NG-OTHER-2", phone="(210) 555-0188"), credentials)

    assert again.status_code == HTTPStatus.OK
    assert again.json()["leadId"] == first.json()["leadId"]
    assert Lead.objects.count() == 1
    assert Lead.objects.get().phone == "+12105550188"


def test_redelivery_keeps_what_the_agent_set(client, agent, agent_client, credentials):
    lead_id = deliver(client, nextgen_body(), credentials).json()["leadId"]
    make_disposition("Callback Tuesday", tenant=agent)
    desk = {"status": "Contacted", "disposition": "Callback Tuesday", "notes": "Wants a PPO"}
    assert agent_client.patch(f"/api/leads/{lead_id}", desk, format="json").status_code == (
        HTTPStatus.OK
    )

    again = deliver(client, nextgen_body(first_name="María"), credentials)

    assert again.status_code == HTTPStatus.OK
    lead = Lead.objects.get()
    assert (lead.status, lead.disposition, lead.notes) == (
        "Contacted",
        "Callback Tuesday",
        "Wants a PPO",
    )
    assert lead.first_name == "María"


def test_redelivery_fills_in_what_was_missing_and_blanks_nothing(client, credentials):
    sparse = nextgen_body()
    for name in ("street_address", "dob", "height", "household_income"):
        del sparse[name]
    deliver(client, sparse, credentials)

    complete_but_blank_elsewhere = nextgen_body(
        first_name="", city="", price=None, medical_conditions=[], tobacco_user=None
    )
    again = deliver(client, complete_but_blank_elsewhere, credentials)

    assert again.status_code == HTTPStatus.OK
    lead = Lead.objects.get()
    assert lead.first_name == "Maria"
    assert (lead.street1, lead.city) == ("400 Oak Ave, Apt 3", "San Antonio")
    assert lead.dob == date(1980, 3, 15)
    assert lead.height == "5'5\""
    assert lead.household_income == "$50,000-$75,000"
    assert lead.price == Decimal("45.00")
    assert lead.medical_conditions == "Asthma"
    assert lead.tobacco_user is False


def test_same_lead_for_two_tenants_makes_one_lead_each(client, agent, other_agent, credentials):
    other_credentials = nextgen_credentials(other_agent)

    mine = deliver(client, nextgen_body(), credentials)
    theirs = deliver(client, nextgen_body(), other_credentials)

    assert mine.status_code == theirs.status_code == HTTPStatus.CREATED
    assert mine.json()["leadId"] != theirs.json()["leadId"]
    assert agent.leads.count() == 1
    assert other_agent.leads.count() == 1


# --- Premium listings ------------------------------------------------------------------------


def test_ad_after_its_data_adds_the_premium_price_once(client, credentials):
    deliver(client, nextgen_body(), credentials)

    ad = deliver(client, nextgen_body("nextgen_ad.json"), credentials)
    ad_again = deliver(client, nextgen_body("nextgen_ad.json"), credentials)

    assert ad.status_code == ad_again.status_code == HTTPStatus.OK
    assert ad.json()["isNew"] is False
    lead = Lead.objects.get()
    assert lead.price == Decimal("57.50")
    assert lead.premium_price == Decimal("12.50")
    assert lead.product == "data"
    assert lead.notes == PREMIUM_NOTE


def test_ad_before_its_data_creates_the_lead_and_the_data_completes_it(client, credentials):
    ad = deliver(client, nextgen_body("nextgen_ad.json"), credentials)

    assert ad.status_code == HTTPStatus.CREATED
    lead = Lead.objects.get()
    assert (lead.price, lead.product, lead.street1) == (Decimal("12.50"), "ad", "")

    data = deliver(client, nextgen_body(), credentials)

    assert data.status_code == HTTPStatus.OK
    assert data.json()["leadId"] == ad.json()["leadId"]
    lead.refresh_from_db()
    assert lead.price == Decimal("57.50")
    assert lead.product == "data"
    assert lead.notes == PREMIUM_NOTE
    assert (lead.street1, lead.dob, lead.medical_conditions) == (
        "400 Oak Ave, Apt 3",
        date(1980, 3, 15),
        "Asthma",
    )

    settled = Lead.objects.values().get()
    assert deliver(client, nextgen_body(), credentials).status_code == HTTPStatus.OK
    assert Lead.objects.values().get() == settled


def test_premium_note_is_added_under_the_agents_notes(client, agent_client, credentials):
    lead_id = deliver(client, nextgen_body(), credentials).json()["leadId"]
    agent_client.patch(f"/api/leads/{lead_id}", {"notes": "Wants a PPO"}, format="json")

    deliver(client, nextgen_body("nextgen_ad.json"), credentials)

    assert Lead.objects.get().notes == f"Wants a PPO\n{PREMIUM_NOTE}"


# --- Concurrent deliveries -------------------------------------------------------------------


def deliver_at_once(bodies: list[dict[str, Any]], credentials: dict[str, str]) -> list:
    """Post every body from its own thread, all released together; return (status, json)."""
    barrier = threading.Barrier(len(bodies))

    def post(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            barrier.wait(timeout=10)
            response = deliver(Client(raise_request_exception=False), body, credentials)
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_identical_deliveries_store_one_lead(agent):
    credentials = nextgen_credentials(agent)

    answers = deliver_at_once([nextgen_body()] * THREADS, credentials)

    statuses = sorted(status for status, _ in answers)
    assert statuses == [HTTPStatus.OK] * (THREADS - 1) + [HTTPStatus.CREATED], answers
    assert sorted(body["isNew"] for _, body in answers) == [False] * (THREADS - 1) + [True]
    assert len({body["leadId"] for _, body in answers}) == 1
    assert Lead.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_simultaneous_ad_and_data_add_the_premium_once(agent, attempt):
    credentials = nextgen_credentials(agent)

    answers = deliver_at_once([nextgen_body(), nextgen_body("nextgen_ad.json")], credentials)

    assert sorted(status for status, _ in answers) == [HTTPStatus.OK, HTTPStatus.CREATED]
    lead = Lead.objects.get()
    assert lead.price == Decimal("57.50")
    assert lead.premium_price == Decimal("12.50")
    assert lead.product == "data"
    assert lead.notes == PREMIUM_NOTE


# --- Metrics ---------------------------------------------------------------------------------


def metric_value(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_metrics_count_and_time_each_delivery(
    client, credentials, django_capture_on_commit_callbacks
):
    staff = Client()
    staff.force_login(make_agent("ops", is_admin=True))
    series = [
        ("crokodial_webhook_deliveries_total", {"outcome": "created", "path": "default"}),
        ("crokodial_webhook_deliveries_total", {"outcome": "rejected", "path": "default"}),
        ("crokodial_webhook_process_seconds_count", {"path": "default"}),
        ("crokodial_webhook_broadcast_seconds_count", {"path": "default"}),
    ]
    before = staff.get("/metrics").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, nextgen_body(), credentials).status_code == HTTPStatus.CREATED
    assert deliver(client, nextgen_body(), {}).status_code == HTTPStatus.UNAUTHORIZED
    response = staff.get("/metrics")

    assert response.status_code == HTTPStatus.OK
    after = response.content.decode()
    assert 'crokodial_webhook_deliveries_total{outcome="created",path="default"}' in after
    assert "# TYPE crokodial_webhook_process_seconds histogram" in after
    assert "# TYPE crokodial_webhook_broadcast_seconds histogram" in after
    increments = [
        metric_value(after, name, **labels) - metric_value(before, name, **labels)
        for name, labels in series
    ]
    assert increments == [1, 1, 2, 1]
