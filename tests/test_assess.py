from pathlib import Path

import plantrack
import pytest


def status_of(table, indicator_id):
    return table.set_index("indicator_id").loc[indicator_id]


def test_levels_by_comparator_and_direction(make_plan):
    directory = make_plan(
        indicators=[
            dict(indicator_id="firms", unit="家"),
            dict(indicator_id="about", unit="家"),
            dict(indicator_id="rank", unit="位", direction="lower"),
            dict(indicator_id="band", unit="家"),
            dict(indicator_id="sales", unit="万亿元"),
            dict(indicator_id="missing", unit="%"),
        ],
        targets=[
            dict(indicator_id="firms", target_year=2017, comparator=">=", value=300, unit="家"),
            dict(indicator_id="about", target_year=2017, comparator="~", value=100, unit="家"),
            dict(indicator_id="rank", target_year=2017, comparator="<=", value=3, unit="位"),
            dict(
                indicator_id="band",
                target_year=2017,
                comparator="range",
                value=2,
                value_high=3,
                unit="家",
            ),
            dict(indicator_id="sales", target_year=2017, comparator=">=", value=1.2, unit="万亿元"),
            dict(indicator_id="missing", target_year=2017, comparator=">=", value=95, unit="%"),
        ],
        actuals=[
            dict(indicator_id="firms", year=2017, value=290, unit="家", reported_rate=97),
            dict(indicator_id="about", year=2017, value=91, unit="家"),
            dict(indicator_id="rank", year=2017, value=2, unit="位"),
            dict(indicator_id="band", year=2017, value=2, unit="家"),
            dict(indicator_id="sales", year=2017, value=13000, unit="亿元"),
        ],
    )
    table = plantrack.assess(plantrack.load_plan(directory))
    assert len(table) == 6
    firms = status_of(table, "firms")
    assert firms.status == "not_achieved" and firms.computed_rate == pytest.approx(96.67)
    assert firms.reported_rate == 97
    assert status_of(table, "about").status == "achieved"  # 91 is within 10% of about 100
    rank = status_of(table, "rank")
    assert rank.status == "achieved" and rank.computed_rate == pytest.approx(150.0)  # 3 / 2
    assert status_of(table, "band").status == "achieved"
    sales = status_of(table, "sales")  # 13000 亿元 = 1.3 万亿元
    assert sales.actual_in_target_unit == pytest.approx(1.3) and sales.status == "achieved"
    assert (
        sales.actual_value == 13000 and sales.actual_unit == "亿元"
    )  # as stated, beside the conversion
    missing = status_of(table, "missing")
    assert missing.status == "no_data" and missing.trajectory_status == "insufficient_data"


def test_currencies_compare_only_through_a_rate(make_plan):
    kwargs = dict(
        indicators=[dict(indicator_id="trade", unit="亿美元")],
        targets=[
            dict(indicator_id="trade", target_year=2018, comparator=">=", value=500, unit="亿美元")
        ],
        actuals=[dict(indicator_id="trade", year=2018, value=3400, unit="亿元")],
    )
    no_rate = plantrack.assess(plantrack.load_plan(make_plan(name="a", **kwargs))).iloc[0]
    assert no_rate.status == "not_comparable" and "rate" in no_rate.status_note
    rate = [
        dict(
            from_currency="USD",
            to_currency="CNY",
            year=2018,
            rate=6.8,
            source="review",
            quote="汇率6.8",
        )
    ]
    with_rate = plantrack.assess(
        plantrack.load_plan(make_plan(name="b", rates=rate, **kwargs))
    ).iloc[0]
    assert with_rate.status == "achieved" and with_rate.computed_rate == pytest.approx(100.0)


def test_trajectory_column_uses_the_series(make_plan):
    directory = make_plan(
        indicators=[dict(indicator_id="x", unit="个")],
        targets=[dict(indicator_id="x", target_year=2020, comparator=">=", value=150, unit="个")],
        actuals=[
            dict(indicator_id="x", year=2015, value=100, unit="个"),
            dict(indicator_id="x", year=2017, value=121, unit="个"),
        ],
    )
    row = plantrack.assess(plantrack.load_plan(directory)).iloc[0]
    assert row.status == "no_data"  # nothing for 2020 yet
    assert row.trajectory_status == "on_track"
    assert row.trajectory_cagr_observed == pytest.approx(0.10)
    assert (row.trajectory_base_year, row.trajectory_current_year) == (2015, 2017)


