"""The NextGen webhook body (CONTRACT §4) and its translation into lead fields."""

import math
import re
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from leads.bounds import MAX_PRICE
from leads.models import NEEDS_PHONE_OR_EMAIL, LeadSource, has_phone_or_email
from leads.normalize import (
    InvalidValue,
    format_height,
    normalize_dob,
    normalize_email,
    normalize_gender,
    normalize_phone,
    normalize_state,
    normalize_zip,
    parse_bool,
    parse_price,
)

NULL_CHARACTER = "\x00"
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _storage_problem(value: Any) -> str | None:
    """Return why the database could not store `value` as sent, or None.

    PostgreSQL text and jsonb cannot hold NUL, no UTF-8 column can hold a lone surrogate, and
    NaN or Infinity are not JSON. DRF's CharField already refuses the first two; the fields it
    does not cover must refuse them too, with a 400 instead of a 500 from the database.
    """
    if isinstance(value, str):
        if NULL_CHARACTER in value:
            return "Null characters are not allowed."
        if LONE_SURROGATE.search(value):
            return "Surrogate characters are not allowed."
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN and Infinity are not allowed."
    if isinstance(value, dict):
        parts = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        parts = value
    else:
        return None
    return next(filter(None, map(_storage_problem, parts)), None)


@extend_schema_field(OpenApiTypes.STR)
class NormalisedField(serializers.Field):
    """A string-or-number field passed through one of the shared normalisers."""

    def __init__(self, normaliser: Callable[[Any], Any], **kwargs: Any) -> None:
        self.normaliser = normaliser
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        # The normalisers take text: true/false (or an object) is not a phone, email or state.
        if isinstance(data, bool | dict | list):
            self.fail("invalid")
        text = str(data)
        if problem := _storage_problem(text):
            raise serializers.ValidationError(problem)
        try:
            return self.normaliser(text)
        except InvalidValue as error:
            raise serializers.ValidationError(str(error)) from None

    def to_representation(self, value: Any) -> Any:
        return value

    default_error_messages = {"invalid": "Must be a string or a number."}


class LenientField(NormalisedField):
    """An optional detail that must never cost a lead: a value that does not parse is dropped."""

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            return None


@extend_schema_field({"oneOf": [{"type": "boolean"}, {"type": "string"}]})
class BooleanAnswerField(NormalisedField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(parse_bool, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool):
            return data
        # 1 and 0 go through as "1" and "0"; any other number is refused like any other word.
        return super().to_internal_value(data)


@extend_schema_field(
    {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]}
)
class ConditionListField(serializers.Field):
    """A list of strings, or one comma-separated string."""

    default_error_messages = {"invalid": "Must be a list of strings or a comma-separated string."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str):
            items = data.split(",")
        elif isinstance(data, list) and all(isinstance(item, str) for item in data):
            items = data
        else:
            self.fail("invalid")
        if problem := _storage_problem(items):
            raise serializers.ValidationError(problem)
        return ", ".join(item.strip() for item in items if item.strip())

    def to_representation(self, value: Any) -> Any:
        return value


def text(max_length: int) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=max_length
    )


def whole_number(max_value: int) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=max_value
    )


