"""Many readers against a real `plantrack dashboard` (issue 11), in real Chromium.

    python benchmarks/readers.py [--sequential 50] [--concurrent 30]

1. `--sequential` visits one after another (open, wait until the dashboard is usable, close the tab);
2. `--concurrent` readers opening the dashboard at once, each given 60 s to get the dashboard or
   the busy page; then a fresh reader.
Reports time-to-interactive p50/p95 of admitted readers, 503s, other errors, live kernels 30 s
after the last tab closed, server-tree RSS (server + all kernels) at start, peak and end, and RSS
(and USS: what a kernel alone holds) per kernel. Also run by benchmarks/run.py (--only readers).

The machine may have few cores: all readers share one Chromium (a context each, as separate
browsers would have), and every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / "tests")
)  # the Voila harness lives with the tests

from servers import launch_chromium  # noqa: E402  one Chromium set-up with the tests

READY = ".pt-counts"  # the dashboard has drawn its status cards: a reader can use it
BUSY = ".pt-busy"
MIB = 2**20


class Sampler(threading.Thread):
    """Peak server-tree RSS, sampled every 0.5 s."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server, self.peak, self.running = server, 0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, self.server.tree_rss())
            time.sleep(0.5)


def kernel_memory(server) -> dict:
    rss, uss = [], []
    for proc in server.kernel_processes():
        try:
            info = proc.memory_full_info()
        except Exception:  # noqa: BLE001 - a kernel that just ended
            continue
        rss.append(info.rss)
        uss.append(info.uss)
    if not rss:
        return {"kernels": 0}
    return {
        "kernels": len(rss),
        "rss_per_kernel_mib": round(statistics.mean(rss) / MIB),
        "uss_per_kernel_mib": round(statistics.mean(uss) / MIB),
        "rss_max_kernel_mib": round(max(rss) / MIB),
    }


def percentile(values, q):
    values = sorted(values)
    return (
        round(values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))], 2) if values else None
    )


async def visit(browser, url: str, timeout_s: float, keep_open: bool = False):
    """One reader: ('dashboard', seconds) / ('busy', seconds) / ('error', reason); the page if kept."""
    # A context per reader, as separate browsers would be: Chromium allows 6 connections per host
    # per profile, and a dashboard page holds one while it streams.
    context = await browser.new_context()
    page = await context.new_page()
    started = time.monotonic()
    outcome = None
    try:
        # "commit": the server's answer has begun. Not "load": a streaming dashboard page and 30
        # renderers on the same few cores would time the browser, not the server.
        response = await page.goto(url, timeout=timeout_s * 1000, wait_until="commit")
        answered = time.monotonic() - started
        if response and response.status == 503:
            await page.wait_for_selector(BUSY, timeout=max(1, timeout_s - answered) * 1000)
            outcome = ("busy", time.monotonic() - started, answered)
        else:
            await page.wait_for_selector(READY, timeout=max(1, timeout_s - answered) * 1000)
            outcome = ("dashboard", time.monotonic() - started, answered)
    except Exception as exc:  # noqa: BLE001 - counted, reported
        outcome = (
            "error",
            f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}",
            time.monotonic() - started,
        )
    if keep_open:
        return outcome, page
    await close(page)
    return outcome, None


async def close(page) -> None:
    await page.close()  # fires pagehide: the page's shutdown beacon frees the kernel
    await page.context.close()


async def wait_kernels_settle(server, seconds: float) -> int:
    await asyncio.sleep(seconds)
    return len(server.kernel_processes())


async def run(
    sequential: int, concurrent: int, settle_s: float = 30.0, partial: Path | None = None
) -> dict:
    from plantrack.serve.readers import default_max_readers, default_max_starts
    from playwright.async_api import async_playwright
    from servers import BackgroundServer

    server = BackgroundServer(preheat=True, pool_size=1).wait_ready()
    sampler = Sampler(server)
    start_rss = server.tree_rss()
    sampler.start()
    result = {
        "pool_size": 1,
        "max_readers": default_max_readers(1),
        "max_starts": default_max_starts(),
        "start_tree_rss_mib": round(start_rss / MIB),
        "pool_kernel": kernel_memory(server),
    }
    try:
        async with async_playwright() as p:
            browser = await launch_chromium(p)
            # 1. one reader after another
            outcomes = []
            for _ in range(sequential):
                outcome, _ = await visit(browser, server.url, 120)
                outcomes.append(outcome)
            kernels = await wait_kernels_settle(server, settle_s)
            times = [o[1] for o in outcomes if o[0] == "dashboard"]
            result["sequential"] = {
                "visits": sequential,
                "dashboards": len(times),
                "busy_503": sum(o[0] == "busy" for o in outcomes),
                "errors": [o[1] for o in outcomes if o[0] == "error"],
                "tti_p50_s": percentile(times, 0.5),
                "tti_p95_s": percentile(times, 0.95),
                "live_kernels_30s_after": kernels,
                "goal_live_kernels": 1 + 1,
                "end_tree_rss_mib": round(server.tree_rss() / MIB),
                "peak_tree_rss_mib": round(sampler.peak / MIB),
                "goal_end_tree_rss_mib": round(start_rss / MIB) + 300,
            }
            if partial:  # what was measured survives a run killed later
                partial.write_text(json.dumps(result, indent=2))
            # 2. readers at once, each given 60 s
            sampler.peak = 0
            started = time.monotonic()
            pairs = await asyncio.gather(
                *(visit(browser, server.url, 60, keep_open=True) for _ in range(concurrent))
            )
            all_answered_s = time.monotonic() - started
            held = kernel_memory(server)
            for _, page in pairs:
                await close(page)
            outcomes = [o for o, _ in pairs]
            kernels = await wait_kernels_settle(server, settle_s)
            fresh, _ = await visit(browser, server.url, 120)
            times = [o[1] for o in outcomes if o[0] == "dashboard"]
            result["concurrent"] = {
                "readers": concurrent,
                "dashboards": len(times),
                "busy_503": sum(o[0] == "busy" for o in outcomes),
                "errors": [o[1] for o in outcomes if o[0] == "error"],
                "all_answered_within_s": round(all_answered_s, 1),
                "tti_p50_s": percentile(times, 0.5),
                "tti_p95_s": percentile(times, 0.95),
                "busy_answer_max_s": max((o[1] for o in outcomes if o[0] == "busy"), default=None),
                "server_first_byte_p50_s": percentile(
                    [o[2] for o in outcomes if o[0] != "error"], 0.5
                ),
                "server_first_byte_max_s": max(
                    (o[2] for o in outcomes if o[0] != "error"), default=None
                ),
                "kernels_while_held": held,
                "peak_tree_rss_mib": round(sampler.peak / MIB),
                "goal_peak_tree_rss_mib": 6 * 1024,
                "live_kernels_30s_after": kernels,
                "end_tree_rss_mib": round(server.tree_rss() / MIB),
                "fresh_reader_after": fresh[0],
                "fresh_reader_tti_s": fresh[1] if fresh[0] == "dashboard" else None,
            }
            await browser.close()
    finally:
        sampler.running = False
        server.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=30)
    parser.add_argument(
        "--partial", type=Path, default=None, help="also write the figures here after each phase"
    )
    args = parser.parse_args()
    print(
        json.dumps(
            asyncio.run(run(args.sequential, args.concurrent, partial=args.partial)),
            indent=2,
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