def test_as_of_hides_later_actuals(make_plan):
    directory = make_plan(
        indicators=[dict(indicator_id="x", unit="个")],
        targets=[dict(indicator_id="x", target_year=2018, comparator=">=", value=10, unit="个")],
        actuals=[dict(indicator_id="x", year=2018, value=12, unit="个")],
    )
    plan = plantrack.load_plan(directory)
    assert plantrack.assess(plan).iloc[0].status == "achieved"
    assert plantrack.assess(plan, as_of=2017).iloc[0].status == "no_data"


def test_restated_targets_do_not_add_rows(make_plan):
    directory = make_plan(
        indicators=[dict(indicator_id="x", unit="个")],
        targets=[
            dict(indicator_id="x", target_year=2017, comparator=">=", value=10, unit="个"),
            dict(
                indicator_id="x",
                target_year=2017,
                comparator=">=",
                value=12,
                unit="个",
                source="review",
            ),
        ],
    )
    table = plantrack.assess(plantrack.load_plan(directory))
    assert (
        len(table) == 1
        and table.iloc[0].target_value == 10
        and table.iloc[0].target_source == "plan"
    )


def test_what_if_actual_changes_status(make_plan):
    import pandas as pd

    directory = make_plan(
        indicators=[dict(indicator_id="x", unit="个")],
        targets=[dict(indicator_id="x", target_year=2017, comparator=">=", value=10, unit="个")],
    )
    plan = plantrack.load_plan(directory)
    assert plantrack.assess(plan).iloc[0].status == "no_data"
    extra = pd.DataFrame(
        [
            dict(
                indicator_id="x",
                year=2017,
                value=11.0,
                unit="个",
                source="what-if",
                source_title="假设",
                source_file="what-if.txt",
                quote="假设实际为11个",
            )
        ]
    )
    assert plantrack.assess(plan.with_actuals(extra)).iloc[0].status == "achieved"


def tables_and_judgement() -> dict:
    """Each bundled plan's targets, actuals, assessment and findings, as JSON texts."""
    out = {}
    for plan_id in plantrack.list_plans():
        plan = plantrack.load_plan(plan_id)
        found = plantrack.findings(plan)
        out[plan_id] = [
            frame.to_json(orient="split", default_handler=str)
            for frame in (plan.targets, plan.actuals, plantrack.assess(plan, found=found), found)
        ]
    return out


NO_ARROW = f"""
import json, sys
sys.modules["pyarrow"] = None  # as in a reader's dashboard kernel (serve/kernel.py)
sys.path.insert(0, {str(Path(__file__).parent)!r})  # this module, for the one snapshot
from test_assess import tables_and_judgement
print(json.dumps(tables_and_judgement()))
"""


def test_without_arrow_the_tables_and_the_assessment_are_the_same(tmp_path):
    """A reader's dashboard kernel has no pyarrow: it reads the validated CSVs instead of the
    parquet cache and finds indicators without Arrow. Same tables, same assessment, same findings,
    whether the parquet cache was written before (the second run) or not (the first)."""
    import json
    import os
    import subprocess
    import sys

    expected = tables_and_judgement()
    env = {**os.environ, "PLANTRACK_CACHE": str(tmp_path)}
    for _ in range(2):  # an empty cache, then the verdict this run left
        run = subprocess.run(
            [sys.executable, "-c", NO_ARROW], env=env, capture_output=True, text=True, timeout=600
        )
        assert run.returncode == 0, run.stderr[-2000:]
        assert json.loads(run.stdout) == expected
    assert not list(tmp_path.rglob("*.parquet"))  # no Arrow, no parquet: the CSVs are the tables
    # A process with Arrow finds the verdict without the tables, validates again and writes them.
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import plantrack; plantrack.load_plan('zhejiang-internet-plus-2016')",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert list(tmp_path.rglob("*.parquet"))
