"""The charts researchers get from plantrack.charts: alone, combined, saved offline."""

import re

import altair as alt
import plantrack
import pytest
from conftest import MAIN_PLAN
from plantrack import charts
from plantrack.serve import app

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def plan():
    return plantrack.load_plan(MAIN_PLAN)


@pytest.fixture(scope="module")
def assessed(plan):
    return plantrack.assess(plan)


def svg_text(svg: str) -> str:
    """The words an SVG shows (its <text> elements), entities unescaped."""
    import html

    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", x)) for x in texts)


def test_indicator_charts_combine_and_save_offline(plan, tmp_path):
    first = charts.indicator_chart(plan, "online_sales")
    second = charts.indicator_chart(plan, "scenic_wifi_coverage")
    for combined in (alt.vconcat(first, second), alt.hconcat(first, second), first | second):
        combined.to_dict()  # valid Vega-Lite: no top-level-only property inside
    combined = alt.vconcat(first, second)
    combined.save(tmp_path / "x.png")
    combined.save(tmp_path / "x.svg")
    assert (tmp_path / "x.png").read_bytes().startswith(PNG)
    words = svg_text((tmp_path / "x.svg").read_text(encoding="utf-8"))
    assert "全省网络销售额" in words and "5A、4A级景区" in words
    # each part keeps its look: fonts and the unframed view travel inside the chart
    spec = combined.to_dict()
    assert "autosize" not in spec["vconcat"][0] and "config" not in spec["vconcat"][0]
    assert all(part["view"] == {"stroke": None} for part in spec["vconcat"])
    assert spec["vconcat"][0]["title"]["font"] == charts.FONT


def test_every_chart_combines_with_the_others(plan, assessed, tmp_path):
    commerce = assessed[assessed["sector"] == "commerce"]
    tourism = assessed[assessed["sector"] == "tourism"]
    parts = [
        charts.achievement_chart(commerce, "en"),
        charts.achievement_chart(tourism, "en"),
        charts.status_counts_chart(assessed, plan.sectors, "en"),
        charts.indicator_chart(plan, "online_sales", "en"),
    ]
    combined = (parts[0] | parts[1]) & (parts[2] | parts[3])
    assert "params" not in combined.to_dict()  # no params to clash: one language, no filters
    svg = charts.to_svg(combined)
    assert charts.to_png(combined).startswith(PNG)
    words = svg_text(svg)
    assert "Achievement of each target" in words and "Online tourism transactions" in words
    assert not re.search(r"[\u4e00-\u9fff]", words)  # no Chinese in an English chart
    # two charts of different languages combine too (each says its own words)
    mixed = alt.vconcat(charts.achievement_chart(commerce, "zh"), parts[1])
    assert "全省网络销售额" in svg_text(charts.to_svg(mixed))


def test_alone_a_chart_is_laid_out_as_before(plan, assessed):
    # the dashboard's live charts fit their container; the report's are padded; both relayout
    live = charts.top_level_spec(charts.achievement_chart(assessed, fit=True, live=True))
    assert live["autosize"] == {"type": "fit-x", "contains": "padding", "resize": True}
    assert {p["name"] for p in live["params"]} == {"lang", "sectors", "status", "year", charts.PICK}
    report = charts.top_level_spec(charts.indicator_chart(plan, "online_sales", "zh", 2018))
    assert report["autosize"] == {"type": "pad", "contains": "padding", "resize": True}
    # what the dashboard sends its views: the same layout, the dashboard's params
    specs = app.overview_specs(MAIN_PLAN, plan.content_hash)
    assert specs["achievement"]["autosize"]["type"] == "fit-x"
    assert {p["name"] for p in specs["counts"]["params"]} == {"lang", "sectors", "status", "year"}
