"""CSV import benchmark: Crokodial's import against django-import-export and a plain COPY.

    createdb -h 127.0.0.1 -U root bench_csv   # or let the script create it
    .venv/bin/pip install -r bench/requirements.txt
    DATABASE_URL=postgres://root@127.0.0.1:5432/bench_csv .venv/bin/python bench/csv_import.py

Generates bench/data/nextgen_<rows>.csv once (see generate_nextgen_csv.py), then runs each
contender in its own process, so each peak RSS is its own:

  crokodial      import_start + import_run, the code path behind POST /api/csv-upload, into an
                 empty tenant (the file is stored, checked, parsed, merged and written)
  re-upload      the same file again into the same tenant: every row matches a stored lead
  import-export  django-import-export: a ModelResource for Lead, values normalised by the same
                 leads.normalize functions, matched on the vendor lead id, one row at a time
  copy-raw       COPY of the file into an all-text table without indexes: the ingest floor
  copy-leads     COPY of the leads the import produced into leads_lead, with its unique and
                 search indexes, under another tenant: the floor for writing these rows here

The phases crokodial-no-record and re-upload-no-record are crokodial and re-upload with the
undo record switched off (the same writes, nothing recorded for imports.undo): alternated with
their twins they give what the record costs. Each Crokodial phase reports the record's size.

With --dnc-list N the Crokodial agent has a do-not-call list of N numbers while it imports
(every 20th phone of the file among them, so some leads are flagged): the import's set-based
check of the list, measured against the same run without it (docs/dnc.md).

Results go to stdout as a Markdown table and to bench/results/csv_import.json.
"""

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
DEFAULT_DATABASE_URL = "postgres://root@127.0.0.1:5432/bench_csv"
CROKODIAL_AGENT = "bench-crokodial"
IMPORT_EXPORT_AGENT = "bench-import-export"
COPY_AGENT = "bench-copy"

sys.path.insert(0, str(ROOT))


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crokodial.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")
    os.environ.pop("REDIS_URL", None)  # the task runs eagerly, in this process
    os.environ.setdefault("MEDIA_ROOT", str(DATA / "media"))
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _agent(username: str, *, reset: bool) -> object:
    from django.contrib.auth import get_user_model

    from imports.models import ImportJob, ImportLeadRecord, ImportRowError
    from leads.models import CallAttempt, Lead, LeadEvent

    user, _ = get_user_model().objects.get_or_create(username=username)
    if reset:
        # One DELETE, not the ORM's collector: it would load every lead, and the import's peak
        # RSS would be the deletion's.
        jobs = ImportJob.objects.filter(tenant=user)
        for rows in (
            # What refers to the leads first: a re-upload leaves vendor updates on timelines.
            LeadEvent.objects.filter(tenant=user),
            CallAttempt.objects.filter(lead__tenant=user),
            Lead.objects.filter(tenant=user),
            ImportLeadRecord.objects.filter(job__in=jobs),
            ImportRowError.objects.filter(job__in=jobs),
        ):
            rows._raw_delete(rows.db)
        jobs.delete()
    return user


def _database_cpu_seconds() -> float:
    """CPU this process's PostgreSQL backend has used (the server runs on this machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _checksum(tenant_id: int) -> str:
    """MD5 over every stored field of the tenant's leads but ids and timestamps, in a stable
    order: two imports of one file left the same leads behind if and only if it matches."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT md5(coalesce(string_agg(lead, E'\\n' ORDER BY lead), '')) FROM ("
            "  SELECT (to_jsonb(l) - 'id' - 'tenant_id' - 'assigned_to_id' - 'created_at'"
            "          - 'updated_at')::text AS lead"
            "  FROM leads_lead AS l WHERE tenant_id = %s) AS leads",
            [tenant_id],
        )
        return cursor.fetchone()[0]


def _vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_lead")


# --- Phases, each run in a child process --------------------------------------------------------


