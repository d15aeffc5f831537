"""`plantrack ingest`: add a sheet of actuals to a plan, all or nothing.

The whole sheet is checked first; only then are sources.csv and actuals.csv replaced, each by a
temporary file renamed over the original (a crash leaves the old file), under the plan's lock.
Existing rows are kept byte for byte: new rows are appended as text.

Lenient, unambiguous readings (documented in README): a UTF-8 byte-order mark; a year written
'2017年'; a rate written '130%'; surrounding spaces. Everything else that is not plainly a number,
a known indicator, a convertible unit or a year is rejected with its row and column.
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from plantrack.data import units
from plantrack.data.package import load_plan, plan_dir, plan_lock
from plantrack.errors import DataError

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
REQUIRED = ["indicator", "year", "value", "unit", "source", "quote"]
OPTIONAL = ["stated", "name_as_stated", "reported_rate", "locator", "year_basis",
            "source_file", "source_title", "source_issuer", "source_date"]
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
YEAR = re.compile(r"^(\d{4})(年)?$")
RATE = re.compile(r"^([+-]?\d+(\.\d+)?)\s*%?$")
YEAR_BASIS = {"stated", "section", "evaluation_table", "inferred", "report"}


@dataclass
class IngestResult:
    plan_id: str
    added: pd.DataFrame
    replaced: int = 0
    new_sources: list = field(default_factory=list)
    new_findings: pd.DataFrame | None = None
    written: bool = False

    def summary(self) -> str:
        verb = "added" if self.written else "would add"
        lines = [f"{self.plan_id}: {verb} {len(self.added)} actual(s)"
                 + (f", replacing {self.replaced}" if self.replaced else "")
                 + (f", and source(s) {', '.join(self.new_sources)}" if self.new_sources else "")]
        for r in self.added.head(20).itertuples(index=False):
            lines.append(f"  + {r.indicator_id} {r.year}: {r.value} {r.unit} ({r.source})")
        if len(self.added) > 20:
            lines.append(f"  … and {len(self.added) - 20} more")
        if self.new_findings is not None and len(self.new_findings):
            lines.append(f"  findings newly raised: {len(self.new_findings)}")
            for f in self.new_findings.itertuples(index=False):
                lines.append(f"  ! [{f.severity}] {f.indicator_id} {f.kind}: {f.message_en}")
        return "\n".join(lines)


def _read_table(path: Path) -> pd.DataFrame:
    """A sheet as text cells, or a DataError saying why it cannot be read."""
    name = str(path)
    if not path.is_file():
        raise DataError("no such file", file=name)
    size = path.stat().st_size
    if size == 0:
        raise DataError("the file is empty", file=name)
    if size > MAX_BYTES:
        raise DataError(f"the file is {size / 1e6:.0f} MB; the limit is {MAX_BYTES // 1_000_000} MB "
                        "(split it into smaller sheets)", file=name)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        try:
            frame = pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")
        except Exception as exc:  # openpyxl raises many types for a damaged workbook
            raise DataError(f"not a readable .xlsx workbook ({type(exc).__name__})", file=name) from None
    elif suffix == ".csv":
        raw = path.read_bytes()
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise DataError("the file is UTF-16; save it as UTF-8", file=name)
        if b"\x00" in raw[:4096]:
            raise DataError("this is not a text CSV file", file=name)
        try:
            text = raw.decode("utf-8-sig")   # a BOM is accepted: Excel writes one
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].count(b"\n") + 1
            hint = " (it looks like GBK/GB18030)" if _is_gbk(raw) else ""
            raise DataError(f"the file is not UTF-8{hint}; save it as UTF-8", file=name, row=line) from None
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True)
        except pd.errors.EmptyDataError:
            raise DataError("the file has no header row", file=name) from None
        except pd.errors.ParserError as exc:
            match = re.search(r"line (\d+)", str(exc))
            raise DataError(f"broken CSV: {str(exc).strip()}", file=name,
                            row=int(match.group(1)) if match else None) from None
        _check_quoting(text, name)
    else:
        raise DataError(f"unsupported file type '{suffix or '(none)'}'; use .csv (UTF-8) or .xlsx", file=name)
    if len(frame) > MAX_ROWS:
        raise DataError(f"{len(frame)} rows; the limit is {MAX_ROWS}", file=name)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _is_gbk(raw: bytes) -> bool:
    try:
        raw.decode("gb18030")
        return True
    except UnicodeDecodeError:
        return False


def _check_quoting(text: str, name: str) -> None:
    """pandas forgives an unclosed quote by swallowing the rest of the file: catch it here."""
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        header = next(reader)
        for row in reader:
            if row and len(row) != len(header):
                raise DataError(f"{len(row)} cells where the header has {len(header)} (check the quoting)",
                                file=name, row=reader.line_num)
    except csv.Error as exc:
        raise DataError(f"broken CSV quoting: {exc}", file=name, row=reader.line_num) from None


def _input_frame(data, name: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        frame = data.copy()
        frame.columns = [str(c).strip() for c in frame.columns]
        return frame.astype(object).where(frame.notna(), "").astype(str)
    return _read_table(Path(data))


def prepare(plan, data, *, replace: bool = False, name: str | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Check every row of a sheet; return the actual rows and new source rows to add."""
    name = name or (str(data) if not isinstance(data, pd.DataFrame) else "<DataFrame>")
    frame = _input_frame(data, name)
    if "indicator_id" in frame.columns and "indicator" not in frame.columns:
        frame = frame.rename(columns={"indicator_id": "indicator"})
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)}", file=name, row=1)
    extra = [c for c in frame.columns if c not in REQUIRED + OPTIONAL]
    if extra:
        raise DataError(f"unknown column(s) {', '.join(extra)}; allowed: {', '.join(REQUIRED + OPTIONAL)}",
                        file=name, row=1, column=extra[0])
    if frame.empty:
        raise DataError("the sheet has a header but no rows", file=name)

    indicators = plan.indicators
    by_name = {}
    for r in indicators.itertuples(index=False):
        by_name[r.indicator_id] = r
        by_name[r.name_zh] = r
        by_name[r.name_en] = r
    known_sources = set(plan.sources["source_id"])
    existing = set(zip(plan.actuals["indicator_id"], plan.actuals["year"].astype(int), plan.actuals["source"]))
    rows, new_sources, seen = [], {}, {}
    for position, cells in enumerate(frame.to_dict(orient="records")):
        line = position + 2          # the header is row 1
        cell = {k: str(v).strip() for k, v in cells.items()}

        def fail(column, message):
            raise DataError(message, file=name, row=line, column=column)

        indicator = by_name.get(cell["indicator"])
        if indicator is None:
            fail("indicator", f"unknown indicator '{cell['indicator']}' (give its id, or its exact zh/en name)")
        year_match = YEAR.match(cell["year"])
        if not year_match:
            fail("year", f"'{cell['year']}' is not a year such as 2018")
        year = int(year_match.group(1))
        if not 1949 <= year <= pd.Timestamp.now().year + 1:
            fail("year", f"{year} is not a plausible year for an actual (1949 to next year)")
        value_text = cell["value"]
        if not NUMBER.match(value_text):
            if re.match(r"^[\d.]+[万亿千百]", value_text):
                fail("value", f"'{value_text}' mixes a number and a magnitude: write the number in 'value' and "
                              "the magnitude in 'unit' (e.g. value 1.2, unit 万亿元)")
            if "," in value_text or "，" in value_text:
                fail("value", f"'{value_text}' has a separator: write the number without commas (e.g. 1234)")
            fail("value", f"'{value_text}' is not a number")
        value = float(value_text)
        if not math.isfinite(value):
            fail("value", f"'{value_text}' is not a finite number")
        unit = cell["unit"]
        try:
            units.convert(1.0, unit, indicator.unit, year=year, rates=plan.rates)
        except units.UnitError as exc:
            fail("unit", f"{exc} (the indicator {indicator.indicator_id} is in {indicator.unit})")
        source = cell["source"]
        if not source:
            fail("source", "the source is empty")
        if not re.match(r"^[a-z0-9][a-z0-9_-]*$", source):
            fail("source", f"source id '{source}' must be lowercase letters, digits, '-' or '_'")
        if source not in known_sources and source not in new_sources:
            if not cell.get("source_title") or not cell.get("source_file"):
                fail("source", f"source '{source}' is new: give its source_title and source_file")
            new_sources[source] = dict(source_id=source, file=cell["source_file"], title_zh=cell["source_title"],
                                       title_en=cell["source_title"], issuer=cell.get("source_issuer", ""),
                                       date=cell.get("source_date", ""), role="bulletin")
        quote = cell["quote"]
        if len(quote) < 4:
            fail("quote", "every actual needs the quoted sentence that states it")
        stated = cell.get("stated") or value_text
        if stated not in quote:
            fail("stated" if cell.get("stated") else "value",
                 f"'{stated}' does not occur in the quote; give the words that state the value in a 'stated' column")
        rate_text = cell.get("reported_rate", "")
        rate = ""
        if rate_text:
            rate_match = RATE.match(rate_text)
            if not rate_match or float(rate_match.group(1)) < 0:
                fail("reported_rate", f"'{rate_text}' is not a completion rate such as 98 or 98%")
            rate = rate_match.group(1)
        basis = cell.get("year_basis") or "stated"
        if basis not in YEAR_BASIS:
            fail("year_basis", f"'{basis}' is not one of {', '.join(sorted(YEAR_BASIS))}")
        key = (indicator.indicator_id, year, source)
        if key in seen:
            fail("indicator", f"the same indicator, year and source as row {seen[key]}")
        seen[key] = line
        if key in existing and not replace:
            fail("indicator", f"{indicator.indicator_id} {year} from {source} is already in actuals.csv "
                              "(use --replace to replace it)")
        rows.append(dict(indicator_id=indicator.indicator_id, year=str(year), value=value_text, unit=unit,
                         stated=stated, name_as_stated=cell.get("name_as_stated") or (
                             indicator.name_zh if cell["indicator"] == indicator.indicator_id else cell["indicator"]),
                         reported_rate=rate, source=source, locator=cell.get("locator", ""),
                         year_basis=basis, quote=quote))
    return pd.DataFrame(rows), list(new_sources.values())


