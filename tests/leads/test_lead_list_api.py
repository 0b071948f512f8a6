"""GET /api/leads (CONTRACT §3): the lead resource, filters, sorting, pages and tenancy."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import pytest
from rest_framework.test import APIClient

from leads.models import Lead, LeadSource, LeadStatus
from tests.factories import PASSWORD, make_lead, make_leads, set_created_at

pytestmark = pytest.mark.django_db

LIST_URL = "/api/leads"
START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

LEAD_RESOURCE_FIELDS = {
    "id",
    "tenantId",
    "name",
    "firstName",
    "lastName",
    "email",
    "phone",
    "phoneDisplay",
    "street1",
    "street2",
    "city",
    "state",
    "zipcode",
    "dob",
    "gender",
    "height",
    "weight",
    "source",
    "status",
    "disposition",
    "notes",
    "nextgenId",
    "price",
    "product",
    "campaignName",
    "timeZone",
    "createdAt",
    "updatedAt",
}


def list_leads(client: APIClient, path: str = LIST_URL, **params: Any) -> Any:
    return client.get(path, params)


def result_ids(response: Any) -> list[int]:
    return [lead["id"] for lead in response.json()["results"]]


# --- Shape ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/leads", "/api/leads/"])
def test_list_answers_with_and_without_trailing_slash(agent_client, agent, path):
    lead = make_lead(agent)

    response = agent_client.get(path)

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "application/json"
    assert result_ids(response) == [lead.pk]


def test_list_answers_results_and_pagination(agent_client, agent):
    make_leads(agent, 3)

    body = list_leads(agent_client).json()

    assert set(body) == {"results", "pagination"}
    assert body["pagination"] == {"total": 3, "page": 1, "pages": 1, "limit": 50}
    assert len(body["results"]) == 3


def test_empty_list_has_one_empty_page(agent_client):
    body = list_leads(agent_client).json()

    assert body == {"results": [], "pagination": {"total": 0, "page": 1, "pages": 1, "limit": 50}}


def test_lead_resource_has_every_contract_field_in_camel_case(agent_client, agent):
    lead = make_lead(
        agent,
        first_name="María",
        last_name="González",
        email="maria@example.com",
        phone="+12104611180",
        street1="100 Main St",
        street2="Apt 4",
        city="San Antonio",
        state="TX",
        zipcode="78205",
        dob=date(1980, 3, 15),
        gender="Female",
        height="5'6\"",
        weight="140",
        source=LeadSource.NEXTGEN,
        status=LeadStatus.CONTACTED,
        disposition="Quoted",
        notes="Call after 5",
        nextgen_id="NG-123",
        price=Decimal("12.50"),
        product="data",
        campaign_name="Spring ACA",
        time_zone="America/Chicago",
    )

    [resource] = list_leads(agent_client).json()["results"]

    assert set(resource) >= LEAD_RESOURCE_FIELDS
    assert not any("_" in name for name in resource)
    assert {name: resource[name] for name in LEAD_RESOURCE_FIELDS - {"createdAt", "updatedAt"}} == {
        "id": lead.pk,
        "tenantId": agent.pk,
        "name": "María González",
        "firstName": "María",
        "lastName": "González",
        "email": "maria@example.com",
        "phone": "+12104611180",
        "phoneDisplay": "(210) 461-1180",
        "street1": "100 Main St",
        "street2": "Apt 4",
        "city": "San Antonio",
        "state": "TX",
        "zipcode": "78205",
        "dob": "1980-03-15",
        "gender": "Female",
        "height": "5'6\"",
        "weight": "140",
        "source": "NextGen",
        "status": "Contacted",
        "disposition": "Quoted",
        "notes": "Call after 5",
        "nextgenId": "NG-123",
        "price": "12.50",
        "product": "data",
        "campaignName": "Spring ACA",
        "timeZone": "America/Chicago",
    }
    assert datetime.fromisoformat(resource["createdAt"]) == lead.created_at
    assert datetime.fromisoformat(resource["updatedAt"]) == lead.updated_at


def test_unknown_values_are_empty_or_null_in_the_resource(agent_client, agent):
    make_lead(agent, dob=None, price=None, street1="", time_zone="")

    [resource] = list_leads(agent_client).json()["results"]

    assert resource["dob"] is None
    assert resource["price"] is None
    assert resource["street1"] == ""
    assert resource["timeZone"] == ""


def test_leads_with_only_a_phone_or_only_an_email_both_list(agent_client, agent):
    phone_only = make_lead(agent, email="", phone="+12104611180")
    email_only = make_lead(agent, email="only@example.com", phone="")

    results = {lead["id"]: lead for lead in list_leads(agent_client).json()["results"]}

    assert results[phone_only.pk]["email"] == ""
    assert results[phone_only.pk]["phoneDisplay"] == "(210) 461-1180"
    assert results[email_only.pk]["phone"] == ""
    assert results[email_only.pk]["phoneDisplay"] == ""
    assert results[email_only.pk]["email"] == "only@example.com"


def test_a_phone_stored_outside_e164_lists_as_stored_instead_of_failing(agent_client, agent):
    # The admin edits raw fields, so a hand-typed phone must not take the agent's desk down.
    lead = make_lead(agent, phone="210-461-1180 x12")

    response = list_leads(agent_client)

    assert response.status_code == HTTPStatus.OK
    [resource] = response.json()["results"]
    assert resource["id"] == lead.pk
    assert resource["phoneDisplay"] == "210-461-1180 x12"


# --- Authentication and tenancy --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/leads", "/api/leads/"])
def test_anonymous_list_is_refused_with_401(anon_client, agent, path):
    make_lead(agent)

    response = anon_client.get(path)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert set(response.json()) == {"error"}
    assert response["WWW-Authenticate"] == "Token"


def test_agent_never_sees_another_tenants_leads(agent_client, other_client, agent, other_agent):
    mine = make_lead(agent, first_name="Mine")
    theirs = make_lead(other_agent, first_name="Theirs", state="CA")

    assert result_ids(list_leads(agent_client)) == [mine.pk]
    assert result_ids(list_leads(other_client)) == [theirs.pk]
    assert list_leads(agent_client, search="Theirs").json()["pagination"]["total"] == 0
    assert list_leads(agent_client, states="CA").json()["results"] == []


def test_token_from_the_auth_endpoint_opens_the_list(agent):
    lead = make_lead(agent)
    client = APIClient()

    token_response = client.post(
        "/api/auth/token", {"username": agent.username, "password": PASSWORD}, format="json"
    )
    assert token_response.status_code == HTTPStatus.OK
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_response.json()['token']}")
    response = list_leads(client)

    assert response.status_code == HTTPStatus.OK
    assert result_ids(response) == [lead.pk]


def test_unknown_token_is_refused_with_401(agent):
    make_lead(agent)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = list_leads(client)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "error" in response.json()


def test_session_login_opens_the_list(agent):
    lead = make_lead(agent)
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username=agent.username, password=PASSWORD)

    response = list_leads(client)

    assert response.status_code == HTTPStatus.OK
    assert result_ids(response) == [lead.pk]


# --- Search ------------------------------------------------------------------------------------


@pytest.fixture
def maria(agent) -> Lead:
    return make_lead(
        agent,
        first_name="Maria",
        last_name="Gonzalez",
        email="mgonzalez@example.com",
        phone="+12104611180",
    )


@pytest.fixture
def others(agent) -> list[Lead]:
    return [
        make_lead(
            agent,
            first_name="Maria",
            last_name="Smith",
            email="msmith@example.com",
            phone="+13125550100",
        ),
        make_lead(
            agent,
            first_name="John",
            last_name="Gonzalez",
            email="john@example.org",
            phone="+14155550123",
        ),
    ]


@pytest.mark.parametrize(
    "search",
    [
        "Maria Gonzalez",
        "gonzalez maria",
        "  MARIA   gonz ",
        "mgonzalez",
        "MGonzalez@Example.com",
        "2104611180",
        "(210) 461-1180",
        "210-461-1180",
        "210.461.1180",
        "+1 210 461 1180",
        "+12104611180",
        "461-1180",
        "4611180",
    ],
)
def test_search_finds_a_lead_by_name_email_or_phone(agent_client, maria, others, search):
    assert result_ids(list_leads(agent_client, search=search)) == [maria.pk]


def test_search_by_one_word_matches_first_and_last_names(agent_client, maria, others):
    maria_smith, john_gonzalez = others

    assert set(result_ids(list_leads(agent_client, search="maria"))) == {maria.pk, maria_smith.pk}
    assert set(result_ids(list_leads(agent_client, search="Gonzalez"))) == {
        maria.pk,
        john_gonzalez.pk,
    }


def test_search_by_email_domain(agent_client, maria, others):
    _, john_gonzalez = others

    assert result_ids(list_leads(agent_client, search="example.org")) == [john_gonzalez.pk]


def test_search_that_matches_nothing_answers_an_empty_page(agent_client, maria, others):
    body = list_leads(agent_client, search="Zebediah").json()

    assert body["results"] == []
    assert body["pagination"]["total"] == 0


def test_blank_search_does_not_filter(agent_client, maria, others):
    assert list_leads(agent_client, search="   ").json()["pagination"]["total"] == 3


# --- Filters -----------------------------------------------------------------------------------


@pytest.fixture
def leads_by_state(agent) -> dict[str, Lead]:
    return {state: make_lead(agent, state=state) for state in ("TX", "CA", "NY", "FL")}


@pytest.mark.parametrize(
    "query",
    [
        "states=TX,CA",
        "states=TX&states=CA",
        "states=tx,%20ca",
        "states=Texas,California",
        "states=texas&states=CA,",
        "states=TX,CA,TX",
    ],
)
def test_states_filter_takes_commas_repeats_lowercase_and_full_names(
    agent_client, leads_by_state, query
):
    response = agent_client.get(f"{LIST_URL}?{query}")

    assert response.status_code == HTTPStatus.OK
    assert set(result_ids(response)) == {leads_by_state["TX"].pk, leads_by_state["CA"].pk}


def test_states_filter_accepts_a_state_name_with_a_space(agent_client, leads_by_state):
    assert result_ids(list_leads(agent_client, states="New York")) == [leads_by_state["NY"].pk]


@pytest.fixture
def leads_by_disposition(agent) -> dict[str, Lead]:
    return {
        disposition: make_lead(agent, disposition=disposition)
        for disposition in ("", "Quoted", "SOLD", "Unhealthy/Referred")
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("dispositions=Quoted", {"Quoted"}),
        ("dispositions=Quoted,SOLD", {"Quoted", "SOLD"}),
        ("dispositions=Quoted&dispositions=SOLD", {"Quoted", "SOLD"}),
        ("dispositions=No%20Disposition", {""}),
        ("dispositions=No%20Disposition,Quoted", {"", "Quoted"}),
        ("dispositions=Unhealthy/Referred", {"Unhealthy/Referred"}),
    ],
)
def test_dispositions_filter_where_no_disposition_matches_empty(
    agent_client, leads_by_disposition, query, expected
):
    response = agent_client.get(f"{LIST_URL}?{query}")

    assert response.status_code == HTTPStatus.OK
    assert set(result_ids(response)) == {leads_by_disposition[name].pk for name in expected}


@pytest.fixture
def leads_by_source(agent) -> dict[str, Lead]:
    return {source: make_lead(agent, source=source) for source in LeadSource.values}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sources=NextGen", {"NextGen"}),
        ("sources=NextGen,Marketplace", {"NextGen", "Marketplace"}),
        ("sources=NextGen&sources=CSV%20Import", {"NextGen", "CSV Import"}),
        (
            "sources=Manual%20Entry,Self%20Generated,Usha",
            {"Manual Entry", "Self Generated", "Usha"},
        ),
        ("sources=marketplace", {"Marketplace"}),
    ],
)
def test_sources_filter_takes_commas_and_repeats(agent_client, leads_by_source, query, expected):
    response = agent_client.get(f"{LIST_URL}?{query}")

    assert response.status_code == HTTPStatus.OK
    assert set(result_ids(response)) == {leads_by_source[name].pk for name in expected}


def test_filters_combine_so_every_one_must_match(agent_client, agent):
    match = make_lead(agent, first_name="Ana", state="TX", disposition="Quoted")
    make_lead(agent, first_name="Ana", state="CA", disposition="Quoted")
    make_lead(agent, first_name="Ana", state="TX", disposition="SOLD")
    make_lead(agent, first_name="Ana", state="TX", disposition="Quoted", source="Marketplace")
    make_lead(agent, first_name="Bea", state="TX", disposition="Quoted")

    response = list_leads(
        agent_client, search="ana", states="TX", dispositions="Quoted", sources="NextGen"
    )

    assert result_ids(response) == [match.pk]
    assert response.json()["pagination"]["total"] == 1


# --- Sorting -----------------------------------------------------------------------------------

# For each sortBy, three leads' fields in ascending order.
SORT_CASES = {
    "createdAt": [{}, {}, {}],
    "name": [
        {"first_name": "alice", "last_name": "Zed"},
        {"first_name": "Bob", "last_name": "Ames"},
        {"first_name": "bob", "last_name": "Baker"},
    ],
    "email": [
        {"email": "ann@example.com"},
        {"email": "bo@example.com"},
        {"email": "cy@example.com"},
    ],
    "phone": [{"phone": "+12104611180"}, {"phone": "+13125550100"}, {"phone": "+14155550123"}],
    "state": [{"state": "AZ"}, {"state": "CA"}, {"state": "TX"}],
    "disposition": [
        {"disposition": "Appointment"},
        {"disposition": "brokie"},
        {"disposition": "Quoted"},
    ],
    "timeZone": [
        {"time_zone": "America/Chicago"},
        {"time_zone": "America/Los_Angeles"},
        {"time_zone": "America/New_York"},
    ],
}


def make_sorted_leads(tenant: Any, sort_by: str) -> list[Lead]:
    """Create the case's leads newest first, so insertion order never passes for sorting."""
    leads = [make_lead(tenant, **fields) for fields in reversed(SORT_CASES[sort_by])][::-1]
    if sort_by == "createdAt":
        for hours, lead in enumerate(leads):
            set_created_at(lead, START + timedelta(hours=hours))
    return leads


