"""The desk at 200,000 leads: list queries, the desk page and the export, through a real server.

    createdb -h 127.0.0.1 -U root bench_desk    # or let the script create it
    DATABASE_URL=postgres://root@127.0.0.1:5432/bench_desk .venv/bin/python bench/desk.py

Builds (once; reused while the tenant holds --leads leads) two tenants of --leads leads each with
COPY — realistic names, phones, emails, states, dispositions, sources, statuses, a year of
creation times — so that every query has to keep to its tenant. Then starts the Procfile's
uvicorn (two workers) on that database, and times each request from outside over keep-alive
HTTP: --runs runs after one warm-up, median and p95 per query. Last, it replays the slowest
list query in this process, captures its SQL and prints EXPLAIN (ANALYZE, BUFFERS) of the
slowest statement.

Results go to stdout as a Markdown table and to bench/results/desk.json (--json).
"""

import argparse
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DEFAULT_DATABASE_URL = "postgres://root@127.0.0.1:5432/bench_desk"
AGENT, OTHER_AGENT = "bench-desk", "bench-desk-other"
SEED = 13

sys.path.insert(0, str(ROOT))

_FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Paul Emily Andrew "
    "Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy "
    "Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob "
    "Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela "
    "Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine "
    "Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria "
    "Jerry Heather Tyler Diane José Zoë Renée Günther"
)
_LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips "
    "Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook "
    "Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward "
    "Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez "
    "Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan "
    "Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan "
    "Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant "
    "Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison "
    "Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker "
    "Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason "
    "Dixon Muñoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox "
    "Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan "
    "Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos "
    "Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews "
    "Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews Peña Richards Willis Carpenter "
    "Lawrence Sandoval O'Brien Ødegaard"
)
FIRST_NAMES, LAST_NAMES = _FIRST_NAMES.split(), _LAST_NAMES.split()
DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "icloud.com")
# State, weight (roughly population), time zone, area codes.
STATES = (
    ("CA", 39, "America/Los_Angeles", (213, 310, 415, 510, 619, 714, 818, 916)),
    ("TX", 30, "America/Chicago", (210, 214, 281, 512, 713, 817, 972)),
    ("FL", 22, "America/New_York", (305, 407, 561, 727, 813, 904, 954)),
    ("NY", 20, "America/New_York", (212, 315, 347, 516, 585, 646, 718)),
    ("PA", 13, "America/New_York", (215, 267, 412, 484, 610, 717)),
    ("IL", 13, "America/Chicago", (217, 312, 630, 708, 773, 847)),
    ("OH", 12, "America/New_York", (216, 330, 419, 513, 614, 937)),
    ("GA", 11, "America/New_York", (404, 470, 678, 706, 770, 912)),
    ("NC", 11, "America/New_York", (252, 336, 704, 828, 910, 919)),
    ("MI", 10, "America/Detroit", (231, 248, 313, 517, 586, 616)),
    ("AZ", 7, "America/Phoenix", (480, 520, 602, 623, 928)),
    ("CO", 6, "America/Denver", (303, 719, 720, 970)),
    ("WA", 8, "America/Los_Angeles", (206, 253, 360, 425, 509)),
    ("TN", 7, "America/Chicago", (423, 615, 731, 865, 901)),
    ("MO", 6, "America/Chicago", (314, 417, 573, 636, 816)),
    ("AK", 1, "America/Anchorage", (907,)),
    ("HI", 1, "Pacific/Honolulu", (808,)),
    ("VT", 1, "America/New_York", (802,)),
)
DISPOSITIONS = (
    ("", 55),
    ("Sold", 5),
    ("Not Interested", 10),
    ("No Answer", 12),
    ("Call Back", 6),
    ("Wrong Number", 4),
    ("Unhealthy/Referred", 3),
    ("Appointment", 5),
)
SOURCES = (("NextGen", 45), ("Marketplace", 25), ("CSV Import", 25), ("Manual Entry", 5))
STATUSES = (("New", 50), ("Contacted", 25), ("Follow-up", 12), ("Won", 5), ("Lost", 8))


def _setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crokodial.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_SSL_REDIRECT", "0")
    os.environ.setdefault("DJANGO_SECURE_COOKIES", "0")
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)


