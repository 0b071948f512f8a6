"""Which vendor wrote a file, and which of its columns feed which lead field.

Header names are matched case- and whitespace-insensitively for vendor detection; for column
mapping, punctuation is ignored too ("E-mail", "e_mail" and "EMAIL" are one column).
"""

import re
from dataclasses import dataclass, field

from imports.models import ImportVendor
from leads.models import LeadSource

NEXTGEN_MARKERS = frozenset({"purchase_id", "vertical_id", "vendor_id"})
MARKETPLACE_MARKERS = frozenset({"leadid", "utm_source", "primaryphone"})
# Our own /api/leads/export, read back after a trip through a spreadsheet: its camelCase
# headings (firstName, nextgenId, campaignName) already match the generic columns.
CROKODIAL_EXPORT_MARKERS = frozenset({"id", "firstname", "lastname", "nextgenid", "createdat"})
CROKODIAL_EXPORT_DERIVED = frozenset({"id", "name", "source", "timezone", "createdat", "donotcall"})

# (lead field, converter kind, column aliases in order of preference)
ColumnSpec = tuple[str, str, tuple[str, ...]]

NEXTGEN_COLUMNS: tuple[ColumnSpec, ...] = (
    ("nextgen_id", "id", ("lead_id",)),
    ("purchase_id", "id", ("purchase_id",)),
    ("first_name", "text", ("first_name",)),
    ("last_name", "text", ("last_name",)),
    ("phone", "phone", ("phone",)),
    ("email", "email", ("email",)),
    ("street1", "text", ("street_1",)),
    ("street2", "text", ("street_2",)),
    ("city", "text", ("city",)),
    ("state", "state", ("state",)),
    ("zipcode", "zip", ("zipcode", "zip")),
    ("dob", "dob", ("dob", "date_of_birth")),
    ("gender", "gender", ("gender",)),
    ("height", "height", ("height",)),
    ("weight", "text", ("weight",)),
    ("household_size", "small_count", ("household_size",)),
    ("household_income", "text", ("household_income",)),
    ("military", "bool", ("military",)),
    ("pregnant", "bool", ("pregnant",)),
    ("tobacco_user", "bool", ("tobacco_user",)),
    ("has_prescription", "bool", ("has_prescription",)),
    ("has_medicare_parts_ab", "bool", ("has_medicare_parts_a_b",)),
    ("has_medical_condition", "bool", ("has_medical_condition",)),
    ("medical_conditions", "text", ("medical_conditions",)),
    ("insurance_timeframe", "text", ("insurance_timeframe",)),
    ("campaign_name", "text", ("campaign_name",)),
    ("product", "product", ("product",)),
    ("vendor_name", "text", ("vendor_name",)),
    ("account_name", "text", ("account_name",)),
    ("bid_type", "text", ("bid_type",)),
    ("price", "price", ("price",)),
    ("call_log_id", "id", ("call_log_id",)),
    ("call_duration", "count", ("call_duration",)),
    ("source_hash", "id", ("source_hash",)),
    ("sub_id_hash", "id", ("sub_id_hash",)),
    ("status", "status", ("status",)),
    ("disposition", "text", ("disposition",)),
    ("vendor_created_at", "datetime", ("created_at",)),
)

MARKETPLACE_COLUMNS: tuple[ColumnSpec, ...] = (
    # The model's vendor lead id is named for NextGen; Marketplace's leadID plays the same part.
    ("nextgen_id", "id", ("leadID",)),
    ("first_name", "text", ("firstName",)),
    ("last_name", "text", ("lastName",)),
    ("phone", "phone", ("primaryPhone",)),
    ("email", "email", ("email",)),
    ("street1", "text", ("address1",)),
    ("street2", "text", ("address2",)),
    ("city", "text", ("city",)),
    ("state", "state", ("stateCode", "state")),
    ("zipcode", "zip", ("postalCode",)),
    ("dob", "dob", ("dateOfBirth",)),
    ("gender", "gender", ("gender",)),
    ("height", "height", ("height",)),
    ("weight", "text", ("weight",)),
    ("household_size", "small_count", ("householdSize",)),
    ("household_income", "text", ("householdIncome",)),
    ("military", "bool", ("isMilitary",)),
    ("pregnant", "bool", ("isPregnant",)),
    ("tobacco_user", "bool", ("tobaccoUse",)),
    ("has_prescription", "bool", ("hasPrescriptions",)),
    ("has_medicare_parts_ab", "bool", ("hasMedicare",)),
    ("has_medical_condition", "bool", ("hasMedicalCondition",)),
    ("medical_conditions", "text", ("medicalConditions",)),
    ("insurance_timeframe", "text", ("insuranceNeeded",)),
    ("utm_source", "text", ("utm_source",)),
    ("utm_medium", "text", ("utm_medium",)),
    ("utm_campaign", "text", ("utm_campaign",)),
    ("status", "status", ("status",)),
    ("disposition", "text", ("disposition",)),
    ("vendor_created_at", "datetime", ("created",)),
)

