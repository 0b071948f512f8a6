"""Test data builders, in one place."""

import itertools
from typing import Any

from django.contrib.auth import get_user_model

from leads.models import Lead, LeadSource

PASSWORD = "correct-horse-battery"
_numbers = itertools.count(1)


def make_agent(username: str, *, is_admin: bool = False) -> Any:
    users = get_user_model().objects
    if is_admin:
        return users.create_superuser(username=username, email="", password=PASSWORD)
    return users.create_user(username=username, email=f"{username}@example.com", password=PASSWORD)


def make_lead(tenant: Any, **fields: Any) -> Lead:
    number = next(_numbers)
    values = {
        "first_name": "Test",
        "last_name": f"Lead{number}",
        "phone": f"+1210555{number % 10000:04d}",
        "email": f"lead{number}@example.com",
        "state": "TX",
        "source": LeadSource.NEXTGEN,
        "time_zone": "America/Chicago",
    }
    values.update(fields)
    return Lead.objects.create(tenant=tenant, **values)
