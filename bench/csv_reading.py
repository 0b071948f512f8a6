"""Time reading a CSV file's records: csv_records (batched as the import reads them) against
raw_batches (Polars), each run in its own process so peak RSS is its own.

    python bench/generate_nextgen_csv.py bench/data/nextgen_110k.csv --rows 110000
    python bench/csv_reading.py bench/data/nextgen_110k.csv --runs 3

Prints, per mode, the median and spread of wall seconds, process CPU seconds (all threads),
main-thread CPU seconds (Polars works partly in the calling thread, the GIL released) and peak
RSS; with --ticker (a separate run: it slows the reading), the share of the reading's time a
second Python thread ran at full speed.
"""

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from itertools import islice
from pathlib import Path

MODES = ("csv_records", "raw_batches", "fallback")
# raw_batches reading the file's cells a given number of MiB at a time ("raw_batches@4")
PART_MODES = tuple(f"raw_batches@{mib}" for mib in (1, 2, 4, 8, 16))  # raw_batches: 4
BATCH_SIZE = 5000


class Ticker:
    """A Python thread counting as fast as it can: how far it gets while the file is read tells
    how much of the GIL the reading leaves to other Python threads (an import's writer)."""

    def __init__(self) -> None:
        self.ticks = 0
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while self.running:
            self.ticks += 1

    def rate(self, seconds: float) -> float:
        """Ticks per second with nothing else running."""
        start, began = self.ticks, time.perf_counter()
        time.sleep(seconds)
        return (self.ticks - start) / (time.perf_counter() - began)


def read_once(mode: str, path: str, *, ticker: bool = False) -> dict[str, float]:
    """Read `path` once in this process the way `mode` does; return its costs."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crokodial.settings")
    django.setup()
    from imports.parsing import reading
    from imports.parsing.reading import (
        _csv_pieces,
        _Progress,
        _rebatched,
        csv_records,
        detect_encoding,
        raw_batches,
        sniff_delimiter,
    )

    gc.disable()  # as during an import (imports.services): the batches' lists hold no cycles
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(path, "rb") as binary:
        encoding = detect_encoding(binary)
        delimiter = sniff_delimiter(binary, encoding)
        shape = {"encoding": encoding, "delimiter": delimiter}
        width = len(next(csv_records(binary, **shape))[1])
        rows = 0
        if ticker:
            counter = Ticker()
            counter.thread.start()
            idle_rate = counter.rate(0.5)
            ticks = counter.ticks
        wall, cpu, thread = time.perf_counter(), time.process_time(), time.thread_time()
        if mode == "csv_records":
            records = csv_records(binary, **shape, cleaned={})
            next(records)
            while batch := list(islice(records, BATCH_SIZE)):
                rows += len(batch)
        elif mode.startswith("raw_batches"):
            if "@" in mode:
                reading.POLARS_PART_BYTES = int(mode.split("@")[1]) * 1024 * 1024
            for raw in raw_batches(binary, **shape, width=width, batch_size=BATCH_SIZE, cleaned={}):
                rows += raw.frame.height
        else:  # what raw_batches does with a file Polars does not read
            progress = _Progress(skip=0)
            pieces = _csv_pieces(
                binary, encoding, delimiter, width, BATCH_SIZE, progress, {}, after=0
            )
            for raw in _rebatched(pieces, BATCH_SIZE):
                rows += raw.frame.height
        wall = time.perf_counter() - wall
        cpu, thread = time.process_time() - cpu, time.thread_time() - thread
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"rows": rows, "wall": wall, "cpu": cpu, "main_thread_cpu": thread,
              "peak_rss_mb": peak, "baseline_rss_mb": baseline}  # fmt: skip
    if ticker:
        counter.running = False
        # the share of the reading's wall time another Python thread ran at full speed
        result["ticker_share"] = (counter.ticks - ticks) / (idle_rate * wall)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--once", choices=MODES + PART_MODES)
    parser.add_argument("--ticker", action="store_true", help="measure the GIL left to others")
    args = parser.parse_args()
    if args.once:
        print(json.dumps(read_once(args.once, args.path, ticker=args.ticker)))
        return
    modes = args.modes.split(",")
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    root = Path(__file__).resolve().parent.parent
    for _ in range(args.runs):
        for mode in modes:  # alternating, so load on the machine hits every mode alike
            out = subprocess.run(
                [sys.executable, __file__, args.path, "--once", mode]
                + (["--ticker"] if args.ticker else []),
                cwd=root, capture_output=True, text=True, check=True,
            )  # fmt: skip
            results[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    for mode, runs in results.items():
        summary = {"mode": mode, "rows": runs[0]["rows"]}
        for key in ("wall", "cpu", "main_thread_cpu", "peak_rss_mb", "baseline_rss_mb",
                    "ticker_share"):  # fmt: skip
            values = [run[key] for run in runs if key in run]
            if not values:
                continue
            summary[key] = round(statistics.median(values), 3)
            summary[f"{key}_range"] = [round(min(values), 3), round(max(values), 3)]
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
