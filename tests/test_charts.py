"""The charts researchers get from plantrack.charts: alone, combined, saved offline."""

import json
import re

import altair as alt
import plantrack
import pytest
from conftest import MAIN_PLAN
from plantrack import charts
from plantrack.messages import t
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
    tooltips = json.dumps(parts[0].to_dict(), ensure_ascii=False)  # targets, actuals in words
    assert not re.search(r"[\u4e00-\u9fff]", tooltips) and "trillion yuan" in tooltips
    # each chart keeps its own colours: the indicator's legend is not merged with the statuses'
    assert 'stroke="#1565c0"' in svg  # the actual values' line, as when the chart is alone
    assert "Target in the plan" in words and "Not achieved" in words
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


def with_base_year_value(plan, indicator_id="high_tech_enterprises", value=1000.0):
    """A what-if: the indicator has a value in the plan's base year (2015), so its targets have a
    required path (the bundled actuals start in the target year)."""
    import pandas as pd

    unit = plan.indicators.set_index("indicator_id").at[indicator_id, "unit"]
    row = {"indicator_id": indicator_id, "year": 2015, "value": value, "unit": unit}
    quote = f"2015年{value:g}{unit}"  # a what-if: nothing is written
    return plan.with_actuals(pd.DataFrame([{**row, "source": "evaluation-2018", "quote": quote}]))


def unit_layers(spec: dict) -> list[dict]:
    """The single-mark views of a chart spec, however its layers nest."""
    if "layer" in spec:
        return [unit for layer in spec["layer"] for unit in unit_layers(layer)]
    return [spec]


def layer_rows(spec: dict, series: str) -> list[dict]:
    """The rows of a chart's data that one of its series (actual, target, path) draws."""
    (rows,) = spec["datasets"].values()
    return [r for r in rows if r.get("series") == series]


def test_target_marks_say_their_source_in_a_legend(plan):
    chart = charts.indicator_chart(plan, "high_tech_enterprises", "en")
    spec = chart.to_dict()
    targets = layer_rows(spec, "target")
    assert {r["key"] for r in targets} == {
        "Target in the plan",
        "Target as the evaluation restates it",
    }
    assert {r["source"] for r in targets} == {
        "Zhejiang 'Internet+' Action Plan",
        "Mid-term evaluation of the Zhejiang 'Internet+' Action Plan",
    }
    # one legend: each source its own colour and shape, named in the chart's language
    shape = next(
        layer["encoding"]["shape"]
        for layer in unit_layers(spec)
        if layer["mark"]["type"] == "point"
    )
    pairs = dict(zip(shape["scale"]["domain"], shape["scale"]["range"]))
    assert pairs["Target in the plan"] != pairs["Target as the evaluation restates it"]
    words = svg_text(charts.to_svg(chart))
    assert "Target in the plan" in words and "Target as the evaluation restates it" in words
    assert not re.search(r"[\u4e00-\u9fff]", words)
    zh = svg_text(charts.to_svg(charts.indicator_chart(plan, "high_tech_enterprises", "zh")))
    assert "规划目标" in zh and "评估报告所列目标" in zh and "Target" not in zh


