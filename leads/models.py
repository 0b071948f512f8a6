from datetime import time
from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Func, Q
from django.db.models.functions import Lower, Upper

from leads.bounds import PRICE_DECIMAL_PLACES, PRICE_MAX_DIGITS


class LeadSource(models.TextChoices):
    NEXTGEN = "NextGen"
    MARKETPLACE = "Marketplace"
    CSV_IMPORT = "CSV Import"
    MANUAL_ENTRY = "Manual Entry"
    SELF_GENERATED = "Self Generated"
    USHA = "Usha"


class LeadStatus(models.TextChoices):
    NEW = "New"
    CONTACTED = "Contacted"
    FOLLOW_UP = "Follow-up"
    WON = "Won"
    LOST = "Lost"


class SearchText(Func):
    """First name, last name and email, space-separated: what a search word is matched against.

    A search word holds no whitespace, so it matches this text exactly when it matches one of
    the three fields; one trigram index on it serves all three (docs/desk.md).
    """

    template = "(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = models.TextField()

    def __init__(self) -> None:
        super().__init__(F("first_name"), F("last_name"), F("email"))


class PostgreSQLGinIndex(GinIndex):
    """A GIN index on PostgreSQL, and nothing on the embedded SQLite default, which has none.

    Declared in Meta.indexes like any index, so every later migration that rebuilds the lead
    table on SQLite (it rebuilds a table to add a NOT NULL column) skips it instead of failing.
    """

    def create_sql(self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any) -> Any:
        if schema_editor.connection.vendor != "postgresql":
            return ""
        return super().create_sql(model, schema_editor, using=using, **kwargs)

    def remove_sql(self, model: Any, schema_editor: Any, **kwargs: Any) -> Any:
        if schema_editor.connection.vendor != "postgresql":
            return ""
        return super().remove_sql(model, schema_editor, **kwargs)


# A lead must be reachable: every door refuses one with neither a phone nor an email, and the
# database's lead_has_phone_or_email check (Lead.Meta) stands behind them.
NEEDS_PHONE_OR_EMAIL = "A lead needs a phone or an email."


def has_phone_or_email(phone: str | None, email: str | None) -> bool:
    return bool(phone or email)


