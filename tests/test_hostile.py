"""Every door a careless or hostile user can knock on: a clear error (exit 2), no traceback, nothing touched.

Run-time doors (ids that are paths, params files of another plan, ports), CSV written for readers
(formula injection), and broken plan folders next to good ones.
"""

import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import plantrack
import pytest
from conftest import MAIN_PLAN, PLANS, ROOT

PLANTRACK = str(Path(sys.executable).with_name("plantrack"))
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def run(*args, env=None, **kwargs):
    return subprocess.run(
        [PLANTRACK, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        **kwargs,
    )


def tree(*folders: Path) -> dict:
    """Every file under the folders with its content hash: what 'nothing touched' compares."""
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def refused(result) -> bool:
    return (
        result.returncode == 2
        and "Traceback" not in result.stderr
        and result.stderr.startswith(("plantrack: error: ", "usage: "))
        and len(result.stderr) < 2000
    )


@pytest.fixture
def repo_state():
    folders = (ROOT / "notebooks", ROOT / "params", PLANS, ROOT / "lib")
    before = tree(*folders)
    yield
    assert tree(*folders) == before


@pytest.mark.parametrize(
    "sector",
    [
        "../../notebooks/explore",
        "../notebooks/explore",
        "/tmp/evil",
        "..",
        ".",
        "commerce/../../x",
        "Commerce",
        "no_such_sector",
        "commerce\x1b[2J",
        "",
    ],
)
def test_run_sector_must_be_an_id_and_nothing_is_touched(tmp_path, repo_state, sector):
    result = run("run", "--sector", sector, "--outputs", str(tmp_path / "out"))
    assert refused(result), result.stderr
    assert "sector" in result.stderr and "\x1b" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "plan",
    [
        str(PLANS / MAIN_PLAN),
        f"../plans/{MAIN_PLAN}",
        f"data/plans/{MAIN_PLAN}",
        "/etc",
        "..",
        "ZHEJIANG",
        "no-such-plan",
    ],
)
def test_run_plan_must_be_an_id_and_nothing_is_touched(tmp_path, repo_state, plan):
    result = run("run", "--all", "--plan", plan, "--outputs", str(tmp_path / "out"), cwd=ROOT)
    assert refused(result), result.stderr
    assert "plan" in result.stderr and not (tmp_path / "out").exists()


def test_library_run_refuses_paths_too(tmp_path):
    from plantrack.batch import runner

    with pytest.raises(plantrack.DataError, match="not a plan id"):
        runner.run(str(PLANS / MAIN_PLAN), ["commerce"], outputs=tmp_path)
    with pytest.raises(plantrack.DataError, match="not a sector id"):
        runner.run(MAIN_PLAN, ["../../notebooks/explore"], outputs=tmp_path)
    assert not list(tmp_path.iterdir())


@pytest.fixture
def params_dir(tmp_path):
    folder = tmp_path / "params"
    shutil.copytree(ROOT / "params", folder)
    return folder


@pytest.mark.parametrize(
    "content, words",
    [
        ("plan_id: mars-plan-2030\nsector: commerce\n", "unknown plan_id 'mars-plan-2030'"),
        (
            "plan_id: china-miit-internet-plus-2015\nsector: commerce\n",
            "is for plan china-miit-internet-plus-2015",
        ),
        ("plan_id: ../../data/plans/x\nsector: commerce\n", "unknown plan_id"),
        ("sector: finance\n", "differs from the file's name"),
        ("sector: commerce\nlang: fr\n", "unknown language 'fr'"),
        ("sector: commerce\nsector: finance\n", "duplicate key 'sector'"),
    ],
)
@pytest.mark.parametrize("which", [["--sector", "commerce"], ["--all"]])
def test_params_file_of_an_unknown_or_other_plan_is_an_error_naming_it(
    tmp_path, params_dir, content, words, which
):
    (params_dir / "commerce.yaml").write_text(content, encoding="utf-8")
    result = run(
        "run", *which, "--outputs", str(tmp_path / "out"), env={"PLANTRACK_PARAMS": str(params_dir)}
    )
    assert refused(result), result.stderr
    assert "commerce.yaml" in result.stderr and words in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_params_file_of_an_unknown_plan_is_an_error_even_when_its_sector_is_not_run(
    tmp_path, params_dir
):
    (params_dir / "space.yaml").write_text(
        "plan_id: mars-plan-2030\nsector: space\n", encoding="utf-8"
    )
    result = run(
        "run",
        "--all",
        "--outputs",
        str(tmp_path / "out"),
        env={"PLANTRACK_PARAMS": str(params_dir)},
    )
    assert refused(result) and "space.yaml" in result.stderr and "mars-plan-2030" in result.stderr