def _dnc_list(agent: object, path: Path, size: int) -> None:
    """Give `agent` a do-not-call list of `size` numbers: every 20th phone of the file, and as
    many others as it takes."""
    import csv

    from django.utils import timezone

    from leads.models import DoNotCallEntry
    from leads.normalize import InvalidValue, normalize_phone

    DoNotCallEntry.objects.filter(tenant=agent).delete()
    phones: set[str] = set()
    with path.open(encoding="utf-8", newline="") as stream:
        for number, row in enumerate(csv.DictReader(stream)):
            if number % 20 == 0 and len(phones) < size:
                with contextlib.suppress(InvalidValue):
                    phones.add(normalize_phone(row.get("phone", "")))
    phones.discard("")
    number = 0
    while len(phones) < size:
        phones.add(f"+1312{2000000 + number:07d}")
        number += 1
    now = timezone.now()
    DoNotCallEntry.objects.bulk_create(
        [
            DoNotCallEntry(tenant=agent, phone=phone, reason="bench", source="upload", added_at=now)
            for phone in phones
        ],  # fmt: skip
        batch_size=5000,
    )
    # A real list was uploaded long before (and analysed then, leads.dnc.dnc_numbers_add);
    # autovacuum has visited it since.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {DoNotCallEntry._meta.db_table}")


def phase_crokodial(path: Path, *, reset: bool, dnc_list: int = 0) -> dict:
    from django.core.files import File

    from imports.services import import_start

    agent = _agent(CROKODIAL_AGENT, reset=reset)
    if dnc_list:
        _dnc_list(agent, path, dnc_list)
    if reset:
        _vacuum()
    baseline = _peak_rss_mb()
    database_cpu = _database_cpu_seconds()
    cpu = _cpu_seconds()
    started = time.perf_counter()
    with path.open("rb") as stream:
        job = import_start(tenant=agent, upload=File(stream, name=path.name))
    job.refresh_from_db()
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    database_cpu = _database_cpu_seconds() - database_cpu
    counted = ("processed", "imported", "updated", "skipped", "failed", "do_not_call")
    stats = {k: getattr(job, k) for k in counted if hasattr(job, k)}
    return {"seconds": seconds, "rows": job.processed, "baseline_rss_mb": baseline,
            "status": job.status, "stats": stats, "cpu_seconds": cpu,
            "database_cpu_seconds": database_cpu, **_undo_record_size(job),
            "checksum": _checksum(agent.pk)}  # fmt: skip


def _undo_record_size(job: object) -> dict:
    """The rows and bytes of the undo record the import left (imports.models.ImportLeadRecord)."""
    from django.db import connection

    from imports.models import ImportLeadRecord

    table = ImportLeadRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), coalesce(sum(pg_column_size(r.*)), 0) FROM {table} r"
            " WHERE job_id = %s",
            [job.pk],
        )
        rows, size = cursor.fetchone()
    return {"undo_record_rows": rows, "undo_record_bytes": int(size)}


def _without_undo_record() -> None:
    """Run imports as they would run without their undo record: the same writes, none recorded."""
    import imports.services

    upsert = imports.services.lead_bulk_upsert

    def upsert_unrecorded(**arguments: object) -> object:
        return upsert(**{**arguments, "record": False})

    imports.services.lead_bulk_upsert = upsert_unrecorded


