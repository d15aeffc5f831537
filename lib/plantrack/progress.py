"""Judge progress: the level reached in the target year, and the trajectory towards it.

Level: achievement ratio = actual / target when higher is better, target / actual when lower
is better (ranks). '~' (左右, about) counts as reached within APPROX_TOLERANCE below the
target; exceeding an exact ('=') target of a higher-is-better indicator counts as reached.
A range (2—3) is reached at its lower bound (its upper bound for lower-is-better).

Trajectory: the method open-sdg documents (Statistics Canada, after Eurostat): observed
CAGR from the base year to the latest year over the CAGR required to reach the target by
the target year. Every result carries the numbers that produced it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, asdict

import numpy as np
import pandas as pd

from . import units

APPROX_TOLERANCE = 0.10     # '~' (左右): within 10% below the target counts as reached
ON_TRACK, NEEDS_ACCELERATION, LIMITED = 0.95, 0.6, 0.0          # ratio thresholds
NO_TARGET_HIGH, NO_TARGET_MID, NO_TARGET_LOW = 0.015, 0.005, 0.0  # CAGR thresholds without target

LEVEL_STATUSES = ("achieved", "not_achieved", "no_data", "not_comparable")
TRAJECTORY_STATUSES = ("target_achieved", "on_track", "needs_acceleration", "limited_progress",
                       "deterioration", "insufficient_data")


@dataclass(frozen=True)
class Trajectory:
    status: str
    ratio: float | None = None
    cagr_observed: float | None = None
    cagr_required: float | None = None
    base_year: int | None = None
    base_value: float | None = None
    current_year: int | None = None
    current_value: float | None = None
    target: float | None = None
    target_year: int | None = None
    reason: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _cagr(start: float, end: float, years: float) -> float:
    return (end / start) ** (1.0 / years) - 1.0


def _usable(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x)) and not pd.isna(x)


def trajectory(years, values, *, base_year=None, target=None, target_year=None,
               direction: str = "positive") -> Trajectory:
    """Classify progress from a series of (year, value). Never raises on degenerate input.

    direction: "positive" (higher is better) or "negative" (lower is better; also accepts
    "higher"/"lower"). Without a target, the observed CAGR is judged against 1.5% / 0.5% / 0.
    When the base year has no value, the first later year with one is the base.
    """
    sign = -1.0 if direction in ("negative", "lower") else 1.0
    points = sorted((int(y), float(v)) for y, v in zip(years, values) if _usable(y) and _usable(v))
    if base_year is not None and _usable(base_year):
        points = [p for p in points if p[0] >= int(base_year)]
    has_target = _usable(target)
    info = dict(target=float(target) if has_target else None,
                target_year=int(target_year) if _usable(target_year) else None)
    if not points:
        return Trajectory("insufficient_data", reason="no values", **info)
    (by, bv), (cy, cv) = points[0], points[-1]
    info.update(base_year=by, base_value=bv, current_year=cy, current_value=cv)
    if has_target and sign * (cv - float(target)) >= 0:
        return Trajectory("target_achieved", reason="latest value meets the target", **info)
    if len(points) < 2 or cy == by:
        return Trajectory("insufficient_data", reason="fewer than two years with values", **info)
    if bv <= 0 or cv <= 0:
        return Trajectory("insufficient_data", reason="growth rates need positive values", **info)
    observed = _cagr(bv, cv, cy - by)
    if not has_target:
        score = sign * observed
        status = ("on_track" if score >= NO_TARGET_HIGH else "needs_acceleration" if score >= NO_TARGET_MID
                  else "limited_progress" if score >= NO_TARGET_LOW else "deterioration")
        return Trajectory(status, cagr_observed=observed, reason="no target: observed growth", **info)
    ty = info["target_year"]
    if ty is None or ty <= by or float(target) <= 0:
        return Trajectory("insufficient_data", cagr_observed=observed,
                          reason="the target year is not after the base year", **info)
    required = _cagr(bv, float(target), ty - by)
    if required == 0:
        return Trajectory("insufficient_data", cagr_observed=observed,
                          reason="the target equals the base value", **info)
    ratio = observed / required
    status = ("on_track" if ratio >= ON_TRACK else "needs_acceleration" if ratio >= NEEDS_ACCELERATION
              else "limited_progress" if ratio >= LIMITED else "deterioration")
    return Trajectory(status, ratio=ratio, cagr_observed=observed, cagr_required=required,
                      reason="observed over required growth", **info)


def _to_unit(frame: pd.DataFrame, value_col: str, unit_col: str, to_units: pd.Series,
             year_col: str, rates: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Convert a value column into per-row target units; NaN and a reason where impossible."""
    out = np.full(len(frame), np.nan)
    reasons = np.array([""] * len(frame), dtype=object)
    pairs = pd.DataFrame({"f": frame[unit_col].to_numpy(), "t": to_units.to_numpy()})
    for (from_unit, to_unit), idx in pairs.groupby(["f", "t"], sort=False).indices.items():
        try:
            out[idx] = frame[value_col].to_numpy()[idx] * units.conversion_factor(from_unit, to_unit)
        except units.UnitError as exc:
            for i in idx:
                try:
                    out[i] = units.convert(frame[value_col].iloc[i], from_unit, to_unit,
                                           year=int(frame[year_col].iloc[i]), rates=rates)
                except units.UnitError:
                    reasons[i] = (f"{exc}; no exchange rate for {frame[year_col].iloc[i]} in rates.csv"
                                  if units.currency_of(from_unit) and units.currency_of(to_unit) else str(exc))
    return pd.Series(out, index=frame.index), pd.Series(reasons, index=frame.index)


