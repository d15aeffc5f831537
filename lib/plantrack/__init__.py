"""plantrack: track a plan's targets against what actually happened.

import plantrack
plan = plantrack.load_plan("zhejiang-internet-plus-2016")
plantrack.assess(plan)      # one row per target: actual, rates, status, trajectory
plantrack.findings(plan)    # where the sources disagree
result = plantrack.ingest(plan.plan_id, rows, dry_run=True)   # a what-if, nothing written:
result.plan, result.changes, result.new_findings             # the plan, status changes, new findings
"""

import importlib

# Each public name and the module that defines it, imported on first use: `import plantrack`
# stays cheap (the command line starts fast; Altair and pint load only for what needs them).
_EXPORTS = {
    "DataError": "plantrack.errors",
    "Plan": "plantrack.data.package",
    "list_plans": "plantrack.data.package",
    "load_plan": "plantrack.data.package",
    "ingest": "plantrack.judge.whatif",  # the data layer's ingest, judged (status changes, findings)
    "status_changes": "plantrack.judge.whatif",
    "new_findings": "plantrack.judge.whatif",
    "assess": "plantrack.judge.progress",
    "status_counts": "plantrack.judge.progress",
    "trajectory": "plantrack.judge.progress",
    "Trajectory": "plantrack.judge.progress",
    "findings": "plantrack.judge.findings",
    "projection": "plantrack.judge.projection",
    "Projection": "plantrack.judge.projection",
    "tidy": "plantrack.judge.research",
    "across_plans": "plantrack.judge.research",
}
_MODULES = {"charts": "plantrack.present.charts"}

__all__ = sorted([*_EXPORTS, *_MODULES])
__version__ = "0.1.0"


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    else:
        raise AttributeError(f"module 'plantrack' has no attribute {name!r}")
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__():
    return sorted([*globals(), *__all__])
