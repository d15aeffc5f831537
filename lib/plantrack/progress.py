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


def trajectory_table(points: pd.DataFrame, goals: pd.DataFrame) -> pd.DataFrame:
    """The trajectory method for many series at once.

    points: key, year, value (one row per year per key). goals: key, base_year, target,
    target_year, sign (+1 higher is better, -1 lower is better); NaN where absent.
    Returns one row per goal with the Trajectory fields.
    """
    goals = goals.reset_index(drop=True)
    pts = points.dropna(subset=["year", "value"]).merge(goals[["key", "base_year"]], on="key")
    pts = pts[pts["base_year"].isna() | (pts["year"] >= pts["base_year"])].sort_values(["key", "year"], kind="stable")
    grouped = pts.groupby("key", sort=False)
    ends = pd.DataFrame({"by": grouped["year"].first(), "bv": grouped["value"].first(),
                         "cy": grouped["year"].last(), "cv": grouped["value"].last(), "n": grouped["year"].size()})
    g = goals.join(ends, on="key")
    n = g["n"].fillna(0).to_numpy()
    by, bv = g["by"].to_numpy(dtype=float), g["bv"].to_numpy(dtype=float)
    cy, cv = g["cy"].to_numpy(dtype=float), g["cv"].to_numpy(dtype=float)
    target, ty = g["target"].to_numpy(dtype=float), g["target_year"].to_numpy(dtype=float)
    sign = g["sign"].to_numpy(dtype=float)
    has_target = ~np.isnan(target)
    with np.errstate(all="ignore"):
        met = has_target & (n > 0) & (sign * (cv - target) >= 0)
        few = (n < 2) | (cy == by)
        non_positive = (bv <= 0) | (cv <= 0)
        observed = np.where(few | non_positive, np.nan, (cv / bv) ** (1.0 / (cy - by)) - 1.0)
        bad_goal = np.isnan(ty) | (ty <= by) | (target <= 0)
        required = np.where(bad_goal, np.nan, (target / bv) ** (1.0 / (ty - by)) - 1.0)
        ratio = observed / required
    score = sign * observed

    def grade(x, high, mid, low):
        return np.select([x >= high, x >= mid, x >= low], ["on_track", "needs_acceleration", "limited_progress"],
                         default="deterioration")

    cases = [
        (n == 0, "insufficient_data", "no values"),
        (met, "target_achieved", "latest value meets the target"),
        (few, "insufficient_data", "fewer than two years with values"),
        (non_positive, "insufficient_data", "growth rates need positive values"),
        (~has_target, None, "no target: observed growth"),
        (bad_goal, "insufficient_data", "the target year is not after the base year"),
        (required == 0, "insufficient_data", "the target equals the base value"),
    ]
    status = grade(ratio, ON_TRACK, NEEDS_ACCELERATION, LIMITED).astype(object)
    reason = np.full(len(g), "observed over required growth", dtype=object)
    decided = np.zeros(len(g), dtype=bool)
    for condition, word, why in cases:
        hit = condition & ~decided
        status[hit] = grade(score[hit], NO_TARGET_HIGH, NO_TARGET_MID, NO_TARGET_LOW) if word is None else word
        reason[hit] = why
        decided |= hit
    keeps_ratio = ~decided
    keeps_observed = ~((n == 0) | met | few | non_positive)
    out = pd.DataFrame({
        "key": g["key"], "status": status, "reason": reason,
        "ratio": np.where(keeps_ratio, ratio, np.nan),
        "cagr_observed": np.where(keeps_observed, observed, np.nan),
        "cagr_required": np.where(keeps_ratio, required, np.nan),
        "base_year": np.where(n > 0, by, np.nan), "base_value": np.where(n > 0, bv, np.nan),
        "current_year": np.where(n > 0, cy, np.nan), "current_value": np.where(n > 0, cv, np.nan),
        "target": target, "target_year": ty})
    return out


def _clean(x):
    if x is None:
        return None
    try:
        return None if math.isnan(float(x)) else x
    except (TypeError, ValueError):
        return None