def test_required_path_dashed_in_dashboard_and_report_as_on_the_site(plan):
    from plantrack.messages import t
    from plantrack.present import site
    from plantrack.present.report import SectorReport

    what_if = with_base_year_value(plan)
    assessed = plantrack.assess(what_if)
    # the report draws each indicator of its sector with the path its target required
    drawn = []
    report = SectorReport.from_tables(
        what_if, "innovation", "en", assessed, plantrack.findings(what_if)
    )
    original, charts.show_static = charts.show_static, drawn.append
    try:
        report.indicator_charts()
    finally:
        charts.show_static = original
    (chart,) = [c for c in drawn if "High-tech" in str(c.to_dict()["title"]["text"])]
    spec = chart.to_dict()
    path = layer_rows(spec, "path")
    assert [r["year"] for r in path] == [2015, 2016, 2017]
    assert path[0]["value"] == 1000 and path[-1]["value"] == pytest.approx(3000)
    assert path[1]["value"] == pytest.approx(1000 * 3**0.5)  # constant growth, as the site draws
    dashed = [layer for layer in unit_layers(spec) if "strokeDash" in layer["encoding"]]
    assert dashed and dashed[0]["mark"]["type"] == "line"
    # the same points as the site's chart: one rule (judge.projection.required_path)
    series = site.chart_series(site.prepare(what_if), "high_tech_enterprises")
    on_site = [(s["year"], s["value"]) for s in series if s["series"] == "path"]
    assert on_site == [(r["year"], pytest.approx(r["value"], abs=1e-6)) for r in path]
    svg = charts.to_svg(chart)
    assert "Path required to reach the target" in svg_text(svg)
    assert 'stroke-dasharray="6,4"' in svg
    # the dashboard's card: the same path, its legend entry in the reader's language
    board = app.Dashboard("zhejiang-information-economy-2014", "zh")
    board.indicator_select.value = "informatization_index_rank"
    card = board.card_chart.spec
    assert [r["year"] for r in layer_rows(card, "path")] == [2017, 2018, 2019]
    assert t("required_path", "zh") in svg_text(charts.to_svg(card))


def test_a_capped_bar_shows_it_is_capped_and_its_true_rate(assessed):
    rows = assessed[assessed["sector"] == "commerce"].copy()
    rows.loc[rows.index[0], "computed_rate"] = 1083.3  # the uncorrected online sales figure
    name = rows["name_en"].iloc[0] + " (2017)"
    for live in (False, True):
        chart = charts.achievement_chart(rows, "en", live=live)
        spec = charts.top_level_spec(chart)
        (data,) = [rows for rows in spec["datasets"].values() if "rate" in rows[0]]
        assert (data[0]["rate"], data[0]["computed"]) == (charts.RATE_CAP, 1083.3)
        arrow = [layer for layer in spec["layer"] if layer["mark"].get("shape") == "triangle-right"]
        assert len(arrow) == 1
        tooltip = spec["layer"][0]["mark"]["tooltip"]["expr"]
        assert "(bar drawn to 300%)" in tooltip and "datum.computed" in tooltip
        svg = charts.to_svg(spec)
        # one arrow at the end of that bar only, named with the true rate; the true rate beside it
        assert svg.count('aria-label="' + name + ': 1083% (bar drawn to 300%)"') == 1
        assert svg.count("bar drawn to") == 1
        assert "1083%" in svg_text(svg)
    zh = charts.to_svg(charts.achievement_chart(rows, "zh"))
    assert "1083% （柱长截至300%）" in zh
    # the distribution of a large plan: its last band says it holds every rate from 300% up
    many = charts.achievement_chart(
        plantrack.assess(plantrack.list_plans()).sample(
            n=charts.MAX_BARS + 1, replace=True, random_state=0
        ),
        "en",
    )
    assert "'≥300%'" in many.to_dict()["layer"][0]["mark"]["tooltip"]["expr"]