class NextGenLeadSerializer(serializers.Serializer):
    lead_id = text(64)
    nextgen_id = text(64)
    first_name = text(100)
    last_name = text(100)
    email = NormalisedField(normalize_email)
    phone = NormalisedField(normalize_phone)
    phone_number = NormalisedField(normalize_phone)
    street_address = text(255)
    city = text(100)
    state = NormalisedField(normalize_state)
    zip_code = NormalisedField(str.strip)  # checked in validate(), where the state is known
    dob = LenientField(normalize_dob)
    date_of_birth = LenientField(normalize_dob)
    age = whole_number(130)
    gender = LenientField(normalize_gender)
    height = LenientField(format_height)
    weight = text(10)
    tobacco_user = BooleanAnswerField()
    pregnant = BooleanAnswerField()
    has_prescription = BooleanAnswerField()
    has_medicare_parts_ab = BooleanAnswerField()
    has_medical_condition = BooleanAnswerField()
    medical_conditions = ConditionListField()
    household_size = whole_number(100)
    household_income = text(50)
    campaign_name = text(255)
    product = serializers.ChoiceField(
        ["data", "ad"], required=False, allow_blank=True, allow_null=True
    )
    vendor_name = text(100)
    account_name = text(100)
    bid_type = text(50)
    price = NormalisedField(parse_price)
    call_log_id = text(64)
    call_duration = whole_number(10**9)
    source_hash = text(128)
    sub_id_hash = text(128)
    created_at = serializers.DateTimeField(required=False, allow_null=True)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        attrs = super().to_internal_value(data)
        # Unknown fields are kept as they came, in vendor_data.
        refused = {
            key: [problem]
            for key, value in data.items()
            if key not in self.fields and (problem := _storage_problem({key: value}))
        }
        if refused:
            raise serializers.ValidationError(refused)
        return attrs

    def validate_price(self, price: Decimal | None) -> Decimal | None:
        if price is not None and price > MAX_PRICE:
            raise serializers.ValidationError(f"Must be at most ${MAX_PRICE:,}.")
        return price

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        phone = attrs.get("phone") or attrs.get("phone_number")
        if not has_phone_or_email(phone, attrs.get("email")):
            raise serializers.ValidationError({"phone": [NEEDS_PHONE_OR_EMAIL]}, code="required")
        try:
            attrs["zip_code"] = normalize_zip(attrs.get("zip_code") or "", attrs.get("state") or "")
        except InvalidValue as error:
            raise serializers.ValidationError({"zip_code": [str(error)]}) from None
        return attrs


def nextgen_lead_fields(data: dict[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    """Translate a validated NextGen body into lead model fields; unknown keys go to vendor_data."""
    state = data.get("state") or ""
    fields = {
        "source": LeadSource.NEXTGEN,
        "nextgen_id": data.get("nextgen_id") or data.get("lead_id") or "",
        "first_name": data.get("first_name") or "",
        "last_name": data.get("last_name") or "",
        "email": data.get("email") or "",
        "phone": data.get("phone") or data.get("phone_number") or "",
        "street1": data.get("street_address") or "",
        "city": data.get("city") or "",
        "state": state,
        "zipcode": data.get("zip_code") or "",
        "dob": data.get("dob") or data.get("date_of_birth"),
        "gender": data.get("gender") or "",
        "height": data.get("height") or "",
        "weight": data.get("weight") or "",
        "tobacco_user": data.get("tobacco_user"),
        "pregnant": data.get("pregnant"),
        "has_prescription": data.get("has_prescription"),
        "has_medicare_parts_ab": data.get("has_medicare_parts_ab"),
        "has_medical_condition": data.get("has_medical_condition"),
        "medical_conditions": data.get("medical_conditions") or "",
        "household_size": data.get("household_size"),
        "household_income": data.get("household_income") or "",
        "campaign_name": data.get("campaign_name") or "",
        "product": data.get("product") or "",
        "vendor_name": data.get("vendor_name") or "",
        "account_name": data.get("account_name") or "",
        "bid_type": data.get("bid_type") or "",
        "price": data.get("price"),
        "call_log_id": data.get("call_log_id") or "",
        "call_duration": data.get("call_duration"),
        "source_hash": data.get("source_hash") or "",
        "sub_id_hash": data.get("sub_id_hash") or "",
        "vendor_created_at": data.get("created_at"),
    }
    extras = {key: value for key, value in payload.items() if key not in NEXTGEN_FIELD_NAMES}
    if data.get("age") is not None:
        extras["age"] = data["age"]
    if extras:
        fields["vendor_data"] = extras
    return fields


NEXTGEN_FIELD_NAMES = frozenset(NextGenLeadSerializer().fields)
_validators = threading.local()


def nextgen_payload_validate(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a webhook body and return it as lead fields, or raise ValidationError.

    Same rules as `NextGenLeadSerializer(data=…).is_valid()`, minus the cost of building the
    serializer's ~40 fields for every call: each thread keeps one instance.
    """
    serializer = getattr(_validators, "serializer", None)
    if serializer is None:
        serializer = _validators.serializer = NextGenLeadSerializer()
    return nextgen_lead_fields(serializer.run_validation(payload), payload)
