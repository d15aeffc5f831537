"""The dashboard's logic without a browser: what the widgets show for a reader's choices."""

import base64
import io
import re

import pandas as pd
import plantrack
import pytest
from conftest import MAIN_PLAN
from plantrack.messages import t
from plantrack.present.html import mark_zh, statement
from plantrack.serve import app as dashboard


@pytest.fixture(scope="module")
def board():
    return dashboard.Dashboard(MAIN_PLAN, "zh")


def tick(board, *sectors):
    """What a reader's taps do: Clear, then tick each sector."""
    board._on_sector_clear(None)
    for s in sectors:
        board.sector_boxes[s].value = True


def rows_in(html):
    return re.findall(r'<tr data-indicator="([^"]+)"', html)


def test_cards_match_assess(board):
    assessed = plantrack.assess(plantrack.load_plan(MAIN_PLAN))
    counts = assessed["status"].value_counts()
    for status in ("achieved", "not_achieved", "no_data"):
        assert f'data-status="{status}">{counts.get(status, 0)}</b>' in board.cards.value


def test_filters_narrow_table_and_cards(board):
    tick(board, "commerce")
    assert board.achievement_chart._params["sectors"] == ["commerce"]  # the chart filters in place
    assert (
        board.cards.value.count("</b>") == 4 and 'data-status="achieved">3</b>' in board.cards.value
    )
    assert len(rows_in(board.table.value)) == 3
    board.status_select.value = "not_achieved"
    assert len(rows_in(board.table.value)) == 0
    board._on_sector_all(None)
    assert board.sectors_filter() == ()
    assert rows_in(board.table.value) == ["scenic_wifi_coverage"]
    board.status_select.value = ""
    board.year_select.value = 2020
    assert len(rows_in(board.table.value)) == 1
    board.year_select.value = 0


def test_clear_shows_nothing_and_says_why(board):
    board._on_sector_clear(None)
    assert rows_in(board.table.value) == []
    assert "未选择领域" in board.cards.value
    assert board.achievement_chart._params["sectors"] == [dashboard.NO_SECTOR]
    board._on_sector_all(None)  # every target row of the plan again
    assert len(rows_in(board.table.value)) == len(plantrack.assess(MAIN_PLAN, flags=False))


def test_indicator_list_follows_the_sector_filter(board):
    tick(board, "tourism")
    ids = {v for _, v in board.indicator_select.options if v}
    plan = plantrack.load_plan(MAIN_PLAN)
    assert ids == set(plan.indicators.loc[plan.indicators["sector"] == "tourism", "indicator_id"])
    board._on_sector_all(None)
    assert len([v for _, v in board.indicator_select.options if v]) == len(plan.indicators)


def test_language_switch_relabels_everything(board):
    board.lang_select.value = "en"
    assert "Zhejiang" in board.title.value and "Action Plan" in board.title.value
    assert "Achieved" in board.cards.value and "已完成" not in board.cards.value
    assert board.status_select.description == "Status"
    assert board.sector_boxes["commerce"].description == "Internet+ commerce"
    assert "trillion yuan" in board.table.value  # units translated
    board.lang_select.value = "zh"
    assert "已完成" in board.cards.value


def test_language_switch_keeps_the_filters_and_the_spec(board):
    tick(board, "commerce")
    spec = board.achievement_chart.spec
    board.lang_select.value = "en"
    assert board.achievement_chart._params == {
        "lang": "en",
        "sectors": ["commerce"],
        "status": "",
        "year": 0,
    }
    assert board.counts_chart._params["lang"] == "en"
    assert board.achievement_chart.spec is spec  # the Vega view switches language in place
    board.lang_select.value = "zh"
    board._on_sector_all(None)


def test_indicator_card_quotes_its_sources(board):
    board.indicator_select.value = "online_sales"
    card = board.card.value
    assert "全省网络销售额突破1.2万亿元" in card  # the plan's sentence
    assert "网络零售 16718.8 亿元" in card  # the 2018 actual's sentence
    assert "001_333a4e6de7e84206.txt" in card and "002_e237100a6a0dac6e.txt" in card
    assert "完成率不一致" in card  # its findings
    assert board.card_chart.layout.display is None
    assert "图表文字说明" in board.card_alt.value  # the chart in words


