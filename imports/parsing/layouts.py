"""Which vendor wrote a file, and which of its columns feed which lead field.

Header names are matched case- and whitespace-insensitively for vendor detection; for column
mapping, punctuation is ignored too ("E-mail", "e_mail" and "EMAIL" are one column).
"""

import difflib
import hashlib
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
    vendor: ImportVendor
    source: str
    header: list[str]
    columns: list[Column] = field(default_factory=list)
    # (index, header) of the columns kept as they are in the lead's vendor_data.
    unmapped: list[tuple[int, str]] = field(default_factory=list)
    # Our export prefixes formula-looking cells with an apostrophe; reading it back removes it.
    unneutralise: bool = False

    def choices(self) -> list[str]:
        """What this layout does with each column: a field's API name, KEEP or IGNORE."""
        by_index = {column.index: API_NAME_BY_FIELD[column.field] for column in self.columns}
        kept = {index for index, _ in self.unmapped}
        return [
            by_index.get(index, KEEP if index in kept else IGNORE)
            for index in range(len(self.header))
        ]


def detect_vendor(header: list[str]) -> ImportVendor:
    keys = {detection_key(name) for name in header}
    if keys & NEXTGEN_MARKERS:
        return ImportVendor.NEXTGEN
    if keys & MARKETPLACE_MARKERS:
        return ImportVendor.MARKETPLACE
    return ImportVendor.GENERIC


def detect_layout(header: list[str]) -> Layout:
    """Return the vendor and column mapping for `header`; raise UnknownColumns if unusable."""
    layout = recognised_layout(header)
    mapped_fields = {column.field for column in layout.columns}
    if not mapped_fields & {"phone", "email"}:
        named = [_quoted(name) for name in layout.header if name]
        if len(named) > LISTED_COLUMNS:
            named[LISTED_COLUMNS:] = [f"and {len(named) - LISTED_COLUMNS} more"]
        found = ", ".join(named) or "no column names"
        raise UnknownColumns(
            f"No phone or email column found in this {layout.vendor} file. "
            f"Expected at least one of: {PHONE_OR_EMAIL_HINT[layout.vendor]}. Found: {found}."
        )
    return layout


def recognised_layout(header: list[str]) -> Layout:
    """Return the vendor and the columns recognised in `header`, usable or not."""
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
            found = index_by_key.get(column_key(alias))
            if found is not None and found not in used:
                columns.append(Column(index=found, field=field_name, kind=kind))
                used.add(found)
    mapped_fields = {column.field for column in columns}
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


# --- Steered imports: suggestions for any header, and layouts from the agent's mapping ---------

KEEP = "keep"
IGNORE = "ignore"
# Below this similarity a header gets no fuzzy suggestion.
FUZZY_CUTOFF = 0.72
# A fuzzy suggestion is never as sure as a recognised column.
FUZZY_CONFIDENCE_CAP = 0.9
# A header word that is a field's alias ("Zip" in "Zip/Postal"): a guess of this confidence.
WORD_CONFIDENCE = 0.7


def _snake_to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _field_kinds() -> dict[str, str]:
    kinds: dict[str, str] = {}
    for specs in (GENERIC_COLUMNS, NEXTGEN_COLUMNS, MARKETPLACE_COLUMNS):
        for name, kind, _ in specs:
            kinds.setdefault(name, kind)
    return kinds


# Every lead field a column may feed (model names), with its converter kind.
FIELD_KINDS = _field_kinds()
# The same fields by their camelCase API names ("firstName"), as mappings name them.
FIELD_BY_API_NAME = {_snake_to_camel(name): name for name in FIELD_KINDS}
API_NAME_BY_FIELD = {name: api for api, name in FIELD_BY_API_NAME.items()}


def _alias_keys() -> dict[str, str]:
    """column_key → field, for every alias of every layout and every field's own names."""
    keys: dict[str, str] = {}
    for name in FIELD_KINDS:
        keys.setdefault(column_key(name), name)
    for specs in (GENERIC_COLUMNS, NEXTGEN_COLUMNS, MARKETPLACE_COLUMNS):
        for name, _, aliases in specs:
            for alias in aliases:
                keys.setdefault(column_key(alias), name)
    return keys