def trajectory(years, values, *, base_year=None, target=None, target_year=None,
               direction: str = "positive") -> Trajectory:
    """Classify progress from a series of (year, value). Never raises on degenerate input.

    direction: "positive" (higher is better) or "negative" (lower is better; also accepts
    "higher"/"lower"). Without a target, the observed CAGR is judged against 1.5% / 0.5% / 0.
    When the base year has no value, the first later year with one is the base.
    """
    def number(x):
        x = _clean(x)
        return float("nan") if x is None else float(x)

    points = pd.DataFrame({"key": 0, "year": [number(y) for y in years], "value": [number(v) for v in values]})
    goals = pd.DataFrame({"key": [0], "base_year": [number(base_year)], "target": [number(target)],
                          "target_year": [number(target_year)],
                          "sign": [-1.0 if direction in ("negative", "lower") else 1.0]})
    row = trajectory_table(points.drop_duplicates("year", keep="last"), goals).iloc[0]

    def year(x):
        return None if _clean(x) is None else int(x)

    return Trajectory(row["status"], ratio=_clean(row["ratio"]), cagr_observed=_clean(row["cagr_observed"]),
                      cagr_required=_clean(row["cagr_required"]), base_year=year(row["base_year"]),
                      base_value=_clean(row["base_value"]), current_year=year(row["current_year"]),
                      current_value=_clean(row["current_value"]), target=_clean(row["target"]),
                      target_year=year(row["target_year"]), reason=row["reason"])


