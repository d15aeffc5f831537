"""plantrack: track a plan's targets against what actually happened.

import plantrack
plan = plantrack.load_plan("zhejiang-internet-plus-2016")
plantrack.assess(plan)      # one row per target: actual, rates, status, trajectory
plantrack.findings(plan)    # where the sources disagree
"""

from plantrack.data.ingest import ingest
from plantrack.data.package import Plan, list_plans, load_plan
from plantrack.errors import DataError
from plantrack.judge.findings import findings
from plantrack.judge.progress import Trajectory, assess, status_counts, trajectory
from plantrack.judge.projection import Projection, projection
from plantrack.judge.research import across_plans, tidy

__all__ = [
    "DataError",
    "Projection",
    "across_plans",
    "charts",
    "projection",
    "tidy",
    "Plan",
    "Trajectory",
    "assess",
    "findings",
    "ingest",
    "list_plans",
    "load_plan",
    "status_counts",
    "trajectory",
]
__version__ = "0.1.0"


def __getattr__(name):
    # plantrack.charts on first use only: Altair is slow to import and most callers never draw.
    if name == "charts":
        from plantrack.present import charts

        return charts
    raise AttributeError(f"module 'plantrack' has no attribute {name!r}")
