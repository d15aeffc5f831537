import json
import subprocess
import sys
from pathlib import Path

PLANTRACK = str(Path(sys.executable).with_name("plantrack"))
MAIN = "zhejiang-internet-plus-2016"


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


def test_assess_exports_xlsx_parquet_csv_wholly_in_one_language(tmp_path):
    import re

    import pandas as pd
    import plantrack
    from plantrack.messages import t

    plan = plantrack.load_plan("zhejiang-internet-plus-2016")
    rows = len(plantrack.assess(plan, flags=False))
    han, latin = re.compile(r"[\u3400-\u9fff]"), re.compile(r"[A-Za-z]{3,}")
    for lang in ("zh", "en"):
        xlsx, parquet = tmp_path / f"a-{lang}.xlsx", tmp_path / f"a-{lang}.parquet"
        for fmt, out in (("xlsx", xlsx), ("parquet", parquet)):
            result = run(
                "assess", plan.plan_id, "--format", fmt, "--output", str(out), "--lang", lang
            )
            assert result.returncode == 0, result.stderr
        sheet, table = pd.read_excel(xlsx), pd.read_parquet(parquet)
        assert len(sheet) == len(table) == rows and list(sheet.columns) == list(table.columns)
        headers = " ".join(table.columns)
        # headers and status words in the one language (Chinese headers say "英文" where a note is English)
        assert not (latin if lang == "zh" else han).search(headers.replace("%", "")), headers
        status = table[t("csv.status", lang)]
        assert set(status) <= {
            t(s, lang) for s in ("achieved", "not_achieved", "no_data", "not_comparable")
        }
        sectors = set(table[t("csv.sector", lang)])
        assert sectors <= set(plan.sector_names(lang).values())
        # one string dtype for text, numbers stay numbers
        text = [c for c in table if not pd.api.types.is_numeric_dtype(table[c])]
        assert {str(table[c].dtype) for c in text} <= {"string", "str", "bool", "boolean"}
        assert pd.api.types.is_float_dtype(table[t("csv.computed_rate", lang)])
    # the export is safe in a spreadsheet: the comparator "=" is not a formula
    assert "'=" in set(pd.read_excel(tmp_path / "a-en.xlsx")["comparator"].astype(str))
    # binary formats need a file; a plain CSV on stdout keeps the machine names
    assert run("assess", plan.plan_id, "--format", "parquet").returncode == 2
    assert run("assess", plan.plan_id, "--format", "csv").stdout.startswith("plan_id,")


def test_assess_table_has_one_string_dtype():
    import pandas as pd
    import plantrack

    table = plantrack.assess(["zhejiang-internet-plus-2016", "china-miit-internet-plus-2015"])
    text = [c for c in table if not pd.api.types.is_numeric_dtype(table[c])]
    assert {str(table[c].dtype) for c in text} == {"string"}, table.dtypes[text].value_counts()
    assert str(table["projection_reaches"].dtype) == "boolean"
    assert {str(d) for d in plantrack.findings("zhejiang-internet-plus-2016").dtypes} <= {
        "string",
        "Int64",
    }


def test_a_closed_pipe_is_quiet():
    """`plantrack assess … --format csv | head -1`: the first line, no BrokenPipeError traceback."""
    result = subprocess.run(
        f"'{PLANTRACK}' assess zhejiang-internet-plus-2016 --format csv | head -c 20; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
    )
    assert result.stdout == "plan_id,indicator_id"
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
    assert result.returncode == 0


def test_lab_passes_jupyters_own_options_through(tmp_path):
    """`plantrack lab --allow-root --port=N …` reaches Jupyter: a real server answers on that port."""
    import os
    import signal
    import time
    import urllib.request

    from servers import free_port

    port = free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path)}
    lab = subprocess.Popen(
        [
            PLANTRACK,
            "lab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=plantrack-test",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        deadline, answer = time.monotonic() + 90, None
        while time.monotonic() < deadline and lab.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/status?token=plantrack-test", timeout=5
                ) as response:
                    answer = json.loads(response.read())
                    break
            except OSError:
                time.sleep(0.5)
        assert answer is not None, (
            lab.stdout.read1(20000).decode(errors="replace")
            if lab.poll() is not None
            else "no answer"
        )
        assert "started" in answer
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=30)


def test_verbose_shows_debug_lines_and_quiet_hides_progress(tmp_path):
    plain = run("check", "zhejiang-internet-plus-2016")
    verbose = run("check", "zhejiang-internet-plus-2016", "-v")
    assert "plantrack data package: plan zhejiang-internet-plus-2016" in verbose.stderr
    assert "plantrack data package" not in plain.stderr and plain.stdout == verbose.stdout
    quiet = run("run", "--sector", "tourism", "-q", "--outputs", str(tmp_path), "--no-publish")
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "[1/1]" not in quiet.stderr and (tmp_path / MAIN / "tourism.html").is_file()
    loud = run("run", "--sector", "tourism", "--outputs", str(tmp_path), "--no-publish")
    assert "plantrack run: [1/1] tourism: ok" in loud.stderr, loud.stderr[-2000:]


def test_ingest_dry_run_prints_status_changes_and_new_findings(tmp_path, plan_copy):
    sheet = tmp_path / "what-if.csv"
    sheet.write_text(
        "indicator,year,value,unit,source,quote,reported_rate\n"
        "scenic_wifi_coverage,2017,100,%,evaluation-2018,景区免费WiFi覆盖率100%,100%\n"
        "online_tourism_sales,2017,1200,亿元,evaluation-2018,旅游在线交易额1200亿元,\n"
        "online_tourism_sales,2018,9000,亿元,evaluation-2018,旅游在线交易额9000亿元,\n",
        encoding="utf-8",
    )
    before = (plan_copy / "actuals.csv").read_bytes()
    result = run("ingest", str(sheet), "--plan", str(plan_copy), "--dry-run", "--replace")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "status changes: 2" in out
    assert "scenic_wifi_coverage 2017: not_achieved → achieved (98.0% → 100.0%)" in out
    assert "online_tourism_sales 2017: no_data → achieved (no rate → 120.0%)" in out
    assert "findings newly raised" in out and "implausible_jump" in out
    assert "dry run: nothing was written" in out
    assert (plan_copy / "actuals.csv").read_bytes() == before