@pytest.mark.parametrize("port", ["99999", "65536", "0", "-1", "http", "8866.5"])
def test_dashboard_port_is_validated_up_front(port):
    result = run("dashboard", "--port", port, "--no-preheat")
    assert refused(result) and "port" in result.stderr, result.stderr
    assert "open http" not in result.stdout  # nothing was started


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--all", "--jobs", "0"],
        ["assess", MAIN_PLAN, "--as-of", "99999"],
        ["dashboard", "--pool-size", "-3"],
        ["dashboard", "--plan", "../x"],
    ],
)
def test_other_numbers_and_ids_are_validated_up_front(tmp_path, args):
    result = run(*args, cwd=tmp_path)
    assert refused(result), result.stderr


# ---- CSV for readers: no cell starts like a formula ----------------------------------------


def _formula_cells(text: str) -> list[str]:
    return [
        c
        for row in csv.reader(io.StringIO(text))
        for c in row
        if c.startswith(TRIGGERS) and not NUMBER.match(c)
    ]


@pytest.fixture
def hostile_plan(make_plan):
    return make_plan(
        name="hostile",
        indicators=[
            dict(
                indicator_id="sales",
                unit="亿元",
                name_zh='=HYPERLINK("http://evil","点我")',
                name_en="@SUM(1+1)*cmd|' /C calc'!A0",
            ),
            dict(indicator_id="loss", unit="亿元", name_zh="+亏损", name_en="-loss"),
        ],
        targets=[
            dict(
                indicator_id="sales",
                target_year=2020,
                comparator="=",
                value=10,
                unit="亿元",
                stated="10",
                quote="\t目标为10亿元",
                measure="sales",
            ),
            dict(
                indicator_id="loss",
                target_year=2020,
                comparator=">=",
                value=-5,
                unit="亿元",
                stated="-5",
                quote="-5亿元的目标",
                measure="loss",
            ),
        ],
        actuals=[
            dict(
                indicator_id="sales",
                year=2018,
                value=12,
                unit="亿元",
                stated="12",
                quote="=12亿元",
                reported_rate="",
                measure="sales",
            ),
            dict(
                indicator_id="loss",
                year=2018,
                value=-3.5,
                unit="亿元",
                stated="-3.5",
                quote="@-3.5亿元",
                reported_rate="",
                measure="loss",
            ),
        ],
    )


