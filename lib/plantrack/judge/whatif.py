"""What-ifs: what new actuals change, judged by the same rules as everything else.

`status_changes(before, after)` compares `assess` of two versions of a plan, target by target;
`new_findings(before, after)` lists the findings only the second raises. `ingest` is
`plantrack.ingest`: the data layer's ingest (plantrack.data.ingest, which checks and writes the
rows and never imports this layer) with both filled in before anything is written, so one call
gives a researcher the what-if plan, its status changes and its new findings:

    result = plantrack.ingest("zhejiang-internet-plus-2016", rows, dry_run=True)
    result.plan       # the plan with the rows: plantrack.assess(result.plan)
    result.changes    # one row per target whose status, trajectory or computed rate changes
    result.new_findings
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from plantrack.data import ingest as data_ingest
from plantrack.judge.findings import findings
from plantrack.judge.progress import assess

STATUS_CHANGE_COLUMNS = [
    "indicator_id",
    "target_year",
    "status_before",
    "status_after",
    "trajectory_before",
    "trajectory_after",
    "computed_rate_before",
    "computed_rate_after",
]
_COMPARED = {
    "status": "status",
    "trajectory": "trajectory_status",
    "computed_rate": "computed_rate",
}


def _by_target(plan, as_of) -> pd.DataFrame:
    """assess's status, trajectory and computed rate, keyed by target (indicator, year, and the
    n-th target of that pair: a plan may set two)."""
    rows = assess(plan, as_of=as_of, flags=False)
    table = pd.DataFrame(
        {
            "indicator_id": rows["indicator_id"].astype(str).to_numpy(),
            "target_year": rows["target_year"].astype("Int64").to_numpy(),
            **{name: rows[column].to_numpy() for name, column in _COMPARED.items()},
        }
    )
    table["nth"] = table.groupby(["indicator_id", "target_year"]).cumcount()
    return table


def status_changes(before, after, *, as_of: int | None = None) -> pd.DataFrame:
    """One row per target whose status, trajectory or computed rate differs between two versions
    of a plan (e.g. `plan` and `plan.with_actuals(rows)`), in the plan's order of targets.

    before, after: Plans (or plan ids); as_of: as for assess. A target only one of them sets is
    listed with the other side missing. Computed rates are compared as numbers (a difference
    below a millionth of a point is none).

    Columns: indicator_id, target_year, status_before, status_after, trajectory_before,
    trajectory_after (assess's trajectory_status), computed_rate_before, computed_rate_after
    (percent).
    """
    old, new = _by_target(before, as_of), _by_target(after, as_of)
    # the after plan's order of targets; a target only the before plan sets goes last
    new["_order"], old["_order_before"] = np.arange(len(new)), len(new) + np.arange(len(old))
    both = new.merge(
        old, on=["indicator_id", "target_year", "nth"], how="outer", suffixes=("_after", "_before")
    )
    both["_order"] = both["_order"].fillna(both["_order_before"])
    changed = np.zeros(len(both), dtype=bool)
    for name in ("status", "trajectory"):
        b, a = both[f"{name}_before"], both[f"{name}_after"]
        changed |= (b.isna() != a.isna()).to_numpy() | (
            b.notna() & a.notna() & (b.astype(str) != a.astype(str))
        ).to_numpy()
    rate_b = both["computed_rate_before"].astype(float).to_numpy()
    rate_a = both["computed_rate_after"].astype(float).to_numpy()
    changed |= ~np.isclose(rate_b, rate_a, rtol=0, atol=1e-6, equal_nan=True)
    out = both[changed].sort_values("_order", kind="stable")
    out = out.assign(
        computed_rate_before=out["computed_rate_before"].astype(float),
        computed_rate_after=out["computed_rate_after"].astype(float),
    )
    for column in ("status_before", "status_after", "trajectory_before", "trajectory_after"):
        out[column] = out[column].astype("string")
    return out[STATUS_CHANGE_COLUMNS].reset_index(drop=True)


def new_findings(before, after, *, found_before=None, found_after=None) -> pd.DataFrame:
    """The findings `after` raises that `before` does not (same indicator, kind and message);
    the columns of plantrack.findings. found_before/found_after: findings already computed."""
    old = findings(before) if found_before is None else found_before
    new = findings(after) if found_after is None else found_after
    seen = set(zip(old["indicator_id"], old["kind"], old["message_en"]))
    fresh = [key not in seen for key in zip(new["indicator_id"], new["kind"], new["message_en"])]
    return new[fresh].reset_index(drop=True)


def review(before, after) -> dict:
    """What `plantrack.ingest` reports on a sheet's rows: new findings and status changes."""
    return dict(new_findings=new_findings(before, after), changes=status_changes(before, after))


def ingest(plan_id: str, data, *, replace: bool = False, dry_run: bool = False):
    """Add a sheet of actuals (a CSV/XLSX file, or a pandas DataFrame with the same columns) to a
    plan's data package, all or nothing; with dry_run, write nothing (a what-if).

    Every row passes the checks of plantrack.data.ingest.prepare (known indicator, convertible
    unit, plausible year, the value inside the quote, no duplicate unless `replace`...); a
    mistake is a DataError naming the file (<DataFrame> for a frame), the row (the header is row
    1) and the column, and nothing is written.

    Returns an IngestResult: plan_id; added (the rows as actuals.csv holds them); replaced (how
    many existing rows they replace); new_sources; written; plan (the plan with the rows:
    `plantrack.assess(result.plan)`); new_findings (the findings only the new rows raise, with
    the columns of plantrack.findings); changes (status_changes: indicator_id, target_year,
    status_before, status_after, trajectory_before, trajectory_after, computed_rate_before,
    computed_rate_after). `print(result.summary())` says it in lines.
    """
    return data_ingest.ingest(plan_id, data, replace=replace, dry_run=dry_run, review=review)
