"""The lead resource of CONTRACT §3: one serializer for the API, the socket events and the docs."""

from typing import Any

from rest_framework import serializers

from leads.models import Lead
from leads.normalize import InvalidValue, phone_display


def phone_for_display(phone: str) -> str:
    """Return the stored phone as people write it, or as stored if it is not E.164.

    Phones arrive normalised, but the admin edits raw fields: one hand-typed value must not break
    the agent's whole list or export.
    """
    try:
        return phone_display(phone)
    except InvalidValue:
        return phone


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


class CamelCaseModelSerializer(serializers.ModelSerializer):
    """Expose snake_case model fields under camelCase names, for reading and writing."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = {}
        for name, field in super().get_fields().items():
            camel_name = camel_case(name)
            # DRF refuses a source equal to the field name, so only renamed fields get one.
            if field.source is None and camel_name != name:
                field.source = name
            fields[camel_name] = field
        return fields


class LeadSerializer(CamelCaseModelSerializer):
    tenant_id = serializers.IntegerField(read_only=True)
    assigned_to_id = serializers.IntegerField(read_only=True, allow_null=True)
    name = serializers.CharField(read_only=True)
    # Fields are bound under their camelCase names, so the method is named explicitly.
    phone_display = serializers.SerializerMethodField(method_name="get_phone_display")

    class Meta:
        model = Lead
        exclude = ["tenant", "assigned_to", "follow_up_notified_at"]
        read_only_fields = [f.name for f in Lead._meta.concrete_fields]

    def get_phone_display(self, lead: Lead) -> str:
        return phone_for_display(lead.phone)


class LeadResourceWriter:
    """`LeadSerializer(lead).data`, minus DRF's per-field bookkeeping.

    The webhook serialises one lead per call, hundreds of times a second. The serializer's own
    fields still convert every value, so the two cannot drift apart; only a text field holding
    a plain string, most of a lead, skips the call that would return it unchanged.
    """

    def __init__(self) -> None:
        serializer = LeadSerializer()
        # (key, attribute or None for a computed value, is plain text, converter)
        self.plan: list[tuple[str, str | None, bool, Any]] = []
        for key, field in serializer.fields.items():
            if isinstance(field, serializers.SerializerMethodField):
                self.plan.append((key, None, False, getattr(serializer, field.method_name)))
            else:
                text = type(field) is serializers.CharField
                self.plan.append((key, field.source, text, field.to_representation))

    def __call__(self, lead: Lead) -> dict[str, Any]:
        out = {}
        for key, source, text, convert in self.plan:
            if source is None:
                out[key] = convert(lead)
                continue
            value = getattr(lead, source)
            out[key] = value if value is None or (text and type(value) is str) else convert(value)
        return out


lead_resource = LeadResourceWriter()