def test_sector_chart_alone_in_a_notebook(plan, assessed, tmp_path):
    from plantrack.errors import DataError

    chart = charts.sector_chart(MAIN_PLAN, "commerce", lang="en")  # a plan id, or a Plan
    spec = chart.to_dict()
    assert spec["title"]["text"] == [
        "Internet+ commerce",
        "Achievement of each target (100% line = target)",
    ]
    (data,) = [rows for rows in spec["datasets"].values() if "rate" in rows[0]]
    commerce = assessed[assessed["sector"] == "commerce"]
    assert [r["indicator_id"] for r in data] == list(commerce["indicator_id"])
    assert [r["computed"] for r in data] == pytest.approx(list(commerce["computed_rate"].round(1)))
    # its tooltips: target and actual in words, confidence and the findings' warnings, in English
    online = next(r for r in data if r["indicator_id"] == "online_sales")
    assert online["target_en"] == "1.2 trillion yuan"  # not the source's Chinese words
    assert "⚠" in online["warning_en"] and online["confidence_en"]
    assert not re.search(r"[\u4e00-\u9fff]", json.dumps(spec, ensure_ascii=False))
    chart.save(tmp_path / "commerce.png")
    chart.save(tmp_path / "commerce.svg")
    assert (tmp_path / "commerce.png").read_bytes().startswith(PNG)
    assert "Online sales in the province (2017)" in svg_text(
        (tmp_path / "commerce.svg").read_text()
    )
    zh = charts.sector_chart(plan, "tourism")
    assert zh.to_dict()["title"]["text"][0] == plan.sector_name("tourism", "zh")
    # beside another sector, or an indicator, in one picture
    combined = zh | charts.sector_chart(plan, "commerce") & charts.indicator_chart(
        plan, "online_sales"
    )
    assert charts.to_png(combined).startswith(PNG)
    with pytest.raises(DataError, match="allowed: innovation"):
        charts.sector_chart(plan, "no_such_sector")


def test_two_sources_of_one_role_are_told_apart():
    import pandas as pd

    sources = pd.DataFrame(
        {
            "source_id": ["plan-a", "eval-a", "eval-b"],
            "role": ["plan", "evaluation", "evaluation"],
            "title_en": ["The plan", "First evaluation", "Second evaluation"],
            "title_zh": ["规划", "第一次评估", "第二次评估"],
        }
    )
    targets = pd.DataFrame({"source": ["eval-b", "plan-a", "eval-a"]})
    keys = charts._target_keys(targets, sources, "en")
    assert list(keys) == ["plan-a", "eval-b", "eval-a"]  # the plan's own first
    assert keys["plan-a"] == ("Target in the plan", "#c62828", "diamond")
    assert keys["eval-b"][0] == "Target as the evaluation restates it: Second evaluation"
    assert keys["eval-a"][0] == "Target as the evaluation restates it: First evaluation"
    assert keys["eval-a"][2] != keys["eval-b"][2]  # another shape for the second one


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_corrected_actual_is_drawn_at_the_value_used_and_its_tooltip_says_so(plan, lang):
    """online_sales 2017 is stated as 13万亿元 (off by ten; corrections.csv uses 1.3): the
    dashboard's and the report's indicator chart draw what assess judges, and say why."""
    data = charts.indicator_chart(plan, "online_sales", lang).to_dict()["datasets"]
    # (online retail: the evaluation's measure, not the plan's online sales)
    points = [p for rows in data.values() for p in rows if p.get("series") in ("actual", "other")]
    in_2017 = [p for p in points if p["year"] == 2017]
    assert [p["value"] for p in in_2017] == [1.3]
    assert t("corrected_note", lang) in in_2017[0]["stated"]
    assert all(t("corrected_note", lang) not in p["stated"] for p in points if p["year"] != 2017)


def test_a_figure_of_another_definition_is_drawn_apart_and_named(plan):
    """high_tech_enterprises: 3000 incubated (2017, the indicator's own measure) and 11959
    cumulative certified (2018, another definition): not one line, the second named as such."""
    chart = charts.indicator_chart(plan, "high_tech_enterprises", "en").to_dict()
    points = [
        p for rows in chart["datasets"].values() for p in rows if p["series"] in ("actual", "other")
    ]
    by_year = {p["year"]: (p["series"], p["key"]) for p in points}
    assert by_year[2017] == ("actual", t("actual", "en"))
    assert by_year[2018] == ("other", t("other_measure", "en"))
    spec = json.dumps(chart, allow_nan=False)  # valid JSON: no NaN in any row
    assert t("other_measure", "en") in spec  # in the legend's domain
