"""Notebooks really execute through Papermill with a real kernel; the runner isolates failures."""

import json
import subprocess
import sys
from pathlib import Path

import plantrack
import pytest
from conftest import MAIN_PLAN, ROOT
from plantrack.batch import runner

pytestmark = pytest.mark.notebook
PAPERMILL = str(Path(sys.executable).with_name("papermill"))


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """`plantrack run --all` once for the module: every params file through Papermill."""
    outputs = tmp_path_factory.mktemp("outputs")
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("plantrack")),
            "run",
            "--all",
            "--no-publish",  # the site has its own tests (test_site.py)
            "--outputs",
            str(outputs),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return outputs / MAIN_PLAN, result


def test_run_all_writes_every_report_index_and_manifest(full_run):
    out, result = full_run
    assert result.returncode == 0, result.stderr[-3000:]
    params = sorted(p.stem for p in (ROOT / "params").glob("*.yaml"))
    assert len(params) == 16
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["ok"] == 16 and manifest["failed"] == 0
    assert manifest["data_hash"] == plantrack.load_plan(MAIN_PLAN).content_hash
    assert sorted(s["sector"] for s in manifest["sectors"]) == params
    for sector in params:
        assert (out / f"{sector}.ipynb").is_file() and (out / f"{sector}.html").is_file()
    index = (out / "index.html").read_text()
    assert all(f'href="{s}.html"' in index for s in params)
    assert not (out / ".partial").exists() and not list(out.glob(".*.tmp-*"))


def test_reports_show_the_sectors_targets_and_offline_charts(full_run):
    out, _ = full_run
    assessed = plantrack.assess(plantrack.load_plan(MAIN_PLAN))
    for sector, group in assessed.groupby("sector"):
        notebook = (out / f"{sector}.ipynb").read_text(encoding="utf-8")
        page = (out / f"{sector}.html").read_text(encoding="utf-8")
        for name in group["name_zh"]:
            assert name in notebook and name in page, (sector, name)
    page = (out / "commerce.html").read_text(encoding="utf-8")
    assert (
        "from plantrack.present.report import" not in page and "report.targets_table()" not in page
    )  # no code cells
    assert 'class="vega-lite-spec"' in page and "<svg" in page  # the charts' specs
    assert "cdnjs" not in page and '<script src="http' not in page  # nothing from a CDN


def test_sector_without_numeric_target_still_reports(full_run):
    out, _ = full_run
    # education_culture sets no numeric target (health has had one since its 2017 database coverage target was taken)
    page = (out / "education_culture.html").read_text(encoding="utf-8")
    assert (
        "该领域没有量化目标" in page
        and "浙江省数字校园示范学校" in page
        and "推进“智慧教育”" in page
    )
    health = (out / "health.html").read_text(encoding="utf-8")
    assert "该领域没有量化目标" not in health and "三大数据库全覆盖" in health


def test_a_failing_sector_does_not_stop_the_others(tmp_path):
    # An unknown sector is refused before anything runs (tests/test_hostile.py); a sector whose
    # notebook fails at run time is recorded and the others go on.
    notebook = json.loads((ROOT / "notebooks" / "sector.ipynb").read_text(encoding="utf-8"))
    at = next(
        i for i, c in enumerate(notebook["cells"]) if "parameters" in c["metadata"].get("tags", [])
    )
    notebook["cells"].insert(
        at + 1,
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "source": ["if sector == 'commerce':\n", "    raise RuntimeError('boom in commerce')"],
        },
    )
    failing = tmp_path / "sector.ipynb"
    failing.write_text(json.dumps(notebook), encoding="utf-8")
    manifest = runner.run(
        MAIN_PLAN,
        ["finance", "commerce"],
        jobs=2,
        outputs=tmp_path / "out",
        notebook=failing,
        progress=False,
    )
    assert (manifest["ok"], manifest["failed"]) == (1, 1)
    by = {s["sector"]: s for s in manifest["sectors"]}
    assert by["finance"]["status"] == "ok"
    failed = by["commerce"]
    assert (
        failed["status"] == "failed"
        and "boom in commerce" in failed["error"]
        and failed["failing_cell"] is not None
    )
    assert (tmp_path / "out" / MAIN_PLAN / "commerce.failed.ipynb").is_file()
    assert not (tmp_path / "out" / MAIN_PLAN / "commerce.ipynb").exists()


