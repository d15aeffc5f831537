"""Tables a researcher asks for in one call: every figure in one long table (tidy), and one
concept lined up across plans (across_plans)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from plantrack.data import units

TIDY_COLUMNS = [
    "plan_id",
    "indicator_id",
    "sector",
    "name_zh",
    "name_en",
    "concept",
    "kind",
    "year",
    "comparator",
    "value",
    "value_high",
    "unit",
    "value_in_indicator_unit",
    "indicator_unit",
    "stated",
    "name_as_stated",
    "measure",
    "reported_rate",
    "source",
    "source_file",
    "locator",
    "year_basis",
    "quote",
    "correction_id",
    "value_used",
]


def _plans(plan) -> list:
    from plantrack.data.package import list_plans, load_plan

    if plan is None:
        plan = list_plans()
    items = plan if isinstance(plan, (list, tuple)) else [plan]
    return [load_plan(p) if isinstance(p, str) else p for p in items]


def tidy(plan=None) -> pd.DataFrame:
    """Every target and actual as one long table, values and units exactly as stated, with the
    value converted into the indicator's unit beside them (NaN where no conversion exists).

    plan: a Plan, a plan id, a list of them, or None for every plan.
    Columns: TIDY_COLUMNS — kind is "target" or "actual"; year is the target year for a target;
    measure is what the figure measures (the indicator's id for its own measure); correction_id
    and value_used say where corrections.csv replaces a stated value.
    """
    from plantrack.judge.measures import corrected

    frames = []
    for p in _plans(plan):
        indicators = p.indicators.set_index("indicator_id")
        files = p.sources.set_index("source_id")["file"]
        fixed = corrected(p)  # the same rows, in the same order, with corrections applied
        for kind, table, year in (
            ("target", p.targets, "target_year"),
            ("actual", p.actuals, "year"),
        ):
            frame = pd.DataFrame(
                {
                    c: table[c].astype(object) if c in table else None
                    for c in (
                        "indicator_id",
                        "comparator",
                        "value",
                        "value_high",
                        "unit",
                        "stated",
                        "name_as_stated",
                        "measure",
                        "reported_rate",
                        "source",
                        "locator",
                        "year_basis",
                        "quote",
                    )
                }
            )
            frame["year"] = table[year].to_numpy()
            frame["kind"] = kind
            frame["measure"] = frame["measure"].where(
                frame["measure"].notna(), frame["indicator_id"]
            )
            info = indicators.reindex(frame["indicator_id"].astype(str))
            for column in ("sector", "name_zh", "name_en"):
                frame[column] = info[column].to_numpy()
            frame["concept"] = info["concept"].to_numpy() if "concept" in info else None
            frame["indicator_unit"] = info["unit"].to_numpy()
            frame["value_in_indicator_unit"] = _converted(
                frame["value"], frame["unit"], frame["indicator_unit"], frame["year"], p.rates
            )
            frame["source_file"] = frame["source"].map(files)
            used = fixed.tables[f"{kind}s"]
            if "correction_id" in used:
                frame["correction_id"] = used["correction_id"].to_numpy()
                frame["value_used"] = np.where(
                    used["correction_id"].notna(), used["value"].to_numpy(dtype=float), np.nan
                )
            else:
                frame["correction_id"], frame["value_used"] = None, np.nan
            frame["plan_id"] = p.plan_id
            frames.append(frame)
    out = pd.concat(frames, ignore_index=True)[TIDY_COLUMNS]
    strings = [
        c
        for c in TIDY_COLUMNS
        if c
        not in (
            "year",
            "value",
            "value_high",
            "value_in_indicator_unit",
            "reported_rate",
            "value_used",
        )
    ]
    out = out.astype({c: "string" for c in strings})
    out["year"] = out["year"].astype("Int64")
    return out.astype(
        {
            c: "float64"
            for c in (
                "value",
                "value_high",
                "value_in_indicator_unit",
                "reported_rate",
                "value_used",
            )
        }
    )


def _converted(values, from_units, to_units, years, rates) -> np.ndarray:
    """Each value in its indicator's unit (NaN where no conversion exists): one conversion factor
    per distinct (unit, unit, year), not one pint call per row."""
    keys = list(zip(from_units.astype(str), to_units.astype(str), years))
    factors = {}
    for key in dict.fromkeys(keys):
        try:
            factors[key] = units.convert(1.0, key[0], key[1], year=int(key[2]), rates=rates)
        except (units.UnitError, TypeError, ValueError):
            factors[key] = np.nan
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
    return numbers * np.array([factors[k] for k in keys], dtype=float)


def across_plans(concept: str, plans=None) -> pd.DataFrame:
    """One concept (data/concepts.csv, e.g. "fibre_coverage") lined up across plans: each
    plan's targets of it with the actual used, the latest actual and the status.

    Columns: plan_id, indicator_id, name_zh, name_en, target_year, comparator, target_value,
    target_unit, target_stated, actual_year, actual_value, actual_unit, latest_year,
    latest_value, latest_unit, status, trajectory_status, confidence. Empty when no plan has it.
    """
    from plantrack.judge.progress import assess

    rows = []
    for p in _plans(plans):
        if "concept" not in p.indicators:
            continue
        ids = set(p.indicators.loc[p.indicators["concept"] == concept, "indicator_id"].astype(str))
        if not ids:
            continue
        assessed = assess(p, flags=False)
        assessed = assessed[assessed["indicator_id"].isin(ids)].copy()
        actuals = p.actuals[p.actuals["indicator_id"].astype(str).isin(ids)].sort_values("year")
        latest = (
            actuals.assign(indicator_id=actuals["indicator_id"].astype(str))
            .drop_duplicates("indicator_id", keep="last")
            .set_index("indicator_id")
        )
        assessed["latest_year"] = (
            assessed["indicator_id"].map(latest["year"]) if len(latest) else pd.NA
        )
        assessed["latest_value"] = (
            assessed["indicator_id"].map(latest["value"]) if len(latest) else np.nan
        )
        assessed["latest_unit"] = (
            assessed["indicator_id"].map(latest["unit"].astype(str)) if len(latest) else pd.NA
        )
        rows.append(assessed)
    columns = [
        "plan_id",
        "indicator_id",
        "name_zh",
        "name_en",
        "target_year",
        "comparator",
        "target_value",
        "target_unit",
        "target_stated",
        "actual_year",
        "actual_value",
        "actual_unit",
        "latest_year",
        "latest_value",
        "latest_unit",
        "status",
        "trajectory_status",
        "confidence",
    ]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.concat(rows, ignore_index=True)[columns]
