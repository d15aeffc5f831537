"""The bundled plans: they validate, every number is quoted from its source, the table is reproduced."""

import re
import subprocess
import sys
from pathlib import Path

import plantrack
import pytest
from conftest import MAIN_PLAN, PLANS, seeds_or_skip

PLAN_IDS = [
    "zhejiang-internet-plus-2016",
    "zhejiang-information-economy-2014",
    "china-miit-internet-plus-2015",
]


def test_the_three_plans_are_listed():
    assert plantrack.list_plans() == sorted(PLAN_IDS)


@pytest.mark.parametrize("plan_id", PLAN_IDS)
def test_standard_frictionless_validate_passes(plan_id):
    frictionless = [str(Path(sys.executable).with_name("frictionless"))]
    result = subprocess.run(
        frictionless + ["validate", str(PLANS / plan_id / "datapackage.json")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize("plan_id", PLAN_IDS)
def test_plan_loads_with_required_columns(plan_id):
    plan = plantrack.load_plan(plan_id)
    for table, columns in {
        "indicators": ["indicator_id", "sector", "name_zh", "name_en", "unit"],
        "targets": [
            "indicator_id",
            "target_year",
            "comparator",
            "value",
            "unit",
            "source",
            "quote",
        ],
        "actuals": ["indicator_id", "year", "value", "unit", "source", "quote", "reported_rate"],
    }.items():
        assert set(columns) <= set(getattr(plan, table).columns)
    assert plan.title_zh and plan.title_en and plan.issuer
    assert len(plan.targets) >= 2
    assert set(plan.indicators["sector"]) <= set(plan.sectors["sector_id"])


@pytest.mark.parametrize("plan_id", PLAN_IDS)
def test_every_number_is_quoted_verbatim_from_its_seed(plan_id):
    seeds = seeds_or_skip()
    plan = plantrack.load_plan(plan_id)
    files = plan.sources.set_index("source_id")["file"]
    texts = {f: (seeds / f).read_text(encoding="utf-8") for f in files}
    for table in ("targets", "actuals", "tasks", "evidence"):
        frame = getattr(plan, table)
        for row in frame.itertuples():
            assert row.source in files.index, (table, row.Index, row.source)
            assert row.quote in texts[files[row.source]], (table, row.Index, row.quote[:60])
            if table in ("targets", "actuals"):
                assert row.stated in row.quote
    # the measures' definitions and the corrections' evidence are quoted the same way
    for table, source, quote in (
        ("measures", "source", "quote"),
        ("corrections", "evidence_source", "evidence_quote"),
    ):
        frame = plan.tables.get(table)
        for row in [] if frame is None else frame.to_dict("records"):
            assert row[quote] in texts[files[row[source]]], (table, row[quote][:60])


@pytest.mark.parametrize("plan_id", PLAN_IDS)
def test_english_names_have_no_chinese(plan_id):
    """English names land where no lang mark can go (a select's options, chart axes), so a
    Chinese term in one would be read out in the wrong voice."""
    names = plantrack.load_plan(plan_id).indicators["name_en"]
    assert not names.str.contains(r"[\u3400-\u9fff]").any(), names[
        names.str.contains(r"[\u3400-\u9fff]")
    ]


def test_internet_plus_covers_sixteen_sectors():
    plan = plantrack.load_plan(MAIN_PLAN)
    assert len(plan.sectors) == 16
    assert set(plan.tasks["sector"]) == set(plan.sectors["sector_id"])
    assert set(plan.evidence["task_id"]) <= set(plan.tasks["task_id"])
    assert set(plan.indicators["sector"]) == set(
        plan.sectors["sector_id"]
    )  # every sector has figures


def _evaluation_table(seeds):
    text = (seeds / "002_e237100a6a0dac6e.txt").read_text(encoding="utf-8")
    block = text.split("主要目标完成情况", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in block.splitlines():
        cells = line.split("\t")
        if len(cells) == 5 and cells[2] and cells[2] != "规划目标值(2017年)":
            rows.append(dict(name=cells[1], target=cells[2], actual=cells[3], rate=cells[4]))
    return rows


def _number(cell):
    match = re.match(r"^([\d.]+)%?$", cell)
    return float(match.group(1)) if match else None


def test_evaluation_table_rows_are_reproduced():
    seeds = seeds_or_skip()
    plan = plantrack.load_plan(MAIN_PLAN)
    table = _evaluation_table(seeds)
    assert len(table) == 22
    restated = plan.targets[plan.targets["source"] == "evaluation-2018"].set_index("name_as_stated")
    actuals = plan.actuals[
        (plan.actuals["source"] == "evaluation-2018") & (plan.actuals["year"] == 2017)
    ]
    actuals = actuals.set_index("name_as_stated")
    for row in table:
        assert restated.loc[row["name"], "value"] == _number(row["target"]), row
        if _number(row["actual"]) is None:  # 暂无数据
            assert row["name"] not in actuals.index
        else:
            assert actuals.loc[row["name"], "value"] == _number(row["actual"]), row
            assert actuals.loc[row["name"], "reported_rate"] == _number(row["rate"]), row


def test_assessment_agrees_with_the_evaluations_own_summary():
    # "除……7个指标没有统计指标数据以外，仅5A及4A级景区免费WiFi覆盖率1个指标实现进度滞后"
    plan = plantrack.load_plan(MAIN_PLAN)
    in_table = set(plan.targets.loc[plan.targets["source"] == "evaluation-2018", "indicator_id"])
    assessed = plantrack.assess(plan)
    assessed = assessed[assessed["indicator_id"].isin(in_table)]
    assert (assessed["status"] == "no_data").sum() == 7
    assert list(assessed.loc[assessed["status"] == "not_achieved", "indicator_id"]) == [
        "scenic_wifi_coverage"
    ]


def test_internet_plus_findings_include_the_known_disagreements():
    found = plantrack.findings(plantrack.load_plan(MAIN_PLAN))
    pairs = set(zip(found["indicator_id"], found["kind"]))
    assert {
        ("online_sales", "rate_mismatch"),
        ("online_sales", "target_mismatch"),
        ("integration_index", "target_mismatch"),
        ("cross_border_ecommerce", "currency_mismatch"),
        ("online_sales", "wording_change"),
    } <= pairs
    reported_ok = found[
        (found["kind"] == "rate_mismatch") & (found["indicator_id"] != "online_sales")
    ]
    assert reported_ok.empty  # every other reported rate agrees with the arithmetic
