"""`plantrack run` on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on localhost.

The workers see no plan data of their own (PLANTRACK_DATA points at an empty folder): the client
sends each plan's files, and writes every report itself.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import MAIN_PLAN, PLANS, ROOT
from servers import Cluster

pytestmark = [pytest.mark.notebook, pytest.mark.cluster]
BIN = Path(sys.executable).parent
PLANTRACK = str(BIN / "plantrack")
SECTORS = ["commerce", "finance", "health"]  # small for CI; health has no numeric target


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    pytest.importorskip("distributed")
    running = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        running.start_worker("w1")
        running.start_worker("w2")
        running.wait_for_workers(2)
        yield running
    finally:
        running.close()


def run(*args, env=None, timeout=900):
    return subprocess.run(
        [PLANTRACK, "run", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def sector_args(sectors):
    return [a for s in sectors for a in ("--sector", s)]


def without_timings(manifest: dict) -> dict:
    manifest = {k: v for k, v in manifest.items() if k not in ("started", "finished")}
    manifest["sectors"] = [
        {k: v for k, v in s.items() if k != "duration_s"} for s in manifest["sectors"]
    ]
    return manifest


def cell_outputs(path: Path) -> list:
    """Each cell's source and outputs, without the volatile parts (timings, execution metadata)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = []
    for cell in notebook["cells"]:
        outputs = [
            {k: v for k, v in o.items() if k not in ("metadata", "execution_count")}
            for o in cell.get("outputs", [])
        ]
        cells.append(
            (cell["cell_type"], "".join(cell["source"]), json.dumps(outputs, sort_keys=True))
        )
    return cells