@pytest.mark.parametrize("sort_by", list(SORT_CASES))
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_sort_by_each_field_in_both_directions(agent_client, agent, sort_by, direction):
    ascending = [lead.pk for lead in make_sorted_leads(agent, sort_by)]

    response = list_leads(agent_client, sortBy=sort_by, sortDirection=direction)

    assert response.status_code == HTTPStatus.OK
    assert result_ids(response) == (ascending if direction == "asc" else ascending[::-1])


def test_default_order_is_newest_first(agent_client, agent):
    oldest, middle, newest = (
        set_created_at(make_lead(agent), START + timedelta(days=days)) for days in (0, 1, 2)
    )

    assert result_ids(list_leads(agent_client)) == [newest.pk, middle.pk, oldest.pk]


def test_sort_direction_alone_applies_to_created_at(agent_client, agent):
    first = set_created_at(make_lead(agent), START + timedelta(days=1))
    second = set_created_at(make_lead(agent), START)

    assert result_ids(list_leads(agent_client, sortDirection="asc")) == [second.pk, first.pk]


def test_equal_sort_values_keep_a_stable_order_across_pages(agent_client, agent):
    leads = make_leads(agent, 25, state="TX")

    seen = []
    for page in (1, 2, 3):
        seen += result_ids(list_leads(agent_client, sortBy="state", limit=10, page=page))

    assert sorted(seen) == sorted(lead.pk for lead in leads)
    assert len(seen) == len(set(seen))


