"""Writes to leads. Each runs in a transaction and announces itself only after the commit."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError

from leads.events import send_to_tenant_on_commit
from leads.models import Lead
from leads.normalize import time_zone_for
from leads.serializers import lead_resource

UNIQUE_FIELD_BY_CONSTRAINT = {
    "lead_unique_tenant_phone": "phone",
    "lead_unique_tenant_email": "email",
    "lead_unique_tenant_nextgen_id": "nextgenId",
}


def lead_updated_event(lead: Lead, **extra: Any) -> dict[str, Any]:
    return {"type": "lead_updated", "lead": lead_resource(lead), **extra}


def _conflicting_field(error: IntegrityError) -> str:
    message = str(error)
    for constraint, field in UNIQUE_FIELD_BY_CONSTRAINT.items():
        if constraint in message:
            return field
    # SQLite names the columns, not the constraint.
    for column, field in (("phone", "phone"), ("email", "email"), ("nextgen_id", "nextgenId")):
        if f"leads_lead.{column}" in message:
            return field
    return "non_field_errors"


def lead_update(*, lead: Lead, changes: dict[str, Any]) -> Lead:
    """Apply already-normalised `changes` (model field names) and tell the tenant's screens.

    A change that would give the lead another lead's phone or email is refused.
    """
    if not changes:
        return lead
    for name, value in changes.items():
        setattr(lead, name, value)
    if "state" in changes or "phone" in changes:
        lead.time_zone = time_zone_for(lead.state, lead.phone)
    if not lead.phone and not lead.email:
        raise ValidationError({"phone": ["A lead needs a phone or an email."]})
    try:
        with transaction.atomic():
            lead.save(update_fields=[*changes, "time_zone", "updated_at"])
            send_to_tenant_on_commit(lead.tenant_id, lead_updated_event(lead))
    except IntegrityError as error:
        field = _conflicting_field(error)
        raise ValidationError({field: ["Another lead of yours already has this value."]}) from None
    return lead


def agent_create(
    *, username: str, password: str, email: str = "", is_admin: bool = False
) -> AbstractBaseUser:
    """Create an agent, the owner of one tenant; an admin agent is a staff superuser."""
    user_model = get_user_model()
    if is_admin:
        return user_model.objects.create_superuser(username=username, email=email, password=password)
    return user_model.objects.create_user(username=username, email=email, password=password)
