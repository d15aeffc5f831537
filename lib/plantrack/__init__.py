"""plantrack: track a plan's targets against what actually happened.

    import plantrack
    plan = plantrack.load_plan("zhejiang-internet-plus-2016")
    plantrack.assess(plan)      # one row per target: actual, rates, status, trajectory
    plantrack.findings(plan)    # where the sources disagree
"""
from .errors import DataError
from .data import Plan, list_plans, load_plan
from .progress import Trajectory, assess, status_counts, trajectory
from .checks import findings
from .ingestion import ingest

__all__ = ["DataError", "Plan", "Trajectory", "assess", "findings", "ingest", "list_plans", "load_plan", "status_counts", "trajectory"]
__version__ = "0.1.0"
