"""How fast `plantrack ingest` checks a large sheet (issue 16): 10,000 rows made from a plan's actuals.

    python benchmarks/ingest.py [--rows 10000] [--plan zhejiang-internet-plus-2016] [--repeat 3]

Writes a CSV sheet of `--rows` rows (the plan's actuals, each (indicator, year) under a new source
per round, so every row is new), then times, best of `--repeat`, in wall-clock and CPU seconds (the
CPU figure holds still on a busy machine): `prepare` alone (every rule a row
must pass) and `plantrack ingest --dry-run` as the command line runs it (prepare, the what-if plan,
its status changes and findings; nothing written). The plan's cache is warm for both.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["indicator", "year", "value", "unit", "stated", "name_as_stated", "reported_rate"]
COLUMNS += ["source", "locator", "year_basis", "quote", "source_title", "source_file"]


def write_sheet(plan, path: Path, rows: int) -> None:
    from plantrack.data import units

    actuals = plan.actuals.drop_duplicates(["indicator_id", "year"])
    unit_of = dict(zip(plan.indicators["indicator_id"], plan.indicators["unit"]))
    records = []
    for record in actuals.astype(object).where(actuals.notna(), "").to_dict(orient="records"):
        try:  # a few of a plan's own rows are not ingestible (a currency without its year's rate)
            units.convert(
                1.0,
                record["unit"],
                unit_of[record["indicator_id"]],
                year=record["year"],
                rates=plan.rates,
            )
        except units.UnitError:
            continue
        records.append(record)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for number in range(rows):
            base, round_ = records[number % len(records)], number // len(records)
            writer.writerow(
                [base["indicator_id"], base["year"], f"{base['value']:g}"]
                + [base[c] for c in ("unit", "stated", "name_as_stated")]
                + [f"{base['reported_rate']:g}" if base["reported_rate"] != "" else ""]
                + [f"bench-{round_}", base["locator"], base["year_basis"], base["quote"]]
                + [f"benchmark source {round_}", f"bench-{round_}.txt"]
            )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def best(seconds: list[float]) -> str:
    return f"{min(seconds):.2f} s (runs: {', '.join(f'{s:.2f}' for s in seconds)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--plan", default="zhejiang-internet-plus-2016")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import plantrack
    from plantrack.data.ingest import prepare

    plan = plantrack.load_plan(args.plan)
    with tempfile.TemporaryDirectory() as folder:
        sheet = Path(folder) / "sheet.csv"
        write_sheet(plan, sheet, args.rows)
        wall, cpu = [], []
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            rows, sources = prepare(plan, sheet)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        print(f"prepare, {len(rows):,} rows, {len(sources)} new sources:")
        print(f"  wall {best(wall)}\n  cpu  {best(cpu)}")
        command = [str(Path(sys.executable).with_name("plantrack")), "ingest", str(sheet)]
        command += ["--plan", args.plan, "--dry-run"]
        wall, cpu = [], []
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), _children_cpu()
            subprocess.run(command, check=True, capture_output=True, env=os.environ)
            wall.append(time.perf_counter() - start)
            cpu.append(_children_cpu() - start_cpu)
        print(f"plantrack ingest --dry-run:\n  wall {best(wall)}\n  cpu  {best(cpu)}")


if __name__ == "__main__":
    main()