class Lead(models.Model):
    """A prospect in one agent's tenant. Text fields are never NULL: empty means unknown."""

    # Every (tenant, …) index and unique key below starts with the tenant: a tenant-only index
    # would cost each insert and tempt the planner into reading a whole tenant.
    tenant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leads", db_index=False
    )
    # No index: nothing reads leads by assignee, and every import sets it (to the tenant), so an
    # index would cost each new lead for the one reader, deleting a user (docs/desk.md, "Costs").
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_leads",
        db_index=False,
    )

    # Contact
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +12104611180")

    # Location
    street1 = models.CharField(max_length=255, blank=True)
    street2 = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    zipcode = models.CharField(max_length=10, blank=True)
    time_zone = models.CharField(max_length=40, blank=True)

    # Demographics and health
    dob = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=10, blank=True)
    height = models.CharField(max_length=10, blank=True)
    weight = models.CharField(max_length=10, blank=True)
    military = models.BooleanField(null=True, blank=True)
    pregnant = models.BooleanField(null=True, blank=True)
    tobacco_user = models.BooleanField(null=True, blank=True)
    has_prescription = models.BooleanField(null=True, blank=True)
    has_medicare_parts_ab = models.BooleanField(null=True, blank=True)
    has_medical_condition = models.BooleanField(null=True, blank=True)
    medical_conditions = models.TextField(blank=True)
    household_size = models.PositiveSmallIntegerField(null=True, blank=True)
    household_income = models.CharField(max_length=50, blank=True)
    insurance_timeframe = models.CharField(max_length=50, blank=True)

    # Desk
    source = models.CharField(max_length=20, choices=LeadSource.choices)
    status = models.CharField(max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)
    disposition = models.CharField(max_length=50, blank=True)
    notes = models.TextField(blank=True)
    # Kept in step with the tenant's do-not-call list by every writer (docs/dnc.md).
    do_not_call = models.BooleanField(default=False)
    # The call loop (docs/call-loop.md): kept by `call_attempt_record`, not counted per list row.
    attempts_total = models.PositiveIntegerField(default=0, db_default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_follow_up_at = models.DateTimeField(null=True, blank=True)
    # Set when the scheduler claimed this follow-up's `follow_up_due` event (leads/followups.py):
    # the claim is a conditional UPDATE, so two schedulers or a restart never ring it twice.
    follow_up_notified_at = models.DateTimeField(null=True, blank=True)

    # Vendor and campaign
    nextgen_id = models.CharField(max_length=64, blank=True)
    purchase_id = models.CharField(max_length=64, blank=True)
    price = models.DecimalField(
        max_digits=PRICE_MAX_DIGITS, decimal_places=PRICE_DECIMAL_PLACES, null=True, blank=True
    )
    premium_price = models.DecimalField(
        max_digits=PRICE_MAX_DIGITS,
        decimal_places=PRICE_DECIMAL_PLACES,
        null=True,
        blank=True,
        help_text="Price of the NextGen premium listing (an 'ad') applied to this lead, if any.",
    )
    product = models.CharField(max_length=20, blank=True)
    campaign_name = models.CharField(max_length=255, blank=True)
    vendor_name = models.CharField(max_length=100, blank=True)
    account_name = models.CharField(max_length=100, blank=True)
    bid_type = models.CharField(max_length=50, blank=True)
    call_log_id = models.CharField(max_length=64, blank=True)
    call_duration = models.PositiveIntegerField(null=True, blank=True)
    source_hash = models.CharField(max_length=128, blank=True)
    sub_id_hash = models.CharField(max_length=128, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=255, blank=True)
    vendor_created_at = models.DateTimeField(null=True, blank=True)
    vendor_data = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "phone"], condition=~Q(phone=""), name="lead_unique_tenant_phone"
            ),
            models.UniqueConstraint(
                fields=["tenant", "email"], condition=~Q(email=""), name="lead_unique_tenant_email"
            ),
            models.UniqueConstraint(
                fields=["tenant", "nextgen_id"],
                condition=~Q(nextgen_id=""),
                name="lead_unique_tenant_nextgen_id",
            ),
            models.CheckConstraint(
                condition=~Q(phone="", email=""), name="lead_has_phone_or_email"
            ),
        ]
        # One index per desk sort, in the sort's own terms with the id that breaks ties, so a
        # page in either direction is read off the index (leads.selectors.SORT_FIELDS).
        indexes = [
            # The list filters ride along (as key columns: SQLite has no INCLUDE), so a filtered
            # page in date order is read off this index alone.
            models.Index(
                fields=["tenant", "created_at", "id", "state", "disposition", "source"],
                name="lead_tenant_created_id",
            ),
            # The text sorts are on expressions; the columns they read ride along (INCLUDE, on
            # PostgreSQL) so a deep page's ids are read off the index alone (docs/desk.md).
            models.Index(
                F("tenant"),
                Lower("first_name"),
                Lower("last_name"),
                F("id"),
                name="lead_sort_name",
                include=["first_name", "last_name"],
            ),
            models.Index(
                F("tenant"), Lower("email"), F("id"), name="lead_sort_email", include=["email"]
            ),
            models.Index(fields=["tenant", "phone", "id"], name="lead_sort_phone"),
            # Also the states filter's index (counted off it alone).
            models.Index(fields=["tenant", "state", "id"], name="lead_tenant_state_id"),
            models.Index(
                F("tenant"),
                Lower("disposition"),
                F("id"),
                name="lead_sort_disposition",
                include=["disposition"],
            ),
            models.Index(fields=["tenant", "time_zone", "id"], name="lead_sort_time_zone"),
            # The sources filter's index: a rare source is counted off its own entries.
            models.Index(fields=["tenant", "source"], name="lead_tenant_source"),
            # The desk's filters together, newest first within them: a rare combination is
            # counted and paged from its own few entries, not by walking the tenant's dates.
            # Disposition first, so that it is also the dispositions filter's index (the states
            # filter has lead_tenant_state_id, the sources filter lead_tenant_source).
            models.Index(
                fields=["tenant", "disposition", "state", "source", "created_at", "id"],
                name="lead_filters",
            ),
            # Partial: the few flagged leads only, so an unflagged insert never touches it.
            models.Index(
                fields=["tenant", "-created_at"],
                name="lead_tenant_do_not_call",
                condition=Q(do_not_call=True),
            ),
            # The speed-to-lead header: leads nobody has worked yet and that may be called,
            # oldest first (leads.selectors.lead_waiting_summary, counted off the index alone).
            models.Index(
                fields=["tenant", "created_at", "id"],
                condition=Q(status="New", disposition="", do_not_call=False),
                name="lead_waiting_callable",
            ),
            # Follow-ups: the agent's list, soonest first (partial: most leads have none).
            models.Index(
                fields=["tenant", "next_follow_up_at", "id"],
                condition=Q(next_follow_up_at__isnull=False),
                name="lead_follow_up",
            ),
            # The scheduler's question, across tenants: which follow-ups are due and not rung.
            models.Index(
                fields=["next_follow_up_at"],
                condition=Q(next_follow_up_at__isnull=False, follow_up_notified_at__isnull=True),
                name="lead_follow_up_pending",
            ),
            # "Callable now" checks the caps of the leads called in the last 24 hours only.
            models.Index(
                fields=["tenant", "last_attempt_at"],
                condition=Q(last_attempt_at__isnull=False),
                name="lead_recently_called",
            ),
            # Search by a fragment (pg_trgm; PostgreSQL only, see migrations 0006 and 0008),
            # within the tenant (btree_gin): the index finds the tenant's matches only.
            PostgreSQLGinIndex(
                F("tenant"),
                OpClass(Upper(SearchText()), name="gin_trgm_ops"),
                name="lead_search_tenant_trgm",
            ),
            PostgreSQLGinIndex(
                F("tenant"), OpClass(F("phone"), name="gin_trgm_ops"), name="lead_phone_tenant_trgm"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.phone or self.email

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


DNC_REASON_MAX_LENGTH = 200


class DoNotCallSource(models.TextChoices):
    MANUAL = "manual"
    UPLOAD = "upload"
    LEAD = "lead"


class DoNotCallEntry(models.Model):
    """A phone number on one agent's do-not-call list. Removal keeps the entry, marked."""

    tenant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="do_not_call_entries",
        db_index=False,
    )
    phone = models.CharField(max_length=20, help_text="E.164, e.g. +12104611180")
    reason = models.CharField(max_length=DNC_REASON_MAX_LENGTH)
    source = models.CharField(max_length=10, choices=DoNotCallSource.choices)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    removal_reason = models.CharField(max_length=DNC_REASON_MAX_LENGTH, blank=True)

    class Meta:
        verbose_name = "do-not-call entry"
        verbose_name_plural = "do-not-call entries"
        constraints = [
            # One active entry per number; also the index every door's check probes.
            models.UniqueConstraint(
                fields=["tenant", "phone"],
                condition=Q(removed_at__isnull=True),
                name="dnc_unique_tenant_active_phone",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "-added_at"], name="dnc_tenant_added")]

    def __str__(self) -> str:
        return self.phone


