import json
import subprocess
import sys
from pathlib import Path

PLANTRACK = str(Path(sys.executable).with_name("plantrack"))


def run(*args, **kwargs):
    return subprocess.run([PLANTRACK, *args], capture_output=True, text=True, **kwargs)


def test_plans_lists_the_three_plans():
    result = run("plans")
    assert result.returncode == 0
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == [
        "china-miit-internet-plus-2015",
        "zhejiang-information-economy-2014",
        "zhejiang-internet-plus-2016",
    ]


def test_check_all_plans_text_and_json():
    text = run("check")
    assert text.returncode == 0, text.stderr
    assert text.stdout.count(": valid") == 3 and "rate_mismatch" in text.stdout
    as_json = run("check", "zhejiang-internet-plus-2016", "--format", "json")
    report = json.loads(as_json.stdout)
    assert report[0]["valid"] and any(f["kind"] == "target_mismatch" for f in report[0]["findings"])


def test_check_invalid_data_exits_2_with_location(plan_copy):
    targets = plan_copy / "targets.csv"
    lines = targets.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(",300,", ",three hundred,", 1)
    targets.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("check", str(plan_copy))
    assert result.returncode == 2
    assert "targets.csv" in result.stderr and "row 4" in result.stderr and "value" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_plan_is_a_clear_error():
    result = run("check", "no-such-plan")
    assert result.returncode == 2 and "unknown plan 'no-such-plan'" in result.stderr
    assert "Traceback" not in result.stderr


def test_assess_csv():
    result = run("assess", "zhejiang-internet-plus-2016", "--format", "csv")
    assert result.returncode == 0 and result.stdout.startswith("plan_id,indicator_id")
