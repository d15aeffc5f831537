import csv
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from servers import CHROMIUM

ROOT = Path(__file__).resolve().parents[1]
PLANS = ROOT / "data" / "plans"
SEEDS = ROOT.parent / "shared" / "seeds"
MAIN_PLAN = "zhejiang-internet-plus-2016"

# Tests never read or write the user's cache.
os.environ["PLANTRACK_CACHE"] = tempfile.mkdtemp(prefix="plantrack-test-cache-")


needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian's chromium is not installed (apt-get install chromium)",
)
BROWSER_MARKS = [pytest.mark.browser, needs_chromium]


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (tests open their own pages and contexts)."""
    from playwright.sync_api import sync_playwright
    from servers import launch_chromium

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server():
    """The dashboard as `plantrack dashboard` serves it, one warm kernel in the pool."""
    from servers import BackgroundServer

    srv = BackgroundServer(preheat=True, pool_size=1).wait_ready()
    yield srv
    srv.stop()


def seeds_or_skip() -> Path:
    if not SEEDS.is_dir():
        pytest.skip(f"the source documents are not beside the project ({SEEDS} is absent)")
    return SEEDS


def write_csv(path: Path, rows: list[dict], fields: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in fields})


def fields_of(resource: str) -> list[str]:
    descriptor = json.loads((PLANS / MAIN_PLAN / "datapackage.json").read_text(encoding="utf-8"))
    schema = next(r for r in descriptor["resources"] if r["name"] == resource)["schema"]
    return [f["name"] for f in schema["fields"]]


@pytest.fixture
def plan_copy(tmp_path) -> Path:
    """A writable copy of the Internet+ plan's package."""
    target = tmp_path / MAIN_PLAN
    shutil.copytree(PLANS / MAIN_PLAN, target)
    return target


@pytest.fixture
def make_plan(tmp_path):
    """Write a small package with the real schema: make_plan(indicators=[...], targets=[...], ...)."""

    def make(
        name="crafted",
        indicators=(),
        targets=(),
        actuals=(),
        rates=(),
        sectors=None,
        sources=None,
        base_year=2015,
        plan_source="plan",
    ):
        directory = tmp_path / name
        directory.mkdir()
        descriptor = json.loads(
            (PLANS / MAIN_PLAN / "datapackage.json").read_text(encoding="utf-8")
        )
        descriptor["name"] = name
        descriptor["plantrack"] = {
            "title_zh": "测试计划",
            "title_en": "Test plan",
            "base_year": base_year,
            "plan_source": plan_source,
        }
        (directory / "datapackage.json").write_text(
            json.dumps(descriptor, ensure_ascii=False), encoding="utf-8"
        )
        defaults = {
            "sources": sources
            or [
                dict(
                    source_id="plan", file="plan.txt", title_zh="计划", title_en="Plan", role="plan"
                ),
                dict(
                    source_id="review",
                    file="review.txt",
                    title_zh="评估",
                    title_en="Review",
                    role="evaluation",
                ),
            ],
            "sectors": sectors
            or [
                dict(sector_id="s1", order=1, name_zh="部门一", name_en="Sector one"),
                dict(sector_id="s2", order=2, name_zh="部门二", name_en="Sector two"),
            ],
            "indicators": [
                dict(
                    dict(
                        sector="s1",
                        direction="higher",
                        kind="target",
                        name_zh=i["indicator_id"],
                        name_en=i["indicator_id"],
                    ),
                    **i,
                )
                for i in indicators
            ],
            "targets": [
                dict(
                    dict(
                        source="plan",
                        year_basis="stated",
                        stated=str(t["value"]),
                        name_as_stated=t["indicator_id"],
                        quote=f"目标为{t['value']}",
                    ),
                    **t,
                )
                for t in targets
            ],
            "actuals": [
                dict(
                    dict(
                        source="review",
                        year_basis="stated",
                        stated=str(a["value"]),
                        name_as_stated=a["indicator_id"],
                        quote=f"实际为{a['value']}",
                    ),
                    **a,
                )
                for a in actuals
            ],
            "tasks": [],
            "evidence": [],
            "rates": list(rates),
        }
        for resource, rows in defaults.items():
            write_csv(directory / f"{resource}.csv", rows, fields_of(resource))
        for resource in descriptor[
            "resources"
        ]:  # any other resource (measures, corrections): empty
            if resource["name"] not in defaults:
                write_csv(
                    directory / resource["path"],
                    [],
                    [f["name"] for f in resource["schema"]["fields"]],
                )
        return directory

    return make
