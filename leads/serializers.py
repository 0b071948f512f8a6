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
        exclude = ["tenant", "assigned_to"]
        read_only_fields = [f.name for f in Lead._meta.concrete_fields]

    def get_phone_display(self, lead: Lead) -> str:
        return phone_for_display(lead.phone)


# Building a ModelSerializer's fields costs milliseconds; the webhook's hot path serialises one
# lead per call, so it reuses one bound instance (to_representation keeps no state).
_LEAD_RESOURCE = LeadSerializer()


def lead_resource(lead: Lead) -> dict[str, Any]:
    return _LEAD_RESOURCE.to_representation(lead)
