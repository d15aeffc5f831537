"""Killed runs and ingests leave whole files: the old ones or the new ones, never half of either,
and no process: workers and kernels die with a run however it dies (SIGKILL included)."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import plantrack
import psutil
import pytest
from conftest import MAIN_PLAN

PLANTRACK = str(Path(sys.executable).with_name("plantrack"))
SECTORS = sorted(p.stem for p in (Path(__file__).parents[1] / "params").glob("*.yaml"))


@pytest.mark.notebook
def test_sigterm_during_run_leaves_previous_or_new_reports(tmp_path):
    out = tmp_path / MAIN_PLAN
    out.mkdir()
    previous_manifest = json.dumps({"plan_id": MAIN_PLAN, "sectors": []})
    (out / "manifest.json").write_text(previous_manifest)
    for sector in SECTORS:
        (out / f"{sector}.html").write_text("<html>previous report</html>")
        (out / f"{sector}.ipynb").write_text('{"previous": true}')
    command = [PLANTRACK, "run", "--outputs", str(tmp_path), "--jobs", "2"]
    for sector in SECTORS:
        command += ["--sector", sector]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and all(
        (out / f"{s}.html").read_text() == "<html>previous report</html>" for s in SECTORS
    ):
        time.sleep(0.2)  # until the first new report lands; the other sectors are still to come
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    assert process.returncode != 0
    for sector in SECTORS:
        page = (out / f"{sector}.html").read_text()
        assert page == "<html>previous report</html>" or (
            page.rstrip().endswith("</html>") and "plantrack" in page
        )
        json.loads((out / f"{sector}.ipynb").read_text())  # whole JSON, old or new
    json.loads((out / "manifest.json").read_text())  # never half-written
    assert not list(out.glob(".*.tmp-*"))


def _sheet(path: Path, rows: int) -> None:
    # Years within the plan's own span (2005-2027 for this plan): every row is valid, so the ingest runs long.
    with open(path, "w", encoding="utf-8") as f:
        f.write("indicator,year,value,unit,source,quote,source_title,source_file\n")
        for i in range(rows):
            f.write(
                f"online_sales,{2005 + i % 20},{i}.5,亿元,bulletin-{i // 20},数值为{i}.5亿元,公报{i // 20},b{i // 20}.txt\n"
            )


@pytest.mark.parametrize("delay", [0.8, 2.0, 4.0, 7.0])
def test_kill_during_ingest_leaves_the_plan_whole(tmp_path, plan_copy, delay):
    sheet = tmp_path / "big.csv"
    _sheet(sheet, 6000)
    old = {p.name: p.read_bytes() for p in plan_copy.iterdir() if p.is_file()}
    rows = len(plantrack.load_plan(plan_copy, use_cache=False).actuals)
    process = subprocess.Popen(
        [PLANTRACK, "ingest", str(sheet), "--plan", str(plan_copy)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    process.kill()
    process.wait()
    assert not list(plan_copy.glob(".ingest-*"))  # never a staging copy inside the package
    for name, before in old.items():
        now = (plan_copy / name).read_bytes()
        if now != before:
            assert name in ("actuals.csv", "sources.csv") and now.startswith(before)
    plan = plantrack.load_plan(plan_copy, use_cache=False)  # valid whichever state it is in
    assert len(plan.actuals) in (rows, rows + 6000)  # none of the sheet's rows, or all
    # A later ingest clears what the killed one left behind.
    small = tmp_path / "small.csv"
    small.write_text(
        "indicator,year,value,unit,source,quote\nmaker_spaces,2019,420,家,evaluation-2018,众创空间420家\n",
        encoding="utf-8",
    )
    plantrack.ingest(str(plan_copy), small)
    assert not list(plan_copy.glob(".ingest-*")) and not list(plan_copy.glob(".*.tmp-*"))
    staged = Path(tempfile.gettempdir()).glob(f"plantrack-ingest-{plan_copy.name}-{process.pid}-*")
    assert not list(staged)  # the killed ingest's staging, cleared by the next one


def _run_processes(root: psutil.Process) -> list[psutil.Process]:
    return [p for p in root.children(recursive=True) if p.is_running()]


@pytest.mark.notebook
def test_sigkill_of_a_run_leaves_no_process_and_the_next_run_clears_its_staging(tmp_path):
    """SIGKILL gives the run no chance to clean up: its workers and their kernels must go by themselves."""
    process = subprocess.Popen(
        [PLANTRACK, "run", "--all", "--jobs", "2", "--outputs", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    root = psutil.Process(process.pid)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        kernels = [p for p in _run_processes(root) if "ipykernel" in " ".join(p.cmdline())]
        if len(kernels) >= 2:
            break
        time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("the run never started its two kernels")
    time.sleep(3)  # mid-notebook
    family = _run_processes(root)
    assert len(family) >= 4  # two workers, two kernels (and a resource tracker)
    os.kill(process.pid, signal.SIGKILL)
    started = time.monotonic()
    gone, alive = psutil.wait_procs(family, timeout=10)
    assert not alive, [(p.pid, p.cmdline()[:4]) for p in alive]
    process.communicate(timeout=5)  # nobody holds the output pipe any more
    assert time.monotonic() - started < 10
    partial = tmp_path / MAIN_PLAN / ".partial"
    partial.mkdir(parents=True, exist_ok=True)
    (partial / "stale.ipynb").write_text("{half")
    (tmp_path / MAIN_PLAN / ".manifest.json.tmp-999999").write_text("{half")
    again = subprocess.run(
        [PLANTRACK, "run", "--sector", "health", "--outputs", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert not partial.exists() and not list((tmp_path / MAIN_PLAN).glob(".*.tmp-*"))
