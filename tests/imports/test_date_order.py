"""The order of a date column is the file's, decided once per column (CONTRACT §6 dateOrder)."""

from datetime import date
from http import HTTPStatus

import pytest

from imports.models import ImportJob, ImportMapping, ImportStatus
from leads.models import Lead
from tests.imports.steering import preview, run

pytestmark = pytest.mark.django_db

HEADER = b"Phone,Email,DOB\n"


def dated_file(*dobs: str) -> bytes:
    rows = [
        f"(210) 555-{101 + number:04d},lead{number:05d}@example.com,{dob}\n"
        for number, dob in enumerate(dobs)
    ]
    return HEADER + "".join(rows).encode()


def stored_dobs(agent) -> list[date | None]:
    return [lead.dob for lead in Lead.objects.filter(tenant=agent).order_by("email").only("dob")]


def dob_column(body: dict) -> dict:
    return next(c for c in body["preview"]["columns"] if c["header"] == "DOB")


DAY_FIRST_FILE = dated_file("01/12/1968", "31/01/1980")


def test_a_day_first_file_is_read_day_first_through_preview_and_run(
    agent_client, agent, django_capture_on_commit_callbacks
):
    body = preview(agent_client, DAY_FIRST_FILE)

    column = dob_column(body)
    assert (column["dateOrder"], column["dateOrderAssumed"]) == ("dmy", False)
    assert [row["lead"]["dob"] for row in body["preview"]["sample"]] == [
        "1968-12-01",
        "1980-01-31",
    ]
    run(agent_client, body["id"], django_capture_on_commit_callbacks)

    assert stored_dobs(agent) == [date(1968, 12, 1), date(1980, 1, 31)]


def test_a_day_first_file_is_read_day_first_through_the_plain_upload(agent_client, agent, upload):
    response = upload(agent_client, DAY_FIRST_FILE)

    assert response.status_code == HTTPStatus.ACCEPTED, response.json()
    assert stored_dobs(agent) == [date(1968, 12, 1), date(1980, 1, 31)]
    assert ImportJob.objects.get().date_orders == {"2": "dmy"}


def test_the_whole_column_decides_even_when_the_telling_date_is_far_down(
    agent_client, agent, upload
):
    dobs = ["01/12/1968"] + ["05/06/1970"] * 1_500 + ["31/01/1980"]

    upload(agent_client, dated_file(*dobs))

    dates = stored_dobs(agent)
    assert len(dates) == len(dobs)
    assert dates[0] == date(1968, 12, 1)
    assert set(dates[1:-1]) == {date(1970, 6, 5)}
    assert dates[-1] == date(1980, 1, 31)


def test_a_month_first_file_is_read_as_before(
    agent_client, agent, upload, django_capture_on_commit_callbacks
):
    content = dated_file("01/12/1968", "12/31/1980")
    body = preview(agent_client, content)

    assert (dob_column(body)["dateOrder"], dob_column(body)["dateOrderAssumed"]) == ("mdy", False)
    run(agent_client, body["id"], django_capture_on_commit_callbacks)
    assert stored_dobs(agent) == [date(1968, 1, 12), date(1980, 12, 31)]


def test_a_file_no_date_of_which_tells_is_assumed_month_first(
    agent_client, agent, django_capture_on_commit_callbacks
):
    body = preview(agent_client, dated_file("01/12/1968", "03/04/1980"))

    assert (dob_column(body)["dateOrder"], dob_column(body)["dateOrderAssumed"]) == ("mdy", True)
    run(agent_client, body["id"], django_capture_on_commit_callbacks)
    assert stored_dobs(agent) == [date(1968, 1, 12), date(1980, 3, 4)]


def test_the_agents_day_first_choice_flips_the_assumed_order_and_is_learned(
    agent_client, agent, upload, django_capture_on_commit_callbacks
):
    content = dated_file("01/12/1968", "03/04/1980")
    body = preview(agent_client, content, "vendor-week-1.csv")

    tried = run(
        agent_client, body["id"], django_capture_on_commit_callbacks, dryRun=True, dateOrder="dmy"
    )
    assert tried["dryRun"]["imported"] == 2
    assert not Lead.objects.exists()
    run(agent_client, body["id"], django_capture_on_commit_callbacks, dateOrder="dmy")

    assert stored_dobs(agent) == [date(1968, 12, 1), date(1980, 4, 3)]
    saved = ImportMapping.objects.get(tenant=agent)
    assert saved.date_order == "dmy"
    assert agent_client.get("/api/import-mappings").json()[0]["dateOrder"] == "dmy"

    # Next week the same vendor's file, straight through the upload: read day-first, learned.
    Lead.objects.all().delete()
    upload(agent_client, dated_file("02/11/1970", "03/04/1980"), "vendor-week-2.csv")
    assert stored_dobs(agent) == [date(1970, 11, 2), date(1980, 4, 3)]
    again = preview(agent_client, dated_file("02/11/1970"), "vendor-week-3.csv")
    assert (dob_column(again)["dateOrder"], dob_column(again)["dateOrderAssumed"]) == ("dmy", True)


def test_a_column_written_both_ways_imports_only_the_dates_that_cannot_be_misread(
    agent_client, agent, django_capture_on_commit_callbacks
):
    content = dated_file("31/01/1980", "01/31/1981", "01/12/1968", "05/05/1975")
    body = preview(agent_client, content)

    assert dob_column(body)["dateOrder"] == "mixed"
    sample = body["preview"]["sample"]
    assert [row["lead"].get("dob") for row in sample] == [
        "1980-01-31",
        "1981-01-31",
        None,
        "1975-05-05",
    ]
    assert [bool(row["problems"]) for row in sample] == [False, False, True, False]
    assert "day and month cannot be told apart" in sample[2]["problems"][0]
    assert "01/12/1968" in sample[2]["problems"][0]

    run(agent_client, body["id"], django_capture_on_commit_callbacks)
    assert stored_dobs(agent) == [date(1980, 1, 31), date(1981, 1, 31), None, date(1975, 5, 5)]
    job = ImportJob.objects.get(pk=body["id"])
    assert job.imported == 4
    assert [warning["line"] for warning in job.warnings] == [4]


def test_the_agents_order_refuses_the_dates_that_contradict_it(
    agent_client, agent, django_capture_on_commit_callbacks
):
    body = preview(agent_client, dated_file("31/01/1980", "01/31/1981"))

    run(agent_client, body["id"], django_capture_on_commit_callbacks, dateOrder="dmy")

    assert stored_dobs(agent) == [date(1980, 1, 31), None]
    warning = ImportJob.objects.get(pk=body["id"]).warnings[0]
    assert warning["line"] == 3 and "01/31/1981" in warning["message"]


@pytest.mark.parametrize("order", ["ymd", "DMY", "mixed", 1])
def test_a_bad_date_order_is_refused_and_nothing_is_written(
    agent_client, django_capture_on_commit_callbacks, order
):
    body = preview(agent_client, DAY_FIRST_FILE)

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            f"/api/imports/{body['id']}/run", {"dateOrder": order}, format="json"
        )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "dateOrder" in str(response.json())
    assert not Lead.objects.exists()
    job = ImportJob.objects.get(pk=body["id"])
    assert job.status == ImportStatus.PREVIEW
    assert job.date_orders == {"2": "dmy"}
