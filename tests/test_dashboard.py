"""The dashboard's logic without a browser: what the widgets show for a reader's choices."""
import pytest

import plantrack
from plantrack.serve import app as dashboard
from conftest import MAIN_PLAN


@pytest.fixture(scope="module")
def board():
    return dashboard.Dashboard(MAIN_PLAN, "zh")


def test_cards_match_assess(board):
    assessed = plantrack.assess(plantrack.load_plan(MAIN_PLAN))
    counts = assessed["status"].value_counts()
    for status in ("achieved", "not_achieved", "no_data"):
        assert f"data-status='{status}'>{counts.get(status, 0)}</b>" in board.cards.value


def test_filters_narrow_table_and_cards(board):
    board.sector_select.value = ("commerce",)
    assert board.achievement_chart.params.sectors == ["commerce"]      # the chart filters in place
    assert board.cards.value.count("</b>") == 4 and "data-status='achieved'>3</b>" in board.cards.value
    assert board.table.value.count("<tr data-indicator=") == 3
    board.status_select.value = "not_achieved"
    assert board.table.value.count("<tr data-indicator=") == 0
    board.sector_select.value = ()
    assert board.table.value.count("<tr data-indicator=") == 1 and "scenic_wifi_coverage" in board.table.value
    board.status_select.value = ""
    board.year_select.value = 2020
    assert board.table.value.count("<tr data-indicator=") == 1
    board.year_select.value = 0


def test_language_switch_relabels_everything(board):
    board.lang_select.value = "en"
    assert "Zhejiang" in board.title.value and "Action Plan" in board.title.value
    assert "Achieved" in board.cards.value and "已完成" not in board.cards.value
    assert board.status_select.description == "Status"
    assert ("Internet+ commerce", "commerce") in board.sector_select.options
    board.lang_select.value = "zh"
    assert "已完成" in board.cards.value


def test_language_switch_keeps_the_filters_and_the_spec(board):
    board.sector_select.value = ("commerce",)
    spec = board.achievement_chart.spec
    board.lang_select.value = "en"
    assert board.achievement_chart._params == {"lang": "en", "sectors": ["commerce"], "status": "", "year": 0}
    assert board.counts_chart._params["lang"] == "en"
    assert board.achievement_chart.spec is spec          # the Vega view switches language in place
    board.lang_select.value = "zh"
    board.sector_select.value = ()


def test_indicator_card_quotes_its_sources(board):
    board.indicator_select.value = "online_sales"
    card = board.card.value
    assert "全省网络销售额突破1.2万亿元" in card                      # the plan's sentence
    assert "网络零售 16718.8 亿元" in card                             # the 2018 actual's sentence
    assert "001_333a4e6de7e84206.txt" in card and "002_e237100a6a0dac6e.txt" in card
    assert "完成率不一致" in card                                       # its findings
    assert board.card_chart.layout.display is None


def test_csv_download_is_the_filtered_table(board):
    import base64, io
    import pandas as pd
    board.sector_select.value = ("tourism",)
    href = board.downloads.value.split("base64,", 1)[1].split("'", 1)[0]
    table = pd.read_csv(io.BytesIO(base64.b64decode(href)), encoding="utf-8-sig")
    assert set(table["sector"]) == {"tourism"} and len(table) == 5
    board.sector_select.value = ()


def test_chart_downloads(board):
    board._on_chart_download(None)
    assert "data:image/png;base64," in board.chart_links.value and "data:image/svg+xml;base64," in board.chart_links.value


def test_bad_plan_shows_a_sentence_not_a_traceback():
    widget = dashboard.app(plan_id="no-such-plan")
    assert "unknown plan &#x27;no-such-plan&#x27;" in widget.value and "Traceback" not in widget.value