ALIAS_KEYS = _alias_keys()
_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class ColumnSuggestion:
    header: str
    # A lead field's API name, KEEP or IGNORE
    choice: str
    confidence: float
    reason: str  # exact | alias | learned | fuzzy | none

    @property
    def field(self) -> str | None:
        return None if self.choice in (KEEP, IGNORE) else self.choice


def header_key(header: list[str]) -> str:
    """Digest of a header as saved mappings match it: names compared as column_key does."""
    joined = "\x1f".join(column_key(name) for name in header)
    return hashlib.sha256(joined.encode()).hexdigest()


def suggest_columns(
    header: list[str], *, learned: list[str] | None = None
) -> list[ColumnSuggestion]:
    """Suggest for each column of `header` a lead field (or keep/ignore), with how sure and why.

    A saved mapping (`learned`, a choice per column) wins. Otherwise the columns the layout
    detection recognises get exactly its mapping with confidence 1 (`exact` when the header is
    the field's own name, `alias` when one of its known names); the others a fuzzy guess among
    the fields still free, or none (kept in vendor_data, as an import keeps them).
    """
    header = [name.strip() for name in header]
    if learned is not None:
        return [
            ColumnSuggestion(name, choice, 1.0, "learned")
            for name, choice in zip(header, learned, strict=True)
        ]
    detected = recognised_layout(header).choices()
    taken = {choice for choice in detected if choice not in (KEEP, IGNORE)}
    suggestions = []
    for name, choice in zip(header, detected, strict=True):
        if choice not in (KEEP, IGNORE):
            field_name = FIELD_BY_API_NAME[choice]
            own_names = {column_key(field_name), column_key(choice)}
            reason = "exact" if column_key(name) in own_names else "alias"
            suggestions.append(ColumnSuggestion(name, choice, 1.0, reason))
            continue
        guess = _fuzzy_field(name, taken) if choice == KEEP else None
        if guess is not None:
            api_name, confidence = guess
            taken.add(api_name)
            suggestions.append(ColumnSuggestion(name, api_name, confidence, "fuzzy"))
        else:  # kept in vendor_data, or a column our own export derives (id, source …)
            suggestions.append(ColumnSuggestion(name, choice, 0.0, "none"))
    return suggestions


def _fuzzy_field(name: str, taken: set[str]) -> tuple[str, float] | None:
    key = column_key(name)
    if not key:
        return None
    free = {
        alias: field_name for alias, field_name in ALIAS_KEYS.items() if field_name not in taken
    }
    for word in _WORDS.findall(name.lower()):
        if len(word) >= 3 and word in free:
            return free[word], WORD_CONFIDENCE
    best = difflib.get_close_matches(key, free, n=1, cutoff=FUZZY_CUTOFF)
    if not best:
        return None
    ratio = difflib.SequenceMatcher(None, key, best[0]).ratio()
    return free[best[0]], round(min(ratio, FUZZY_CONFIDENCE_CAP), 2)


def layout_from_choices(header: list[str], choices: list[str]) -> Layout:
    """Return the layout that reads column i of `header` as `choices[i]`: a lead field's API
    name, KEEP (into vendor_data) or IGNORE."""
    header = [name.strip() for name in header]
    vendor = detect_vendor(header)
    columns = [
        Column(
            index=index,
            field=FIELD_BY_API_NAME[choice],
            kind=FIELD_KINDS[FIELD_BY_API_NAME[choice]],
        )
        for index, choice in enumerate(choices)
        if choice not in (KEEP, IGNORE)
    ]
    mapped_fields = {column.field for column in columns}
    if "first_name" in mapped_fields or "last_name" in mapped_fields:
        columns = [column for column in columns if column.kind != "name"]
    keys = [column_key(name) for name in header]
    is_own_export = vendor == ImportVendor.GENERIC and set(keys) >= CROKODIAL_EXPORT_MARKERS
    unmapped = _distinct_names(
        [(index, name) for index, name in enumerate(header) if choices[index] == KEEP and name]
    )
    return Layout(
        vendor=vendor,
        source=SOURCE_BY_VENDOR[vendor],
        header=header,
        columns=columns,
        unmapped=unmapped,
        unneutralise=is_own_export,
    )
