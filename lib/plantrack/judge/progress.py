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
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from plantrack.config import LANGUAGES
from plantrack.data import units
from plantrack.judge.measures import SEPARATOR  # a series id: <indicator>::<measure>
from plantrack.judge.projection import project_ends, required_growth, required_path
from plantrack.messages import t

APPROX_TOLERANCE = 0.10  # '~' (左右): within 10% below the target counts as reached
ON_TRACK, NEEDS_ACCELERATION, LIMITED = 0.95, 0.6, 0.0  # ratio thresholds
NO_TARGET_HIGH, NO_TARGET_MID, NO_TARGET_LOW = 0.015, 0.005, 0.0  # CAGR thresholds without target

LEVEL_STATUSES = ("achieved", "not_achieved", "no_data", "not_comparable")
TRAJECTORY_STATUSES = (
    "target_achieved",
    "on_track",
    "needs_acceleration",
    "limited_progress",
    "deterioration",
    "insufficient_data",
)


def rate_threshold(comparator, low, high, higher):
    """The value a target's completion rate is measured against: its value, or for a range
    (2—3) its lower bound when higher is better and its upper bound when lower is better."""
    return np.where(
        (np.asarray(comparator) == "range") & ~np.asarray(higher, dtype=bool), high, low
    )


def completion_rate(actual, threshold, higher):
    """The completion rate in percent: actual ÷ threshold when higher is better, threshold ÷
    actual when lower is better (ranks). The one rate rule: assess, findings and every view use it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(higher, np.divide(actual, threshold), np.divide(threshold, actual)) * 100.0


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
    pts = pts[pts["base_year"].isna() | (pts["year"] >= pts["base_year"])].sort_values(
        ["key", "year"], kind="stable"
    )
    grouped = pts.groupby("key", sort=False)
    ends = pd.DataFrame(
        {
            "by": grouped["year"].first(),
            "bv": grouped["value"].first(),
            "cy": grouped["year"].last(),
            "cv": grouped["value"].last(),
            "n": grouped["year"].size(),
        }
    )
    return judge_trajectories(goals.join(ends, on="key"))


REASONS = (
    "observed over required growth",
    "no values",
    "latest value meets the target",
    "fewer than two years with values",
    "growth rates need positive values",
    "no target: observed growth",
    "the target year is not after the base year",
    "the target equals the base value",
)


def words(codes: np.ndarray, vocabulary) -> pd.api.extensions.ExtensionArray:
    """Codes into a vocabulary as a string column, built by taking (no per-row conversion)."""
    return pd.array(list(vocabulary), dtype="str").take(np.asarray(codes, dtype=np.int64))


def judge_trajectories(g: pd.DataFrame) -> pd.DataFrame:
    """The trajectory method on each series' ends: goals (key, target, target_year, sign) with
    by/bv (first year and value from the base year on), cy/cv (latest), n (values counted; 2
    stands for "two or more"); NaN where a series has no value."""
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
        required = np.where(bad_goal, np.nan, required_growth(bv, target, by, ty))
        ratio = observed / required
    score = sign * observed

    # Statuses and reasons as codes into TRAJECTORY_STATUSES / REASONS, turned into words once.
    on_track, needs, limited, deteriorating, achieved, insufficient = (
        TRAJECTORY_STATUSES.index(s)
        for s in (
            "on_track",
            "needs_acceleration",
            "limited_progress",
            "deterioration",
            "target_achieved",
            "insufficient_data",
        )
    )

    def grade(x, high, mid, low):
        return np.select(
            [x >= high, x >= mid, x >= low], [on_track, needs, limited], default=deteriorating
        )

    cases = [
        (n == 0, insufficient, "no values"),
        (met, achieved, "latest value meets the target"),
        (few, insufficient, "fewer than two years with values"),
        (non_positive, insufficient, "growth rates need positive values"),
        (~has_target, None, "no target: observed growth"),
        (bad_goal, insufficient, "the target year is not after the base year"),
        (required == 0, insufficient, "the target equals the base value"),
    ]
    status = grade(ratio, ON_TRACK, NEEDS_ACCELERATION, LIMITED)
    reason = np.full(len(g), REASONS.index("observed over required growth"))
    decided = np.zeros(len(g), dtype=bool)
    for condition, word, why in cases:
        hit = condition & ~decided
        status[hit] = (
            grade(score[hit], NO_TARGET_HIGH, NO_TARGET_MID, NO_TARGET_LOW)
            if word is None
            else word
        )
        reason[hit] = REASONS.index(why)
        decided |= hit
    status, reason = words(status, TRAJECTORY_STATUSES), words(reason, REASONS)
    keeps_ratio = ~decided
    keeps_observed = ~((n == 0) | met | few | non_positive)
    out = pd.DataFrame(
        {
            "key": g["key"],
            "status": status,
            "reason": reason,
            "ratio": np.where(keeps_ratio, ratio, np.nan),
            "cagr_observed": np.where(keeps_observed, observed, np.nan),
            "cagr_required": np.where(keeps_ratio, required, np.nan),
            "base_year": np.where(n > 0, by, np.nan),
            "base_value": np.where(n > 0, bv, np.nan),
            "current_year": np.where(n > 0, cy, np.nan),
            "current_value": np.where(n > 0, cv, np.nan),
            "target": target,
            "target_year": ty,
        }
    )
    return out


def _clean(x):
    if x is None:
        return None
    try:
        return None if math.isnan(float(x)) else x
    except (TypeError, ValueError):
        return None


def trajectory(
    years, values, *, base_year=None, target=None, target_year=None, direction: str = "positive"
) -> Trajectory:
    """Classify progress from a series of (year, value). Never raises on degenerate input.

    direction: "positive" (higher is better) or "negative" (lower is better; also accepts
    "higher"/"lower"). Without a target, the observed CAGR is judged against 1.5% / 0.5% / 0.
    When the base year has no value, the first later year with one is the base.
    """

    def number(x):
        x = _clean(x)
        return float("nan") if x is None else float(x)

    points = pd.DataFrame(
        {"key": 0, "year": [number(y) for y in years], "value": [number(v) for v in values]}
    )
    goals = pd.DataFrame(
        {
            "key": [0],
            "base_year": [number(base_year)],
            "target": [number(target)],
            "target_year": [number(target_year)],
            "sign": [-1.0 if direction in ("negative", "lower") else 1.0],
        }
    )
    row = trajectory_table(points.drop_duplicates("year", keep="last"), goals).iloc[0]

    def year(x):
        return None if _clean(x) is None else int(x)

    return Trajectory(
        row["status"],
        ratio=_clean(row["ratio"]),
        cagr_observed=_clean(row["cagr_observed"]),
        cagr_required=_clean(row["cagr_required"]),
        base_year=year(row["base_year"]),
        base_value=_clean(row["base_value"]),
        current_year=year(row["current_year"]),
        current_value=_clean(row["current_value"]),
        target=_clean(row["target"]),
        target_year=year(row["target_year"]),
        reason=row["reason"],
    )


def _factorize(values) -> tuple[np.ndarray, object]:
    """Integer codes and the distinct values; a categorical column (the plan's ids, units and
    sources) has them already."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categorical = getattr(values, "array", values)
        return categorical.codes, categorical.categories
    return pd.factorize(values)