GENERIC_COLUMNS: tuple[ColumnSpec, ...] = (
    ("first_name", "text", ("First Name", "First", "FName", "Given Name")),
    ("last_name", "text", ("Last Name", "Last", "LName", "Surname", "Family Name")),
    ("name", "name", ("Name", "Full Name", "Contact Name")),
    (
        "phone",
        "phone",
        (
            "Phone",
            "Phone Number",
            "Mobile",
            "Mobile Phone",
            "Cell",
            "Cell Phone",
            "Telephone",
            "Home Phone",
            "Primary Phone",
        ),
    ),
    ("email", "email", ("Email", "E-mail", "Email Address", "E-mail Address")),
    ("street1", "text", ("Address", "Street", "Street Address", "Address 1", "Street 1")),
    ("street2", "text", ("Address 2", "Street 2", "Apt", "Unit")),
    ("city", "text", ("City",)),
    ("state", "state", ("State", "ST", "State Code")),
    ("zipcode", "zip", ("Zip", "Zip Code", "Zipcode", "Postal Code", "ZIP5")),
    ("dob", "dob", ("DOB", "Date of Birth", "Birth Date", "Birthdate", "Birthday")),
    ("gender", "gender", ("Gender", "Sex")),
    ("height", "height", ("Height",)),
    ("weight", "text", ("Weight",)),
    ("notes", "text", ("Notes", "Note", "Comments")),
    ("status", "status", ("Status",)),
    ("disposition", "text", ("Disposition",)),
    ("nextgen_id", "id", ("NextGen ID",)),
    ("price", "price", ("Price",)),
    ("campaign_name", "text", ("Campaign Name", "Campaign")),
)

PHONE_OR_EMAIL_HINT = {
    ImportVendor.NEXTGEN: "phone, email",
    ImportVendor.MARKETPLACE: "primaryPhone, email",
    ImportVendor.GENERIC: "Phone, Phone Number, Mobile, Cell, Email or E-mail",
}
SOURCE_BY_VENDOR = {
    ImportVendor.NEXTGEN: LeadSource.NEXTGEN,
    ImportVendor.MARKETPLACE: LeadSource.MARKETPLACE,
    ImportVendor.GENERIC: LeadSource.CSV_IMPORT,
}


# An unusable header is quoted back, at most this many names of at most this many characters.
LISTED_COLUMNS = 30
QUOTED_NAME_CHARS = 60


class UnknownColumns(ValueError):
    """The header names no phone and no email column."""


def detection_key(header: str) -> str:
    return "".join(header.split()).lower()


_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")


def column_key(header: str) -> str:
    return _NOT_ALPHANUMERIC.sub("", header.lower())


@dataclass(frozen=True)
class Column:
    index: int
    field: str
    kind: str


@dataclass(frozen=True)
class Layout:
    vendor: str
    source: str
    header: list[str]
    columns: list[Column] = field(default_factory=list)
    # (index, header) of the columns kept as they are in the lead's vendor_data.
    unmapped: list[tuple[int, str]] = field(default_factory=list)
    # Our export prefixes formula-looking cells with an apostrophe; reading it back removes it.
    unneutralise: bool = False


def detect_vendor(header: list[str]) -> str:
    keys = {detection_key(name) for name in header}
    if keys & NEXTGEN_MARKERS:
        return ImportVendor.NEXTGEN
    if keys & MARKETPLACE_MARKERS:
        return ImportVendor.MARKETPLACE
    return ImportVendor.GENERIC


def detect_layout(header: list[str]) -> Layout:
    """Return the vendor and column mapping for `header`; raise UnknownColumns if unusable."""
    header = [name.strip() for name in header]
    vendor = detect_vendor(header)
    specs = {
        ImportVendor.NEXTGEN: NEXTGEN_COLUMNS,
        ImportVendor.MARKETPLACE: MARKETPLACE_COLUMNS,
        ImportVendor.GENERIC: GENERIC_COLUMNS,
    }[vendor]
    keys = [column_key(name) for name in header]
    is_own_export = vendor == ImportVendor.GENERIC and set(keys) >= CROKODIAL_EXPORT_MARKERS

    index_by_key: dict[str, int] = {}
    for index, key in enumerate(keys):
        index_by_key.setdefault(key, index)
    columns: list[Column] = []
    used: set[int] = set()
    for field_name, kind, aliases in specs:
        for alias in aliases:
            index = index_by_key.get(column_key(alias))
            if index is not None and index not in used:
                columns.append(Column(index=index, field=field_name, kind=kind))
                used.add(index)
    mapped_fields = {column.field for column in columns}
    if not mapped_fields & {"phone", "email"}:
        named = [_quoted(name) for name in header if name]
        if len(named) > LISTED_COLUMNS:
            named[LISTED_COLUMNS:] = [f"and {len(named) - LISTED_COLUMNS} more"]
        found = ", ".join(named) or "no column names"
        raise UnknownColumns(
            f"No phone or email column found in this {vendor} file. "
            f"Expected at least one of: {PHONE_OR_EMAIL_HINT[vendor]}. Found: {found}."
        )
    if "first_name" in mapped_fields or "last_name" in mapped_fields:
        columns = [column for column in columns if column.kind != "name"]
    ignored = CROKODIAL_EXPORT_DERIVED if is_own_export else frozenset()
    unmapped = _distinct_names(
        [
            (index, name)
            for index, name in enumerate(header)
            if index not in used and name and keys[index] not in ignored
        ]
    )
    return Layout(
        vendor=vendor,
        source=SOURCE_BY_VENDOR[vendor],
        header=header,
        columns=columns,
        unmapped=unmapped,
        unneutralise=is_own_export,
    )


def _quoted(name: str) -> str:
    return name if len(name) <= QUOTED_NAME_CHARS else name[: QUOTED_NAME_CHARS - 1] + "…"


def _distinct_names(columns: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Name repeated columns "Notes", "Notes (2)", …, so none hides another in vendor_data."""
    taken = {name for _, name in columns}
    seen: dict[str, int] = {}
    distinct = []
    for index, name in columns:
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            suffix = seen[name]
            while f"{name} ({suffix})" in taken:
                suffix += 1
            name = f"{name} ({suffix})"
            taken.add(name)
        distinct.append((index, name))
    return distinct