class Disposition(models.Model):
    """An outcome an agent can put on a lead; rows without a tenant are everyone's defaults."""

    tenant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="dispositions",
    )
    name = models.CharField(max_length=50)
    color = models.CharField(max_length=7, default="#64748b", help_text="CSS hex color")
    emoji = models.CharField(max_length=8, blank=True)
    order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"], name="disposition_unique_tenant_name"
            ),
            models.UniqueConstraint(
                fields=["name"], condition=Q(tenant__isnull=True), name="disposition_unique_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class InvitePasscode(models.Model):
    """A code an admin hands out so people can sign up as agents; each sign-up uses it once."""

    code = models.CharField(
        max_length=20,
        unique=True,
        validators=[
            RegexValidator(
                r"^[A-Z0-9]{6,20}$", "6 to 20 upper-case letters or digits, e.g. SPRING2025."
            )
        ],
    )
    description = models.CharField(max_length=255, blank=True)
    max_uses = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0, help_text="Sign-ups so far.")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invite_passcodes",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(uses__lte=F("max_uses")), name="invite_passcode_uses_within_max"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class CallingRule(models.Model):
    """When sales calls may be made, in the called person's local time (docs/call-loop.md).

    The rule without a state is the federal default; a state's rule only ever narrows it: the
    later start, the earlier end and the lower cap of the two apply.
    """

    state = models.CharField(
        max_length=2, blank=True, unique=True, help_text="Two-letter state; empty for federal."
    )
    start = models.TimeField(help_text="Earliest local time a call may start.")
    end = models.TimeField(help_text="Local time from which no call may start.")
    weekday_hours = models.JSONField(
        default=dict,
        blank=True,
        help_text='Optional per weekday, overriding start/end: {"sun": ["12:00", "20:00"]}; '
        '{"sun": null} forbids the day. Keys: mon tue wed thu fri sat sun.',
    )
    max_calls_per_24h = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Most sales calls per person per rolling 24 hours."
    )
    notes = models.TextField(blank=True, help_text="The source (statute) and any exemptions.")

    class Meta:
        ordering = ["state"]

    def __str__(self) -> str:
        return self.state or "Federal default"

    def clean(self) -> None:
        # The admin's form: a malformed rule would make every lead in the state undecidable.
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValidationError({"end": "The end must be after the start."})
        days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        hours = self.weekday_hours
        if not isinstance(hours, dict) or not set(hours) <= set(days):
            raise ValidationError({"weekday_hours": f"An object with keys among {days}."})
        for day, given in hours.items():
            if given is None:
                continue
            start: time | None
            end: time | None
            try:
                start, end = (time.fromisoformat(value) for value in given)
            except (TypeError, ValueError):
                start = end = None
            if start is None or end is None or start >= end:
                raise ValidationError(
                    {"weekday_hours": f'{day}: null or ["HH:MM", "HH:MM"], start first.'}
                )


