"""Every malformed input is rejected with a located message, never a traceback, and nothing changes on disk."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import plantrack
import pytest
import yaml
from conftest import ROOT
from plantrack.batch import runner

CORPUS = ROOT / "tests" / "bad_inputs"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))


def snapshot(directory: Path) -> dict:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file()
    }


def short(error) -> bool:
    """Every message stays a few hundred characters on one line, whatever the input held."""
    text = str(error)
    return len(text) <= 700 and "\n" not in text and "\x00" not in text and "\x1b" not in text


def test_corpus_is_large_enough():
    assert len(EXPECTED) >= 40
    assert {p.name for p in CORPUS.iterdir()} - {"expected.yaml"} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e["kind"] == "ingest"))
def test_bad_sheet_is_rejected_with_location_and_nothing_written(name, plan_copy):
    expected = EXPECTED[name]
    before = snapshot(plan_copy)
    with pytest.raises(plantrack.DataError) as caught:
        plantrack.ingest(str(plan_copy), CORPUS / name)
    error = caught.value
    assert short(error)
    assert error.file and Path(error.file).name == name, str(error)
    assert expected["contains"] in str(error), str(error)
    if expected["row"] is not None:
        assert error.row == expected["row"], str(error)
    if expected.get("column"):
        assert error.column == expected["column"], str(error)
    assert snapshot(plan_copy) == before


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e["kind"] == "params"))
def test_bad_params_file_is_rejected_with_location(name):
    expected = EXPECTED[name]
    with pytest.raises(plantrack.DataError) as caught:
        runner.validate_params_file(CORPUS / name)
    error = caught.value
    assert short(error)
    assert Path(error.file).name == name and expected["contains"] in str(error), str(error)
    if expected.get("column"):
        assert error.column == expected["column"]
    if expected.get("row"):
        assert error.row == expected["row"]


def test_huge_file_is_rejected_before_reading(tmp_path, plan_copy):
    huge = tmp_path / "huge.csv"
    line = "online_sales,2019,2.0,万亿元,evaluation-2018," + "很长的引文" * 40 + "2.0\n"
    with open(huge, "w", encoding="utf-8") as f:
        f.write("indicator,year,value,unit,source,quote\n")
        for _ in range(25 * 1024 * 1024 // len(line.encode()) + 1):
            f.write(line)
    before = snapshot(plan_copy)
    with pytest.raises(plantrack.DataError, match="limit is 20 MB"):
        plantrack.ingest(str(plan_copy), huge)
    assert snapshot(plan_copy) == before


@pytest.mark.parametrize(
    "name", ["02_gbk_encoding.csv", "10_thousands_separator.csv", "22_duplicate_of_existing.csv"]
)
def test_cli_prints_one_located_line_and_exits_2(name, plan_copy):
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("plantrack")),
            "ingest",
            str(CORPUS / name),
            "--plan",
            str(plan_copy),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (
        result.stderr.startswith("plantrack: error: ")
        and name in result.stderr
        and result.stderr.count("\n") == 1
    )


def test_lenient_readings_bom_year_suffix_rate_percent(tmp_path, plan_copy):
    sheet = tmp_path / "lenient.csv"
    sheet.write_bytes(
        "\ufeffindicator,year,value,unit,source,quote,reported_rate\n"
        "众创空间服务平台,2019年,420,家,evaluation-2018,众创空间420家,140%\n".encode("utf-8")
    )
    result = plantrack.ingest(str(plan_copy), sheet)
    row = result.added.iloc[0]
    assert (row.indicator_id, row.year, row.reported_rate) == ("maker_spaces", "2019", "140")
    assert plantrack.load_plan(plan_copy).actuals.iloc[-1]["year"] == 2019


def test_ingest_appends_keeps_old_bytes_and_stays_valid(tmp_path, plan_copy):
    old = (plan_copy / "actuals.csv").read_bytes()
    sheet = tmp_path / "new.xlsx"
    pd.DataFrame(
        [
            dict(
                indicator="online_sales",
                year=2019,
                value="2.0",
                unit="万亿元",
                source="bulletin-2019",
                quote="2019年全省网络零售额2.0万亿元",
                source_title="2019年统计公报",
                source_file="bulletin-2019.txt",
            )
        ]
    ).to_excel(sheet, index=False)
    dry = plantrack.ingest(str(plan_copy), sheet, dry_run=True)
    assert not dry.written and (plan_copy / "actuals.csv").read_bytes() == old
    done = plantrack.ingest(str(plan_copy), sheet)
    assert done.written and done.new_sources == ["bulletin-2019"]
    new = (plan_copy / "actuals.csv").read_bytes()
    assert new.startswith(old) and new.count(b"\n") == old.count(b"\n") + 1
    frictionless = str(Path(sys.executable).with_name("frictionless"))
    check = subprocess.run(
        [frictionless, "validate", str(plan_copy / "datapackage.json")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout[-2000:]
    plan = plantrack.load_plan(plan_copy)
    added = plan.actuals[
        (plan.actuals["indicator_id"] == "online_sales") & (plan.actuals["year"] == 2019)
    ]
    assert len(added) == 1 and added["value"].iloc[0] == 2.0
    # the sheet names no measure: the row measures the indicator's own (the plan's target's) measure
    assert (
        plantrack.tidy(plan)
        .query("year == 2019 and indicator_id == 'online_sales'")["measure"]
        .iloc[0]
        == "online_sales"
    )


def test_replace_swaps_the_row(tmp_path, plan_copy):
    sheet = tmp_path / "fix.csv"
    sheet.write_text(
        "indicator,year,value,unit,source,quote,stated,reported_rate\n"
        "online_sales,2017,1.3,万亿元,evaluation-2018,corrected: 1.3万亿元,1.3,108\n",
        encoding="utf-8",
    )
    with pytest.raises(plantrack.DataError, match="--replace"):
        plantrack.ingest(str(plan_copy), sheet)
    plantrack.ingest(str(plan_copy), sheet, replace=True)
    actuals = plantrack.load_plan(plan_copy).actuals
    row = actuals[(actuals["indicator_id"] == "online_sales") & (actuals["year"] == 2017)]
    assert len(row) == 1 and row.iloc[0]["value"] == 1.3


def test_full_width_digits_are_read_as_numbers_and_stated_as_typed(tmp_path, plan_copy):
    sheet = tmp_path / "fullwidth.csv"
    sheet.write_text(
        "indicator,year,value,unit,source,quote,reported_rate\n"
        "maker_spaces,２０１９年,４２０,家,evaluation-2018,众创空间４２０家,１４０％\n",
        encoding="utf-8",
    )
    result = plantrack.ingest(str(plan_copy), sheet)
    row = result.added.iloc[0]
    assert (row.year, row.value, row.stated, row.reported_rate) == ("2019", "420", "４２０", "140")
    actual = plantrack.load_plan(plan_copy).actuals.iloc[-1]
    assert (actual["year"], actual["value"], actual["stated"]) == (2019, 420.0, "４２０")


def test_zip_bomb_workbook_is_refused_before_parsing(tmp_path, plan_copy):
    import zipfile

    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for part in range(3):  # 3 x 40 MB of spaces: ~120 MB inflated from ~120 KB
            with archive.open(f"xl/worksheets/sheet{part + 1}.xml", "w") as handle:
                for _ in range(40):
                    handle.write(b" " * (1024 * 1024))
    assert bomb.stat().st_size < 1_000_000
    before = snapshot(plan_copy)
    with pytest.raises(
        plantrack.DataError, match="expands to 126 MB; the limit is 104 MB"
    ) as caught:
        plantrack.ingest(str(plan_copy), bomb)
    assert short(caught.value) and snapshot(plan_copy) == before


@pytest.mark.parametrize(
    "suffix, columns", [("csv", 100_000), ("xlsx", 16_000)]
)  # .xlsx stops at 16,384
def test_a_very_wide_sheet_gets_a_short_message(tmp_path, plan_copy, suffix, columns):
    sheet = tmp_path / f"wide.{suffix}"
    header = ["indicator", "year", "value", "unit", "source", "quote"] + [
        f"extra_{i}" for i in range(columns)
    ]
    if suffix == "csv":
        sheet.write_text(",".join(header) + "\n", encoding="utf-8")
    else:
        import openpyxl

        book = openpyxl.Workbook(write_only=True)
        book.create_sheet().append(header)
        book.save(sheet)
    with pytest.raises(
        plantrack.DataError, match=f"{columns + 6:,} columns; the limit is 100"
    ) as caught:
        plantrack.ingest(str(plan_copy), sheet)
    assert short(caught.value) and caught.value.row == 1


def test_billion_laughs_and_deep_yaml_get_short_messages(tmp_path):
    from plantrack.data import safe_yaml

    laughs = tmp_path / "laughs.yaml"
    laughs.write_text(
        "a: &a ["
        + ", ".join(["lol"] * 9)
        + "]\n"
        + "".join(
            f"b{i}: &a{i} [{', '.join(['*a' if i == 0 else f'*a{i - 1}'] * 9)}]\n" for i in range(9)
        )
    )
    deep = tmp_path / "deep.yaml"
    deep.write_text("{a: " * 3000 + "1" + "}" * 3000 + "\n")
    for path, words in ((laughs, "aliases"), (deep, "nested more than")):
        with pytest.raises(plantrack.DataError, match=words) as caught:
            safe_yaml.load(path)
        assert short(caught.value) and caught.value.file == str(path)
