import math

import pytest
from plantrack import trajectory


def test_on_track_hand_computed():
    # base 100 (2015) -> 121 (2017): observed CAGR 10%; target 150 by 2020: required 1.5**(1/5)-1.
    t = trajectory(
        [2015, 2016, 2017],
        [100, 110, 121],
        base_year=2015,
        target=150,
        target_year=2020,
        direction="positive",
    )
    required = 1.5**0.2 - 1
    assert t.cagr_observed == pytest.approx(0.10)
    assert t.cagr_required == pytest.approx(required)
    assert t.ratio == pytest.approx(0.10 / required)
    assert t.status == "on_track" and (t.base_year, t.current_year) == (2015, 2017)


@pytest.mark.parametrize(
    "current,status",
    [
        (100 * 1.07**2, "needs_acceleration"),  # ratio 0.7
        (100 * 1.03**2, "limited_progress"),  # ratio 0.3
        (90.0, "deterioration"),
    ],
)
def test_ratio_thresholds(current, status):
    target = 100 * 1.1**5  # requires 10% a year from 2015 to 2020
    t = trajectory([2015, 2017], [100, current], base_year=2015, target=target, target_year=2020)
    assert t.status == status


def test_target_already_met():
    t = trajectory([2015, 2017], [100, 160], base_year=2015, target=150, target_year=2020)
    assert t.status == "target_achieved"


def test_lower_is_better():
    # 10 -> 8.1 in two years (-10% a year); target 5 by 2020 needs 0.5**(1/5)-1 a year.
    t = trajectory(
        [2015, 2017], [10, 8.1], base_year=2015, target=5, target_year=2020, direction="negative"
    )
    assert t.ratio == pytest.approx(-0.1 / (0.5**0.2 - 1))
    assert t.status == "needs_acceleration"
    assert (
        trajectory([2015, 2017], [10, 4], target=5, target_year=2020, direction="lower").status
        == "target_achieved"
    )
    assert (
        trajectory([2015, 2017], [10, 12], target=5, target_year=2020, direction="negative").status
        == "deterioration"
    )


@pytest.mark.parametrize(
    "growth,status",
    [
        (0.02, "on_track"),
        (0.01, "needs_acceleration"),
        (0.002, "limited_progress"),
        (-0.01, "deterioration"),
    ],
)
def test_without_target_uses_observed_growth(growth, status):
    t = trajectory([2015, 2018], [100, 100 * (1 + growth) ** 3], target=None)
    assert t.cagr_observed == pytest.approx(growth)
    assert t.status == status and t.ratio is None


def test_without_target_lower_is_better_flips_sign():
    assert trajectory([2015, 2018], [100, 90], direction="negative").status == "on_track"


def test_missing_base_year_uses_first_later_year():
    t = trajectory([2017, 2018], [50, 60], base_year=2015, target=100, target_year=2020)
    assert t.base_year == 2017 and t.base_value == 50


@pytest.mark.parametrize(
    "years,values,kwargs",
    [
        ([], [], {}),
        ([2017], [5], dict(target=10, target_year=2020)),
        ([2017, 2017], [5, 6], dict(target=10, target_year=2020)),
        ([2015, 2017], [0, 6], dict(target=10, target_year=2020)),
        ([2015, 2017], [5, 0], dict(target=10, target_year=2020)),
        ([2015, 2017], [-5, 6], dict(target=10, target_year=2020)),
        ([2015, 2017], [5, 4], dict(target=5.0001, target_year=2015)),
        ([2015, 2017], [8, 6], dict(target=8, target_year=2020, direction="positive")),
        ([2015, 2017], [float("nan"), 6], dict(target=10, target_year=2020)),
        ([2015, None], [5, 6], dict(target=10, target_year=2020)),
        ([2015, 2017], [5, 6], dict(target=10, target_year=None)),
    ],
)
def test_degenerate_input_never_raises(years, values, kwargs):
    t = trajectory(years, values, **kwargs)
    assert t.status in ("insufficient_data", "target_achieved")
    assert t.ratio is None or math.isfinite(t.ratio)


def test_target_equal_to_base_is_insufficient():
    t = trajectory([2015, 2017], [8, 6], base_year=2015, target=8, target_year=2020)
    assert t.status == "insufficient_data"
