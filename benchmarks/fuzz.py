"""Fuzz every reader of user files with Hypothesis, >= 10,000 generated inputs, and count what happened.

    python benchmarks/fuzz.py [--csv N] [--xlsx N] [--yaml N] [--package N] [--seed S]

For each input the reader accepts it or raises a short DataError; a rejection must change no
file. Prints and writes (outputs/bench/fuzz.json) the counts: inputs, accepted, rejected,
tracebacks, files changed, per reader. The strategies are tests/fuzz_readers.py (CI runs a short
version of the same: tests/test_fuzz.py). Exit 1 when any traceback or changed file was seen.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("PLANTRACK_CACHE", tempfile.mkdtemp(prefix="plantrack-fuzz-cache-"))

from fuzz_readers import Harness, csv_bytes, package_input, xlsx_bytes, yaml_text  # noqa: E402
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=int, default=5000)
    parser.add_argument("--xlsx", type=int, default=1500)
    parser.add_argument("--yaml", type=int, default=3500)
    parser.add_argument(
        "--package", type=int, default=200, help="each validated by frictionless (~1 s)"
    )
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--out", default=str(ROOT / "outputs" / "bench" / "fuzz.json"))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="plantrack-fuzz-"))
    harness = Harness(workdir, strict=False)
    timings = {}

    def fuzz(name, examples, strategy, call):
        if examples < 1:
            return

        @seed(args.seed)
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=["generate"],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def run(item):
            call(item)
            if harness.counts["inputs"] % 500 == 0:
                print(f"  … {harness.counts['inputs']:,} inputs", file=sys.stderr, flush=True)

        started = time.perf_counter()
        try:
            run()
        except Exception as exc:  # noqa: BLE001 - a broken strategy ends its reader, not the whole run
            harness.counts["strategy_errors"] += 1
            print(
                f"{name}: stopped: {type(exc).__name__}: {str(exc)[:300]}",
                file=sys.stderr,
                flush=True,
            )
        timings[name] = round(time.perf_counter() - started, 1)
        print(
            f"{name}: {examples} examples in {timings[name]} s; so far {dict(harness.counts)}",
            file=sys.stderr,
            flush=True,
        )

    fuzz("ingest-csv", args.csv, csv_bytes(), lambda data: harness.sheet(data, "csv"))
    fuzz("ingest-xlsx", args.xlsx, xlsx_bytes(), lambda data: harness.sheet(data, "xlsx"))
    fuzz("params-yaml", args.yaml, yaml_text(), harness.params_file)
    fuzz("package", args.package, package_input(), lambda item: harness.package_file(*item))
    counts = harness.summary()
    shutil.rmtree(workdir, ignore_errors=True)
    if "plantrack-fuzz-cache-" in os.environ["PLANTRACK_CACHE"]:  # only the cache this run made
        shutil.rmtree(os.environ["PLANTRACK_CACHE"], ignore_errors=True)
    result = {
        "counts": counts,
        "seconds": timings,
        "failures": [{"reader": r, "input": i, "what": w} for r, i, w in harness.failures[:50]],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(
        f"inputs {counts.get('inputs', 0):,}  accepted {counts.get('accepted', 0):,}  "
        f"rejected {counts.get('rejected', 0):,}  tracebacks {counts.get('tracebacks', 0)}  "
        f"files changed {counts.get('files_changed', 0)}"
    )
    for key, value in counts.items():
        if ":" in key:
            print(f"  {key:28} {value:,}")
    for reader, sample, what in harness.failures[:10]:
        print(f"FAIL {reader}: {what.strip().splitlines()[-1]}  input {sample[:120]}")
    return (
        1
        if counts.get("tracebacks") or counts.get("files_changed") or counts.get("strategy_errors")
        else 0
    )


if __name__ == "__main__":
    sys.exit(main())
