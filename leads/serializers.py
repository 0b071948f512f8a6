"""The lead resource of CONTRACT §3: one serializer for the API, the socket events and the docs."""

from typing import Any

from rest_framework import serializers

from leads.models import Lead
from leads.normalize import phone_display


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


class CamelCaseModelSerializer(serializers.ModelSerializer):
    """Expose snake_case model fields under camelCase names, for reading and writing."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = {}
        for name, field in super().get_fields().items():
            if field.source is None:
                field.source = name
            fields[camel_case(name)] = field
        return fields


class LeadSerializer(CamelCaseModelSerializer):
    tenant_id = serializers.IntegerField(read_only=True)
    assigned_to_id = serializers.IntegerField(read_only=True, allow_null=True)
    name = serializers.CharField(read_only=True)
    phone_display = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        exclude = ["tenant", "assigned_to"]
        read_only_fields = [f.name for f in Lead._meta.concrete_fields]

    def get_phone_display(self, lead: Lead) -> str:
        return phone_display(lead.phone)


def lead_resource(lead: Lead) -> dict[str, Any]:
    return LeadSerializer(lead).data
