"""What a rate compares: the plan's figures with their recorded corrections applied, and each
series kept to one measure (a definition is data: a rate is never computed across measures).

corrected(plan): targets and actuals with `value`/`unit` replaced where corrections.csv records
an error (the stated value stays in `stated`), and a `correction_id` column naming the fix.
by_measure(plan): a figure whose `measure` is not its indicator's own is given the series id
"<indicator_id>::<measure>", so every later step (level, trajectory, projection, charts) sees
one series per measure; `series_indicator(id)` maps back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEPARATOR = "::"


def series_indicator(series_id: str) -> str:
    return str(series_id).split(SEPARATOR, 1)[0]


def measure_of(frame: pd.DataFrame) -> pd.Series:
    """What each row measures: its `measure`, or its indicator's id where it measures that."""
    ids = frame["indicator_id"].astype("string")
    if "measure" not in frame:
        return ids
    return frame["measure"].astype("string").fillna(ids).mask(lambda m: m == "", ids)


def corrected(plan):
    """The plan with its corrections applied (a copy; the files are untouched)."""
    corrections = plan.tables.get("corrections")
    if corrections is None or corrections.empty:
        return plan
    from plantrack.data.package import Plan

    tables = dict(plan.tables)
    for table, year_column in (("targets", "target_year"), ("actuals", "year")):
        rows = corrections[corrections["table"] == table]
        if rows.empty:
            continue
        frame = tables[table].copy()
        frame["unit"] = frame["unit"].astype("string")
        frame["correction_id"] = pd.array([pd.NA] * len(frame), dtype="string")
        measure = measure_of(frame)
        for fix in rows.itertuples(index=False):
            hit = (
                (frame["indicator_id"].astype("string") == fix.indicator_id)
                & (frame[year_column] == fix.year)
                & (frame["source"].astype("string") == fix.source)
                & (frame["stated"] == fix.stated)
            )
            if isinstance(fix.measure, str) and fix.measure:
                hit &= measure == fix.measure
            frame.loc[hit, "value"] = float(fix.value_used)
            frame.loc[hit, "unit"] = fix.unit
            frame.loc[hit, "correction_id"] = fix.correction_id
        frame["unit"] = frame["unit"].astype("category")
        tables[table] = frame
    return Plan(plan.plan_id, plan.path, plan.meta, plan.content_hash, tables)


def other_measure(frame: pd.DataFrame) -> np.ndarray:
    """True where a row measures something else than its indicator (its `measure` is given and
    is not the indicator's id). Only those rows' texts are compared: a table of a million rows
    that keeps the default measure costs one pass over the column."""
    other = np.zeros(len(frame), dtype=bool)
    if "measure" not in frame:
        return other
    measure = frame["measure"]
    # Most rows leave it missing: only the present ones are read as text.
    present = np.flatnonzero(measure.notna().to_numpy(dtype=bool))
    if not len(present):  # taking even no rows of a million-row text column costs a pass
        return other
    given = present[(measure.iloc[present].astype(str) != "").to_numpy(dtype=bool)]
    if len(given):
        ids = frame["indicator_id"].iloc[given].astype(str).to_numpy()
        other[given] = measure.iloc[given].astype(str).to_numpy() != ids
    return other


def by_measure(plan):
    """The plan with one series per (indicator, measure): see the module's docstring."""
    from plantrack.data.package import Plan

    tables = dict(plan.tables)
    extra = []
    indicators = plan.indicators.set_index("indicator_id", drop=False)
    for table in ("targets", "actuals"):
        frame = tables[table]
        if "measure" not in frame:
            continue
        other = other_measure(frame)
        if not other.any():
            continue
        frame = frame.copy()
        ids = frame["indicator_id"].astype("string")
        series = ids.where(~other, ids + SEPARATOR + measure_of(frame))
        frame["indicator_id"] = series.astype("category")
        tables[table] = frame
        extra += list(pd.unique(series[other]))
    if not extra:
        return plan
    rows = []
    for series_id in dict.fromkeys(extra):
        base = series_indicator(series_id)
        if base in indicators.index:
            rows.append(indicators.loc[base].to_dict() | {"indicator_id": series_id})
    tables["indicators"] = pd.concat([plan.indicators, pd.DataFrame(rows)], ignore_index=True)
    return Plan(plan.plan_id, plan.path, plan.meta, plan.content_hash, tables)