def phase_import_export(path: Path, *, limit: int | None) -> dict:
    import tablib
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from import_export import fields, resources
    from import_export.widgets import ForeignKeyWidget

    from imports.parsing import RowConverter, detect_layout
    from leads.models import Lead
    from leads.normalize import time_zone_for

    agent = _agent(IMPORT_EXPORT_AGENT, reset=True)
    _vacuum()
    baseline = _peak_rss_mb()
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as stream:
        dataset = tablib.Dataset().load(stream.read(), format="csv")
    if limit:
        del dataset[limit:]
    layout = detect_layout(list(dataset.headers))
    converter = RowConverter(layout, today=timezone.localdate())
    headers = list(dataset.headers)
    stored = ["tenant", "nextgen_id", "first_name", "last_name", "phone", "email", "street1",
              "city", "state", "zipcode", "dob", "gender", "height", "weight", "household_size",
              "household_income", "military", "pregnant", "tobacco_user", "has_prescription",
              "has_medicare_parts_ab", "has_medical_condition", "medical_conditions",
              "campaign_name", "product", "price", "status", "source", "time_zone"]  # fmt: skip

    # Text columns are NOT NULL: an absent value is stored as "" (lead_merge does the same).
    empty = {f.name: "" for f in Lead._meta.concrete_fields if not f.null and not f.is_relation}

    class LeadResource(resources.ModelResource):
        tenant = fields.Field(
            attribute="tenant", column_name="tenant",
            widget=ForeignKeyWidget(get_user_model()),
        )  # fmt: skip

        class Meta:
            model = Lead
            fields = stored
            import_id_fields = ("nextgen_id",)
            skip_unchanged = True

        def get_queryset(self):
            return Lead.objects.filter(tenant=agent)

        def before_import_row(self, row, **kwargs):
            line = kwargs.get("row_number", 0)
            converted = converter.convert(line, [row.get(h) or "" for h in headers])
            for name in stored:
                row[name] = converted.fields.get(name, empty.get(name))
            row["tenant"] = agent.pk
            row["source"] = layout.source
            row["time_zone"] = time_zone_for(row["state"] or "", row["phone"] or "")
            row["_unusable"] = bool(converted.error)

        def skip_row(self, instance, original, row, import_validation_errors=None):
            return row.get("_unusable") or super().skip_row(
                instance, original, row, import_validation_errors
            )

    result = LeadResource().import_data(
        dataset, dry_run=False, raise_errors=False, use_transactions=False
    )
    seconds = time.perf_counter() - started
    totals = dict(result.totals)
    return {"seconds": seconds, "rows": len(dataset), "baseline_rss_mb": baseline,
            "stats": {k: totals.get(k, 0) for k in ("new", "update", "skip", "error", "invalid")},
            "stored": Lead.objects.filter(tenant=agent).count()}  # fmt: skip


def phase_copy_raw(path: Path) -> dict:
    from django.db import connection

    header = path.open(encoding="utf-8").readline().strip().split(",")
    columns = ", ".join(f'"{name}" text' for name in header)
    baseline = _peak_rss_mb()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_csv")
        cursor.execute(f"CREATE TABLE bench_raw_csv ({columns})")
        started = time.perf_counter()
        with (
            cursor.copy("COPY bench_raw_csv FROM STDIN (FORMAT csv, HEADER)") as copy,
            path.open("rb") as stream,
        ):
            while chunk := stream.read(1024 * 1024):
                copy.write(chunk)
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_raw_csv")
        rows = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_raw_csv")
    return {"seconds": seconds, "rows": rows, "baseline_rss_mb": baseline}


def phase_copy_leads() -> dict:
    from django.db import connection

    from leads.models import Lead

    source = _agent(CROKODIAL_AGENT, reset=False)
    target = _agent(COPY_AGENT, reset=True)
    _vacuum()
    columns = [f.column for f in Lead._meta.concrete_fields if not f.primary_key]
    names = ", ".join(f'"{c}"' for c in columns)
    chosen = ", ".join(f"{target.pk}" if c == "tenant_id" else f'"{c}"' for c in columns)
    dump = DATA / "leads_dump.copy"
    baseline = _peak_rss_mb()
    with connection.cursor() as cursor:
        with dump.open("wb") as out:
            query = (
                f"COPY (SELECT {chosen} FROM leads_lead WHERE tenant_id = {source.pk}) TO STDOUT"
            )
            with cursor.copy(query) as copy:
                for data in copy:
                    out.write(data)
        started = time.perf_counter()
        with (
            cursor.copy(f"COPY leads_lead ({names}) FROM STDIN") as copy,
            dump.open("rb") as stream,
        ):
            while chunk := stream.read(1024 * 1024):
                copy.write(chunk)
        seconds = time.perf_counter() - started
    dump.unlink()
    rows = Lead.objects.filter(tenant=target).count()
    return {"seconds": seconds, "rows": rows, "baseline_rss_mb": baseline}


def run_phase(name: str, path: Path, limit: int | None, dnc_list: int = 0) -> dict:
    _setup_django()
    if name == "crokodial":
        result = phase_crokodial(path, reset=True, dnc_list=dnc_list)
    elif name == "re-upload":
        result = phase_crokodial(path, reset=False, dnc_list=dnc_list)
    elif name in ("crokodial-no-record", "re-upload-no-record"):
        _without_undo_record()
        result = phase_crokodial(path, reset=name == "crokodial-no-record", dnc_list=dnc_list)
    elif name == "import-export":
        result = phase_import_export(path, limit=limit)
    elif name == "copy-raw":
        result = phase_copy_raw(path)
    elif name == "copy-leads":
        result = phase_copy_leads()
    else:
        raise SystemExit(f"unknown phase {name}")
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


