"""The static site's costs against the issue's budgets: publishing time, page weight, time to interactive.

    python benchmarks/site.py [--loads 5]

- publish: every plan, in this process (as `plantrack run --all` calls it, plans already loaded once),
  first with an empty chart cache (every SVG drawn) and then again (charts from the cache);
  wall and CPU seconds, and the machine's load average (the machine is shared: wall time is noisy).
  Budget: <= 10 s added to a run.
- weight: each page's own bytes (HTML + the stylesheet + the script + the images it loads; there is
  no chart library). Budget: <= 300 KB per page.
- interactive: the overview opened from file:// in Chromium; the page's own clock when its filters
  became usable (data-ready, ms from navigation start), and the wall time of goto -> usable.
  Budget: <= 1 s.

Writes outputs/bench/results.json (key "site"), keeping the other benchmarks' figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "outputs" / "bench"
sys.path.insert(0, str(ROOT / "tests"))  # Chromium is set up once, with the tests
from servers import CHROMIUM, launch_chromium  # noqa: E402

PLAN = "zhejiang-internet-plus-2016"
# what a browser downloads with the page: its stylesheet, scripts and images; not a
# <link rel="alternate"> (the other language's page, fetched only when the reader follows it)
LINKED = re.compile(
    r'<(?:link rel="(?:stylesheet|icon|preload)"[^>]+href|script[^>]+src|img[^>]+src)="([^"]+)"'
)


def _timed(call) -> tuple[float, float]:
    wall, cpu = time.monotonic(), time.process_time()
    call()
    return time.monotonic() - wall, time.process_time() - cpu


def page_weights(site: Path) -> dict[str, int]:
    """Bytes each page makes a reader download: itself and everything it links in (not what it links to)."""
    weights = {}
    for page in site.rglob("*.html"):
        source = page.read_text(encoding="utf-8")
        linked = {(page.parent / ref).resolve() for ref in LINKED.findall(source)}
        weights[page.relative_to(site).as_posix()] = page.stat().st_size + sum(
            p.stat().st_size for p in linked
        )
    return weights


def interactive(site: Path, loads: int) -> dict:
    from playwright.sync_api import sync_playwright

    url = (site / "en" / PLAN / "index.html").resolve().as_uri()
    in_page, walls = [], []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        for _ in range(loads):
            context = browser.new_context()  # a fresh context: nothing cached between loads
            page = context.new_page()
            started = time.monotonic()
            page.goto(url)
            page.wait_for_selector("form[data-filters]:not([hidden])")
            walls.append(time.monotonic() - started)
            in_page.append(int(page.get_attribute("html", "data-ready")))
            context.close()
        browser.close()
    return {
        "ready_ms_median": statistics.median(in_page),
        "ready_ms_max": max(in_page),
        "goto_to_usable_s_median": round(statistics.median(walls), 3),
        "loads": loads,
    }


def bench_site(loads: int = 5) -> dict:
    from unittest import mock

    # A fresh cache (no chart drawn yet), for this benchmark only: the caller's environment is restored.
    with (
        tempfile.TemporaryDirectory(prefix="plantrack-bench-cache-") as cache,
        mock.patch.dict(os.environ, {"PLANTRACK_CACHE": cache}),
    ):
        return _bench_site(loads)


def _bench_site(loads: int) -> dict:
    from plantrack.data.package import list_plans, load_plan
    from plantrack.present.site import publish

    for plan_id in list_plans():  # a run has loaded (and validated) its plans before it publishes
        load_plan(plan_id)
    results = {"load_average_before": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        manifest = {}
        cold = _timed(lambda: manifest.update(publish(None, site)))
        warm = _timed(lambda: publish(None, site))
        weights = page_weights(site)
        heaviest = max(weights, key=weights.get)
        results.update(
            {
                "plans": len(manifest["plans"]),
                "pages": manifest["pages"],
                "files": sum(1 for p in site.rglob("*") if p.is_file()),
                "site_mib": round(
                    sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 2**20, 2
                ),
                "publish_cold_wall_s": round(cold[0], 2),
                "publish_cold_cpu_s": round(cold[1], 2),
                "publish_warm_wall_s": round(warm[0], 2),
                "publish_warm_cpu_s": round(warm[1], 2),
                "goal_publish_s": 10,
                "page_kb_max": round(weights[heaviest] / 1024, 1),
                "page_kb_median": round(statistics.median(weights.values()) / 1024, 1),
                "heaviest_page": heaviest,
                "goal_page_kb": 300,
            }
        )
        if Path(CHROMIUM).exists():
            results.update({f"overview_{k}": v for k, v in interactive(site, loads).items()})
            results["goal_ready_ms"] = 1000
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5, help="overview loads in Chromium")
    args = parser.parse_args()
    try:
        results = json.loads((OUT / "results.json").read_text())
    except (OSError, ValueError):
        results = {}
    results["site"] = bench_site(args.loads)
    results["site"]["when"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    for key, value in results["site"].items():
        print(f"  {key:32} {value}")
    print(f"\nwritten: {OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
