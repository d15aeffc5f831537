"""What-ifs: Plan.with_actuals checks rows as `plantrack ingest` does, a DataFrame reads as a CSV
file does, and `plantrack.ingest(..., dry_run=True)` gives the what-if plan, its status changes and
its new findings (judged in judge/, which data/ never imports)."""

import ast
import hashlib
from pathlib import Path

import pandas as pd
import plantrack
import pytest
from conftest import ROOT

# A row the bundled plan accepts: the 2017 WiFi coverage of scenic areas at 100% (the evaluation
# says 98%: not_achieved); it replaces the evaluation's row, so it needs replace=True.
WIFI = dict(
    indicator_id="scenic_wifi_coverage",
    year=2017,
    value=100.0,
    unit="%",
    source="evaluation-2018",
    quote="全省5A、4A级景区免费WiFi覆盖率达到100%",
)
# A row for a target with no actual yet: online tourism transactions, 2017 (target: over 1000亿元).
TOURISM = dict(
    indicator_id="online_tourism_sales",
    year=2017,
    value=1200.0,
    unit="亿元",
    source="evaluation-2018",
    quote="旅游在线交易额1200亿元",
)


def snapshot(directory: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


# ---- 1. with_actuals checks exactly as ingest does ----------------------------------------------


@pytest.mark.parametrize(
    "change, column, words",
    [
        (dict(indicator_id="no_such_indicator"), "indicator", "unknown indicator"),
        (dict(unit="公里"), "unit", "(the indicator online_tourism_sales is in 亿元)"),
        (dict(year=1800), "year", "not a plausible year"),
        (dict(value="lots"), "value", "not a number"),
        (dict(quote="旅游在线交易额大幅增长"), "value", "does not occur in the quote"),
        (dict(source="new-bulletin"), "source", "give its source_title and source_file"),
        (dict(reported_rate="high"), "reported_rate", "completion rate"),
        (dict(year_basis="guessed"), "year_basis", "is not one of"),
        (dict(measure="online_retail"), "measure", "unknown column"),
    ],
)
def test_with_actuals_refuses_a_bad_row_with_row_and_column_as_ingest_does(
    plan_copy, change, column, words
):
    plan = plantrack.load_plan(plan_copy)
    rows = pd.DataFrame([WIFI, dict(TOURISM, **change)])
    with pytest.raises(plantrack.DataError) as caught:
        plan.with_actuals(rows, replace=True)
    error = caught.value
    assert words in str(error) and error.column == column, str(error)
    assert error.row == (1 if column == "measure" else 3)  # the header is row 1
    with pytest.raises(plantrack.DataError) as by_ingest:
        plantrack.ingest(str(plan_copy), rows, replace=True, dry_run=True)
    assert str(by_ingest.value) == str(error)  # one implementation of the rules


def test_an_unknown_indicator_is_an_error_not_a_silent_drop_then_a_crash(plan_copy):
    plan = plantrack.load_plan(plan_copy)
    with pytest.raises(plantrack.DataError, match="unknown indicator 'online_sale'"):
        plan.with_actuals(pd.DataFrame([dict(TOURISM, indicator_id="online_sale")]))


def test_a_row_already_in_the_plan_needs_replace(plan_copy):
    plan = plantrack.load_plan(plan_copy)
    with pytest.raises(plantrack.DataError, match="replace=True") as caught:
        plan.with_actuals(pd.DataFrame([WIFI]))
    assert (caught.value.row, caught.value.column) == (2, "indicator")
    what_if = plan.with_actuals(pd.DataFrame([WIFI]), replace=True)
    wifi = what_if.actuals[
        (what_if.actuals["indicator_id"] == "scenic_wifi_coverage")
        & (what_if.actuals["year"] == 2017)
        & (what_if.actuals["source"] == "evaluation-2018")
    ]
    assert wifi["value"].tolist() == [100.0] and len(what_if.actuals) == len(plan.actuals)


def test_the_what_if_plan_is_the_plan_ingest_writes(tmp_path, plan_copy):
    rows = pd.DataFrame(
        [
            WIFI,
            dict(TOURISM, reported_rate="120%", locator="公报"),
            dict(
                indicator_id="Online sales in the province",  # its name_en
                year=2019,
                value=2.0,
                unit="万亿元",
                source="bulletin-2019",
                source_title="2019年统计公报",
                source_file="bulletin-2019.txt",
                quote="2019年全省网络零售额2万亿元",
            ),
        ]
    )
    what_if = plantrack.load_plan(plan_copy).with_actuals(rows, replace=True)
    assert "bulletin-2019" in set(what_if.sources["source_id"])
    plantrack.ingest(str(plan_copy), rows, replace=True)
    written = plantrack.load_plan(plan_copy)
    columns = list(written.actuals.columns)
    key = ["indicator_id", "year", "source"]

    def canonical(actuals):
        frame = actuals[columns].astype(str).sort_values(key).reset_index(drop=True)
        return frame.replace({"<NA>": "", "nan": ""})

    pd.testing.assert_frame_equal(canonical(what_if.actuals), canonical(written.actuals))
    assert dict(what_if.actuals.dtypes) == dict(written.actuals.dtypes)
    pd.testing.assert_frame_equal(
        plantrack.assess(what_if, flags=False).drop(columns="plan_id"),
        plantrack.assess(written, flags=False).drop(columns="plan_id"),
    )


# ---- 2. a DataFrame reads as a CSV file does; numbers compared as numbers -----------------------


def test_dataframe_floats_and_the_same_csv_rows_match_the_quote_alike(tmp_path, plan_copy):
    plan = plantrack.load_plan(plan_copy)
    rows = pd.DataFrame(
        [
            dict(TOURISM, value=1.0, unit="万亿元", quote="旅游在线交易额1万亿元"),
            dict(WIFI, year=2018, value=100.0),
            dict(TOURISM, year=2018, value=16718.8, quote="旅游在线交易额16718.8亿元"),
        ]
    )
    sheet = tmp_path / "rows.csv"
    rows.to_csv(sheet, index=False)  # pandas writes the floats as 1.0, 100.0, 16718.8
    assert "1.0,万亿元" in sheet.read_text(encoding="utf-8")
    from_frame = plantrack.ingest(str(plan_copy), rows, dry_run=True).added
    from_csv = plantrack.ingest(str(plan_copy), sheet, dry_run=True).added
    assert from_frame["stated"].tolist() == from_csv["stated"].tolist() == ["1", "100", "16718.8"]
    assert [float(v) for v in from_frame["value"]] == [float(v) for v in from_csv["value"]]
    what_if = plan.with_actuals(rows)
    assert what_if.actuals["value"].tail(3).tolist() == [1.0, 100.0, 16718.8]


@pytest.mark.parametrize(
    "value, quote",
    [
        (1.0, "旅游在线交易额10万亿元"),  # '1' inside '10' is not the number 1
        (1.0, "旅游在线交易额1.5万亿元"),
        (16718.8, "旅游在线交易额16718.85亿元"),
    ],
)
def test_a_number_is_found_whole_never_inside_another(tmp_path, plan_copy, value, quote):
    row = dict(TOURISM, value=value, unit="万亿元" if value == 1.0 else "亿元", quote=quote)
    sheet = tmp_path / "rows.csv"
    typed = dict(row, value=f"{value:g}")  # as typed in a sheet: 1, 16718.8
    pd.DataFrame([typed]).to_csv(sheet, index=False)
    for data in (pd.DataFrame([row]), pd.DataFrame([typed]), sheet):
        with pytest.raises(plantrack.DataError, match="does not occur in the quote") as caught:
            plantrack.ingest(str(plan_copy), data, dry_run=True)
        assert (caught.value.row, caught.value.column) == (2, "value")


def test_full_width_and_negative_numbers_are_found_as_the_quote_writes_them(plan_copy):
    rows = pd.DataFrame(
        [
            dict(TOURISM, value=1200, quote="旅游在线交易额１２００亿元"),
            dict(TOURISM, year=2016, value=-5.0, quote="2015-2016年旅游在线交易额增长-5亿元"),
        ]
    )
    added = plantrack.ingest(str(plan_copy), rows, dry_run=True).added
    assert added["stated"].tolist() == ["１２００", "-5"]


# ---- 3. naming an indicator in English, or not at all, is no change of wording ----------------


@pytest.mark.parametrize(
    "row",
    [
        dict(TOURISM, name_as_stated="Online tourism transactions"),  # its name_en
        dict(TOURISM, indicator_id="Online tourism transactions"),  # found by name_en, no name
        dict(  # the catalogue's name_zh differs from the plan's wording: the row takes the plan's
            indicator_id="ipv6_broadcast_network",
            year=2018,
            value=100,
            unit="%",
            source="evaluation-2018",
            quote="骨干节点和数据中心100%支持IPv6",
        ),
    ],
)
def test_english_or_no_name_as_stated_raises_no_wording_change(plan_copy, row):
    plan = plantrack.load_plan(plan_copy)
    what_if = plan.with_actuals(pd.DataFrame([row]))
    fresh = plantrack.new_findings(plan, what_if)
    assert "wording_change" not in set(fresh["kind"]), fresh["message_en"].tolist()


def test_a_real_wording_change_is_still_found(plan_copy):
    plan = plantrack.load_plan(plan_copy)
    what_if = plan.with_actuals(pd.DataFrame([dict(TOURISM, name_as_stated="网上旅游消费额")]))
    fresh = plantrack.new_findings(plan, what_if)
    assert fresh["kind"].tolist() == ["wording_change"]


# ---- 4. the dry run: what-if plan, status changes, new findings -------------------------------


def test_dry_run_gives_the_what_if_plan_its_status_changes_and_new_findings(plan_copy):
    before = snapshot(plan_copy)
    rows = pd.DataFrame([WIFI, TOURISM, dict(TOURISM, year=2018, value=9000.0, quote="9000亿元")])
    result = plantrack.ingest(str(plan_copy), rows, replace=True, dry_run=True)
    assert snapshot(plan_copy) == before and not result.written and result.replaced == 1
    assert list(result.changes.columns) == [
        "indicator_id",
        "target_year",
        "status_before",
        "status_after",
        "trajectory_before",
        "trajectory_after",
        "computed_rate_before",
        "computed_rate_after",
    ]
    changes = result.changes.set_index("indicator_id")
    assert list(changes.index) == ["online_tourism_sales", "scenic_wifi_coverage"]  # plan order
    wifi = changes.loc["scenic_wifi_coverage"]
    assert (wifi.status_before, wifi.status_after) == ("not_achieved", "achieved")
    assert (wifi.computed_rate_before, wifi.computed_rate_after) == (98.0, 100.0)
    tourism = changes.loc["online_tourism_sales"]
    assert (tourism.status_before, tourism.status_after) == ("no_data", "achieved")
    assert pd.isna(tourism.computed_rate_before) and tourism.computed_rate_after == 120.0
    # the same judgement by hand, from the plan and the what-if plan
    plan = plantrack.load_plan(plan_copy)
    assessed = plantrack.assess(result.plan).set_index("indicator_id")
    assert assessed.loc["scenic_wifi_coverage", "status"] == "achieved"
    pd.testing.assert_frame_equal(
        plantrack.status_changes(plan, plan.with_actuals(rows, replace=True)), result.changes
    )
    # 1200 then 9000 the next year: a jump the sources' figures make, raised only by the new rows
    assert "implausible_jump" in set(result.new_findings["kind"])
    assert set(result.new_findings["indicator_id"]) <= {"online_tourism_sales"}
    text = result.summary()
    assert "scenic_wifi_coverage 2017: not_achieved → achieved (98.0% → 100.0%)" in text
    assert "online_tourism_sales 2017: no_data → achieved (no rate → 120.0%)" in text
    assert "implausible_jump" in text and repr(result) == text


def test_no_change_gives_an_empty_table(plan_copy):
    plan = plantrack.load_plan(plan_copy)
    row = dict(TOURISM, year=2014, value=100.0, quote="2014年旅游在线交易额100亿元")
    changes = plantrack.status_changes(plan, plan.with_actuals(pd.DataFrame([row])))
    assert changes.empty and "status_after" in changes.columns


def test_the_data_layer_never_imports_the_judge_layer():
    upward = []
    for path in sorted((ROOT / "lib" / "plantrack" / "data").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            upward += [f"{path.name}: {n}" for n in names if n.startswith("plantrack.judge")]
    assert upward == []


# ---- 5. a reported rate with a percent sign -----------------------------------------------------


@pytest.mark.parametrize("rate", ["120%", "120 %", "120％", "１２０％", " 120% ", "120"])
def test_a_reported_rate_with_a_percent_sign_is_read(tmp_path, plan_copy, rate):
    row = dict(TOURISM, reported_rate=rate)
    what_if = plantrack.load_plan(plan_copy).with_actuals(pd.DataFrame([row]))
    assert what_if.actuals["reported_rate"].iloc[-1] == 120.0
    sheet = tmp_path / "rate.csv"
    pd.DataFrame([row]).to_csv(sheet, index=False)
    assert plantrack.ingest(str(plan_copy), sheet, dry_run=True).added["reported_rate"][0] == "120"


@pytest.mark.parametrize("rate", ["120%%", "%", "%120", "120 percent", "-120%", "1２0 ％ ％"])
def test_a_bad_reported_rate_is_refused_with_row_and_column(plan_copy, rate):
    plan = plantrack.load_plan(plan_copy)
    with pytest.raises(plantrack.DataError, match="completion rate") as caught:
        plan.with_actuals(pd.DataFrame([TOURISM, dict(TOURISM, year=2018, reported_rate=rate)]))
    assert (caught.value.row, caught.value.column) == (3, "reported_rate")


def test_a_workbook_cell_formatted_as_a_percentage_is_read_as_that_percentage(tmp_path, plan_copy):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["indicator", "year", "value", "unit", "source", "quote", "reported_rate"])
    sheet.append(["online_tourism_sales", 2017, 1200, "亿元", "evaluation-2018", "1200亿元", 1.2])
    sheet.append(["online_tourism_sales", 2018, 1300, "亿元", "evaluation-2018", "1300亿元", 0.955])
    sheet.append(["online_tourism_sales", 2016, 900, "亿元", "evaluation-2018", "900亿元", 90])
    sheet["G2"].number_format = "0%"  # what Excel stores when 120% is typed: 1.2
    sheet["G3"].number_format = "0.0%"
    sheet["G4"].number_format = '0"%"'  # a literal sign: the cell holds 90
    path = tmp_path / "rates.xlsx"
    book.save(path)
    added = plantrack.ingest(str(plan_copy), path, dry_run=True).added
    assert added["reported_rate"].tolist() == ["120", "95.5", "90"]


def _workbook(path, rows, formats=None):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for cell, number_format in (formats or {}).items():
        sheet[cell].number_format = number_format
    book.save(path)
    return path


HEADER = ["indicator", "year", "value", "unit", "source", "quote"]


@pytest.mark.parametrize(
    "rows, row, column, words",
    [
        ([], None, None, "no header row"),
        ([HEADER], None, None, "no rows"),
        (
            [
                HEADER,
                [],
                ["online_tourism_sales", 2017, 1200, "亿元", "evaluation-2018", "1200亿元"],
            ],
            2,
            "indicator",
            "unknown indicator ''",
        ),  # a blank row (row 2) keeps the sheet's numbering
        (
            [
                HEADER + ["year"],
                ["online_tourism_sales", 2017, 1200, "亿元", "evaluation-2018", "1200亿元", 2017],
            ],
            1,
            "year",
            "more than once",
        ),
        (
            [HEADER, ["online_tourism_sales", True, 1200, "亿元", "evaluation-2018", "1200亿元"]],
            2,
            "year",
            "not a year",
        ),
        (
            [
                HEADER,
                ["online_tourism_sales", 2017, "#DIV/0!", "亿元", "evaluation-2018", "1200亿元"],
            ],
            2,
            "value",
            "not a number",
        ),
        (
            [HEADER, ["online_tourism_sales", 2017, 12, "亿元", "evaluation-2018", "1200亿元"]],
            2,
            "value",
            "does not occur in the quote",
        ),
    ],
)
def test_odd_workbooks_get_a_located_error(tmp_path, plan_copy, rows, row, column, words):
    path = _workbook(tmp_path / "odd.xlsx", rows)
    with pytest.raises(plantrack.DataError) as caught:
        plantrack.ingest(str(plan_copy), path, dry_run=True)
    assert words in str(caught.value) and caught.value.row == row, str(caught.value)
    assert caught.value.column == column


def test_a_workbook_value_formatted_as_a_percentage_is_not_silently_one(tmp_path, plan_copy):
    # 100% typed into a value cell is stored as 1: never read as the value 1
    rows = [HEADER, ["scenic_wifi_coverage", 2018, 1, "%", "evaluation-2018", "覆盖率100%"]]
    path = _workbook(tmp_path / "value.xlsx", rows, {"C2": "0%"})
    with pytest.raises(plantrack.DataError, match="'100%' is not a number") as caught:
        plantrack.ingest(str(plan_copy), path, dry_run=True)
    assert (caught.value.row, caught.value.column) == (2, "value")
