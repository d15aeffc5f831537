"""A researcher's calls: tidy, several plans at once, flags, rate gaps, one concept across plans."""

import pandas as pd
import plantrack
from conftest import MAIN_PLAN


def test_tidy_holds_every_target_and_actual_as_stated():
    plan = plantrack.load_plan(MAIN_PLAN)
    t = plantrack.tidy(MAIN_PLAN)
    assert (t["kind"] == "target").sum() == len(plan.targets) and (
        t["kind"] == "actual"
    ).sum() == len(plan.actuals)
    assert t["quote"].notna().all() and t["source_file"].str.endswith(".txt").all()
    # values as stated, and converted into the indicator's unit beside them
    row = t[
        (t["indicator_id"] == "online_sales") & (t["year"] == 2018) & (t["kind"] == "actual")
    ].iloc[0]
    assert row["value"] == 16718.8 and row["unit"] == "亿元"
    assert (
        abs(row["value_in_indicator_unit"] - 1.67188) < 1e-9 and row["indicator_unit"] == "万亿元"
    )
    fixed = t[t["correction_id"].notna()]
    assert set(fixed["value"]) == {12.0, 13.0} and set(fixed["value_used"]) == {1.2, 1.3}
    # one string dtype for text
    assert {str(t[c].dtype) for c in ("plan_id", "indicator_id", "quote", "kind")} == {"string"}


def test_several_plans_at_once_are_one_table():
    ids = plantrack.list_plans()
    assert set(plantrack.tidy(ids)["plan_id"]) == set(ids)
    assert set(plantrack.findings(ids)["plan_id"]) <= set(ids)
    assessed = plantrack.assess([plantrack.load_plan(i) for i in ids])
    assert set(assessed["plan_id"]) == set(ids)


def test_flags_and_rate_gap_sit_on_the_row():
    a = plantrack.assess(MAIN_PLAN).set_index("indicator_id")
    online = a.loc["online_sales"]
    assert "rate_mismatch" in online["flags"] and "implausible_magnitude" in online["flags"]
    assert abs(online["rate_gap"] - (online["computed_rate"] - online["reported_rate"])) < 1e-9
    assert a.loc["labour_productivity", "flags"] == ""


def test_evaluation_contradicting_itself_is_a_finding():
    f = plantrack.findings(MAIN_PLAN)
    assert (f["kind"] == "self_contradiction").sum() >= 1


def test_one_concept_across_plans():
    fibre = plantrack.across_plans("fibre_coverage")
    assert {"zhejiang-internet-plus-2016", "china-miit-internet-plus-2015"} <= set(fibre["plan_id"])
    assert plantrack.across_plans("no_such_concept").empty


def test_status_and_trajectory_never_contradict_without_a_reason():
    a = plantrack.assess(plantrack.list_plans())
    odd = a[(a["status"] == "no_data") & (a["trajectory_status"] != "insufficient_data")]
    assert (odd["status_note"].str.len() > 0).all()
    assert pd.api.types.is_string_dtype(a["status_note"])
