"""Texts reach PostgreSQL as one array literal, exactly as they are."""

import pytest
from django.db import connection

from leads.sql import TEXTS, texts_parameter

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ODD_TEXTS = ['a"b', "back\\slash", "tab\there", "line\nbreak", "é ✓", "{x}", "a,b", "", " ", "NULL"]


def test_texts_arrive_as_they_are():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {TEXTS}", [texts_parameter(ODD_TEXTS)])
        (arrived,) = cursor.fetchone()

    assert arrived == ODD_TEXTS


def test_no_texts_make_an_empty_array():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {TEXTS}", [texts_parameter([])])
        (arrived,) = cursor.fetchone()

    assert arrived == []