# --- Orchestration ------------------------------------------------------------------------------


def _ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def _child(phase: str, path: Path, limit: int | None, dnc_list: int = 0) -> dict:
    command = [sys.executable, __file__, "--phase", phase, "--file", str(path)]
    if limit:
        command += ["--import-export-rows", str(limit)]
    if dnc_list:
        command += ["--dnc-list", str(dnc_list)]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


def _cpu_note(result: dict) -> str:
    if "cpu_seconds" not in result:
        return ""
    return (f"CPU: Python {result['cpu_seconds']:.2f} s, "
            f"PostgreSQL {result['database_cpu_seconds']:.2f} s; "
            f"undo record {result['undo_record_rows']} rows, "
            f"{result['undo_record_bytes'] / 1e6:.2f} MB; ")  # fmt: skip


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=110_000)
    parser.add_argument(
        "--import-export-rows", type=int, default=0, help="django-import-export: first N rows only"
    )
    parser.add_argument("--skip-import-export", action="store_true")
    parser.add_argument(
        "--phases",
        help="comma-separated phases: crokodial,re-upload,copy-raw,copy-leads,import-export,"
        "crokodial-no-record,re-upload-no-record",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each phase this many times, report each run"
    )
    parser.add_argument(
        "--dnc-list", type=int, default=0, help="give the importing agent N do-not-call numbers"
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        raise SystemExit("The benchmark needs PostgreSQL: set DATABASE_URL=postgres://…")
    if args.phase:
        print(
            json.dumps(
                run_phase(args.phase, args.file, args.import_export_rows or None, args.dnc_list)
            )
        )
        return

    from generate_nextgen_csv import write_export

    _ensure_database(os.environ["DATABASE_URL"])
    os.environ.pop("REDIS_URL", None)  # every phase runs the import eagerly, in its own process
    env = {**os.environ, "DJANGO_SECRET_KEY": "bench-only-secret-key"}
    migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v0"]
    subprocess.run(migrate, check=True, cwd=ROOT, env=env)
    path = DATA / f"nextgen_{args.rows // 1000}k.csv"
    if not path.exists():
        write_export(path, args.rows)
    size_mb = path.stat().st_size / 1e6
    print(f"{path.name}: {args.rows} rows, {size_mb:.1f} MB; load average {_load_average()}")

    phases = ["crokodial", "re-upload", "copy-raw", "copy-leads"]
    if not args.skip_import_export:
        phases.append("import-export")
    if args.phases:
        phases = args.phases.split(",")
    results = {}
    for _run in range(args.repeat):
        for phase in phases:
            result = _child(phase, path, args.import_export_rows or None, args.dnc_list)
            result["rows_per_second"] = result["rows"] / result["seconds"]
            # With --repeat, the table keeps each phase's fastest run.
            best = results.get(phase)
            if best is None or result["rows_per_second"] > best["rows_per_second"]:
                results[phase] = result
            print(f"  {phase:14s} {result['rows']:>7} rows in {result['seconds']:7.2f} s = "
                  f"{result['rows_per_second']:>9,.0f} rows/s, peak RSS "
                  f"{result['peak_rss_mb']:.0f} MB {result.get('stats', '')} "
                  f"{_cpu_note(result)}"
                  f"{'checksum ' + result['checksum'] + '; ' if 'checksum' in result else ''}"
                  f"load {_load_average()}", flush=True)  # fmt: skip

    ours = results.get("crokodial", next(iter(results.values())))["rows_per_second"]
    print()
    print("| contender | rows | seconds | rows/s | peak RSS | vs Crokodial |")
    print("|---|---:|---:|---:|---:|---:|")
    for phase, result in results.items():
        ratio = ours / result["rows_per_second"]
        print(f"| {phase} | {result['rows']:,} | {result['seconds']:.2f} | "
              f"{result['rows_per_second']:,.0f} | {result['peak_rss_mb']:.0f} MB | "
              f"{ratio:.2f}× |")  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    summary = {"file": path.name, "size_mb": size_mb, "rows": args.rows,
               "python": platform.python_version(), "cpus": os.cpu_count(),
               "load_average_after": _load_average(), "results": results}  # fmt: skip
    (RESULTS / "csv_import.json").write_text(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