# --- Pages -------------------------------------------------------------------------------------


def test_pages_split_the_list_without_overlap(agent_client, agent):
    leads = make_leads(agent, 25)

    pages = [list_leads(agent_client, limit=10, page=page).json() for page in (1, 2, 3)]

    assert [len(page["results"]) for page in pages] == [10, 10, 5]
    assert [page["pagination"] for page in pages] == [
        {"total": 25, "page": number, "pages": 3, "limit": 10} for number in (1, 2, 3)
    ]
    ids = [lead["id"] for page in pages for lead in page["results"]]
    assert ids == sorted((lead.pk for lead in leads), reverse=True)


def test_default_page_size_is_50(agent_client, agent):
    make_leads(agent, 51)

    body = list_leads(agent_client).json()

    assert len(body["results"]) == 50
    assert body["pagination"] == {"total": 51, "page": 1, "pages": 2, "limit": 50}


@pytest.mark.parametrize("limit", [10, 100])
def test_limit_bounds_are_accepted(agent_client, agent, limit):
    make_leads(agent, 101)

    body = list_leads(agent_client, limit=limit).json()

    assert len(body["results"]) == limit
    assert body["pagination"]["limit"] == limit


def test_page_past_the_last_answers_no_results(agent_client, agent):
    make_leads(agent, 3)

    response = list_leads(agent_client, page=2)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "results": [],
        "pagination": {"total": 3, "page": 2, "pages": 1, "limit": 50},
    }