def _ensure_database(database_url: str) -> None:
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    exists = subprocess.run(
        ["psql", admin, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)


def _weighted(rng: random.Random, choices: tuple, count: int) -> list:
    values = [choice[0] for choice in choices]
    weights = [choice[1] for choice in choices]
    return rng.choices(values, weights=weights, k=count)


def _copy_leads(tenant_id: int, count: int, rng: random.Random) -> None:
    """COPY `count` leads into the tenant; every NOT NULL column the model has gets a value."""
    from django.db import connection

    from leads.models import Lead

    columns = [field for field in Lead._meta.concrete_fields if not field.primary_key]
    now = datetime.now(UTC)
    states = _weighted(rng, tuple((s, w) for s, w, _, _ in STATES), count)
    by_state = {state: (zone, codes) for state, _, zone, codes in STATES}
    dispositions = _weighted(rng, DISPOSITIONS, count)
    sources = _weighted(rng, SOURCES, count)
    statuses = _weighted(rng, STATUSES, count)
    # Distinct 7-digit subscriber numbers per tenant: a random sample, unique by construction.
    subscribers = rng.sample(range(2_000_000, 9_999_999), count)
    batch = 20_000
    with connection.cursor() as cursor:
        names = ", ".join(f'"{field.column}"' for field in columns)
        for start in range(0, count, batch):
            buffer = io.StringIO()
            for i in range(start, min(start + batch, count)):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                state = states[i]
                zone, codes = by_state[state]
                phone = f"+1{rng.choice(codes)}{subscribers[i]}"
                local = f"{first}.{last}".lower().replace("'", "")
                email = f"{local}{i}@{rng.choice(DOMAINS)}" if rng.random() < 0.9 else ""
                created = now - timedelta(seconds=rng.randrange(365 * 24 * 3600))
                values = {
                    "tenant_id": tenant_id,
                    "first_name": first,
                    "last_name": last,
                    "email": email,
                    "phone": phone,
                    "street1": f"{rng.randrange(1, 9999)} Main St",
                    "city": "Springfield",
                    "state": state,
                    "zipcode": f"{rng.randrange(10000, 99999)}",
                    "time_zone": zone,
                    "source": sources[i],
                    "status": statuses[i],
                    "disposition": dispositions[i],
                    "price": f"{rng.randrange(5, 60)}.00",
                    "campaign_name": "Bench campaign",
                    "vendor_data": "{}",
                    "created_at": created.isoformat(),
                    "updated_at": created.isoformat(),
                }
                row = []
                for field in columns:
                    value = values.get(field.column)
                    if value is None and not field.null and field.has_default():
                        value = field.get_default()  # do_not_call, attempts_total, …
                    if isinstance(value, bool):
                        value = "t" if value else "f"
                    if value is None:
                        value = "\\N" if field.null else ""
                    row.append(str(value))
                buffer.write("\t".join(row) + "\n")
            buffer.seek(0)
            with cursor.copy(f"COPY leads_lead ({names}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())


def build_tenants(leads: int, *, rebuild: bool) -> tuple[object, object]:
    """Return the two bench tenants, (re)filling them when they do not hold `leads` each."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from leads.models import Lead

    users = []
    for offset, username in enumerate((AGENT, OTHER_AGENT)):
        user, _ = get_user_model().objects.get_or_create(username=username)
        held = Lead.objects.filter(tenant=user).count()
        if rebuild or held != leads:
            started = time.perf_counter()
            Lead.objects.filter(tenant=user).delete()
            _copy_leads(user.pk, leads, random.Random(SEED + offset))
            print(f"built {leads} leads for {username} in {time.perf_counter() - started:.1f} s")
        users.append(user)
    connection.close()
    # Fresh statistics and a visibility map, as autovacuum leaves a settled table.
    connection.ensure_connection()
    connection.connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_lead")
    connection.close()
    return users[0], users[1]


def _sample(tenant: object) -> dict[str, str]:
    """Values for the searches, read from the tenant: a phone, an email, a surname."""
    from leads.models import Lead

    lead = Lead.objects.filter(tenant=tenant).exclude(email="").order_by("id")[1234]
    return {
        "phone_digits": lead.phone[2:],  # 10 digits, as read off a sticky note
        "phone_typed": f"({lead.phone[2:5]}) {lead.phone[5:8]}-{lead.phone[8:]}",
        "phone_tail": lead.phone[-4:],
        "email": lead.email,
        "surname": lead.last_name,
        "fragment": lead.first_name[:3].lower(),
    }


def queries(sample: dict[str, str], leads: int) -> list[tuple[str, str]]:
    api = "/api/leads?"
    listing = [
        ("first page", {}),
        ("filter states=TX", {"states": "TX"}),
        ("filter states=AK,HI", {"states": "AK,HI"}),
        ("filter dispositions=Sold", {"dispositions": "Sold"}),
        ("filter dispositions=No Disposition", {"dispositions": "No Disposition"}),
        ("filter sources=Marketplace", {"sources": "Marketplace"}),
        ("filter states+dispositions+sources", {
            "states": "FL", "dispositions": "Call Back", "sources": "NextGen"
        }),
        ("search surname", {"search": sample["surname"]}),
        ("search name fragment", {"search": sample["fragment"]}),
        ("search phone digits", {"search": sample["phone_digits"]}),
        ("search phone typed", {"search": sample["phone_typed"]}),
        ("search phone last 4", {"search": sample["phone_tail"]}),
        ("search email", {"search": sample["email"]}),
    ]  # fmt: skip
    for sort_by in ("createdAt", "name", "email", "phone", "state", "disposition", "timeZone"):
        for direction in ("asc", "desc"):
            params = {"sortBy": sort_by, "sortDirection": direction}
            listing.append((f"sort {sort_by} {direction}", params))
    listing += [
        ("page 1,000", {"page": 1000}),
        ("page 1,000 sort name asc", {"page": 1000, "sortBy": "name", "sortDirection": "asc"}),
        ("last page", {"page": -(-leads // 50)}),
        ("page 100 of states=TX", {"page": 100, "states": "TX"}),
    ]
    paths = [(label, api + urlencode(params)) for label, params in listing]
    paths += [
        ("desk page /", "/"),
        ("desk page / search surname", "/?" + urlencode({"search": sample["surname"]})),
        ("desk page / callable now", "/?callable=1"),
    ]
    return paths


def _session_cookie(user: object) -> tuple[str, str]:
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return settings.SESSION_COOKIE_NAME, store.session_key


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def time_requests(base_url: str, paths: list, *, runs: int, token: str, cookie: tuple) -> list:
    import httpx

    rows = []
    headers = {"Authorization": f"Token {token}"}
    with httpx.Client(base_url=base_url, headers=headers, cookies=dict([cookie])) as client:
        for label, path in paths:
            page_headers = {} if path.startswith("/api/") else {"Authorization": ""}
            timings = []
            for run in range(runs + 1):
                started = time.perf_counter()
                response = client.get(path, headers=page_headers)
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, (path, response.status_code, response.text)
                if run:  # the first is a warm-up
                    timings.append(elapsed)
            body = response.json() if path.startswith("/api/") else None
            pagination = body["pagination"] if body else {}
            rows.append(
                {
                    "query": label,
                    "path": path,
                    "median_ms": round(statistics.median(timings), 1),
                    "p95_ms": round(_percentile(timings, 0.95), 1),
                    "results": len(body["results"]) if body else None,
                    "total": pagination.get("total"),
                    "estimate": pagination.get("totalIsEstimate"),
                }
            )
            print(f"  {label:42} {rows[-1]['median_ms']:7.1f} ms", flush=True)
    return rows


def time_export(base_url: str, *, token: str, runs: int) -> dict:
    """Stream the whole export; the server's peak RSS is read from /proc for its workers."""
    import httpx

    timings, size = [], 0
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for _ in range(runs):
            started = time.perf_counter()
            size = 0
            with client.stream(
                "GET", "/api/leads/export", headers={"Authorization": f"Token {token}"}
            ) as response:
                assert response.status_code == 200, response.status_code
                for chunk in response.iter_bytes():
                    size += len(chunk)
            timings.append(time.perf_counter() - started)
    return {
        "median_s": round(statistics.median(timings), 2),
        "best_s": round(min(timings), 2),
        "mb": round(size / 1e6, 1),
    }


def _server_rss_mb(pid: int) -> float:
    """Peak RSS (VmHWM) of the server's processes: the master and its workers."""
    peak = 0.0
    children = subprocess.run(
        ["pgrep", "-g", str(os.getpgid(pid))], capture_output=True, text=True
    ).stdout.split()
    for child in children:
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
    return round(peak, 1)


def explain_request(path: str, token: str, tenant: object) -> list[tuple[float, int, str, str]]:
    """Replay `path` in this process, capture its SQL and EXPLAIN (ANALYZE, BUFFERS) every
    SELECT on the leads: (execution ms, shared pages touched, SQL, plan), slowest first."""
    from django.db import connection
    from django.test import Client

    captured: list[tuple[str, object]] = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    client = Client()
    if not path.startswith("/api/"):
        client.force_login(tenant)
    with connection.execute_wrapper(capture):
        client.get(path, HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
    plans = []
    with connection.cursor() as cursor:
        for sql, params in captured:
            if "leads_lead" not in sql or not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
            (plan,) = cursor.fetchone()
            plan = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
            pages = plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get(
                "Shared Read Blocks", 0
            )
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            text = "\n".join(line for (line,) in cursor.fetchall())
            plans.append((plan["Execution Time"], pages, sql, text))
    plans.sort(key=lambda plan: plan[0], reverse=True)
    return plans


def explain_slowest(path: str, token: str, tenant: object) -> str:
    """The slowest statement of `path` and its plan."""
    plans = explain_request(path, token, tenant)
    if not plans:
        return "(no statement on leads_lead)"
    _, _, sql, text = plans[0]
    return f"{sql}\n\n{text}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=200_000, help="per tenant")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--export-runs", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--label", default="")
    parser.add_argument("--json", type=Path, default=RESULTS / "desk.json")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    _ensure_database(database_url)
    _setup_django(database_url)

    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from tests.server import live_server, server_process

    call_command("migrate", verbosity=0)
    tenant, _ = build_tenants(args.leads, rebuild=args.rebuild)
    token, _ = Token.objects.get_or_create(user=tenant)
    cookie = _session_cookie(tenant)
    paths = queries(_sample(tenant), args.leads)

    from django.conf import settings

    # The same key as this process, or the session cookie made above would not verify.
    env = {"DATABASE_URL": database_url, "DJANGO_SECRET_KEY": settings.SECRET_KEY,
           "LOG_LEVEL": "WARNING"}  # fmt: skip
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    # A busy machine can take longer than the tests allow to start two workers.
    with live_server(env, procfile=True, workers=2, startup_timeout=120) as base_url:
        print(f"timing {len(paths)} requests x {args.runs} on {base_url}")
        load = [os.getloadavg()[0]]
        rows = time_requests(base_url, paths, runs=args.runs, token=token.key, cookie=cookie)
        load.append(os.getloadavg()[0])
        export = time_export(base_url, token=token.key, runs=args.export_runs)
        export["server_peak_rss_mb"] = _server_rss_mb(server_process(base_url).pid)
        load.append(os.getloadavg()[0])
    slowest = max((row for row in rows if row["path"].startswith("/api/")),
                  key=lambda row: row["median_ms"])  # fmt: skip
    plan = explain_slowest(slowest["path"], token.key, tenant)
    # Load-independent evidence: the pages each request's statements touch, and their time
    # inside PostgreSQL, replayed one at a time after the timing.
    for row in rows:
        plans = explain_request(row["path"], token.key, tenant)
        row["sql_pages"] = sum(pages for _, pages, _, _ in plans)
        row["sql_ms"] = round(sum(ms for ms, _, _, _ in plans), 1)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()

    print(f"\n### {args.label or 'desk'} — {datetime.now(UTC):%Y-%m-%d}, commit {commit}, "
          f"{args.leads:,} leads per tenant x 2, {args.runs} runs, "
          f"load average {' / '.join(f'{value:.1f}' for value in load)}\n")  # fmt: skip
    print("| query | median ms | p95 ms | total | SQL: pages touched, ms |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        total = "" if row["total"] is None else f"{row['total']:,}"
        if row["estimate"]:
            total += " (est.)"
        print(f"| {row['query']} | {row['median_ms']} | {row['p95_ms']} | {total} | "
              f"{row['sql_pages']:,}, {row['sql_ms']} |")  # fmt: skip
    print(f"| export, all leads ({export['mb']} MB) | {export['median_s'] * 1000:.0f} | "
          f"best {export['best_s'] * 1000:.0f} | server peak RSS "
          f"{export['server_peak_rss_mb']} MB |")  # fmt: skip
    print(f"\nslowest list query: {slowest['query']} ({slowest['median_ms']} ms)\n")
    print(plan)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "label": args.label,
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "commit": commit,
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "leads_per_tenant": args.leads,
                "runs": args.runs,
                "load_average": load,  # 1-minute: before, between queries and export, after
                "queries": rows,
                "export": export,
                "slowest": {"query": slowest["query"], "plan": plan},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
