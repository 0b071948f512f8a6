"""Test data builders, in one place."""

import itertools
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model

from leads.models import Disposition, Lead, LeadSource

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


def make_leads(tenant: Any, count: int, **fields: Any) -> list[Lead]:
    """Create `count` leads in one query, each with its own phone and email."""
    leads = []
    for _ in range(count):
        number = next(_numbers)
        values = {
            "first_name": "Bulk",
            "last_name": f"Lead{number}",
            "phone": f"+1312{number // 10000 % 1000:03d}{number % 10000:04d}",
            "email": f"bulk{number}@example.com",
            "state": "TX",
            "source": LeadSource.NEXTGEN,
            "time_zone": "America/Chicago",
        }
        values.update(fields)
        leads.append(Lead(tenant=tenant, **values))
    return Lead.objects.bulk_create(leads)


def set_created_at(lead: Lead, created_at: datetime) -> Lead:
    """Backdate a lead: `created_at` is set by the database on insert, so it is changed after."""
    Lead.objects.filter(pk=lead.pk).update(created_at=created_at)
    lead.refresh_from_db()
    return lead


def make_disposition(name: str, *, tenant: Any = None) -> Disposition:
    return Disposition.objects.create(name=name, tenant=tenant)