# --- Bad requests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=5", "limit"),
        ("limit=9", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=x", "page"),
        ("sortBy=bogus", "sortBy"),
        ("sortBy=created_at", "sortBy"),
        ("sortDirection=up", "sortDirection"),
        ("sources=Bogus", "sources"),
        ("sources=NextGen,Bogus", "sources"),
        ("states=ZZ", "states"),
        ("states=TX&states=Atlantis", "states"),
        ("foo=bar", "foo"),
        ("sort_by=name", "sort_by"),
    ],
)
def test_bad_query_is_refused_with_400_naming_the_param(agent_client, agent, query, param):
    make_lead(agent)

    response = agent_client.get(f"{LIST_URL}?{query}")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert set(body) == {"error", "fields"}
    assert list(body["fields"]) == [param]
    assert body["error"].startswith(f"{param}: ")


def test_bad_source_message_lists_the_accepted_sources(agent_client):
    body = list_leads(agent_client, sources="Bogus").json()

    assert "Bogus" in body["error"]
    assert all(source in body["error"] for source in LeadSource.values)


def test_bad_query_is_refused_even_with_a_trailing_slash(agent_client):
    response = agent_client.get("/api/leads/", {"limit": "5"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "limit" in response.json()["fields"]


@pytest.mark.parametrize("parameter", ["states", "dispositions", "sources"])
@pytest.mark.parametrize("path", ["/api/leads", "/api/leads/export"])
def test_a_list_parameter_past_its_item_limit_is_refused_empty_items_included(
    agent_client, path, parameter
):
    query = "&".join([f"{parameter}="] * 101)

    response = agent_client.get(f"{path}?{query}")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert parameter in response.json()["fields"]
