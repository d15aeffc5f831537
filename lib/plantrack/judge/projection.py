"""Projection (ESCAP's anticipated progress): where the target year lies after the latest
observation, continue the observed growth to the target year and draw the path the target
required.

Observations are the series' years from the base year on (the first observed year is the base
when the base year has no value). With every value and the target above zero the growth is
compound: g = (v_last / v_first) ** (1 / (y_last - y_first)) - 1, projected = v_last * (1 + g) **
(target_year - y_last), and the required path v(y) = v_first * (1 + r) ** (y - y_first) with the
required growth r = (target / v_first) ** (1 / (target_year - y_first)) - 1. Otherwise both are
straight lines through the first point.

required_growth and required_path are the one place of that rule: the trajectory's required CAGR
(judge.progress), the projection and the path the charts draw (dashboard, reports, site) use them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Projection:
    projected: float | None  # the value the observed pace reaches by the target year
    gap: float | None  # projected - target
    reaches: bool | None  # projected meets the target for the indicator's direction
    method: str | None  # "growth" (compound) or "linear"
    required_path: dict = field(default_factory=dict)  # {year: value} from y_first to target_year
    first_year: int | None = None
    last_year: int | None = None
    reason: str = ""  # why there is no projection, when there is none


def _number(x) -> float | None:
    """A number as a float; None when missing (None, NaN, pandas' NA) or not a number."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def required_growth(base_value, target, base_year, target_year):
    """The constant yearly growth that takes base_value in base_year to target in target_year:
    (target / base_value) ** (1 / (target_year - base_year)) - 1. Vectorised (numbers or arrays);
    NaN where there is none: a value not above zero, the target year not after the base year."""
    bv, target, by, ty = (
        np.asarray(a, dtype=float) for a in (base_value, target, base_year, target_year)
    )
    with np.errstate(all="ignore"):
        usable = (bv > 0) & (target > 0) & (ty > by)
        return np.where(usable, (target / bv) ** (1.0 / (ty - by)) - 1.0, np.nan)


def required_path(base_year, base_value, target_year, target, method=None) -> dict[int, float]:
    """The path a target required, {year: value} for every year from base_year to target_year:
    growing at required_growth ("growth"), or a straight line ("linear"). method None: growth when
    the base value and the target are above zero, else linear. Empty when a number is missing or
    the target year is not after the base year."""
    numbers = [_number(x) for x in (base_year, target_year, base_value, target)]
    if None in numbers:
        return {}
    y0, y1, start, end = int(numbers[0]), int(numbers[1]), numbers[2], numbers[3]
    if y1 <= y0:
        return {}
    if method is None:
        method = "growth" if start > 0 and end > 0 else "linear"
    if method == "growth":
        rate = float(required_growth(start, end, y0, y1))
        return {y: start * (1.0 + rate) ** (y - y0) for y in range(y0, y1 + 1)}
    return {y: start + (end - start) * (y - y0) / (y1 - y0) for y in range(y0, y1 + 1)}


def _none(reason: str) -> Projection:
    return Projection(None, None, None, None, {}, reason=reason)


def projection(
    years, values, *, base_year=None, target, target_year, direction: str = "higher"
) -> Projection:
    """Project a series to the target year; see the module's docstring for the method.

    years, values: the observations (a repeated year keeps its last value; NaN is skipped).
    direction: "higher" (higher is better) or "lower". Never raises on degenerate input: a
    Projection with projected=None says why.
    """
    points = {}
    for y, v in zip(years, values):
        if y is None or v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        points[int(y)] = float(v)
    if base_year is not None and int(base_year) in points:
        points = {y: v for y, v in points.items() if y >= int(base_year)}
    elif base_year is not None:
        later = {y: v for y, v in points.items() if y >= int(base_year)}
        points = (
            later  # no value in the base year: the first observed year (from it on) is the base
        )
    if target is None or target_year is None or (isinstance(target, float) and math.isnan(target)):
        return _none("no target")
    if len(points) < 2:
        return _none("fewer than two years with values")
    y_first, y_last = min(points), max(points)
    v_first, v_last = points[y_first], points[y_last]
    target, target_year = float(target), int(target_year)
    if target_year <= y_last:
        return _none("the target year is not after the latest observation")
    if min(points.values()) > 0 and target > 0:
        growth = (v_last / v_first) ** (1.0 / (y_last - y_first)) - 1.0
        projected = v_last * (1.0 + growth) ** (target_year - y_last)
        method = "growth"
    else:
        slope = (v_last - v_first) / (y_last - y_first)
        projected = v_last + slope * (target_year - y_last)
        method = "linear"
    path = required_path(y_first, v_first, target_year, target, method)
    higher = direction in ("higher", "positive")
    reaches = projected >= target if higher else projected <= target
    return Projection(projected, projected - target, bool(reaches), method, path, y_first, y_last)


def project_ends(by, bv, cy, cv, target, target_year, higher) -> dict[str, np.ndarray]:
    """projection() on many series at once, from each series' first (by, bv) and latest (cy, cv)
    observation: the columns assess() adds (the charts draw the path by required_path)."""
    by, bv, cy, cv = (np.asarray(a, dtype=float) for a in (by, bv, cy, cv))
    target, ty = np.asarray(target, dtype=float), np.asarray(target_year, dtype=float)
    higher = np.asarray(higher, dtype=bool)
    with np.errstate(all="ignore"):
        usable = ~np.isnan(bv) & ~np.isnan(cv) & (cy > by) & ~np.isnan(target) & (ty > cy)
        growth_ok = usable & (bv > 0) & (cv > 0) & (target > 0)
        g = (cv / bv) ** (1.0 / (cy - by)) - 1.0
        compound = cv * (1.0 + g) ** (ty - cy)
        straight = cv + (cv - bv) / (cy - by) * (ty - cy)
        projected = np.where(growth_ok, compound, np.where(usable, straight, np.nan))
    reaches = np.where(higher, projected >= target, projected <= target)
    reason = np.select(
        [np.isnan(target), np.isnan(bv) | np.isnan(cv) | ~(cy > by), ~(ty > cy)],
        [
            "no target",
            "fewer than two years with values",
            "the target year is not after the latest observation",
        ],
        default="",
    )
    return {
        "projection_value": projected,
        "projection_gap": projected - target,
        "projection_reaches": np.where(usable, reaches, None),
        "projection_method": np.where(growth_ok, "growth", np.where(usable, "linear", None)),
        "projection_reason": reason,
    }
