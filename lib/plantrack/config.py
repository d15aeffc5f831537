"""The project's settings in one place: where things live, the default plan, the languages.

Every module reads these names from here; environment variables override the paths so a
deployment (or a test) can point plantrack at other data or another outputs folder.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository (lib/plantrack/config.py)
NOTEBOOKS = ROOT / "notebooks"
SECTOR_NOTEBOOK = NOTEBOOKS / "sector.ipynb"
SUMMARY_NOTEBOOK = NOTEBOOKS / "summary.ipynb"
PARAMS_DIR = ROOT / "params"
KERNEL = "plantrack"  # the Jupyter kernel every notebook runs in
DEFAULT_PLAN = "zhejiang-internet-plus-2016"
LANGUAGES = ("zh", "en")  # Chinese first: the plans' own language
DEFAULT_LANG = "zh"


def data_root() -> Path:
    """Where plans live: $PLANTRACK_DATA, else the repository's data/plans."""
    env = os.environ.get("PLANTRACK_DATA")
    return Path(env) if env else ROOT / "data" / "plans"


def outputs_root() -> Path:
    """Where runs write: $PLANTRACK_OUTPUTS, else the repository's outputs/."""
    env = os.environ.get("PLANTRACK_OUTPUTS")
    return Path(env) if env else ROOT / "outputs"


def params_root() -> Path:
    """Where `plantrack run` finds params/<sector>.yaml: $PLANTRACK_PARAMS, else the repository's params/."""
    env = os.environ.get("PLANTRACK_PARAMS")
    return Path(env) if env else PARAMS_DIR


def default_plan() -> str:
    return os.environ.get("PLANTRACK_PLAN") or DEFAULT_PLAN


def ensure_kernel() -> str:
    """Install this environment's kernelspec as 'plantrack' when it is missing or points elsewhere."""
    import sys

    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL)
        if (
            Path(spec.argv[0]).resolve() == Path(sys.executable).resolve()
            or spec.argv[0] == sys.executable
        ):
            return KERNEL
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(kernel_name=KERNEL, display_name="Python 3 (plantrack)", prefix=sys.prefix)
    return KERNEL