def _indicator_codes(ids: pd.Series, indicators: pd.Index) -> np.ndarray:
    """Each id's position in `indicators` (-1 if unknown), hashing each distinct id once."""
    codes, distinct = _factorize(ids)
    try:
        import pyarrow.compute as pc
    except ImportError:  # a reader's dashboard kernel has no Arrow (serve/kernel.py): a small plan
        first = {}
        for position, value in enumerate(map(str, indicators)):
            first.setdefault(value, position)
        found = np.array([first.get(str(v), -1) for v in distinct], dtype=np.int64)
        return np.append(found, -1)[codes]
    wanted, known = _arrow_strings(distinct), _arrow_strings(indicators)
    if wanted.equals(known):  # categories read in the indicators' order: codes are positions
        return np.asarray(codes).astype(np.int64)
    found = pc.index_in(wanted, value_set=known)
    return np.append(found.fill_null(-1).to_numpy().astype(np.int64), -1)[codes]


def _arrow_strings(values):
    """Strings as one Arrow array (no copy when pandas already keeps them in one Arrow chunk)."""
    import pyarrow as pa

    values = pd.Index(values).array
    strings = pa.array(
        values if hasattr(values, "__arrow_array__") else np.asarray(values, dtype=object)
    ).cast(pa.string())
    return strings.combine_chunks() if isinstance(strings, pa.ChunkedArray) else strings


