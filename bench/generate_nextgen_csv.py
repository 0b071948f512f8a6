"""Write a realistic, messy NextGen lead export for the CSV import benchmark.

    python bench/generate_nextgen_csv.py bench/data/nextgen_110k.csv --rows 110000

The values vary the way real exports do: phones in every common shape, e-mails in odd case
with stray spaces, states as codes, lower case or names, ZIP codes that lost their leading zero
or carry a +4, dates in several formats (some invalid), quoted addresses with commas and line
breaks, formula-looking names. About 8 % of the rows repeat an earlier lead (the same lead id,
or the same phone or e-mail under a new id) and about 3 % are premium listings (`product=ad`)
for an earlier lead. A fixed seed makes every run write the same file.
"""

import argparse
import csv
import random
from pathlib import Path

HEADER = [
    "lead_id",
    "purchase_id",
    "vertical_id",
    "vendor_id",
    "first_name",
    "last_name",
    "phone",
    "email",
    "street_1",
    "street_2",
    "city",
    "state",
    "zipcode",
    "dob",
    "gender",
    "height",
    "weight",
    "household_size",
    "household_income",
    "military",
    "pregnant",
    "tobacco_user",
    "has_prescription",
    "has_medicare_parts_a_b",
    "has_medical_condition",
    "medical_conditions",
    "insurance_timeframe",
    "campaign_name",
    "product",
    "vendor_name",
    "account_name",
    "bid_type",
    "price",
    "call_log_id",
    "call_duration",
    "source_hash",
    "sub_id_hash",
    "status",
    "disposition",
    "created_at",
    "ref_code",
]
AREAS = {
    "602": ("AZ", "Arizona", "Phoenix"),
    "480": ("AZ", "Arizona", "Mesa"),
    "425": ("WA", "Washington", "Bellevue"),
    "206": ("WA", "Washington", "Seattle"),
    "516": ("NY", "New York", "Hempstead"),
    "718": ("NY", "New York", "Brooklyn"),
    "212": ("NY", "New York", "New York"),
    "214": ("TX", "Texas", "Dallas"),
    "210": ("TX", "Texas", "San Antonio"),
    "713": ("TX", "Texas", "Houston"),
    "915": ("TX", "Texas", "El Paso"),
    "213": ("CA", "California", "Los Angeles"),
    "415": ("CA", "California", "San Francisco"),
    "919": ("NC", "North Carolina", "Raleigh"),
    "704": ("NC", "North Carolina", "Charlotte"),
    "216": ("OH", "Ohio", "Cleveland"),
    "614": ("OH", "Ohio", "Columbus"),
    "901": ("TN", "Tennessee", "Memphis"),
    "615": ("TN", "Tennessee", "Nashville"),
    "312": ("IL", "Illinois", "Chicago"),
    "720": ("CO", "Colorado", "Denver"),
    "770": ("GA", "Georgia", "Marietta"),
    "404": ("GA", "Georgia", "Atlanta"),
    "860": ("CT", "Connecticut", "Hartford"),
    "201": ("NJ", "New Jersey", "Jersey City"),
    "973": ("NJ", "New Jersey", "Newark"),
    "617": ("MA", "Massachusetts", "Boston"),
    "305": ("FL", "Florida", "Miami"),
    "850": ("FL", "Florida", "Pensacola"),
    "503": ("OR", "Oregon", "Portland"),
}
FIRST_NAMES = [
    "Sarah", "James", "Maria", "Robert", "Linda", "Michael", "Jessica", "David", "Patricia",
    "Thomas", "Renée", "José", "O'Brien", "Anne-Marie", "Zoë", "Nguyễn", "Siobhán", "Mary",
]  # fmt: skip
LAST_NAMES = [
    "Garcia", "Lee", "Anderson", "Johnson", "Martinez", "Smith", "Brown", "Wilson", "Davis",
    "D'Angelo", "Jackson", "Taylor", "Hernández", "Müller", "Van der Berg", "Miller",
]  # fmt: skip
STREETS = ["12 Main St", "400 Oak Ave, Apt 3", "9 Pine Rd\nUnit B", '77 Elm "The Loft"']
CONDITIONS = ["", "", "Hypertension", "Diabetes, Asthma", "High cholesterol; sleep apnea"]
CAMPAIGNS = ["Health - TX", "ACA Exclusive", "Medicare Supp", "Final Expense - National"]
TIMEFRAMES = ["", "Immediately", "30 days", "Within 3 months"]
INCOMES = ["", "50000", "$25,000-$50,000", "$75,000-$100,000"]
TRUE_WORDS = ["Y", "Yes", "TRUE", "1", "true"]
FALSE_WORDS = ["N", "no", "FALSE", "0", "false"]
STATUSES = ["New", "new", "Contacted", "", "bogus"]
LEADING_ZERO_STATES = {"CT", "NJ", "MA"}


def _phone(rng: random.Random, area: str, exchange: int, line: int) -> str:
    digits = f"{area}{exchange:03d}{line:04d}"
    shape = rng.random()
    if shape < 0.30:
        return digits
    if shape < 0.50:
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    if shape < 0.65:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    if shape < 0.75:
        return f"{digits[:3]}.{digits[3:6]}.{digits[6:]}"
    if shape < 0.85:
        return f"1-{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    if shape < 0.95:
        return f"+1 {digits[:3]} {digits[3:6]} {digits[6:]}"
    if shape < 0.99:
        return f"1{digits}"
    return "N/A"