def _rewrite_csv(path: Path, drop: set, key_columns: tuple, new_rows: list[dict]) -> str:
    """The file's text with some rows dropped and new rows appended; other rows untouched."""
    text = path.read_text(encoding="utf-8")
    lines = list(csv.reader(io.StringIO(text)))
    header = lines[0]
    index = [header.index(c) for c in key_columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if drop:
        writer.writerow(header)
        for row in lines[1:]:
            if tuple(row[i] for i in index) not in drop:
                writer.writerow(row)
        body = out.getvalue()
    else:
        body = text if text.endswith("\n") else text + "\n"
    extra = io.StringIO()
    csv.writer(extra, lineterminator="\n").writerows([[r.get(c, "") for c in header] for r in new_rows])
    return body + extra.getvalue()


def ingest(plan_id: str, data, *, replace: bool = False, dry_run: bool = False) -> IngestResult:
    """Validate a sheet of actuals and append it to the plan's data package (all or nothing)."""
    from plantrack.judge.findings import findings

    directory = plan_dir(plan_id)
    with plan_lock(directory, wait=10 if dry_run else 0):
        _remove_leftovers(directory)
        plan = load_plan(directory)
        rows, new_sources = prepare(plan, data, replace=replace)
        keys = {(r.indicator_id, r.year, r.source) for r in rows.itertuples(index=False)}
        current = [(i, str(int(y)), s) for i, y, s in zip(plan.actuals["indicator_id"], plan.actuals["year"],
                                                          plan.actuals["source"])]
        replaced = keys & set(current)
        typed = rows.assign(year=rows["year"].astype(int), value=rows["value"].astype(float),
                            reported_rate=pd.to_numeric(rows["reported_rate"], errors="coerce"))
        before = findings(plan)
        after_plan = plan.with_actuals(typed, replaced=[key in replaced for key in current])
        if new_sources:
            after_plan.tables["sources"] = pd.concat([plan.sources, pd.DataFrame(new_sources)], ignore_index=True)
        after = findings(after_plan)
        old = set(zip(before["indicator_id"], before["kind"], before["message_en"]))
        fresh = after[[(i, k, m) not in old for i, k, m in zip(after["indicator_id"], after["kind"], after["message_en"])]]
        result = IngestResult(plan.plan_id, rows, len(replaced), [s["source_id"] for s in new_sources], fresh)
        if dry_run:
            return result
        texts = {"actuals.csv": _rewrite_csv(directory / "actuals.csv", replaced, ("indicator_id", "year", "source"),
                                             rows.to_dict(orient="records"))}
        if new_sources:
            texts["sources.csv"] = _rewrite_csv(directory / "sources.csv", set(), ("source_id",), new_sources)
        _check_then_swap(directory, texts)
        result.written = True
        return result


def _remove_leftovers(directory: Path) -> None:
    """Staging files of an ingest that was killed (the originals were never touched)."""
    for item in directory.glob(".ingest-*"):
        shutil.rmtree(item, ignore_errors=True)
    for item in directory.glob(".*.tmp-*"):
        item.unlink(missing_ok=True)


def _check_then_swap(directory: Path, texts: dict[str, str]) -> None:
    """Validate the package as it will be, then rename each new file over the old one."""
    staging = Path(tempfile.mkdtemp(prefix=".ingest-", dir=directory))
    try:
        for item in directory.iterdir():
            if item.is_file() and not item.name.startswith("."):
                shutil.copy2(item, staging / item.name)
        for file_name, text in texts.items():
            (staging / file_name).write_text(text, encoding="utf-8")
        try:
            load_plan(staging, use_cache=False)
        except DataError as exc:
            raise DataError(f"the plan would not be valid after this ingest: {exc}") from None
        # sources first: an extra source row is harmless if we stop before the actuals.
        for file_name in sorted(texts, key=lambda n: n != "sources.csv"):
            tmp = directory / f".{file_name}.tmp-{os.getpid()}"
            shutil.copy2(staging / file_name, tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, directory / file_name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
