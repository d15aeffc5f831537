"""The Voilà dashboard in real headless Chromium (Debian's package), served as readers get it."""

import statistics
import time
from urllib.parse import urlparse

import plantrack
import pytest
from conftest import BROWSER_MARKS, MAIN_PLAN, ROOT

pytestmark = BROWSER_MARKS
SCREENSHOTS = ROOT / "outputs" / "screenshots"


@pytest.fixture(scope="module")
def visit(server, browser):
    """One reader's visit: the page, every request it made, and how long it took to be usable."""
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    started = time.monotonic()
    page.goto(server.url)
    page.wait_for_selector(".pt-achievement svg .mark-rect", timeout=180_000)
    page.wait_for_selector(".pt-status select")
    ready = time.monotonic() - started
    yield page, requests, ready
    page.close()


def count(page, status):
    return int(page.locator(f".pt-count[data-status='{status}']").inner_text())


def wait_text(page, selector, text, timeout=30_000):
    page.wait_for_function(
        "([s, t]) => { const e = document.querySelector(s); return e && e.innerText.includes(t); }",
        arg=[selector, text],
        timeout=timeout,
    )


def test_counts_match_assess(visit):
    page, _, ready = visit
    assessed = plantrack.assess(plantrack.load_plan(MAIN_PLAN))
    expected = assessed["status"].value_counts()
    for status in ("achieved", "not_achieved", "no_data", "not_comparable"):
        assert count(page, status) == expected.get(status, 0)
    print(f"navigation -> interactive: {ready:.2f} s")


def test_no_code_no_traceback_no_error_text(visit):
    page, _, _ = visit
    text = page.inner_text("body")
    for bad in (
        "from plantrack.serve.app import app",
        "Traceback",
        "Error loading script",
        "出错了",
        "Something went wrong",
    ):
        assert bad not in text
    assert page.locator(".jp-InputArea-editor:visible").count() == 0
    assert (
        page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        ).count()
        == 0
    )


def test_screenshot_in_chinese(visit):
    page, _, _ = visit
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert "浙江省“互联网＋”行动计划" in page.inner_text(".pt-title")
    page.screenshot(path=str(SCREENSHOTS / "dashboard-zh.png"), full_page=True)


def only_sector(page, sector):
    """Show one sector: Clear, then tick it (the sector filter is a list of checkboxes since issue 14)."""
    page.locator(".pt-sector-clear").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.pt-targets tr[data-indicator]').length === 0"
    )
    page.locator(f".pt-sector-{sector} input").click()


def chart_shows(page, present, absent, timeout=30_000):
    """The achievement chart's SVG has a mark for `present` and none for `absent` (aria-labels hold full names)."""
    page.wait_for_function(
        "([p, a]) => { const s = document.querySelector('.pt-achievement svg');"
        " return s && s.innerHTML.includes(p) && !s.innerHTML.includes(a); }",
        arg=[present, absent],
        timeout=timeout,
    )


def test_filtering_a_sector_changes_table_and_chart(visit):
    page, _, _ = visit
    before_rows = page.locator(".pt-targets tr[data-indicator]").count()
    plan = plantrack.load_plan(MAIN_PLAN)
    names = plan.indicators.set_index("indicator_id")["name_zh"]
    timings = []
    previous = (
        "high_tech_enterprises"  # innovation: must leave the chart once another sector is chosen
    )
    for sector, expected_rows, first in (
        ("commerce", 3, "online_sales"),
        ("tourism", 5, "scenic_wifi_coverage"),
        ("transport", 2, "expressway_monitoring"),
    ):
        page.locator(".pt-sector-clear").click()
        page.wait_for_function(
            "() => document.querySelectorAll('.pt-targets tr[data-indicator]').length === 0"
        )
        started = time.monotonic()
        page.locator(f".pt-sector-{sector} input").click()
        page.wait_for_function(
            "n => document.querySelectorAll('.pt-targets tr[data-indicator]').length === n",
            arg=expected_rows,
        )
        chart_shows(page, names[first], names[previous])
        timings.append(time.monotonic() - started)
        previous = first
    assert before_rows == 28
    page.locator(".pt-sector-all").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.pt-targets tr[data-indicator]').length === 28"
    )
    chart_shows(page, names["high_tech_enterprises"], "\u0000")
    print(f"filter -> chart updated: median {statistics.median(timings) * 1000:.0f} ms")


def test_opening_an_indicator_shows_its_quoted_sentence(visit):
    page, _, _ = visit
    page.select_option(".pt-indicator select", label="互联网+商务 · 全省网络销售额")
    wait_text(page, ".pt-card-body", "全省网络销售额突破1.2万亿元")
    assert "002_e237100a6a0dac6e.txt" in page.inner_text(".pt-card-body")
    page.wait_for_selector(
        ".pt-card-body ~ * svg .mark-symbol, .pt-card-body ~ * svg .mark-line", timeout=30_000
    )


def test_switching_language_changes_labels(visit):
    page, _, _ = visit
    only_sector(page, "commerce")
    chart_shows(page, "全省网络销售额 (2017)", "高新技术企业")
    # Clear emptied the indicator list (it follows the sector filter since issue 14): choose again
    page.select_option(".pt-indicator select", label="互联网+商务 · 全省网络销售额")
    wait_text(page, ".pt-card-body", "全省网络销售额突破1.2万亿元")
    page.get_by_role("button", name="English").click()
    chart_shows(
        page, "Online sales in the province (2017)", "全省网络销售额"
    )  # the filter holds across languages
    wait_text(page, ".pt-title", "Zhejiang")
    wait_text(page, ".pt-counts", "Achieved")
    wait_text(page, ".pt-card-body", "Online sales in the province")
    wait_text(page, ".pt-achievement", "Achievement")
    assert "已完成" not in page.inner_text(".pt-counts")
    assert "Status" in page.inner_text(".pt-status")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-en.png"), full_page=True)
    assert page.locator(".pt-targets tr[data-indicator]").count() == 3
    page.get_by_role("button", name="中文").click()
    wait_text(page, ".pt-counts", "已完成")


def test_no_request_leaves_localhost(visit):
    _, requests, _ = visit
    hosts = {
        urlparse(u).hostname
        for u in requests
        if urlparse(u).scheme in ("http", "https", "ws", "wss")
    }
    assert hosts == {"127.0.0.1"}, hosts


def test_charts_share_one_served_bundle(visit):
    """The charts' JavaScript comes from the server once per page, not inline per chart."""
    _, requests, _ = visit
    bundles = [u for u in requests if "/voila/templates/plantrack/static/jupyterchart-" in u]
    assert len(bundles) == 1, bundles