def _dob(rng: random.Random) -> str:
    year, month, day = rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28)
    shape = rng.random()
    if shape < 0.40:
        return f"{year}-{month:02d}-{day:02d}"
    if shape < 0.70:
        return f"{month}/{day}/{year}"
    if shape < 0.90:
        return f"{month:02d}/{day:02d}/{year}"
    if shape < 0.95:
        return ""
    if shape < 0.98:
        return "N/A"
    return f"13/45/{year}"


def _zip(rng: random.Random, state: str) -> str:
    if state in LEADING_ZERO_STATES:
        base = f"0{rng.randint(1000, 9999)}"
        return base[1:] if rng.random() < 0.5 else base  # a spreadsheet ate the zero
    base = f"{rng.randint(10000, 99999)}"
    return f"{base}-{rng.randint(1000, 9999)}" if rng.random() < 0.2 else base


def _state(rng: random.Random, code: str, name: str) -> str:
    shape = rng.random()
    if shape < 0.8:
        return code
    return code.lower() if shape < 0.9 else name


def _boolean(rng: random.Random) -> str:
    shape = rng.random()
    if shape < 0.15:
        return ""
    return rng.choice(TRUE_WORDS) if shape < 0.55 else rng.choice(FALSE_WORDS)


def _lead(rng: random.Random, number: int, phone_key: tuple[str, int, int]) -> dict[str, str]:
    area, exchange, line = phone_key
    code, name, city = AREAS[area]
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    if rng.random() < 0.003:
        first = '=HYPERLINK("http://evil.example","x")'
    email_local = f"{first}.{last}.{number}".lower().replace(" ", "").replace("'", "")
    email = f"{email_local}@example.com"
    shape = rng.random()
    if shape < 0.15:
        email = f"  {email.upper()} "
    elif shape < 0.20:
        email = ""
    return {
        "lead_id": f"NG{number:011d}",
        "first_name": first,
        "last_name": last,
        "phone": _phone(rng, area, exchange, line),
        "email": email,
        "street_1": rng.choice(STREETS),
        "city": city,
        "state": _state(rng, code, name),
        "zipcode": _zip(rng, code),
    }


def write_export(path: Path, rows: int, seed: int = 20261125) -> Path:
    """Write `rows` data rows (plus the header) to `path`; return it."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    phone_space = rng.sample(range(len(AREAS) * 800 * 10_000), rows)
    areas = list(AREAS)
    leads: list[dict[str, str]] = []
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for index in range(rows):
            purchase = f"P{index}"
            kind = rng.random()
            if leads and kind < 0.03:
                lead = dict(rng.choice(leads))  # a premium listing for an earlier lead
                product, price = "ad", "5.00"
            elif leads and kind < 0.11:
                lead = dict(rng.choice(leads))  # the same lead again
                product, price = "data", rng.choice(["45.00", "$38.50", "22.5"])
                if rng.random() < 0.3:
                    lead["lead_id"] = f"NG{rows + index:011d}"  # resold under a new id
                if rng.random() < 0.3:
                    lead["street_1"] = rng.choice(STREETS)
            else:
                key = phone_space[index]
                phone_key = (areas[key % len(areas)], 200 + key // len(areas) % 800, key // 24_000)
                lead = _lead(rng, index, phone_key)
                leads.append(lead)
                product, price = "data", rng.choice(["45.00", "$38.50", "22.5", "40"])
            writer.writerow(
                [
                    lead["lead_id"],
                    purchase,
                    "1",
                    "22",
                    lead["first_name"],
                    lead["last_name"],
                    lead["phone"],
                    lead["email"],
                    lead["street_1"],
                    "",
                    lead["city"],
                    lead["state"],
                    lead["zipcode"],
                    _dob(rng),
                    rng.choice(["M", "F", "Male", "female", ""]),
                    str(rng.randint(58, 78)),
                    str(rng.randint(110, 300)),
                    str(rng.randint(1, 6)),
                    rng.choice(INCOMES),
                    _boolean(rng),
                    _boolean(rng),
                    _boolean(rng),
                    _boolean(rng),
                    _boolean(rng),
                    _boolean(rng),
                    rng.choice(CONDITIONS),
                    rng.choice(TIMEFRAMES),
                    rng.choice(CAMPAIGNS),
                    product,
                    "NextGen Leads",
                    "Acme Ins",
                    rng.choice(["shared", "exclusive"]),
                    price,
                    f"CL{index}",
                    str(rng.randint(0, 900)),
                    f"{rng.getrandbits(48):012x}",
                    f"{rng.getrandbits(48):012x}",
                    rng.choice(STATUSES),
                    "",
                    f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:03:00Z",
                    f"R{index}",
                ]
            )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=110_000)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    path = write_export(args.path, args.rows, args.seed)
    print(f"wrote {args.rows} rows, {path.stat().st_size / 1e6:.1f} MB to {path}")


if __name__ == "__main__":
    main()
