"""Projection (ESCAP's anticipated progress), corrections, one measure per rate, confidence."""

import math

import plantrack
import pytest
from conftest import MAIN_PLAN
from plantrack.judge.projection import projection


def test_growth_projection_by_hand():
    p = projection([2015, 2017], [100, 121], base_year=2015, target=200, target_year=2020)
    assert p.method == "growth"
    assert p.projected == pytest.approx(121 * 1.1**3)
    assert p.gap == pytest.approx(121 * 1.1**3 - 200)
    assert p.reaches is False
    assert sorted(p.required_path) == list(range(2015, 2021))
    assert p.required_path[2015] == pytest.approx(100) and p.required_path[2020] == pytest.approx(
        200
    )
    assert p.required_path[2017] == pytest.approx(100 * 2 ** (2 / 5))


def test_linear_when_a_value_is_not_positive_and_lower_is_better():
    p = projection(
        [2016, 2018], [0, 4], base_year=None, target=10, target_year=2020, direction="higher"
    )
    assert p.method == "linear" and p.projected == pytest.approx(8) and p.reaches is False
    assert p.required_path[2018] == pytest.approx(5)
    q = projection([2016, 2018], [10, 6], target=1, target_year=2020, direction="lower")
    assert q.method == "growth" and q.reaches is False  # 6 * 0.7746^2 = 3.6 > 1
    r = projection([2016, 2018], [-2, 2], target=5, target_year=2019)
    assert r.method == "linear" and r.projected == pytest.approx(4)


def test_base_year_and_too_few_years():
    # years before the base year are not observations; without the base year's value the first later year is the base
    p = projection([2010, 2016, 2018], [1, 100, 144], base_year=2015, target=300, target_year=2020)
    assert p.first_year == 2016 and p.projected == pytest.approx(144 * 1.2**2)
    none = projection([2018], [5], base_year=2015, target=10, target_year=2020)
    assert none.projected is None and "two" in none.reason
    late = projection([2016, 2018], [1, 2], target=3, target_year=2018)
    assert late.projected is None and late.reason


def test_assess_has_projection_columns_matching_the_function():
    a = plantrack.assess(MAIN_PLAN)
    for column in (
        "projection_value",
        "projection_gap",
        "projection_reaches",
        "projection_method",
        "projection_reason",
        "confidence",
        "confidence_reasons_en",
        "measure",
    ):
        assert column in a
    projected = a[a["projection_value"].notna()]
    for row in projected.itertuples():
        assert row.projection_method in ("growth", "linear")
        assert math.isclose(
            row.projection_gap, row.projection_value - row.target_value, rel_tol=1e-9
        )


def test_the_off_by_ten_row_is_corrected_and_marked():
    a = plantrack.assess(MAIN_PLAN).set_index("indicator_id")
    row = a.loc["online_sales"]
    assert row["computed_rate"] == pytest.approx(108.33, abs=0.01)  # not 1083.3
    assert row["actual_correction"] and row["target_correction"]
    assert row["confidence"] == "low"
    assert (
        "correction" in row["confidence_reasons_en"]
        and "definition differs" in row["confidence_reasons_en"]
    )


def test_no_rate_across_measures():
    a = plantrack.assess(MAIN_PLAN)
    for row in a[a["computed_rate"].notna()].itertuples():
        plan = plantrack.load_plan(MAIN_PLAN)
        used = plan.actuals[
            (plan.actuals["indicator_id"] == row.indicator_id)
            & (plan.actuals["year"] == row.actual_year)
            & (plan.actuals["source"] == row.actual_source)
        ]
        assert (used["measure"].fillna(row.indicator_id) == row.measure).any(), row.indicator_id


def test_every_row_has_a_confidence_with_reasons_and_several_plans_at_once():
    both = plantrack.assess(plantrack.list_plans())
    assert set(both["plan_id"]) == set(plantrack.list_plans())
    assert (
        set(both["confidence"]) <= {"high", "medium", "low"}
        and both["confidence_reasons_en"].str.len().gt(0).all()
    )


def test_one_required_path_for_projection_trajectory_and_charts():
    from plantrack.judge.projection import required_growth, required_path

    path = required_path(2015, 100, 2020, 200)
    assert path == pytest.approx(
        projection([2015, 2017], [100, 121], target=200, target_year=2020).required_path
    )
    assert path[2020] == pytest.approx(200) and path[2017] == pytest.approx(100 * 2 ** (2 / 5))
    # the growth of the path is the trajectory's required CAGR
    rate = plantrack.trajectory([2015, 2017], [100, 121], target=200, target_year=2020)
    assert rate.cagr_required == pytest.approx(float(required_growth(100, 200, 2015, 2020)))
    assert path[2016] == pytest.approx(100 * (1 + rate.cagr_required))
    # a straight line when an end is not above zero (or when asked), nothing when it cannot be drawn
    assert required_path(2016, 0, 2018, 4) == pytest.approx({2016: 0, 2017: 2, 2018: 4})
    assert required_path(2016, 1, 2018, 3, "linear") == pytest.approx({2016: 1, 2017: 2, 2018: 3})
    assert required_path(2018, 1, 2018, 3) == {} and required_path(None, 1, 2020, 3) == {}
    assert required_path(2015, float("nan"), 2020, 3) == {}
    assert math.isnan(required_growth(-1, 3, 2015, 2020))


def test_required_paths_of_assessed_targets():
    """The path each target required, in its indicator's unit: from the trajectory's base year
    (its actual) to the target's threshold, a range's bound included."""
    from plantrack.judge.progress import required_paths

    a = plantrack.assess("zhejiang-information-economy-2014")
    rank = a[a["indicator_id"] == "informatization_index_rank"]
    ((row, path),) = required_paths(rank, {2017: 3.0}, "位")
    assert row["target_year"] == 2019 and path == {2017: 3.0, 2018: 3.0, 2019: 3.0}
    # no value in the base year, or the base year's values unknown: no path
    assert required_paths(rank, {2016: 3.0}, "位") == []
    # a range (2—3 platforms, higher is better) is required to reach its lower bound
    a = plantrack.assess(MAIN_PLAN)
    rows = a[a["indicator_id"] == "logistics_data_platforms"].assign(trajectory_base_year=2015)
    ((row, path),) = required_paths(rows, {2015: 0.0}, "家")
    assert row["comparator"] == "range" and path == pytest.approx({2015: 0, 2016: 1, 2017: 2})