def test_a_row_whose_numbers_carry_a_finding_warns_on_the_row(board):
    """The evaluation's online-sales figure (1083.3%) is flagged where the number is."""
    board._on_sector_all(None)
    table = board.table.value
    row = table[table.index('<tr data-indicator="online_sales"') :]
    row = row[: row.index("</tr>")]
    # the table's off-by-ten cells are corrected (corrections.csv): 108.3%, still flagged
    assert "108.3%" in row and 'class="pt-flag' in row and "完成率不一致" in row
    assert "conf-low" in row  # an error-level finding: low confidence
    flagged = set(board.found["indicator_id"])
    quiet = next(i for i in rows_in(table) if i not in flagged)  # an indicator no finding is about
    clean = table[table.index(f'<tr data-indicator="{quiet}"') :]
    assert "pt-flag" not in clean[: clean.index("</tr>")]
    # and the chart's tooltip carries the warning and the confidence
    data = board.achievement_chart.spec["datasets"]
    values = next(v for v in data.values() if v and "warning_en" in v[0])
    online = next(v for v in values if v["indicator_id"] == "online_sales")
    assert "Completion rate disagrees" in online["warning_en"] and online["confidence_en"] == "Low"
    assert online["actual_en"] == "1.3 trillion yuan"  # corrected, with its unit


def test_confidence_is_assess_and_its_reasons_are_in_the_readers_language():
    plan = plantrack.load_plan(MAIN_PLAN)
    assessed = plantrack.assess(plan)
    marks = dict(
        zip(
            assessed["indicator_id"] + "/" + assessed["target_year"].astype(str),
            assessed["confidence"],
        )
    )
    assert marks["online_sales/2017"] == "low"
    assert set(marks.values()) <= {"high", "medium", "low"}
    online = assessed[assessed["indicator_id"] == "online_sales"].iloc[0]
    assert "采用了更正值" in online["confidence_reasons_zh"]
    assert "correction applied" in online["confidence_reasons_en"]
    assert not re.search(
        r"[A-Za-z]{4,}", online["confidence_reasons_zh"].replace("online_retail", "")
    )


def test_deep_link_opens_the_view_and_the_view_writes_its_address():
    board = dashboard.Dashboard(MAIN_PLAN, "zh").open(
        "lang=en&sector=commerce,tourism&indicator=online_sales"
    )
    assert board.lang == "en" and board.lang_select.value == "en"
    assert board.sectors_filter() == ("commerce", "tourism")
    assert board.indicator_select.value == "online_sales"
    assert "Online sales in the province" in board.card.value
    assert (
        'data-query="lang=en&amp;plan=zhejiang-internet-plus-2016&amp;sector=commerce%2Ctourism&amp;indicator=online_sales"'
        in board.view.value
    )
    assert 'data-lang="en"' in board.view.value
    board.lang_select.value = "zh"
    assert 'data-query="lang=zh&amp;' in board.view.value


def test_a_deep_link_naming_nothing_is_ignored():
    board = dashboard.Dashboard(MAIN_PLAN, "zh").open(
        "lang=fr&plan=../etc&sector=nope&indicator=<x>&year=abc"
    )
    assert (
        board.lang == "zh" and board.sectors_filter() == () and board.indicator_select.value == ""
    )


def test_english_view_has_no_chinese_outside_lang_zh():
    board = dashboard.Dashboard(MAIN_PLAN, "en")
    board.indicator_select.value = "online_sales"
    for part in (
        board.title,
        board.cards,
        board.key,
        board.table,
        board.monitoring,
        board.gaps,
        board.card,
        board.findings_box,
        board.charts_alt,
        board.card_alt,
    ):
        bare = re.sub(r'<(span|blockquote)[^>]*lang="zh"[^>]*>.*?</\1>', "", part.value, flags=re.S)
        assert not re.search(r"[\u4e00-\u9fff]", re.sub("<[^>]+>", "", bare)), part.value[:200]


def test_mark_zh_and_english_statements():
    assert (
        str(mark_zh("the plan says 网络销售额 (online)"))
        == 'the plan says <span lang="zh">网络销售额</span> (online)'
    )
    assert str(mark_zh("<b>网</b>")) == '&lt;b&gt;<span lang="zh">网</span>&lt;/b&gt;'
    assert statement(">=", 3000, None, "家", "en") == "≥ 3,000 organisations"
    assert statement("~", 95, None, "%", "en") == "about 95%"
    assert statement("range", 2, 3, "家", "en") == "between 2–3 organisations"