def test_papermill_directly_with_a_params_file(tmp_path):
    out = tmp_path / "commerce.ipynb"
    result = subprocess.run(
        [
            PAPERMILL,
            "notebooks/sector.ipynb",
            str(out),
            "-f",
            "params/commerce.yaml",
            "-p",
            "lang",
            "en",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Online sales in the province" in out.read_text(encoding="utf-8")


def test_bad_parameter_fails_at_the_first_cell_with_one_sentence(tmp_path):
    out = tmp_path / "bad.ipynb"
    result = subprocess.run(
        [
            PAPERMILL,
            "notebooks/sector.ipynb",
            str(out),
            "-p",
            "sector",
            "commerce",
            "-p",
            "lang",
            "fr",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode != 0
    executed = json.loads(out.read_text(encoding="utf-8"))
    failing = [
        c
        for c in executed["cells"]
        if c["cell_type"] == "code"
        and any(o.get("output_type") == "error" for o in c.get("outputs", []))
    ]
    assert len(failing) == 1 and "SectorReport(" in "".join(failing[0]["source"])
    error = next(o for o in failing[0]["outputs"] if o["output_type"] == "error")
    assert error["traceback"] == ["plantrack: unknown language 'fr'; allowed: zh, en"]


def test_explore_notebook_runs_top_to_bottom(tmp_path):
    out = tmp_path / "explore.ipynb"
    result = subprocess.run(
        [PAPERMILL, "notebooks/explore.ipynb", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    assert "what if" in text and "achieved" in text


def test_params_yaml_with_wrong_types_is_rejected(tmp_path):
    bad = tmp_path / "commerce.yaml"
    bad.write_text("plan_id: zhejiang-internet-plus-2016\nsector: commerce\nas_of: '2018'\n")
    with pytest.raises(plantrack.DataError) as error:
        runner.read_params(bad)
    assert "as_of" in str(error.value) and "commerce.yaml" in str(error.value)


def test_researchers_notebook_answers_its_seven_questions(tmp_path):
    out = tmp_path / "researchers.ipynb"
    result = subprocess.run(
        [PAPERMILL, str(ROOT / "notebooks" / "researchers.ipynb"), str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for name in (
        "commerce.png",
        "commerce.svg",
        "commerce-online-sales.svg",
        "figures.parquet",
        "assessment.xlsx",
    ):
        assert (tmp_path / name).stat().st_size > 0, name
    assert (tmp_path / "commerce.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "commerce.svg").read_text(encoding="utf-8")[:500]


def test_every_plan_finds_its_own_params_in_the_shared_folder(tmp_path):
    """`run --all-plans` with the real params/: the 2014 plan's infrastructure has its own file
    (params/<plan_id>/), so the 2016 plan's params/infrastructure.yaml is not read for it."""
    for plan_id in plantrack.list_plans():
        plan = plantrack.load_plan(plan_id)
        jobs = runner.plan_jobs(plan, None, None)
        assert [j["sector"] for j in jobs] == plan.sector_ids()
        assert {j["plan_id"] for j in jobs} == {plan_id}
    folder = tmp_path / "params"
    (folder / "zhejiang-information-economy-2014").mkdir(parents=True)
    (folder / "infrastructure.yaml").write_text(
        "plan_id: zhejiang-internet-plus-2016\nsector: infrastructure\nas_of: 2017\n"
    )
    older = plantrack.load_plan("zhejiang-information-economy-2014")
    # without its own file, the 2014 plan meets a file for another plan: an error naming it
    with pytest.raises(plantrack.DataError, match="infrastructure.yaml.*is for plan"):
        runner.plan_jobs(older, None, None, folder)
    (folder / "zhejiang-information-economy-2014" / "infrastructure.yaml").write_text(
        "sector: infrastructure\nlang: en\n"
    )
    (job,) = runner.plan_jobs(older, ["infrastructure"], None, folder)
    assert job["lang"] == "en" and job["as_of"] is None
    (job,) = runner.plan_jobs(plantrack.load_plan(MAIN_PLAN), ["infrastructure"], None, folder)
    assert job["as_of"] == 2017 and job["lang"] == "zh"
    # a file in a plan's folder naming another plan is a mistake, named
    (folder / "zhejiang-information-economy-2014" / "infrastructure.yaml").write_text(
        f"plan_id: {MAIN_PLAN}\nsector: infrastructure\n"
    )
    with pytest.raises(plantrack.DataError, match="is for plan"):
        runner.plan_jobs(older, None, None, folder)


def test_run_takes_the_parameters_and_defaults_the_sector_notebook_declares():
    """papermill.inspect_notebook is the one list: a params key the notebook lacks is refused."""
    from plantrack.config import DEFAULT_LANG, DEFAULT_PLAN

    declared = runner.notebook_parameters()
    assert set(declared) == {"plan_id", "sector", "lang", "as_of"}
    assert declared["plan_id"] == DEFAULT_PLAN and declared["lang"] == DEFAULT_LANG
    assert declared["as_of"] is None
    (job,) = runner.plan_jobs(plantrack.load_plan(MAIN_PLAN), ["tourism"], None)
    assert job == {**declared, "plan_id": MAIN_PLAN, "sector": "tourism"}
