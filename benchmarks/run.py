"""plantrack benchmarks: each cost as a ratio to its floor measured in the same run.

    python benchmarks/run.py [--only batch,dashboard,interaction,scale,readers,kernel,cluster] [--visits 5] [--changes 24]

Prints a table and writes outputs/bench/results.json. These are measurements, not tests:
machines here are noisy, so only ratios within one run are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / "tests")
)  # the Voila harness lives with the tests

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
OUT = ROOT / "outputs" / "bench"
from servers import launch_chromium  # noqa: E402  one Chromium set-up with the tests

PLAN = "zhejiang-internet-plus-2016"


def tree_rss(pid: int) -> int:
    try:
        root = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    except psutil.Error:
        return 0


def timed_command(command: list[str], **kwargs) -> tuple[float, int, int]:
    """Wall seconds, peak memory of the whole process tree (bytes), exit code."""
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss(process.pid))
        time.sleep(0.1)
    return time.monotonic() - started, peak, process.returncode


def bench_batch() -> dict:
    bin_dir = Path(sys.executable).parent
    from plantrack.config import ensure_kernel

    ensure_kernel()
    empties = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(3):
            seconds, _, code = timed_command(
                [
                    str(bin_dir / "papermill"),
                    str(BENCH / "empty.ipynb"),
                    str(Path(tmp) / "empty-out.ipynb"),
                    "--kernel",
                    "plantrack",
                ]
            )
            assert code == 0, "papermill could not run an empty notebook"
            empties.append(seconds)
        empty = statistics.median(empties)
        sectors = len(list((ROOT / "params").glob("*.yaml")))
        cores = os.cpu_count() or 1
        floor = sectors * empty / cores
        wall, peak, code = timed_command(
            [str(bin_dir / "plantrack"), "run", "--all", "--no-publish", "--outputs", tmp]
        )
        one, _, _ = timed_command(
            [str(bin_dir / "plantrack"), "run", "--sector", "commerce", "--outputs", tmp]
        )
    return {
        "empty_notebook_s": round(empty, 2),
        "sectors": sectors,
        "cores": cores,
        "floor_s": round(floor, 2),
        "run_all_s": round(wall, 2),
        "ratio": round(wall / floor, 2),
        "goal_ratio": 1.5,
        "one_sector_s": round(one, 2),
        "peak_memory_gib": round(peak / 2**30, 3),
        "goal_memory_gib": 1.5,
        "exit_code": code,
    }


def _browser():
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    return manager, launch_chromium(manager)


def _first_use(
    notebook: Path, ready_selector: str, preheat: bool, visits: int, extra=None
) -> list[float]:
    from servers import BackgroundServer

    server = BackgroundServer(preheat=preheat, notebook=notebook).wait_ready()
    manager, browser = _browser()
    times = []
    try:
        for _ in range(visits):
            page = browser.new_page()
            started = time.monotonic()
            page.goto(server.url)
            page.wait_for_selector(ready_selector, timeout=300_000)
            if extra:
                extra(page)
            times.append(time.monotonic() - started)
            page.close()
            if preheat:
                server.wait_refilled()
    finally:
        browser.close()
        manager.stop()
        server.stop()
    return times


def bench_dashboard(visits: int) -> dict:
    def usable(page):  # the filter answers
        page.wait_for_selector(".pt-status select:enabled")

    results = {}
    for preheat in (True, False):
        dash = _first_use(
            ROOT / "notebooks" / "summary.ipynb",
            ".pt-achievement svg .mark-rect",
            preheat,
            visits,
            usable,
        )
        bare = _first_use(
            BENCH / "bare_slider.ipynb",
            ".bare-slider .slider-container, .bare-slider",
            preheat,
            visits,
        )
        key = "preheated" if preheat else "cold"
        results[key] = {
            "dashboard_median_s": round(statistics.median(dash), 2),
            "bare_slider_median_s": round(statistics.median(bare), 2),
            "ratio": round(statistics.median(dash) / statistics.median(bare), 2),
            "dashboard_s": [round(x, 2) for x in dash],
            "bare_slider_s": [round(x, 2) for x in bare],
        }
    results["goal_ratio_preheated"] = 1.2
    return results


def bench_interaction(changes: int) -> dict:
    """A filter or language change -> the page shows it, in Chromium.

    A filter change is shown when the achievement chart's SVG carries the first target of the
    chosen sector (marks' aria-labels hold the full name) and no longer the previous sector's.
    A language change is shown when the chart title, the targets table's first heading, the
    plan title and the status cards are all in the new language.

    Timed inside the page, from the input event's timestamp to the first animation frame in
    which the page shows the change; the wall time seen by Playwright (its round trips included)
    is reported beside it.
    """
    import plantrack
    from plantrack.messages import t
    from servers import BackgroundServer

    plan = plantrack.load_plan(PLAN)
    assessed = plantrack.assess(plan)
    sectors = [s for s in plan.sector_ids() if (assessed["sector"] == s).any()]
    first = {s: assessed[assessed["sector"] == s].iloc[0]["indicator_id"] for s in sectors}
    names = plan.indicators.set_index("indicator_id")
    server = BackgroundServer(preheat=True).wait_ready()
    manager, browser = _browser()
    arm = (
        "() => { window.__started = null; window.__shown = null; for (const type of ['click', 'change'])"
        " document.addEventListener(type, e => { if (window.__started === null) window.__started = e.timeStamp; },"
        " {capture: true, once: true}); }"
    )
    shows = (
        "([checks, absent]) => { const ok = checks.every(([sel, text]) => { const e = document.querySelector(sel);"
        " return e && (e.innerHTML.includes(text) || e.textContent.includes(text))"
        " && (!absent || !e.innerHTML.includes(absent)); });"
        " if (ok && window.__started !== null) window.__shown = performance.now() - window.__started; return ok; }"
    )
    times, walls, kinds, lang = [], [], [], "zh"
    try:
        page = browser.new_page()
        page.goto(server.url)
        page.wait_for_selector(".pt-achievement svg .mark-rect", timeout=300_000)
        for i in range(changes):
            if i % 5 == 4:  # every fifth change is a language switch
                lang = "en" if lang == "zh" else "zh"
                checks = [
                    [".pt-achievement svg", t("achievement_title", lang)],
                    [".pt-targets th", t("indicator", lang)],
                    [".pt-title", plan.title(lang)],
                    [".pt-counts", t("achieved", lang)],
                ]
                absent = ""
                page.evaluate(arm)
                started = time.monotonic()
                page.get_by_role("button", name="English" if lang == "en" else "中文").click()
            else:
                sector = sectors[i % len(sectors)]
                checks = [[".pt-achievement svg", names.at[first[sector], f"name_{lang}"]]]
                absent = ""  # after Clear the chart holds no bar: the chosen sector's first bar shows the change
                # the sector filter is a list of checkboxes: Clear (untimed), then one tap is the change
                page.locator(".pt-sector-clear").click()
                page.wait_for_function(
                    "() => document.querySelectorAll('.pt-targets tr[data-indicator]').length === 0"
                )
                page.evaluate(arm)
                started = time.monotonic()
                page.locator(f".pt-sector-{sector} input").click()
            page.wait_for_function(shows, arg=[checks, absent], polling="raf", timeout=60_000)
            walls.append(time.monotonic() - started)
            times.append(page.evaluate("window.__shown") / 1000)
            kinds.append("language" if i % 5 == 4 else "filter")
    finally:
        browser.close()
        manager.stop()
        server.stop()
    ms = sorted(t * 1000 for t in times)
    return {
        "changes": len(ms),
        "p50_ms": round(statistics.median(ms)),
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))]),
        "max_ms": round(ms[-1]),
        "goal_p95_ms": 150,
        "playwright_wall_p95_ms": round(sorted(walls)[int(0.95 * (len(walls) - 1))] * 1000),
        "filter_ms": [round(t * 1000) for t, k in zip(times, kinds) if k == "filter"],
        "language_ms": [round(t * 1000) for t, k in zip(times, kinds) if k == "language"],
    }


def write_synthetic_plan(directory: Path, provinces=31, indicators=1600, years=20) -> int:
    """A plan with provinces × indicators × years actual rows, laid out like the real ones."""
    import numpy as np
    import pandas as pd

    template = ROOT / "data" / "plans" / PLAN
    directory.mkdir(parents=True)
    descriptor = json.loads((template / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["name"] = directory.name
    (directory / "datapackage.json").write_text(
        json.dumps(descriptor, ensure_ascii=False), encoding="utf-8"
    )
    written = {"sources", "sectors", "indicators", "targets", "actuals"}

    def write(frame: pd.DataFrame, name: str) -> None:  # the columns the plan's schema declares
        header = (template / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0]
        frame.reindex(columns=header.split(","), fill_value="").to_csv(
            directory / f"{name}.csv", index=False
        )

    for name in [r["name"] for r in descriptor["resources"] if r["name"] not in written]:
        header = (template / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0]
        (directory / f"{name}.csv").write_text(header + "\n", encoding="utf-8")
    pd.DataFrame(
        [
            dict(
                source_id="synthetic",
                file="synthetic.txt",
                title_zh="合成数据",
                title_en="Synthetic",
                issuer="",
                date="",
                role="plan",
            )
        ]
    ).pipe(write, "sources")
    pd.DataFrame(
        [
            dict(sector_id=f"p{p:02d}", order=p, name_zh=f"省{p}", name_en=f"Province {p}")
            for p in range(provinces)
        ]
    ).pipe(write, "sectors")
    ids = np.array([f"p{p:02d}_i{i:04d}" for p in range(provinces) for i in range(indicators)])
    sectors = np.repeat([f"p{p:02d}" for p in range(provinces)], indicators)
    pd.DataFrame(
        {
            "indicator_id": ids,
            "sector": sectors,
            "name_zh": ids,
            "name_en": ids,
            "unit": "亿元",
            "direction": "higher",
            "kind": "target",
            "definition": "",
        }
    ).pipe(write, "indicators")
    rng = np.random.default_rng(1)
    base = rng.uniform(10, 1000, len(ids))
    pd.DataFrame(
        {
            "indicator_id": ids,
            "target_year": 2020,
            "comparator": ">=",
            "value": np.round(base * 1.5, 2),
            "value_high": "",
            "unit": "亿元",
            "stated": "目标",
            "name_as_stated": ids,
            "source": "synthetic",
            "locator": "",
            "year_basis": "stated",
            "quote": "合成目标",
        }
    ).pipe(write, "targets")
    year_list = np.arange(2001, 2001 + years)
    growth = rng.normal(0.03, 0.02, len(ids))  # each indicator grows at its own steady rate
    values = np.round(
        np.repeat(base, years)
        * (1 + np.repeat(growth, years)) ** np.tile(np.arange(years), len(ids)),
        2,
    )
    frame = pd.DataFrame(
        {
            "indicator_id": np.repeat(ids, years),
            "year": np.tile(year_list, len(ids)),
            "value": values,
            "unit": "亿元",
            "stated": "数值",
            "name_as_stated": np.repeat(ids, years),
            "reported_rate": "",
            "source": "synthetic",
            "locator": "",
            "year_basis": "stated",
            "quote": "合成数值",
        }
    )
    write(frame, "actuals")
    return len(frame)


def bench_scale(cold: bool) -> dict:
    from unittest import mock

    import pandas as pd
    import plantrack
    from plantrack.serve import app as dashboard

    with (
        tempfile.TemporaryDirectory() as tmp,
        mock.patch.dict(os.environ, {"PLANTRACK_CACHE": str(Path(tmp) / "cache")}),
    ):
        plan_path = Path(tmp) / "synthetic-plan"
        rows = write_synthetic_plan(plan_path)
        result = {"actual_rows": rows}
        if cold:
            started = time.monotonic()
            plantrack.load_plan(plan_path)  # validates with frictionless, fills the cache
            result["cold_load_with_validation_s"] = round(time.monotonic() - started, 2)
        else:
            from plantrack.data.package import (
                _cache_dir,
                _read_descriptor,
                _read_tables,
                _write_cache,
                content_hash,
            )

            descriptor = _read_descriptor(plan_path)  # fill the cache without the slow validation
            _write_cache(
                _cache_dir(plan_path.name, content_hash(plan_path, descriptor)),
                _read_tables(plan_path, descriptor),
            )
        pd.DataFrame(pd.read_csv(plan_path / "actuals.csv")).to_parquet(Path(tmp) / "bare.parquet")
        bare, ours = [], []
        for _ in range(7):  # interleaved, so that both see the same machine; best of each
            started = time.monotonic()
            pd.read_parquet(Path(tmp) / "bare.parquet")
            bare.append(time.monotonic() - started)
            started = time.monotonic()
            plan = plantrack.load_plan(plan_path)
            assessed = plantrack.assess(plan)
            ours.append(time.monotonic() - started)
        result.update(
            {
                "load_plus_assess_s": round(min(ours), 2),
                "bare_read_parquet_s": round(min(bare), 3),
                "ratio": round(min(ours) / min(bare), 2),
                "goal_s": 2.0,
                "goal_ratio": 3.0,
                "targets": len(assessed),
            }
        )
        started = time.monotonic()
        board = dashboard.Dashboard(str(plan_path), "en")
        spec = board.achievement_chart.spec
        result["dashboard_build_s"] = round(time.monotonic() - started, 2)
        data = spec.get("datasets", {})
        result["chart_rows"] = max((len(v) for v in data.values()), default=0)
        result.update(_render_in_browser(plan_path))
    return result


def _render_in_browser(plan_path: Path) -> dict:
    """The dashboard on the synthetic plan, served by Voilà and drawn in Chromium: time to the
    first drawn chart, then a sector filter until the chart is redrawn."""
    from servers import BackgroundServer

    server = BackgroundServer(preheat=False, env={"PLANTRACK_PLAN": str(plan_path)}).wait_ready()
    manager, browser = _browser()
    try:
        page = browser.new_page()
        started = time.monotonic()
        page.goto(server.url)
        page.wait_for_selector(".pt-achievement svg .mark-rect", timeout=300_000)
        drawn = time.monotonic() - started
        title = page.inner_html(".pt-achievement svg")
        started = time.monotonic()
        page.locator(".pt-sector-box input").first.click()  # untick the first sector
        page.wait_for_function(
            "t => { const s = document.querySelector('.pt-achievement svg');"
            " return s && s.innerHTML !== t; }",
            arg=title,
            timeout=300_000,
        )
        filtered = time.monotonic() - started
    finally:
        browser.close()
        manager.stop()
        server.stop()
    return {"browser_first_chart_s": round(drawn, 2), "browser_filter_redraw_s": round(filtered, 2)}


def bench_readers(sequential: int, concurrent: int) -> dict:
    """Real Chromium readers against a real dashboard: benchmarks/readers.py."""
    import asyncio

    sys.path.insert(0, str(BENCH))
    import readers

    return asyncio.run(readers.run(sequential, concurrent))


def bench_kernel() -> dict:
    """One reader's kernel memory: benchmarks/kernel.py."""
    sys.path.insert(0, str(BENCH))
    import kernel

    result = kernel.measure(visits=2)
    result["cold_start"] = kernel.measure_start(starts=3)
    return result


def _bench_cluster() -> dict:
    sys.path.insert(0, str(BENCH))
    from cluster import bench_cluster  # benchmarks/cluster.py: also runs on its own

    return bench_cluster()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default="batch,dashboard,interaction,scale,readers,kernel,cluster"
    )
    parser.add_argument(
        "--sequential", type=int, default=50, help="readers benchmark: visits one after another"
    )
    parser.add_argument(
        "--concurrent", type=int, default=30, help="readers benchmark: readers at once"
    )
    parser.add_argument("--visits", type=int, default=5)
    parser.add_argument("--changes", type=int, default=24)
    parser.add_argument(
        "--cold-scale",
        action="store_true",
        help="also time the first load of the 1M-row plan (slow)",
    )
    args = parser.parse_args()
    chosen = args.only.split(",")
    try:  # benchmarks not chosen this time keep their last figures
        results = json.loads((OUT / "results.json").read_text())
    except (OSError, ValueError):
        results = {}
    results.update(
        {
            "machine": {
                "cores": os.cpu_count(),
                "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            },
            "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
    )
    OUT.mkdir(parents=True, exist_ok=True)
    for name, key, bench in (
        ("batch", "batch", bench_batch),
        ("dashboard", "dashboard_first_use", lambda: bench_dashboard(args.visits)),
        ("interaction", "interaction", lambda: bench_interaction(args.changes)),
        ("scale", "scale", lambda: bench_scale(args.cold_scale)),
        ("readers", "readers", lambda: bench_readers(args.sequential, args.concurrent)),
        ("kernel", "reader_kernel", bench_kernel),
        ("cluster", "cluster", _bench_cluster),
    ):
        if name in chosen:
            results[key] = bench()
            # saved after each benchmark, so a later failure keeps what was measured
            (OUT / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    for name, values in results.items():
        if isinstance(values, dict):
            print(f"\n{name}")
            for key, value in values.items():
                print(f"  {key:32} {value}")
    print(f"\nwritten: {OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