def test_cluster_run_gives_the_same_manifest_and_reports_as_a_local_run(cluster, tmp_path):
    local = run(*sector_args(SECTORS), "--jobs", "2", "--outputs", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr[-3000:]
    # the address from the environment, as a cron job would give it
    remote = run(
        *sector_args(SECTORS),
        "--outputs",
        str(tmp_path / "cluster"),
        env={"PLANTRACK_SCHEDULER": cluster.address},
    )
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert f"Dask cluster {cluster.address}" in remote.stderr and "dashboard" in remote.stderr
    assert remote.stderr.count("plantrack run: [") == len(
        SECTORS
    )  # a log line per sector, as locally
    assert f"{len(SECTORS)} ok, 0 failed" in remote.stdout

    a, b = tmp_path / "local" / MAIN_PLAN, tmp_path / "cluster" / MAIN_PLAN
    manifest_a, manifest_b = (json.loads((d / "manifest.json").read_text()) for d in (a, b))
    assert manifest_b["ok"] == len(SECTORS) and manifest_b["failed"] == 0
    assert without_timings(manifest_a) == without_timings(manifest_b)
    for sector in SECTORS:
        assert cell_outputs(a / f"{sector}.ipynb") == cell_outputs(b / f"{sector}.ipynb"), sector
        page = (b / f"{sector}.html").read_text(encoding="utf-8")
        assert page.rstrip().endswith("</html>") and "plantrack" in page
        assert len(page) == len((a / f"{sector}.html").read_text(encoding="utf-8"))
    assert (b / "index.html").is_file() and not (b / ".partial").exists()
    assert not (cluster.folder / "nowhere").exists()  # workers wrote nothing of theirs


def test_a_killed_worker_is_survived(cluster, tmp_path):
    sectors = ["commerce", "finance", "transport", "tourism"]
    out = tmp_path / MAIN_PLAN
    process = subprocess.Popen(
        [
            PLANTRACK,
            "run",
            *sector_args(sectors),
            "--scheduler",
            cluster.address,
            "--outputs",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        victim = psutil.Process(cluster.workers["w1"].pid)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None:
            if any("ipykernel" in " ".join(p.cmdline()) for p in victim.children(recursive=True)):
                break  # w1 is executing a notebook: kill it now
            time.sleep(0.1)
        assert process.poll() is None, "the run ended before a worker could be killed"
        kernels = cluster.kill_worker("w1")
        assert kernels
        stdout, stderr = process.communicate(timeout=900)
    finally:
        if process.poll() is None:
            process.kill()
        cluster.start_worker("w1")  # the next test gets two workers again
    assert process.returncode == 0, stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["ok"] == len(sectors) and manifest["failed"] == 0
    for sector in sectors:
        json.loads((out / f"{sector}.ipynb").read_text())
        assert (out / f"{sector}.html").read_text().rstrip().endswith("</html>")
    time.sleep(1)
    assert not [
        k for k in kernels if k.is_running() and k.status() != psutil.STATUS_ZOMBIE
    ]  # died with it
    cluster.wait_for_workers(2)


def failing_notebook(folder: Path) -> tuple[Path, Path]:
    """The sector notebook with a planted cell: commerce raises, finance kills its kernel (counted)."""
    notebook = json.loads((ROOT / "notebooks" / "sector.ipynb").read_text(encoding="utf-8"))
    attempts = folder / "finance-attempts.txt"
    planted = (
        f"import os\n"
        f"if sector == 'commerce':\n    raise ValueError('planted failure in commerce')\n"
        f"if sector == 'finance':\n"
        f"    with open({str(attempts)!r}, 'a') as f:\n        f.write('attempt\\n')\n"
        f"    os._exit(3)\n"
    )
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": "planted",
        "metadata": {},
        "outputs": [],
        "source": planted,
    }
    index = next(
        i
        for i, c in enumerate(notebook["cells"])
        if "parameters" in c["metadata"].get("tags", []) or c["cell_type"] == "code"
    )
    notebook["cells"].insert(index + 1, cell)
    path = folder / "sector.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path, attempts


@pytest.mark.parametrize("where", ["cluster", "local"])
def test_a_failing_sector_is_isolated(cluster, tmp_path, where):
    from plantrack.batch.runner import run_plans

    notebook, attempts = failing_notebook(tmp_path)
    manifests = run_plans(
        [MAIN_PLAN],
        ["commerce", "finance", "health"],
        outputs=tmp_path / "out",
        jobs=2,
        notebook=notebook,
        progress=False,
        scheduler=cluster.address if where == "cluster" else None,
    )
    manifest = manifests[MAIN_PLAN]
    by = {s["sector"]: s for s in manifest["sectors"]}
    assert manifest["ok"] == 1 and manifest["failed"] == 2
    assert by["health"]["status"] == "ok"
    # a cell that raises: failed at once with its error, the failed notebook kept
    assert (
        by["commerce"]["status"] == "failed"
        and by["commerce"]["error"] == "ValueError: planted failure in commerce"
    )
    assert by["commerce"]["failing_cell"] is not None
    out = tmp_path / "out" / MAIN_PLAN
    assert (out / "commerce.failed.ipynb").is_file() and not (out / "commerce.ipynb").exists()
    # a kernel that died: tried twice, then failed with the error
    assert by["finance"]["status"] == "failed" and "failed 2 times" in by["finance"]["error"]
    assert "Kernel" in by["finance"]["error"] or "kernel" in by["finance"]["error"]
    assert attempts.read_text().count("attempt") == 2
    assert json.loads((out / "manifest.json").read_text()) == manifest


def test_all_plans_run_as_one_batch_with_a_manifest_per_plan(cluster, tmp_path):
    data = tmp_path / "plans"
    small = ["china-miit-internet-plus-2015", "zhejiang-information-economy-2014"]
    for plan_id in small:
        shutil.copytree(PLANS / plan_id, data / plan_id)
    (tmp_path / "params").mkdir()
    result = run(
        "--all-plans",
        "--scheduler",
        cluster.address,
        "--outputs",
        str(tmp_path / "out"),
        env={"PLANTRACK_DATA": str(data), "PLANTRACK_PARAMS": str(tmp_path / "params")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    import plantrack

    for plan_id in small:
        count = len(plantrack.load_plan(plan_id).sectors)  # every sector of each plan
        manifest = json.loads((tmp_path / "out" / plan_id / "manifest.json").read_text())
        assert (
            manifest["plan_id"] == plan_id and manifest["ok"] == count and manifest["failed"] == 0
        )
        assert all(
            (tmp_path / "out" / plan_id / f"{s['sector']}.html").is_file()
            for s in manifest["sectors"]
        )
        assert f"{plan_id}: {count} ok, 0 failed" in result.stdout
    assert "china-miit-internet-plus-2015/" in result.stderr  # progress names plan and sector


@pytest.mark.parametrize(
    "address",
    [
        "localhost:8786",
        "http://127.0.0.1:8786",
        "tcp://127.0.0.1",
        "tcp://:99",
        "tcp://127.0.0.1:8786/../x",
        "tcp://h:99999",
    ],
)
def test_a_bad_scheduler_address_is_refused_before_anything_runs(tmp_path, address):
    result = run("--all", "--scheduler", address, "--outputs", str(tmp_path / "out"), timeout=120)
    assert (
        result.returncode == 2
        and "tcp://HOST:PORT" in result.stderr
        and "Traceback" not in result.stderr
    )
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens there
    result = run(
        "--sector",
        "commerce",
        "--scheduler",
        f"tcp://127.0.0.1:{port}",
        "--outputs",
        str(tmp_path / "out"),
        timeout=120,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert (
        result.stderr.startswith("plantrack: error: cannot reach the Dask scheduler")
        and "Traceback" not in result.stderr
    )
    assert not (tmp_path / "out").exists()


def test_all_plans_and_plan_together_are_refused(tmp_path):
    result = run(
        "--all-plans", "--plan", MAIN_PLAN, "--outputs", str(tmp_path / "out"), timeout=120
    )
    assert (
        result.returncode == 2
        and "--all-plans" in result.stderr
        and not (tmp_path / "out").exists()
    )