def _to_unit(frame: pd.DataFrame, value_col: str, unit_col: str, to_unit_by_indicator: pd.Series,
             year_col: str, rates: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Convert a value column into each row's indicator unit; NaN and a reason where impossible.

    Works on codes of the distinct (unit, indicator unit) pairs, so a million rows cost a few
    array operations, not a million unit look-ups.
    """
    from_codes, from_units = pd.factorize(frame[unit_col])
    to_codes_of_ids, to_units = pd.factorize(to_unit_by_indicator)
    to_codes = to_codes_of_ids[frame["_ind"].to_numpy()]
    pair_codes = from_codes.astype(np.int64) * max(len(to_units), 1) + to_codes
    pairs, inverse = np.unique(pair_codes, return_inverse=True)
    factors = np.full(len(pairs), np.nan)
    failures = {}
    for k, code in enumerate(pairs):
        from_unit, to_unit = from_units[code // max(len(to_units), 1)], to_units[code % max(len(to_units), 1)]
        try:
            factors[k] = units.conversion_factor(from_unit, to_unit)
        except units.UnitError as exc:
            failures[k] = (from_unit, to_unit, exc)
    out = frame[value_col].to_numpy(dtype=float) * factors[inverse]
    reasons = np.full(len(frame), "", dtype=object)
    for k, (from_unit, to_unit, exc) in failures.items():
        for i in np.flatnonzero(inverse == k):
            year = frame[year_col].iloc[i]
            try:
                out[i] = units.convert(frame[value_col].iloc[i], from_unit, to_unit, year=int(year), rates=rates)
            except units.UnitError:
                reasons[i] = (f"{exc}; no exchange rate for {year} in rates.csv"
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
    actuals = actuals.copy()
    # Integer codes of the indicators (every id is known: the package's foreign keys say so);
    # joins on them are far cheaper than on strings.
    actuals["_ind"] = pd.Index(to_unit_by_indicator.index).get_indexer(actuals["indicator_id"])
    actuals["value_converted"], actuals["convert_note"] = _to_unit(
        actuals, "value", "unit", to_unit_by_indicator, "year", plan.rates)
    return actuals


def assess(plan, as_of: int | None = None) -> pd.DataFrame:
    """One row per target the plan sets: the actual used, computed vs reported rate, status, trajectory."""
    targets = primary_targets(plan).reset_index(drop=True)
    indicators = plan.indicators.set_index("indicator_id")
    rows = targets.join(indicators[["sector", "name_zh", "name_en", "direction"]], on="indicator_id")
    rows = rows.rename(columns={"value": "target_value", "value_high": "target_value_high",
                                "unit": "target_unit", "stated": "target_stated",
                                "source": "target_source", "quote": "target_quote",
                                "locator": "target_locator"})
    actuals = comparable_actuals(plan, indicators["unit"], as_of)
    rows["_ind"] = pd.Index(indicators.index).get_indexer(rows["indicator_id"])
    # One value per indicator and year: the row with a reported rate (the formal table) first.
    actuals["_has_rate"] = actuals["reported_rate"].notna()
    actuals = actuals.sort_values(["_has_rate"], ascending=False, kind="stable").drop_duplicates(["_ind", "year"])
    # Actual used for the level: the target year's value.
    wanted = actuals["year"].isin(rows["target_year"].unique())
    used = actuals[wanted].rename(columns={"year": "target_year", "value": "actual_value", "unit": "actual_unit",
                                     "source": "actual_source", "quote": "actual_quote",
                                     "stated": "actual_stated", "locator": "actual_locator"})
    used["actual_year"] = used["target_year"]
    keep = ["_ind", "target_year", "actual_year", "actual_value", "actual_unit", "actual_stated",
            "actual_source", "actual_quote", "actual_locator", "reported_rate", "value_converted", "convert_note"]
    rows = rows.merge(used[keep], on=["_ind", "target_year"], how="left")

    # Bring the actual into the target's unit (the indicator unit may differ from the target's).
    rows["unit_factor"] = pair_factors(indicators["unit"].to_numpy()[rows["_ind"].to_numpy()], rows["target_unit"])
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

    usable = actuals[actuals["value_converted"].notna()]
    rows["key"] = np.arange(len(rows))
    range_lower = (rows["comparator"] == "range") & (rows["direction"] == "lower")
    goals = pd.DataFrame({"key": rows["key"], "base_year": float(plan.base_year) if plan.base_year else np.nan,
                          "target": np.where(range_lower, rows["target_value_high"], rows["target_value"]),
                          "target_year": rows["target_year"].astype(float),
                          "sign": np.where(rows["direction"] == "higher", 1.0, -1.0)})
    points = usable[["_ind", "year", "value_converted"]].merge(rows[["_ind", "key", "unit_factor"]], on="_ind")
    points = pd.DataFrame({"key": points["key"], "year": points["year"].astype(float),
                           "value": points["value_converted"] * points["unit_factor"]})
    found = trajectory_table(points, goals).set_index("key")
    for name in ("status", "ratio", "cagr_observed", "cagr_required", "base_year", "current_year", "reason"):
        rows[f"trajectory_{name}"] = rows["key"].map(found[name]).to_numpy()
    for name in ("trajectory_base_year", "trajectory_current_year"):
        rows[name] = rows[name].astype("Int64")
    rows.insert(0, "plan_id", plan.plan_id)
    columns = ["plan_id", "indicator_id", "sector", "name_zh", "name_en", "direction",
               "target_year", "comparator", "target_value", "target_value_high", "target_unit",
               "target_stated", "target_source", "target_locator", "target_quote",
               "actual_year", "actual_value", "actual_unit", "actual_stated", "actual_source",
               "actual_locator", "actual_quote", "actual_in_target_unit",
               "computed_rate", "reported_rate", "status", "status_note",
               "trajectory_status", "trajectory_ratio", "trajectory_cagr_observed",
               "trajectory_cagr_required", "trajectory_base_year", "trajectory_current_year",
               "trajectory_reason"]
    out = rows[columns].copy()
    out["actual_year"] = out["actual_year"].astype("Int64")
    return out


def pair_factors(from_units, to_units) -> np.ndarray:
    """Conversion factor for each (from, to) unit pair; NaN where the units cannot convert."""
    from_codes, from_names = pd.factorize(pd.Series(from_units))
    to_codes, to_names = pd.factorize(pd.Series(to_units))
    table = np.array([[_factor(f, t) for t in to_names] for f in from_names]).reshape(len(from_names), len(to_names))
    return table[from_codes, to_codes] if len(from_codes) else np.array([], dtype=float)


def _factor(from_unit: str, to_unit: str) -> float:
    try:
        return units.conversion_factor(from_unit, to_unit)
    except units.UnitError:
        return math.nan


def status_counts(assessed: pd.DataFrame, by: str = "sector") -> pd.DataFrame:
    """Targets per status (columns) for each value of `by` (rows)."""
    table = assessed.pivot_table(index=by, columns="status", values="indicator_id", aggfunc="count", fill_value=0)
    return table.reindex(columns=[s for s in LEVEL_STATUSES if s in table.columns] or list(table.columns))