def primary_targets(plan) -> pd.DataFrame:
    """The targets the plan document itself sets (restatements elsewhere feed the checks)."""
    targets = plan.targets
    if plan.plan_source and (targets["source"] == plan.plan_source).any():
        return targets[targets["source"] == plan.plan_source]
    return targets.drop_duplicates(["indicator_id", "target_year"])


def comparable_actuals(plan, to_unit_by_indicator: pd.Series, as_of: int | None = None) -> pd.DataFrame:
    """Actuals with value_converted into the given unit of their indicator (NaN if impossible)."""
    actuals = plan.actuals
    if as_of is not None:
        actuals = actuals[actuals["year"] <= as_of]
    actuals = actuals[actuals["indicator_id"].isin(to_unit_by_indicator.index)].copy()
    to_units = actuals["indicator_id"].map(to_unit_by_indicator)
    actuals["value_converted"], actuals["convert_note"] = _to_unit(
        actuals, "value", "unit", to_units, "year", plan.rates)
    return actuals


def assess(plan, as_of: int | None = None) -> pd.DataFrame:
    """One row per target the plan sets: the actual used, computed vs reported rate, status, trajectory."""
    from .checks import findings  # the findings count is shown beside each status

    targets = primary_targets(plan).reset_index(drop=True)
    indicators = plan.indicators.set_index("indicator_id")
    rows = targets.join(indicators[["sector", "name_zh", "name_en", "direction"]], on="indicator_id")
    rows = rows.rename(columns={"value": "target_value", "value_high": "target_value_high",
                                "unit": "target_unit", "stated": "target_stated",
                                "source": "target_source", "quote": "target_quote",
                                "locator": "target_locator"})
    actuals = comparable_actuals(plan, indicators["unit"], as_of)
    # Actual used for the level: the target year's value; the row with a reported rate first.
    actuals["_has_rate"] = actuals["reported_rate"].notna()
    same_year = actuals.sort_values(["_has_rate"], ascending=False, kind="stable") \
        .drop_duplicates(["indicator_id", "year"])
    used = same_year.rename(columns={"year": "target_year", "value": "actual_value", "unit": "actual_unit",
                                     "source": "actual_source", "quote": "actual_quote",
                                     "stated": "actual_stated", "locator": "actual_locator"})
    used["actual_year"] = used["target_year"]
    keep = ["indicator_id", "target_year", "actual_year", "actual_value", "actual_unit", "actual_stated",
            "actual_source", "actual_quote", "actual_locator", "reported_rate", "value_converted", "convert_note"]
    rows = rows.merge(used[keep], on=["indicator_id", "target_year"], how="left")

    # Bring the actual into the target's unit (the indicator unit may differ from the target's).
    rows["unit_factor"] = [_factor(a, t) for a, t in zip(rows["indicator_id"].map(indicators["unit"]),
                                                      rows["target_unit"])]
    rows["actual_in_target_unit"] = rows["value_converted"] * rows["unit_factor"]
    higher = rows["direction"].eq("higher").to_numpy()
    comparator = rows["comparator"].to_numpy()
    low, high = rows["target_value"].to_numpy(dtype=float), rows["target_value_high"].to_numpy(dtype=float)
    threshold = np.where((comparator == "range") & ~higher, high, low)
    actual = rows["actual_in_target_unit"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(higher, actual / threshold, threshold / actual)
    needed = np.where(comparator == "~", 1.0 - APPROX_TOLERANCE, 1.0)
    rows["computed_rate"] = np.round(ratio * 100.0, 2)
    has_actual = rows["actual_value"].notna().to_numpy()
    comparable = ~np.isnan(actual)
    rows["status"] = np.select(
        [~has_actual, ~comparable, ratio >= needed - 1e-9],
        ["no_data", "not_comparable", "achieved"], default="not_achieved")
    rows["status_note"] = np.where(~has_actual, "", rows["convert_note"].fillna(""))
    rows.loc[~comparable, "computed_rate"] = np.nan

    usable = actuals[actuals["value_converted"].notna()] \
        .sort_values("_has_rate", ascending=False, kind="stable").drop_duplicates(["indicator_id", "year"])
    series = {key: (group["year"].to_numpy(), group["value_converted"].to_numpy())
              for key, group in usable.groupby("indicator_id", sort=False)}
    trajectories = [_trajectory_for(plan, series, r) for r in rows.itertuples(index=False)]
    for name in ("status", "ratio", "cagr_observed", "cagr_required", "base_year", "current_year"):
        rows[f"trajectory_{name}"] = [getattr(t, name) for t in trajectories]
    rows["trajectory_reason"] = [t.reason for t in trajectories]

    found = findings(plan)
    counts = found.groupby("indicator_id").size()
    rows["findings"] = rows["indicator_id"].map(counts).fillna(0).astype(int)
    rows.insert(0, "plan_id", plan.plan_id)
    columns = ["plan_id", "indicator_id", "sector", "name_zh", "name_en", "direction",
               "target_year", "comparator", "target_value", "target_value_high", "target_unit",
               "target_stated", "target_source", "target_locator", "target_quote",
               "actual_year", "actual_value", "actual_unit", "actual_stated", "actual_source",
               "actual_locator", "actual_quote", "actual_in_target_unit",
               "computed_rate", "reported_rate", "status", "status_note",
               "trajectory_status", "trajectory_ratio", "trajectory_cagr_observed",
               "trajectory_cagr_required", "trajectory_base_year", "trajectory_current_year",
               "trajectory_reason", "findings"]
    out = rows[columns].copy()
    out["actual_year"] = out["actual_year"].astype("Int64")
    return out


def _factor(from_unit: str, to_unit: str) -> float:
    try:
        return units.conversion_factor(from_unit, to_unit)
    except units.UnitError:
        return math.nan


def _trajectory_for(plan, series: dict, row) -> Trajectory:
    years, values = series.get(row.indicator_id, ((), ()))
    target = row.target_value_high if (row.comparator == "range" and row.direction == "lower") else row.target_value
    return trajectory(years, np.asarray(values, dtype=float) * row.unit_factor, base_year=plan.base_year,
                      target=target, target_year=row.target_year,
                      direction="positive" if row.direction == "higher" else "negative")


def status_counts(assessed: pd.DataFrame, by: str = "sector") -> pd.DataFrame:
    """Targets per status (columns) for each value of `by` (rows)."""
    table = assessed.pivot_table(index=by, columns="status", values="indicator_id", aggfunc="count", fill_value=0)
    return table.reindex(columns=[s for s in LEVEL_STATUSES if s in table.columns] or list(table.columns))
