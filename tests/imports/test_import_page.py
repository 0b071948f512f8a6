"""The import page, server side: the history it renders (with undo) and what it hands its script."""

import json
import re
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.test import Client
from django.utils import timezone

from imports.models import ImportJob, ImportStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def make_job(tenant, name: str, status: str, **fields) -> ImportJob:
    return ImportJob.objects.create(
        tenant=tenant, file_name=name, file_size=10, vendor="Generic", encoding="utf-8",
        delimiter=",", status=status, **fields,
    )  # fmt: skip


def page_of(browser: Client) -> str:
    response = browser.get("/imports")
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def history_rows(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-import-id="(\d+)">(.*?)</tr>', page, re.DOTALL))


def undo_buttons(row: str) -> list[tuple[str, str]]:
    """(data-undo-url, accessible text) of each undo button in a history row."""
    found = re.findall(r'<button [^>]*class="ghost import-undo" ([^>]*)>(.*?)</button>', row)
    return [
        (re.search(r'data-undo-url="([^"]*)"', attrs)[1], re.sub(r"<[^>]+>", "", text))
        for attrs, text in found
    ]


def test_history_offers_undo_for_finished_imports_within_thirty_days(browser, agent):
    now = timezone.now()
    done = make_job(agent, "done.csv", ImportStatus.DONE, finished_at=now)
    failed = make_job(agent, "failed.csv", ImportStatus.FAILED, finished_at=now)
    old = make_job(agent, "old.csv", ImportStatus.DONE, finished_at=now - timedelta(days=31))
    running = make_job(agent, "running.csv", ImportStatus.RUNNING)
    undone = make_job(
        agent, "undone.csv", ImportStatus.UNDONE, finished_at=now,
        undo={"deleted": 3, "restored": 1, "kept": 2, "keptLeads": [7, 8]},
    )  # fmt: skip
    make_job(agent, "previewed.csv", ImportStatus.PREVIEW)

    page = page_of(browser)

    rows = history_rows(page)
    assert set(rows) == {str(job.pk) for job in (done, failed, old, running, undone)}
    for job in (done, failed):
        assert undo_buttons(rows[str(job.pk)]) == [
            (f"/api/imports/{job.pk}/undo", f"Undo {job.file_name}")
        ]
    for job in (old, running, undone):
        assert undo_buttons(rows[str(job.pk)]) == []
    assert "3 deleted, 1 restored, 2 kept" in rows[str(undone.pk)]


def test_the_page_hands_its_script_the_urls_and_every_lead_field(browser):
    page = page_of(browser)

    urls = json.loads(re.search(r'<script id="import-urls"[^>]*>(.*?)</script>', page)[1])
    assert urls == {
        "preview": "/api/imports/preview",
        "run": "/api/imports/{id}/run",
        "undo": "/api/imports/{id}/undo",
        "detail": "/api/imports/{id}",
        "desk": "/",
    }
    template = re.search(r'<template id="import-field-options">(.*?)</template>', page, re.DOTALL)
    options = dict(re.findall(r'<option value="([^"]+)">([^<]+)</option>', template[1]))
    assert options["keep"].startswith("Keep") and options["ignore"] == "Ignore"
    assert options["dob"] == "Date of birth"
    assert options["firstName"] == "First name"
    assert {"phone", "email", "name", "zipcode", "city", "state"} <= options.keys()
    assert re.search(r'id="import-scroll" tabindex="0" role="region" aria-label="[^"]+"', page)