def test_csv_download_is_the_filtered_table_in_the_readers_language(board):
    tick(board, "tourism")
    for lang, sector, status in (
        ("zh", "领域", "目标年状态"),
        ("en", "sector", "status in the target year"),
    ):
        board.lang_select.value = lang
        href = board.downloads.value.split("base64,", 1)[1].split("'", 1)[0]
        table = pd.read_csv(io.BytesIO(base64.b64decode(href)), encoding="utf-8-sig")
        plan = plantrack.load_plan(MAIN_PLAN)
        assert set(table[sector]) == {plan.sector_name("tourism", lang)} and len(table) == 5
        assert set(table[status]) <= {
            t(s, lang) for s in ("achieved", "not_achieved", "no_data", "not_comparable")
        }
    board.lang_select.value = "zh"
    board._on_sector_all(None)


def test_a_filter_picks_prebuilt_rows_equal_to_the_filtered_table():
    """Rows, links and the CSV download are built once per plan and language and then picked by
    a filter: what a reader gets is still exactly the filtered table (every plan, both languages)."""
    for plan_id in plantrack.list_plans():
        board = dashboard.Dashboard(plan_id, "zh")
        sector = next(s for s in board.plan.sector_ids() if (board.assessed["sector"] == s).any())
        tick(board, sector)
        for lang in ("en", "zh"):
            board.lang_select.value = lang
            rows = board.rows()
            href = board.downloads.value.split("base64,", 1)[1].split("'", 1)[0]
            expected = dashboard.table_csv(rows, lang, board.notes, board.plan)
            assert base64.b64decode(href) == expected, (plan_id, lang)
            assert rows_in(board.table.value) == list(rows["indicator_id"]), (plan_id, lang)
            assert f"sector={sector}" in board.table.value and f"lang={lang}" in board.table.value
            shown = re.findall(r'<tr data-monitoring="([^"]+)"', board.monitoring.value)
            in_sector = board.plan.indicators.set_index("indicator_id")["sector"]
            assert all(in_sector[i] == sector for i in shown), (plan_id, lang)


def test_chart_downloads_carry_title_filters_source_and_date(board):
    tick(board, "commerce")
    board._on_chart_download(None)
    links = board.chart_links.value
    assert "data:image/png;base64," in links and "data:image/svg+xml;base64," in links
    svg = base64.b64decode(
        links.split("data:image/svg+xml;base64,", 1)[1].split("'", 1)[0]
    ).decode()
    for words in ("浙江省", "筛选", "互联网+商务", "来源", "数据截至", "导出于"):
        assert words in svg, words
    board._on_sector_all(None)


def test_bad_plan_shows_a_sentence_not_a_traceback():
    widget = dashboard.app(plan_id="no-such-plan", query="")
    assert (
        "unknown plan &#x27;no-such-plan&#x27;" in widget.value and "Traceback" not in widget.value
    )


def test_the_chart_view_is_jupyterchart_as_the_browser_sees_it():
    """serve/chart_view.py is the one place that depends on JupyterChart's internals: its view
    syncs exactly JupyterChart's traits, with the same defaults, and JupyterChart's offline
    bundle exists. An Altair release that changes them fails here, not in a reader's browser."""
    import altair as alt
    import ipywidgets
    from plantrack.serve import chart_view

    jupyter_chart = alt.JupyterChart(alt.Chart(pd.DataFrame({"x": [1]})).mark_point())
    view = chart_view.ChartView()
    anywidget_keys = {"_esm", "_css", "_anywidget_id"}
    assert set(view.keys) == set(jupyter_chart.keys)
    widget_keys = set(ipywidgets.DOMWidget().keys) | anywidget_keys
    assert set(chart_view.SYNCED) == set(jupyter_chart.keys) - widget_keys
    for name in chart_view.SYNCED:
        theirs, ours = (
            alt.JupyterChart.class_traits()[name],
            chart_view.ChartView.class_traits()[name],
        )
        assert type(ours) is type(theirs) and ours.default() == theirs.default(), name
        assert ours.allow_none == theirs.allow_none, name
    assert view._css == alt.JupyterChart._css
    assert hasattr(alt.JupyterChart, "enable_offline") and hasattr(alt.JupyterChart, "_esm")
    chart_view.watch_point_selection(view, "pick")
    seen = []
    chart_view.on_point_selection(view, "pick", seen.append)
    view._vl_selections = {"pick": {"value": None, "store": [{"values": ["online_sales"]}]}}
    assert seen == [[{"values": ["online_sales"]}]]
    view._vl_selections = {"pick": "forged"}  # nothing to open, nothing raised
    assert seen[-1] == []


