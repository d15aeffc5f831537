"""The batch on a Dask cluster against the local process pool, on the same cores.

    python benchmarks/cluster.py [--sectors N]    (or: python benchmarks/run.py --only cluster)

`plantrack run` of every sector (16; or the first N with --sectors, for a shorter run) on a localhost Dask cluster (a `dask scheduler`, N
`dask worker --nthreads 1`) with 1 and 2 workers, on fresh workers (cold: kernels start), then again
on the 2 workers (warm: kernels reused); and on the local pool with 2 processes (kernels always
start). The figure that matters is cluster / local on the same 2 cores (goal <= 1.2).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from servers import Cluster  # noqa: E402  one cluster harness with the tests

GOAL = 1.2


def _timed(which: list[str], args: list[str]) -> float:
    started = time.monotonic()
    result = subprocess.run(
        [str(BIN / "plantrack"), "run", *which, "--no-publish", *args],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"plantrack run failed:\n{result.stderr[-2000:]}")
    return time.monotonic() - started


def bench_cluster(sectors: int | None = None) -> dict:
    from plantrack.config import ensure_kernel

    ensure_kernel()
    names = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "params").glob("*.yaml"))
    which = ["--all"] if sectors is None else [a for s in names[:sectors] for a in ("--sector", s)]
    figures = {
        "sectors": len(names) if sectors is None else min(sectors, len(names)),
        "cores": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        figures["local_2_s"] = round(_timed(which, ["--jobs", "2", "--outputs", str(out)]), 1)
        for n in (1, 2):
            folder = Path(tmp) / f"cluster{n}"
            folder.mkdir()
            cluster = Cluster(folder)
            for i in range(n):
                cluster.start_worker(f"w{i}")
            cluster.wait_for_workers(n)
            try:
                figures[f"cluster_{n}_cold_s"] = round(
                    _timed(which, ["--scheduler", cluster.address, "--outputs", str(out)]), 1
                )
                if n == 2:
                    figures["cluster_2_warm_s"] = round(
                        _timed(which, ["--scheduler", cluster.address, "--outputs", str(out)]), 1
                    )
            finally:
                cluster.close()
    figures["cluster_speedup_2_vs_1"] = round(
        figures["cluster_1_cold_s"] / figures["cluster_2_cold_s"], 2
    )
    figures["cluster_vs_local_2_cold"] = round(
        figures["cluster_2_cold_s"] / figures["local_2_s"], 2
    )
    figures["cluster_vs_local_2_warm"] = round(
        figures["cluster_2_warm_s"] / figures["local_2_s"], 2
    )
    figures["goal_ratio"] = GOAL
    return figures


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sectors", type=int, default=None, help="only the first N sectors (default: all)"
    )
    for key, value in bench_cluster(parser.parse_args().sectors).items():
        print(f"  {key:28} {value}")
