"""The conda environment and pyproject list the same dependencies; notebooks carry no outputs."""

import json
import re
import tomllib

import yaml
from conftest import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]} | {
        _name(r) for r in project["optional-dependencies"]["test"]
    }
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    assert listed == wanted


def test_notebooks_have_kernelspec_and_no_outputs():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert {n.name for n in notebooks} >= {"sector.ipynb", "summary.ipynb", "explore.ipynb"}
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        assert nb["metadata"]["kernelspec"]["name"] == "plantrack", path
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and not cell.get("execution_count"), path


def test_import_plantrack_is_cheap_and_every_public_name_resolves():
    """`import plantrack` loads no pandas, pint or Altair (the command line starts fast); each
    public name still resolves on first use; pint's registry waits for the first unit and Altair
    for the first chart (a reader's dashboard kernel never imports it)."""
    import subprocess
    import sys

    probe = (
        "import sys, plantrack; heavy = [m for m in ('pandas', 'pint', 'altair') if m in sys.modules]; "
        "print(heavy); [getattr(plantrack, n) for n in plantrack.__all__]; "
        "print(sorted(m for m in ('pandas', 'pint', 'altair') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    before, after = out.stdout.splitlines()
    assert before == "[]" and after == "['pandas']", out.stdout  # pint, altair: at first use
