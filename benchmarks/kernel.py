"""One reader's kernel (issue 11, "Lighter kernels"): its memory, and what it imported.

    python benchmarks/kernel.py [--visits 1] [--starts 2]

1. Memory: starts the dashboard as `plantrack dashboard` does (tests/servers.py BackgroundServer,
   preheated, pool of one), opens the page in Chromium until its charts are drawn, waits until the
   pool is warm again, then reports RSS and USS (MiB = 2**20 bytes) of every kernel process: the
   reader's (its page still open) and the refilled pool's. The goal: at most 150 MiB RSS per
   reader's kernel.
2. Start: a reader who finds no warm kernel (no preheating): the CPU seconds the kernel spent
   until the page's HTML was served (its imports and the notebook's run, forked copies included),
   for the dashboard and for a bare Voilà slider notebook (benchmarks/bare_slider.ipynb).

Also run by benchmarks/run.py (--only kernel).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / "tests")
)  # the Voila harness lives with the tests

from servers import BackgroundServer, launch_chromium  # noqa: E402

MIB = 2**20
DRAWN = ".pt-achievement svg .mark-rect"
ROOT = Path(__file__).resolve().parents[1]


def kernels(server) -> list[dict]:
    out = []
    for proc in server.kernel_processes():
        try:
            info = proc.memory_full_info()
        except Exception:  # noqa: BLE001 - a kernel that just ended
            continue
        out.append({"pid": proc.pid, "rss_mib": info.rss / MIB, "uss_mib": info.uss / MIB})
    return out


def measure(visits: int = 1) -> dict:
    from playwright.sync_api import sync_playwright

    server = BackgroundServer(preheat=True, pool_size=1).wait_ready()
    pool_before = kernels(server)
    reader_pids, ready_s, held = [], [], []
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            for _ in range(visits):  # each page stays open: its kernel is held
                warm = {k["pid"] for k in kernels(server)} - set(reader_pids)
                page = browser.new_page()
                started = time.monotonic()
                page.goto(server.url, timeout=180_000)
                page.wait_for_selector(DRAWN, timeout=180_000)
                ready_s.append(round(time.monotonic() - started, 2))
                server.wait_refilled()
                reader_pids += sorted(warm)  # the warm kernel this page took
            held = kernels(server)
            browser.close()
    finally:
        server.stop()
    readers = [k for k in held if k["pid"] in reader_pids]
    return {
        "visits": visits,
        "page_ready_s": ready_s,
        "pool_kernel_before_visit_rss_mib": [round(k["rss_mib"], 1) for k in pool_before],
        "reader_kernel_rss_mib": [round(k["rss_mib"], 1) for k in readers],
        "reader_kernel_uss_mib": [round(k["uss_mib"], 1) for k in readers],
        "refilled_pool_rss_mib": [round(k["rss_mib"], 1) for k in held if k not in readers],
        "mean_reader_kernel_rss_mib": round(statistics.mean(k["rss_mib"] for k in readers), 1)
        if readers
        else None,
        "goal_rss_mib": 150,
    }


def start_cpu(notebook: Path, starts: int = 2) -> list[float]:
    """CPU seconds (user + system, its forked copies included) of a kernel started for a reader,
    until the page's HTML was served."""
    from servers import http_get

    seconds = []
    for _ in range(starts):
        server = BackgroundServer(preheat=False, notebook=notebook).wait_ready()
        try:
            status, _, _ = http_get(server.url, timeout=300)
            assert status == 200, status
            cpu = 0.0
            for proc in server.kernel_processes():
                times = proc.cpu_times()
                cpu += times.user + times.system + times.children_user + times.children_system
            seconds.append(round(cpu, 2))
        finally:
            server.stop()
    return seconds


def measure_start(starts: int = 2) -> dict:
    import statistics as stats

    dashboard = start_cpu(ROOT / "notebooks" / "summary.ipynb", starts)
    bare = start_cpu(ROOT / "benchmarks" / "bare_slider.ipynb", starts)
    return {
        "dashboard_kernel_cpu_s": dashboard,
        "bare_slider_kernel_cpu_s": bare,
        "median_dashboard_kernel_cpu_s": stats.median(dashboard),
        "median_bare_slider_kernel_cpu_s": stats.median(bare),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=1)
    parser.add_argument("--starts", type=int, default=2)
    args = parser.parse_args()
    result = measure(args.visits)
    result["cold_start"] = measure_start(args.starts)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