class CallOutcome(models.TextChoices):
    NONE = "", "Not given"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    BUSY = "busy"
    CONNECTED = "connected"
    BAD_NUMBER = "bad_number"


CALL_NOTE_MAX_LENGTH = 2000
OVERRIDE_REASON_MAX_LENGTH = 200


class CallAttempt(models.Model):
    """One call the agent started to a lead; an override records why the rules were set aside."""

    tenant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="attempts", db_index=False
    )
    at = models.DateTimeField()
    outcome = models.CharField(max_length=20, choices=CallOutcome.choices, blank=True)
    note = models.TextField(blank=True)
    override_reason = models.CharField(max_length=OVERRIDE_REASON_MAX_LENGTH, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["lead", "-at"], name="attempt_lead_at")]

    def __str__(self) -> str:
        return f"{self.lead_id} at {self.at:%Y-%m-%d %H:%M}"


class LeadEventKind(models.TextChoices):
    ARRIVED = "arrived"
    VENDOR_UPDATE = "vendor_update"
    ATTEMPT = "attempt"
    ATTEMPT_OUTCOME = "attempt_outcome"
    CHANGED = "changed"
    FOLLOW_UP_SET = "follow_up_set"
    FOLLOW_UP_CLEARED = "follow_up_cleared"
    FOLLOW_UP_DONE = "follow_up_done"
    DO_NOT_CALL_ADDED = "do_not_call_added"
    DO_NOT_CALL_REMOVED = "do_not_call_removed"


class LeadEvent(models.Model):
    """One entry of a lead's story (docs/call-loop.md, "Timeline"), written where it happened.

    `data` holds what the kind needs: the door, vendor and import of an arrival, the fields a
    vendor update changed, `{"field": {"old", "new"}}` for an agent's change, the attempt id.
    """

    tenant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=30, choices=LeadEventKind.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["lead", "at", "id"], name="lead_event_lead_at")]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.kind} at {self.at:%Y-%m-%d %H:%M}"