def _to_unit(
    values: np.ndarray,
    from_units: pd.Series,
    to_codes: np.ndarray,
    to_units,
    years: np.ndarray,
    rates: pd.DataFrame,
) -> tuple[np.ndarray, dict[int, str]]:
    """Convert values (stated in from_units) into to_units[to_codes]: the converted values (NaN
    where impossible) and {row position: reason} for those rows.

    Works on codes of the distinct (unit, indicator unit) pairs, so a million rows cost a few
    array operations, not a million unit look-ups.
    """
    from_codes, from_names = _factorize(from_units)
    width = max(len(to_units), 1)
    pair_of_row = from_codes.astype(np.int64) * width + to_codes  # codes < (distinct units)²: few
    factors = np.full(len(from_names) * width, np.nan)
    failures = {}
    for k in np.flatnonzero(np.bincount(pair_of_row, minlength=len(factors))):
        from_unit, to_unit = from_names[k // width], to_units[k % width]
        try:
            factors[k] = units.conversion_factor(from_unit, to_unit)
        except units.UnitError as exc:
            failures[k] = (from_unit, to_unit, exc)
    out = values * factors[pair_of_row]
    reasons = {}
    for k, (from_unit, to_unit, exc) in failures.items():
        for i in np.flatnonzero(
            pair_of_row == k
        ):  # currencies: convert row by row with the year's rate
            try:
                out[i] = units.convert(
                    values[i], from_unit, to_unit, year=int(years[i]), rates=rates
                )
            except units.UnitError:
                reasons[i] = (
                    f"{exc}; no exchange rate for {years[i]} in rates.csv"
                    if units.currency_of(from_unit) and units.currency_of(to_unit)
                    else str(exc)
                )
    return out, reasons


def _converted(actuals: pd.DataFrame, indicator_units: pd.Series, rates: pd.DataFrame):
    """Indicator codes of the actuals, their values in the indicator's unit, and why not where
    impossible."""
    ind = _indicator_codes(actuals["indicator_id"], pd.Index(indicator_units.index))
    unit_codes, unit_names = pd.factorize(indicator_units)
    values, reasons = _to_unit(
        actuals["value"].to_numpy(dtype=float),
        actuals["unit"],
        unit_codes[ind],
        unit_names,
        actuals["year"].to_numpy(dtype=float),
        rates,
    )
    return ind, values, reasons


def primary_targets(plan) -> pd.DataFrame:
    """The targets the plan document itself sets (restatements elsewhere feed the checks)."""
    targets = plan.targets
    if plan.plan_source and (targets["source"] == plan.plan_source).any():
        return targets[targets["source"] == plan.plan_source]
    return targets.drop_duplicates(["indicator_id", "target_year"])


def level_targets(plan) -> pd.DataFrame:
    """The targets the level is judged against: the plan's own (primary_targets), except that a
    target with no actual of its measure in its year, where another source restates it in a
    measure that has one, is judged against that restatement (same measure on both sides; the
    confidence says the definition differs from the plan's)."""
    targets = primary_targets(plan)
    alternatives = plan.targets[_is_series_id(plan.targets["indicator_id"])]
    if alternatives.empty:
        return targets
    actuals = plan.actuals
    alt_ids = set(alternatives["indicator_id"].astype(str))
    observed = actuals[actuals["indicator_id"].isin(alt_ids).to_numpy()]
    have = set(zip(observed["indicator_id"].astype(str), observed["year"].astype(int)))
    primary_ids = targets["indicator_id"].astype(str)
    bases = set(alternatives["indicator_id"].astype(str).str.split(SEPARATOR).str[0])
    candidates = np.flatnonzero(primary_ids.isin(bases).to_numpy())
    if not len(candidates):
        return targets
    own = actuals[actuals["indicator_id"].isin(bases).to_numpy()]
    have_own = set(zip(own["indicator_id"].astype(str), own["year"].astype(int)))
    swapped = []
    for position in candidates:  # few: indicators restated in another measure
        series_id, year = primary_ids.iloc[position], int(targets["target_year"].iloc[position])
        row = None
        if (series_id, year) not in have_own:
            swap = alternatives[
                (alternatives["indicator_id"].astype(str).str.split(SEPARATOR).str[0] == series_id)
                & (alternatives["target_year"] == year)
            ]
            swap = swap[[(i, year) in have for i in swap["indicator_id"].astype(str)]]
            if len(swap):
                row = swap.iloc[[0]]
        swapped.append(row)
    if all(r is None for r in swapped):
        return targets
    pieces = [targets.iloc[[i]] if r is None else r for i, r in zip(candidates, swapped)]
    keep = np.ones(len(targets), dtype=bool)
    keep[candidates] = False
    order = np.concatenate([np.flatnonzero(keep), candidates])  # back into the plan's order below
    chosen = pd.concat([targets[keep], *pieces], ignore_index=True)
    chosen = chosen.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
    chosen["indicator_id"] = chosen["indicator_id"].astype(str).astype("category")
    return chosen


CONFIDENCE_LEVELS = ("high", "medium", "low")
RATE_DISAGREEMENT_PP = 5.0  # reported and computed rates further apart than this lower confidence


def with_confidence(
    table: pd.DataFrame,
    actuals: pd.DataFrame,
    used: np.ndarray,
    ind: np.ndarray,
    converted: np.ndarray,
) -> pd.DataFrame:
    """confidence (high/medium/low) and confidence_reasons_zh/_en for each row: high when several sources
    agree (within 1%), medium with one source; each of these lowers it one step: a correction
    applied, reported and computed rates disagreeing by more than RATE_DISAGREEMENT_PP points, a
    year basis estimated (report/inferred/section); a definition other than the plan target's
    makes it low. No actual: low."""
    n, has = len(table), used >= 0
    years = actuals["year"].to_numpy(dtype=np.int64)
    # Several rows for the series and year of the row used: counted with one bincount over codes.
    agree = np.zeros(n, dtype=bool)
    if has.any() and len(actuals):
        span = int(years.max() - years.min() + 1)
        key = np.where(ind >= 0, ind * span + (years - years.min()), -1)
        counts = np.bincount(key[key >= 0], minlength=int(key.max()) + 2 if len(key) else 1)
        several = np.flatnonzero(has)[counts[key[used[has]]] > 1]
        source_codes, _ = _factorize(actuals["source"])
        for i in several:  # few: only keys with several rows
            same = np.flatnonzero(key == key[used[i]])
            others = same[source_codes[same] != source_codes[used[i]]]
            agree[i] = len(others) > 0 and np.allclose(
                converted[others], converted[used[i]], rtol=0.01
            )
    # The year basis of each row's actual, as codes into its distinct values ("": none).
    if "year_basis" in actuals:
        basis_codes, bases = _factorize(actuals["year_basis"])
        basis_codes = np.append(basis_codes, -1)[used]  # -1: no actual, or no basis
        bases = np.append(np.asarray(pd.Index(bases).astype(str), dtype=object), "")
    else:
        basis_codes, bases = np.full(n, -1), np.array([""], dtype=object)
    basis = bases[basis_codes]  # an array of references to the few distinct texts
    estimated = has & np.isin(basis, ["report", "inferred", "section"])
    corrected_ = (
        table["actual_correction"].notna().to_numpy()
        | table["target_correction"].notna().to_numpy()
    )
    gap = (table["computed_rate"] - table["reported_rate"]).abs().to_numpy(dtype=float)
    disagree = np.nan_to_num(gap, nan=0.0) > RATE_DISAGREEMENT_PP
    differs = (table["measure"] != table["indicator_id"]).to_numpy(dtype=bool, na_value=False)
    level = np.where(has, np.where(agree, 0, 1), 2) + estimated + corrected_ + disagree
    level = np.where(differs, 2, np.minimum(level, 2))
    table["confidence"] = pd.array(list(CONFIDENCE_LEVELS), dtype="string").take(level)
    # Reasons, in each language from the catalogue: by combination code (few distinct), the
    # details only where a row needs them.
    code = has * 1 + agree * 2 + corrected_ * 4 + disagree * 8
    measure = table["measure"].astype(str)
    detailed = np.flatnonzero(estimated | differs)
    for lang in LANGUAGES:
        # Texts: the 16 phrases, then one per detailed row; each row takes its text by code.
        texts = [_confidence_phrase(c, lang) for c in range(16)]
        which = code.astype(np.int64)
        for i in detailed:
            how = t(f"year_basis.{basis[i]}", lang)
            extra = [t("confidence_reason.year_estimated", lang, basis=how)] if estimated[i] else []
            if differs[i]:
                extra.append(
                    t("confidence_reason.definition_differs", lang, measure=measure.iloc[i])
                )
            which[i] = len(texts)
            texts.append(REASON_SEPARATOR[lang].join([texts[code[i]], *extra]))
        table[f"confidence_reasons_{lang}"] = pd.array(texts, dtype="string").take(which)
    return table


REASON_SEPARATOR = {"zh": "；", "en": "; "}


def _confidence_phrase(code: int, lang: str) -> str:
    """The reasons a combination code stands for (bit 1: an actual; 2: several sources agree;
    4: a correction applied; 8: reported and computed rates disagree)."""
    if not code & 1:
        first = "confidence_reason.no_actual"
    else:
        first = "confidence_reason.sources_agree" if code & 2 else "confidence_reason.one_source"
    keys = [first]
    keys += ["confidence_reason.corrected"] if code & 4 else []
    keys += ["confidence_reason.rates_disagree"] if code & 8 else []
    return REASON_SEPARATOR[lang].join(t(k, lang) for k in keys)


def comparable_actuals(
    plan, to_unit_by_indicator: pd.Series, as_of: int | None = None, indicator_id: str | None = None
) -> pd.DataFrame:
    """Actuals (of one indicator, if given) as stated, with value_converted: the value assess
    uses (a recorded correction applied, see judge.measures.corrected), in the given unit of
    their indicator (NaN if impossible), correction_id where a correction was applied, and
    own_measure: False where the figure measures something else than its indicator (another
    definition: shown, never compared or joined to the indicator's own series)."""
    from plantrack.judge.measures import corrected, other_measure

    actuals = plan.actuals
    fixed = corrected(plan).actuals  # the same rows, in the same order
    keep = np.ones(len(actuals), dtype=bool)
    if indicator_id is not None:
        keep &= (actuals["indicator_id"] == indicator_id).to_numpy()
    if as_of is not None:
        keep &= (actuals["year"] <= as_of).to_numpy()
    actuals, fixed = actuals[keep], fixed[keep]
    ind, values, reasons = _converted(fixed, to_unit_by_indicator, plan.rates)
    notes = np.full(len(actuals), "", dtype=object)
    notes[list(reasons)] = list(reasons.values())
    fixes = (
        fixed["correction_id"].array if "correction_id" in fixed else _missing_strings(len(fixed))
    )
    return actuals.assign(
        _ind=ind,
        value_converted=values,
        convert_note=notes,
        correction_id=fixes,
        own_measure=~other_measure(actuals),
    )


ACTUAL_COLUMNS = {
    "year": "actual_year",
    "value": "actual_value",
    "unit": "actual_unit",
    "stated": "actual_stated",
    "source": "actual_source",
    "quote": "actual_quote",
    "locator": "actual_locator",
    "reported_rate": "reported_rate",
}


TARGET_COLUMNS = {
    "indicator_id": "indicator_id",
    "target_year": "target_year",
    "comparator": "comparator",
    "value": "target_value",
    "value_high": "target_value_high",
    "unit": "target_unit",
    "stated": "target_stated",
    "source": "target_source",
    "locator": "target_locator",
    "quote": "target_quote",
}


def _missing_strings(n: int) -> pd.api.extensions.ExtensionArray:
    """n missing values as a "string" column (taken, not parsed from a list of n)."""
    return pd.array([pd.NA], dtype="string").take(np.full(n, -1), allow_fill=True)


def _is_series_id(ids: pd.Series) -> np.ndarray:
    """True where an id is a series id (<indicator>::<measure>), each distinct id tested once."""
    codes, distinct = _factorize(ids)
    found = pd.Index(distinct).astype(str).str.contains(SEPARATOR, regex=False)
    return np.append(np.asarray(found, dtype=bool), False)[codes]


def _string(values):
    """A categorical column's values as plain strings (the categories taken by code: no re-parsing)."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return values
    return pd.array(values.categories, dtype="string").take(values.codes, allow_fill=True)


def assess(plan, as_of: int | None = None, *, flags: bool = True, found=None) -> pd.DataFrame:
    """One row per target the plan sets: the actual used, computed vs reported rate, status,
    trajectory, projection and confidence — every number that produced a status, so it can be
    redone by hand.

    plan: a Plan, a plan id, or a list of them (one table, told apart by plan_id).
    as_of: ignore actuals after this year (a what-if "as seen in YEAR"). The level is judged at
    the target year, so a later value changes only the trajectory and the projection.
    flags: add the `flags` column (the kinds of finding that touch the row; runs findings()).
    found: findings(plan) when the caller has them already (they are not computed again).

    Method (constants of this module):
    - level: completion rate = actual ÷ target (target ÷ actual when lower is better, e.g. ranks;
      a range is measured at its lower bound, its upper bound when lower is better); achieved at
      >= 100 %, or >= (1 - APPROX_TOLERANCE) for "~" (左右); exceeding an "=" target of a
      higher-is-better indicator counts as achieved. Only actuals of the target's measure are
      compared (a definition is data); recorded corrections (corrections.csv) are applied first.
      Status: achieved / not_achieved / no_data / not_comparable (units that cannot be converted).
    - trajectory (open-sdg, after Statistics Canada): observed CAGR from the base year to the
      latest year ÷ CAGR required to reach the target by the target year; >= ON_TRACK on_track,
      >= NEEDS_ACCELERATION needs_acceleration, >= LIMITED limited_progress, else deterioration;
      target_achieved when the latest value meets the target; insufficient_data with fewer than
      two years. The level (at the target year) and the trajectory (latest value) can differ:
      trajectory_reason says why.
    - projection (ESCAP): see plantrack.judge.projection.
    - confidence: see with_confidence().

    Columns: plan_id, indicator_id, sector, name_zh, name_en, direction, target_year,
    comparator, target_value, target_value_high, target_unit, target_stated, target_source,
    target_locator, target_quote, actual_year, actual_value, actual_unit, actual_stated,
    actual_source, actual_locator, actual_quote, actual_in_target_unit, computed_rate,
    reported_rate, rate_gap (computed - reported, points), status, status_note,
    trajectory_status, trajectory_ratio, trajectory_cagr_observed, trajectory_cagr_required,
    trajectory_base_year, trajectory_current_year, trajectory_reason, measure,
    target_correction, actual_correction, projection_value, projection_gap, projection_reaches,
    projection_method, projection_reason, confidence, confidence_reasons_zh,
    confidence_reasons_en, flags.

    The actuals are handled as arrays of positions and codes; only the rows a target uses are
    ever copied whole, so a million actual rows cost a few vectorised passes.
    """
    from plantrack.judge.measures import by_measure, corrected

    if isinstance(plan, (list, tuple)):  # several plans: one table, told apart by plan_id
        return pd.concat([assess(p, as_of, flags=flags) for p in plan], ignore_index=True)
    if isinstance(plan, str):
        from plantrack.data.package import load_plan

        plan = load_plan(plan)
    stated_plan = plan
    plan = by_measure(corrected(plan))
    targets = level_targets(plan)
    indicators = plan.indicators.set_index("indicator_id")
    at = _indicator_codes(targets["indicator_id"], indicators.index)
    target_year = targets["target_year"].to_numpy(dtype=np.int64)
    out = {"plan_id": words(np.zeros(len(targets)), [plan.plan_id])}
    out.update({new: _string(targets[old].array) for old, new in TARGET_COLUMNS.items()})
    out["target_year"] = target_year
    for column in ("sector", "name_zh", "name_en", "direction"):
        out[column] = indicators[column].array.take(at)

    actuals = plan.actuals
    if as_of is not None:
        actuals = actuals[actuals["year"] <= as_of]
    ind, converted, reasons = _converted(actuals, indicators["unit"], plan.rates)
    table, first_year = _chosen_rows(
        ind,
        actuals["year"].to_numpy(dtype=np.int64),
        actuals["reported_rate"].notna().to_numpy(),
        len(indicators),
    )

    # The actual used for the level: the target year's row (-1 if none).
    year_column = target_year - first_year
    inside = (at >= 0) & (year_column >= 0) & (year_column < table.shape[1])
    used = np.where(inside, table[np.where(inside, at, 0), np.where(inside, year_column, 0)], -1)
    for old, new in ACTUAL_COLUMNS.items():
        out[new] = _string(actuals[old].array.take(used, allow_fill=True))
    value_converted = np.append(converted, np.nan)[used]  # -1 (no actual) picks the NaN
    convert_note = np.array([reasons.get(i, "") for i in used], dtype=object) if reasons else None

    # Bring the actual into the target's unit (the indicator unit may differ from the target's).
    unit_factor = pair_factors(indicators["unit"].array.take(at), targets["unit"].array)
    actual = value_converted * unit_factor
    out["actual_in_target_unit"] = actual
    higher = (out["direction"] == "higher").to_numpy(dtype=bool, na_value=False)
    comparator = targets["comparator"].to_numpy()
    low, high = targets["value"].to_numpy(dtype=float), targets["value_high"].to_numpy(dtype=float)
    ratio = completion_rate(actual, rate_threshold(comparator, low, high, higher), higher) / 100.0
    needed = np.where(comparator == "~", 1.0 - APPROX_TOLERANCE, 1.0)
    has_actual, comparable = used >= 0, ~np.isnan(actual)
    out["computed_rate"] = np.where(comparable, np.round(ratio * 100.0, 2), np.nan)
    out["status"] = words(
        np.select(
            [~has_actual, ~comparable, ratio >= needed - 1e-9],
            [LEVEL_STATUSES.index(s) for s in ("no_data", "not_comparable", "achieved")],
            default=LEVEL_STATUSES.index("not_achieved"),
        ),
        LEVEL_STATUSES,
    )
    if reasons:
        out["status_note"] = pd.array(np.where(has_actual, convert_note, ""), dtype="str")
    else:
        out["status_note"] = words(np.zeros(len(used)), [""])

    # Trajectory: each indicator's first and latest usable value from the base year on.
    grid = np.append(converted, np.nan)[table]  # indicator × year values; -1 picks the NaN
    if plan.base_year:
        grid[:, : max(0, int(plan.base_year) - first_year)] = np.nan
    valid = ~np.isnan(grid)
    first_col, last_col = valid.argmax(axis=1), grid.shape[1] - 1 - valid[:, ::-1].argmax(axis=1)
    count = np.where(valid.any(axis=1), np.where(first_col == last_col, 1, 2), 0)
    rows_of = np.arange(len(grid))
    ends = pd.DataFrame(
        {
            "by": np.where(count > 0, first_year + first_col, np.nan),
            "bv": grid[rows_of, first_col],
            "cy": np.where(count > 0, first_year + last_col, np.nan),
            "cv": grid[rows_of, last_col],
            "n": count,
        }
    ).reindex(at)  # an unknown indicator (-1) gets NaN
    goals = pd.DataFrame(
        {
            "key": np.arange(len(targets)),
            "target": rate_threshold(comparator, low, high, higher),
            "target_year": target_year.astype(float),
            "sign": np.where(higher, 1.0, -1.0),
            "by": ends["by"].to_numpy(),
            "bv": ends["bv"].to_numpy() * unit_factor,
            "cy": ends["cy"].to_numpy(),
            "cv": ends["cv"].to_numpy() * unit_factor,
            "n": ends["n"].to_numpy(),
        }
    )
    trajectories = judge_trajectories(goals)  # one row per goal, in the targets' order
    for name in (
        "status",
        "ratio",
        "cagr_observed",
        "cagr_required",
        "base_year",
        "current_year",
        "reason",
    ):
        out[f"trajectory_{name}"] = trajectories[name].array  # text stays text: no re-parsing
    for name in ("trajectory_base_year", "trajectory_current_year"):
        out[name] = pd.array(out[name], dtype="Int64")
    out.update(
        project_ends(
            goals["by"],
            goals["bv"],
            goals["cy"],
            goals["cv"],
            goals["target"],
            goals["target_year"],
            higher,
        )
    )
    # Series ids back to the indicator and its measure (see judge/measures.py).
    series = pd.Series(out["indicator_id"], dtype="string")
    if plan.indicators["indicator_id"].astype(str).str.contains(SEPARATOR, regex=False).any():
        out["indicator_id"] = _string(series.str.split(SEPARATOR, n=1).str[0].array)
        out["measure"] = _string(series.str.split(SEPARATOR, n=1).str[-1].array)
    else:
        out["measure"] = out["indicator_id"]
    out["target_correction"] = (
        pd.array(targets["correction_id"], dtype="string")
        if "correction_id" in targets
        else _missing_strings(len(targets))
    )
    out["actual_correction"] = (
        _string(actuals["correction_id"].array.take(used, allow_fill=True))
        if "correction_id" in actuals
        else _missing_strings(len(targets))
    )
    table = pd.DataFrame({column: out[column] for column in ASSESSED_COLUMNS if column in out})
    table = with_confidence(table, actuals, used, ind, converted)
    # A level without data beside a judged trajectory: say why they differ (not a contradiction).
    later = (table["status"] == "no_data") & table["trajectory_current_year"].notna()
    if later.any():
        note = (
            "no actual for the target year; the trajectory judges the latest value ("
            + table.loc[later, "trajectory_current_year"].astype(str)
            + ")"
        )
        table["status_note"] = table["status_note"].astype("string")
        table.loc[later, "status_note"] = note.to_numpy()
    table.insert(
        table.columns.get_loc("reported_rate") + 1,
        "rate_gap",
        table["computed_rate"] - table["reported_rate"],
    )
    if flags:
        from plantrack.judge.findings import plan_findings

        if found is None:
            # No correction, measure or year cut changed the actuals: findings reuse their codes
            # and converted values.
            same = plan is stated_plan and as_of is None
            found = plan_findings(stated_plan, (ind, converted) if same else None)
        table["flags"] = finding_flags(table, found)
    table["projection_reaches"] = table["projection_reaches"].astype("boolean")
    return one_string_dtype(table)


def one_string_dtype(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as pandas' "string" dtype (missing: <NA>) and yes/no columns as "boolean":
    one dtype for text throughout, so tables concatenate, compare and export alike."""
    for column in frame.columns:
        dtype = frame[column].dtype
        if isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA:
            continue
        if isinstance(dtype, pd.StringDtype):  # text whose missing value is NaN: never yes/no
            frame[column] = frame[column].astype("string")
        elif pd.api.types.is_object_dtype(dtype):
            values = frame[column]
            present = values.dropna()
            # all(...) stops at the first value that is not a bool: a text column costs one look
            if len(present) and all(type(v) is bool for v in present):
                frame[column] = values.astype("boolean")
            else:
                frame[column] = values.astype("string")
    return frame


def _touching_pairs(assessed: pd.DataFrame, found: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The (assessed row, finding) position pairs of findings_on_rows, ordered by row, then by
    finding: the rows of an indicator with findings merged with those findings, then a test of
    the years over whole arrays."""
    indicators = assessed["indicator_id"].astype(str)
    found_indicators = found["indicator_id"].astype(str).to_numpy(dtype=object)
    candidates = np.flatnonzero(indicators.isin(found_indicators).to_numpy(dtype=bool))
    rows = pd.DataFrame(
        {"indicator": indicators.to_numpy(dtype=object)[candidates], "row": candidates}
    )
    hits = pd.DataFrame({"indicator": found_indicators, "finding": np.arange(len(found))})
    pairs = rows.merge(hits, on="indicator")
    row = pairs["row"].to_numpy(dtype=np.int64)
    finding = pairs["finding"].to_numpy(dtype=np.int64)
    year = _years(found["year"])[finding]
    target_year = _years(assessed["target_year"])[row]
    actual_year = _years(assessed["actual_year"])[row]
    touches = np.isnan(year) | (year == target_year) | (year == actual_year)
    row, finding = row[touches], finding[touches]
    order = np.lexsort((finding, row))
    return row[order], finding[order]


def _years(values) -> np.ndarray:
    """Years as floats (NaN where missing), so that they compare over whole arrays."""
    return pd.Series(values).astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def findings_on_rows(assessed: pd.DataFrame, found: pd.DataFrame) -> list[list[int]]:
    """For each assessed row, the positions in `found` of the findings about its numbers: same
    indicator, and a year that is the target's or the actual's (or no year: the whole indicator)."""
    touching: list[list[int]] = [[] for _ in range(len(assessed))]
    row, finding = _touching_pairs(assessed, found)
    for i, k in zip(row.tolist(), finding.tolist()):
        touching[i].append(k)
    return touching


def finding_flags(assessed: pd.DataFrame, found: pd.DataFrame) -> pd.arrays.StringArray:
    """The kinds of finding that touch each assessed row (findings_on_rows), comma-separated;
    empty when none."""
    out = np.full(len(assessed), "", dtype=object)
    row, finding = _touching_pairs(assessed, found)
    if len(row):
        kinds = pd.DataFrame({"row": row, "kind": found["kind"].astype(str).to_numpy()[finding]})
        joined = kinds.drop_duplicates().groupby("row", sort=False)["kind"].agg(", ".join)
        out[joined.index.to_numpy()] = joined.to_numpy()
    return pd.array(out, dtype="string")


ASSESSED_COLUMNS = [
    "plan_id",
    "indicator_id",
    "sector",
    "name_zh",
    "name_en",
    "direction",
    "target_year",
    "comparator",
    "target_value",
    "target_value_high",
    "target_unit",
    "target_stated",
    "target_source",
    "target_locator",
    "target_quote",
    "actual_year",
    "actual_value",
    "actual_unit",
    "actual_stated",
    "actual_source",
    "actual_locator",
    "actual_quote",
    "actual_in_target_unit",
    "computed_rate",
    "reported_rate",
    "status",
    "status_note",
    "trajectory_status",
    "trajectory_ratio",
    "trajectory_cagr_observed",
    "trajectory_cagr_required",
    "trajectory_base_year",
    "trajectory_current_year",
    "trajectory_reason",
    "measure",
    "target_correction",
    "actual_correction",
    "projection_value",
    "projection_gap",
    "projection_reaches",
    "projection_method",
    "projection_reason",
]


def _chosen_rows(
    ind: np.ndarray, year: np.ndarray, has_rate: np.ndarray, indicators: int
) -> tuple[np.ndarray, int]:
    """The actual row used for each indicator and year, as a dense indicator × year table (-1:
    none; years span little), and the table's first year.

    Of several rows for the same indicator and year, the first with a reported rate (the
    formal table) wins, else the first: rows are written in reverse, so the first is written last.
    """
    first_year = int(year.min()) if len(year) else 0
    span = int(year.max()) - first_year + 1 if len(year) else 1
    table = np.full(
        (indicators + 1, span), -1, dtype=np.int64
    )  # last row: ids no indicator has (-1)
    rows, column = np.arange(len(ind)), year - first_year
    table[ind[::-1], column[::-1]] = rows[::-1]
    rated = rows[has_rate][::-1]
    table[ind[rated], column[rated]] = rated
    return table[:-1], first_year


def pair_factors(from_units, to_units) -> np.ndarray:
    """Conversion factor for each (from, to) unit pair; NaN where the units cannot convert."""
    from_codes, from_names = _factorize(pd.array(from_units))
    to_codes, to_names = _factorize(pd.array(to_units))
    table = np.array([[_factor(f, t) for t in to_names] for f in from_names]).reshape(
        len(from_names), len(to_names)
    )
    if not len(from_codes):
        return np.array([], dtype=float)
    known = (from_codes >= 0) & (to_codes >= 0)  # a missing unit (code -1) converts to nothing
    return np.where(
        known,
        table[np.maximum(from_codes, 0), np.maximum(to_codes, 0)] if table.size else np.nan,
        np.nan,
    )


def _factor(from_unit: str, to_unit: str) -> float:
    try:
        return units.conversion_factor(from_unit, to_unit)
    except units.UnitError:
        return math.nan


def required_paths(assessed, first_values, unit: str) -> list[tuple[dict, dict[int, float]]]:
    """The path each assessed target required, in `unit` (its indicator's: the charts draw in it).

    From the trajectory's base year to the target's threshold in its target year (rate_threshold:
    a range's lower bound, its upper bound when lower is better), converted into `unit`, by
    projection.required_path (constant growth; a straight line where a value is not above zero).
    assessed: assess() rows of one indicator (a DataFrame or records); first_values: {year: the
    indicator's first actual of that year, in `unit`} — the base value. One (row, {year: value})
    per target that has a path (its base year has a value and comes before its target year)."""
    rows = assessed.to_dict("records") if isinstance(assessed, pd.DataFrame) else list(assessed)
    factors = pair_factors([r["target_unit"] for r in rows], [unit] * len(rows)) if rows else []
    paths = []
    for r, factor in zip(rows, factors):
        base = r["trajectory_base_year"]
        if pd.isna(base) or int(base) not in first_values:
            continue
        low, high = (
            np.nan if pd.isna(r[k]) else r[k] for k in ("target_value", "target_value_high")
        )
        goal = float(rate_threshold(r["comparator"], low, high, r["direction"] == "higher"))
        path = required_path(base, first_values[int(base)], r["target_year"], goal * factor)
        if path:
            paths.append((r, path))
    return paths


def status_counts(assessed: pd.DataFrame, by: str = "sector") -> pd.DataFrame:
    """Targets per status (columns) for each value of `by` (rows)."""
    table = assessed.pivot_table(
        index=by, columns="status", values="indicator_id", aggfunc="count", fill_value=0
    )
    return table.reindex(
        columns=[s for s in LEVEL_STATUSES if s in table.columns] or list(table.columns)
    )