READER_KERNEL = """
import json, sys
import ipykernel.ipkernel  # what a kernel holds before the notebook runs
from plantrack.serve.app import Dashboard
board = Dashboard(%r, "zh")
board.indicator_select.value = "online_sales"
board.lang_select.value = "en"
heavy = ("altair", "vl_convert", "pyarrow", "dask", "voila", "jsonschema", "frictionless", "pint")
print(json.dumps({
    "loaded": [m for m in heavy if sys.modules.get(m) is not None],
    "card": board.card_chart.spec,
    "achievement": board.achievement_chart.spec,
}))
"""


def test_a_readers_kernel_imports_only_what_the_summary_needs(tmp_path, monkeypatch):
    """Under Voilà the dashboard, a card and a language switch run with no Altair, vl-convert,
    Arrow, Dask, Voilà, Frictionless or pint in the reader's kernel (issue 11: a lighter kernel):
    the plan is validated, judged and its specs built in forked copies of the kernel, once per
    plan version, and the specs are the ones built here."""
    import json
    import os
    import subprocess
    import sys

    from plantrack.serve.server import install_chart_bundle

    install_chart_bundle()  # served by the dashboard's server: the kernel does not inline it
    env = {**os.environ, "VOILA_BASE_URL": "/", "PLANTRACK_CACHE": str(tmp_path)}
    for visit in ("first", "cached"):
        run = subprocess.run(
            [sys.executable, "-c", READER_KERNEL % MAIN_PLAN],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        kernel = json.loads(run.stdout.strip().splitlines()[-1])
        assert kernel["loaded"] == [], visit
    # the expected specs built here afresh (the session's shared cache holds ones a Voilà kernel
    # of another test built)
    monkeypatch.setenv("PLANTRACK_CACHE", str(tmp_path / "here"))
    dashboard.overview_specs.cache_clear()  # this process may hold one from the shared cache
    plan = plantrack.load_plan(MAIN_PLAN)
    assert kernel["card"] == dashboard.indicator_spec(plan, "online_sales", "en")
    assert kernel["achievement"] == dashboard.overview_specs(MAIN_PLAN, plan.content_hash)[
        "achievement"
    ] | {"params": kernel["achievement"]["params"]}
    # the judged tables, the overview, and the card in both languages (the switch to English
    # found it built)
    assert len(list(tmp_path.glob("*/*/dashboard-*/*.json"))) == 4


def test_the_judged_tables_are_cached_exactly():
    """serve/plan_cache.py keeps assess, findings and the rows' words of every plan as JSON that
    gives them back exactly (values and dtypes); what it cannot is not cached."""
    from plantrack.serve import plan_cache

    for plan_id in plantrack.list_plans():
        plan, assessed, found, notes = dashboard.plan_tables(plan_id)
        text = plan_cache.frames_to_json((assessed, found, notes))
        assert text is not None, plan_id
        for before, after in zip((assessed, found, notes), plan_cache.frames_from_json(text)):
            pd.testing.assert_frame_equal(after, before, check_exact=True)
    odd = pd.DataFrame({"when": pd.to_datetime(["2020-01-01"]), "pair": [(1, 2)]})
    assert plan_cache.frames_to_json((odd,)) is None
    built = []
    for _ in range(2):  # computed each time, and the note says so: no forked copy is tried
        got = plan_cache.frames("odd", "0" * 16, "odd", lambda: built.append(1) or (odd,))
        assert got[0] is odd
    assert len(built) == 2
    assert plan_cache.entry_path("odd", "0" * 16, "odd").read_text() == plan_cache.UNCACHED