def test_assess_csv_neutralises_formulas_and_keeps_numbers(hostile_plan):
    result = run("assess", str(hostile_plan), "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert _formula_cells(result.stdout) == []
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    by = {r["indicator_id"]: r for r in rows}
    assert (
        by["sales"]["name_zh"] == '\'=HYPERLINK("http://evil","点我")'
        and by["sales"]["comparator"] == "'="
    )
    assert by["sales"]["target_quote"] == "'\t目标为10亿元"
    assert (
        float(by["loss"]["target_value"]) == -5 and by["loss"]["target_stated"] == "-5"
    )  # numbers stay numbers
    assert by["loss"]["name_zh"] == "'+亏损" and by["loss"]["target_quote"] == "'-5亿元的目标"


def test_assess_csv_of_the_bundled_plan_has_no_formula_cell():
    result = run("assess", MAIN_PLAN, "--format", "csv")
    assert (
        result.returncode == 0 and "'=" in result.stdout
    )  # the data's own '=' comparators, neutralised
    assert _formula_cells(result.stdout) == []


def test_dashboard_download_neutralises_formulas(hostile_plan):
    from plantrack.serve.app import table_csv

    rows = plantrack.assess(plantrack.load_plan(hostile_plan))
    text = table_csv(rows).decode("utf-8-sig")
    assert _formula_cells(text) == [] and "'=HYPERLINK" in text and ",-5" in text


def test_spreadsheet_safe_rule():
    import pandas as pd
    from plantrack.present.export import spreadsheet_safe

    frame = pd.DataFrame(
        {
            "text": ["=1+1", "+x", "-x", "@x", "\tx", "\rx", "-12.5", "+3", "ok", None],
            "number": [-1.5, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        }
    )
    safe = spreadsheet_safe(frame)
    assert list(safe["text"][:8]) == ["'=1+1", "'+x", "'-x", "'@x", "'\tx", "'\rx", "-12.5", "+3"]
    assert safe["text"][8] == "ok" and safe["text"].isna()[9]
    assert safe["number"].tolist() == frame["number"].tolist()
    assert frame["text"][0] == "=1+1"  # the caller's frame is left alone


# ---- broken plan folders ----------------------------------------------------------------------


@pytest.fixture
def data_with_broken_plans(tmp_path):
    root = tmp_path / "plans"
    root.mkdir()
    for plan in PLANS.iterdir():
        if plan.is_dir():
            shutil.copytree(plan, root / plan.name)
    (root / "aa-broken-json").mkdir()
    (root / "aa-broken-json" / "datapackage.json").write_text("{not json", encoding="utf-8")
    shutil.copytree(PLANS / "zhejiang-information-economy-2014", root / "bb-broken-table")
    (root / "bb-broken-table" / "targets.csv").write_text("indicator_id\nx,y,z\n", encoding="utf-8")
    (root / "cc-no-descriptor").mkdir()
    (root / "cc-escaping").mkdir()
    descriptor = json.loads((PLANS / MAIN_PLAN / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["resources"][0]["path"] = "../../../../etc/passwd"
    (root / "cc-escaping" / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    return root


BROKEN = ("aa-broken-json", "bb-broken-table", "cc-no-descriptor", "cc-escaping")


def test_plans_lists_the_good_plans_and_names_each_broken_one(data_with_broken_plans):
    result = run("plans", env={"PLANTRACK_DATA": str(data_with_broken_plans)})
    assert "Traceback" not in result.stderr and result.returncode == 1
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == [
        "china-miit-internet-plus-2015",
        "zhejiang-information-economy-2014",
        "zhejiang-internet-plus-2016",
    ]
    for name in BROKEN:
        assert f"broken plan folder '{name}'" in result.stderr
    assert "passwd" in result.stderr and "targets.csv" in result.stderr


def test_check_goes_on_past_a_broken_plan(data_with_broken_plans):
    result = run("check", env={"PLANTRACK_DATA": str(data_with_broken_plans)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stdout.count(": valid") == 3


def test_dashboard_shows_good_plans_and_a_notice_for_broken_ones(
    data_with_broken_plans, monkeypatch
):
    from plantrack.serve.app import Dashboard

    monkeypatch.setenv("PLANTRACK_DATA", str(data_with_broken_plans))
    board = Dashboard(lang="en")
    assert [value for _, value in board.plan_select.options] == [
        "china-miit-internet-plus-2015",
        "zhejiang-information-economy-2014",
        "zhejiang-internet-plus-2016",
    ]
    assert "cannot be read" in board.notice.value and all(
        name in board.notice.value for name in BROKEN
    )
    assert board.table.value and "pt-error" not in board.message.value
    fallback = Dashboard(
        "aa-broken-json", lang="en"
    )  # asked for a broken plan: a good one, and the notice
    assert fallback.plan_id in (
        "china-miit-internet-plus-2015",
        "zhejiang-information-economy-2014",
    )
    assert "aa-broken-json" in fallback.notice.value
