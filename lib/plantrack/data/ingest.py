"""`plantrack ingest`: add a sheet of actuals to a plan, all or nothing.

The whole sheet is checked first; only then are sources.csv and actuals.csv replaced, each by a
temporary file renamed over the original (a crash leaves the old file), under the plan's lock.
Existing rows are kept byte for byte: new rows are appended as text.

Lenient, unambiguous readings (documented in README): a UTF-8 byte-order mark; a year written
'2017年'; a rate written '130%' (or '130 %', '130％', or a workbook cell formatted as a percentage);
surrounding spaces. Everything else that is not plainly a number, a known indicator, a convertible
unit or a year is rejected with its row and column.

One path for every way rows come in: `prepare` checks a sheet (a CSV/XLSX file or a pandas
DataFrame, read alike), `add_rows` builds the plan with them in memory (`Plan.with_actuals` and
`ingest` both use it), and `ingest` writes them. Judging the result (findings, status changes) is
the judge layer's (`plantrack.judge.whatif`): this module never imports it.
"""

from __future__ import annotations

import copy
import csv
import io
import math
import os
import re
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import replace as with_fields
from pathlib import Path

import numpy as np
import pandas as pd

from plantrack.data import units
from plantrack.data.package import (
    Plan,
    _typed,
    load_plan,
    plan_dir,
    plan_lock,
    resource_schemas,
    states,
    write_atomic,
)
from plantrack.errors import DataError, clip, listing

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
MAX_COLUMNS = 100
# A workbook is a zip: its entries' declared sizes bound what openpyxl can inflate (Python's zipfile
# stops at the declared size and fails the CRC past it), so they are checked before parsing.
MAX_XLSX_EXPANDED = 100 * 1024 * 1024  # all entries together, uncompressed
MAX_XLSX_RATIO = 100  # uncompressed / compressed, for any entry over 1 MB
MAX_XLSX_ENTRIES = 1000
YEAR_MARGIN = 10  # years an actual may lie outside the plan's own years
COUNT_DIMENSIONS = ("[item]", "[person]", "[rank]")  # counted things and ranks are never negative
# C0 control characters other than tab, newline and carriage return: never part of a sheet's text.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
REQUIRED = ["indicator", "year", "value", "unit", "source", "quote"]
OPTIONAL = [
    "stated",
    "name_as_stated",
    "reported_rate",
    "locator",
    "year_basis",
    "source_file",
    "source_title",
    "source_issuer",
    "source_date",
]
# ASCII digits only, after NFKC (which turns full-width ２０１８ into 2018): other scripts' digits are refused.
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", re.ASCII)
NUMERIC = ("year", "value", "reported_rate")
# Lenient readings: a year written 2017年, a rate written 130% or 130 % (the sign after a number).
SUFFIX = {"year": re.compile(r"(?<=\S)年$"), "reported_rate": re.compile(r"(?<=\S)\s*%$")}
# The fields of the plan's actuals schema a sheet's row is checked against (sheet_schema), in the
# order they are checked; the type of one a plan's schema lacks.
SHEET_FIELDS = ["indicator_id", "year", "value", "unit", "reported_rate", "source", "locator"]
SHEET_FIELDS += ["year_basis", "quote"]
FIELD_TYPES = {"year": "integer", "value": "number", "reported_rate": "number"}
# Messages (_schema_error, _plain_number): what a column's cell must be ("'x' is not <this>"), a
# constraint the cell breaks in words (LIMITS), and the bounds sheet_schema adds (WITHIN).
WANTED = {
    "year": "a year such as 2018",
    "value": "a number",
    "unit": "a unit",
    "reported_rate": "a completion rate such as 98 or 98%",
    "source": "a source id of lowercase letters, digits, '-' or '_'",
    "quote": "the quoted sentence that states it",
}
LIMITS = {
    "minLength": "at least {} characters",
    "maxLength": "at most {} characters",
    "pattern": "matching {}",
    "exclusiveMinimum": "above {}",
    "exclusiveMaximum": "below {}",
}
WITHIN = {
    "year": "a plausible year for an actual of this plan ({span}: the plan's years, "
    f"{YEAR_MARGIN} either side, and not after next year)"
}
# A number as a quote writes it: ASCII or full-width digits and an optional decimal part; never the
# middle of a longer number ('1' is not found in '10' nor in '1.5'). A sign just before it counts
# only for a negative value (2016-2020 states 2020, not -2020).
DIGIT = "0-9０-９"
QUOTED_NUMBER = re.compile(
    rf"(?<![{DIGIT}.．])([-−－]?)([{DIGIT}]+(?:[.．][{DIGIT}]+)?)(?![{DIGIT}]|[.．][{DIGIT}])"
)


@dataclass(repr=False)
class IngestResult:
    """What an ingest added (or, with dry_run, would add) and what it changes.

    plan_id; added: the rows as written to actuals.csv (text); replaced: how many existing rows they
    replace; new_sources: the source ids added to sources.csv; plan: the plan with the rows (the
    what-if plan: `plantrack.assess(result.plan)` works, nothing written); written: whether the
    files were changed. Filled by `plantrack.ingest` (the judge layer), else None:
    new_findings: the findings the rows raise (as `plantrack.findings`, only the new ones);
    changes: one row per target whose status, trajectory or computed rate changes (columns
    indicator_id, target_year, status_before, status_after, trajectory_before, trajectory_after,
    computed_rate_before, computed_rate_after).
    """

    plan_id: str
    added: pd.DataFrame
    replaced: int = 0
    new_sources: list = field(default_factory=list)
    new_findings: pd.DataFrame | None = None
    written: bool = False
    plan: Plan | None = None
    changes: pd.DataFrame | None = None

    def summary(self) -> str:
        verb = "added" if self.written else "would add"
        lines = [
            f"{self.plan_id}: {verb} {len(self.added)} actual(s)"
            + (f", replacing {self.replaced}" if self.replaced else "")
            + (f", and source(s) {', '.join(self.new_sources)}" if self.new_sources else "")
        ]
        for r in self.added.head(20).itertuples(index=False):
            lines.append(f"  + {r.indicator_id} {r.year}: {r.value} {r.unit} ({r.source})")
        if len(self.added) > 20:
            lines.append(f"  … and {len(self.added) - 20} more")
        if self.changes is not None:
            lines.append(f"  status changes: {len(self.changes)}")
            lines += [f"  ~ {line}" for line in change_lines(self.changes)]
        if self.new_findings is not None and len(self.new_findings):
            lines.append(f"  findings newly raised: {len(self.new_findings)}")
            for f in self.new_findings.itertuples(index=False):
                lines.append(f"  ! [{f.severity}] {f.indicator_id} {f.kind}: {f.message_en}")
        return "\n".join(lines)

    def __repr__(self) -> str:  # a notebook shows what the ingest does, not the tables' reprs
        return self.summary()


def change_lines(changes: pd.DataFrame) -> list[str]:
    """Status changes as readable lines: 'online_sales 2017: not_achieved → achieved (95.0% → 108.3%)';
    the trajectory is added when it changes ('; trajectory on_track → target_achieved')."""

    def text(x) -> str:
        return "—" if pd.isna(x) else str(x)

    def rate(x) -> str:
        return "no rate" if pd.isna(x) else f"{x:.1f}%"

    def pair(before: str, after: str) -> str:
        return after if before == after else f"{before} → {after}"

    lines = []
    for c in changes.itertuples(index=False):
        line = (
            f"{c.indicator_id} {c.target_year}: {pair(text(c.status_before), text(c.status_after))}"
            f" ({pair(rate(c.computed_rate_before), rate(c.computed_rate_after))})"
        )
        before, after = text(c.trajectory_before), text(c.trajectory_after)
        if before != after:
            line += f"; trajectory {pair(before, after)}"
        lines.append(line)
    return lines


def _read_table(path: Path) -> pd.DataFrame:
    """A sheet as text cells, or a DataError saying why it cannot be read."""
    name = str(path)
    if not path.is_file():
        raise DataError("no such file", file=name)
    size = path.stat().st_size
    if size == 0:
        raise DataError("the file is empty", file=name)
    if size > MAX_BYTES:
        raise DataError(
            f"the file is {size / 1e6:.0f} MB; the limit is {MAX_BYTES // 1_000_000} MB "
            "(split it into smaller sheets)",
            file=name,
        )
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        _check_workbook(path, name)
        try:
            frame = _read_workbook(path, name)
        except DataError:
            raise
        except Exception as exc:  # openpyxl raises many types for a damaged workbook
            raise DataError(
                f"not a readable .xlsx workbook ({type(exc).__name__})", file=name
            ) from None
    elif suffix == ".csv":
        raw = path.read_bytes()
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise DataError("the file is UTF-16; save it as UTF-8", file=name)
        if b"\x00" in raw[:4096]:
            raise DataError("this is not a text CSV file", file=name)
        # A NUL later in the file is found cell by cell (prepare), with its row and column.
        try:
            text = raw.decode("utf-8-sig")  # a BOM is accepted: Excel writes one
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            hint = " (it looks like GBK/GB18030)" if _is_gbk(raw) else ""
            raise DataError(
                f"the file is not UTF-8{hint}; save it as UTF-8", file=name, row=line
            ) from None
        try:  # pandas takes a minute over a header of 100,000 columns: count them first
            _check_width(next(csv.reader(io.StringIO(text)), []), name)  # the first record only
        except csv.Error:
            pass  # broken quoting: _check_quoting below says where
        try:
            frame = pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True
            )
        except pd.errors.EmptyDataError:
            raise DataError("the file has no header row", file=name) from None
        except pd.errors.ParserError as exc:
            match = re.search(r"line (\d+)", str(exc))
            raise DataError(
                f"broken CSV: {str(exc).strip()}",
                file=name,
                row=int(match.group(1)) if match else None,
            ) from None
        _check_quoting(text, name)
    else:
        raise DataError(
            f"unsupported file type '{suffix or '(none)'}'; use .csv (UTF-8) or .xlsx", file=name
        )
    if len(frame) > MAX_ROWS:
        raise DataError(f"{len(frame):,} rows; the limit is {MAX_ROWS:,}", file=name)
    _check_width(frame.columns, name)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _check_width(header, name: str) -> None:
    if len(header) > MAX_COLUMNS:
        raise DataError(
            f"{len(header):,} columns; the limit is {MAX_COLUMNS} (the sheet needs "
            f"{', '.join(REQUIRED)} and a few optional ones)",
            file=name,
            row=1,
        )


# A number format that shows a cell as a percentage: a '%' outside quoted text and escapes (0"%"
# and 0\% only print the sign; 0% and 0.0% multiply by 100).
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\\.')


def _workbook_cell(cell) -> str:
    """A workbook cell as the text its reader sees: a number in its shortest form (number_text), a
    cell formatted as a percentage as that percentage ('100%' for the 1 behind 100%), empty ''."""
    value = cell.value
    if value is None:
        return ""
    if cell.data_type == "n" and isinstance(value, (int, float)) and not isinstance(value, bool):
        text = number_text(float(value))
        if "%" in _FORMAT_LITERALS.sub("", str(cell.number_format or "")):
            text = number_text(round(float(value) * 100, 10)) + "%"
        return text
    return str(value)


def _read_workbook(path: Path, name: str) -> pd.DataFrame:
    """The first sheet of a workbook as text cells (_workbook_cell), streamed: the header's width is
    checked before any other row is read, and reading stops after MAX_ROWS + 1 rows (a sheet of a
    million tiny rows is refused without reading them all)."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # declared dimensions can be wrong: read the real extent
        rows = []
        for number, row in enumerate(sheet.rows):
            cells = [_workbook_cell(c) for c in row]
            while cells and cells[-1] == "":
                cells.pop()
            if number == 0:
                _check_width(cells, name)
            rows.append(cells)
            if len(rows) > MAX_ROWS + 1:
                break
    finally:
        book.close()
    while rows and not rows[-1]:
        rows.pop()  # trailing empty rows
    if not rows:
        raise DataError("the sheet has no header row", file=name)
    width = max(len(r) for r in rows)
    header = [c or f"Unnamed: {i}" for i, c in enumerate(rows[0] + [""] * (width - len(rows[0])))]
    body = [r + [""] * (width - len(r)) for r in rows[1:]]
    return pd.DataFrame(body, columns=header, dtype=object)


def _check_workbook(path: Path, name: str) -> None:
    """Refuse a workbook whose zip entries would inflate past the limits (a zip bomb), before parsing."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise DataError(
            f"not a readable .xlsx workbook ({type(exc).__name__})", file=name
        ) from None
    if len(entries) > MAX_XLSX_ENTRIES:
        raise DataError(
            f"the workbook holds {len(entries):,} parts; the limit is {MAX_XLSX_ENTRIES:,}",
            file=name,
        )
    expanded = sum(e.file_size for e in entries)
    if expanded > MAX_XLSX_EXPANDED:
        raise DataError(
            f"the workbook expands to {expanded / 1e6:,.0f} MB; the limit is "
            f"{MAX_XLSX_EXPANDED // 1_000_000} MB (split it, or save it as CSV)",
            file=name,
        )
    for entry in entries:
        if entry.file_size > 1024 * 1024 and entry.file_size > MAX_XLSX_RATIO * max(
            entry.compress_size, 1
        ):
            raise DataError(
                f"a part of the workbook expands {entry.file_size / max(entry.compress_size, 1):,.0f} "
                f"times (limit {MAX_XLSX_RATIO}): not an ordinary workbook",
                file=name,
            )


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
                raise DataError(
                    f"{len(row)} cells where the header has {len(header)} (check the quoting)",
                    file=name,
                    row=reader.line_num,
                )
    except csv.Error as exc:
        raise DataError(f"broken CSV quoting: {exc}", file=name, row=reader.line_num) from None


def number_text(value: float) -> str:
    """A number as a sheet's cell would show it: 1.0 → '1', 16718.8 → '16718.8' (the shortest text
    that reads back as the same number), never '100.0'."""
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(float(value))


def _cell_text(value) -> str:
    """A DataFrame's cell as the same cell of a CSV file reads: text as it is, a number in its
    shortest form (number_text), a missing value (None, NaN, NA) empty."""
    if isinstance(value, str):
        return value
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else number_text(float(value))
    return str(value)


def _input_frame(data, name: str) -> pd.DataFrame:
    """The sheet as text cells: a file read by _read_table, or a DataFrame read the same way (its
    numbers as a CSV file writes them: 1.0 is '1'), so both pass the same checks alike."""
    if isinstance(data, pd.DataFrame):
        frame = pd.DataFrame(
            {
                position: [_cell_text(v) for v in data.iloc[:, position].tolist()]
                for position in range(data.shape[1])
            },
            index=range(len(data)),
            dtype=object,
        )
        frame.columns = [str(c).strip() for c in data.columns]
        return frame
    return _read_table(Path(data))


def prepare(
    plan, data, *, replace: bool = False, name: str | None = None
) -> tuple[pd.DataFrame, list[dict]]:
    """Check every row of a sheet; return the actual rows and new source rows to add.

    Each row, in the sheet's order, passes three steps: the project's readings (the indicator found
    by id or name, numbers written plainly), the plan's own Table Schema for actuals checked by
    frictionless (types, required cells, enum, bounds: sheet_schema), then the project's rules
    (the unit, a count's sign, the value in the quote, sources, duplicates). The first failure is
    a DataError naming the file, the sheet's row (the header is row 1) and its column.
    """
    name = name or (str(data) if not isinstance(data, pd.DataFrame) else "<DataFrame>")
    # Python strings: a CSV's cells come as pandas' Arrow strings, slow to read one by one.
    frame = _check_header(_input_frame(data, name), name).astype(object)
    _check_text(frame, name)
    sheet = _Sheet(plan, name, replace)
    columns = list(frame.columns)
    for line, cells in enumerate(frame.itertuples(index=False, name=None), start=2):
        sheet.add(line, {k: str(v).strip() for k, v in zip(columns, cells)})
    return pd.DataFrame(sheet.rows), list(sheet.new_sources.values())


def _check_header(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The sheet's columns: each once, text, the required ones present, no unknown one; and rows."""
    if "indicator_id" in frame.columns and "indicator" not in frame.columns:
        frame = frame.rename(columns={"indicator_id": "indicator"})
    counts = pd.Series(list(frame.columns)).value_counts()
    duplicated = sorted(str(c) for c in counts[counts > 1].index)
    if duplicated:
        raise DataError(
            f"column(s) {listing(duplicated)} appear more than once",
            file=name,
            row=1,
            column=duplicated[0],
        )
    for column in frame.columns:
        if CONTROL.search(column):
            raise DataError(
                "the header holds a control character (a NUL byte?): not a text sheet",
                file=name,
                row=1,
                column=column,
            )
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(
            f"missing column(s) {listing(missing)}; required: {', '.join(REQUIRED)}",
            file=name,
            row=1,
        )
    extra = [c for c in frame.columns if c not in REQUIRED + OPTIONAL]
    if extra:
        raise DataError(
            f"unknown column(s) {listing(extra)}; allowed: {', '.join(REQUIRED + OPTIONAL)}",
            file=name,
            row=1,
            column=extra[0],
        )
    if frame.empty:
        raise DataError("the sheet has a header but no rows", file=name)
    return frame


def sheet_schema(plan):
    """The Table Schema (a frictionless Schema) a sheet's rows are checked against: the fields of
    the plan's own actuals resource that a sheet gives (SHEET_FIELDS: prepare fills stated and
    name_as_stated, and a sheet has no measure), their constraints as the plan's datapackage.json
    declares them, with the project's own added: a value in each of the sheet's REQUIRED columns,
    a year plausible for this plan, a completion rate never negative, and a source id as
    sources.csv's source_id (a new source becomes a row there)."""
    import frictionless  # imported here: slow to import

    schemas = resource_schemas(plan.path)
    declared = {f["name"]: f for f in schemas["actuals"]["fields"]}
    fields = {
        n: copy.deepcopy(declared.get(n, {"name": n, "type": FIELD_TYPES.get(n, "string")}))
        for n in SHEET_FIELDS
    }
    for column in REQUIRED:  # a column the sheet must have needs a value in every row
        name = "indicator_id" if column == "indicator" else column
        fields[name].setdefault("constraints", {})["required"] = True
    _narrow(fields["year"], *_plausible_years(plan))
    _narrow(fields["reported_rate"], 0, None)
    source_id = next((f for f in schemas["sources"]["fields"] if f["name"] == "source_id"), {})
    source = fields["source"]
    source["constraints"] = {**source_id.get("constraints", {}), **source.get("constraints", {})}
    missing = schemas["actuals"].get("missingValues", [""])
    # The plan's descriptor was validated when the plan was loaded: metadata_import does not
    # validate it again (from_descriptor would, importing jsonschema: seconds on a first call).
    return frictionless.Schema.metadata_import(
        {"fields": list(fields.values()), "missingValues": missing}
    )


def _narrow(field: dict, low: int | None, high: int | None) -> None:
    """A field's minimum raised to `low` and maximum lowered to `high` (None: as declared)."""
    constraints = field.setdefault("constraints", {})
    if low is not None:
        constraints["minimum"] = max(low, constraints.get("minimum", low))
    if high is not None:
        constraints["maximum"] = min(high, constraints.get("maximum", high))


def _schema_error(field, cell, notes: dict, file: str, row: int) -> DataError:
    """What frictionless notes of one cell (its type, or the first constraint it breaks: required,
    enum, minimum…) as a short DataError naming the file, the sheet's row and the sheet's column."""
    column = "indicator" if field.name == "indicator_id" else field.name
    kind = next(iter(notes))
    what = WANTED.get(column, f"a valid {column}")
    limit = field.constraints.get(kind)
    if kind == "required":
        message = f"the cell is empty: every actual needs {what}"
    elif kind == "enum":
        message = f"'{clip(cell)}' is not one of {listing(limit)}"
    elif kind in ("minimum", "maximum"):
        low, high = field.constraints.get("minimum"), field.constraints.get("maximum")
        span = f"{low} or more" if high is None else f"{high} or less" if low is None else ""
        span = span or f"{low} to {high}"
        message = f"{clip(cell)} is not " + WITHIN.get(column, "{what} ({span})").format(
            what=what, span=span
        )
    elif kind == "type":
        message = f"'{clip(cell)}' is not {what}"
    else:  # minLength, pattern, an exclusive bound…
        message = (
            f"'{clip(cell)}' is not {what} ({LIMITS.get(kind, kind + ' {}').format(clip(limit))})"
        )
    return DataError(message, file=file, row=row, column=column)


def _plain_number(column: str, text: str, fail: Callable) -> str:
    """A number cell as the sheet writes it, '' when empty: read with NFKC (full-width digits), a
    year's 年 or a rate's % dropped; anything but ASCII digits (with a point, a sign, an exponent)
    and a finite value is refused, with a hint for the usual mistakes in a value."""
    text = unicodedata.normalize("NFKC", text).strip()
    plain = SUFFIX[column].sub("", text) if column in SUFFIX else text
    if NUMBER.match(plain):
        if not math.isfinite(float(plain)):
            fail(column, f"'{clip(text)}' is not a finite number")
        return plain
    if not plain:
        return plain  # a missing value: the schema says whether the column may have one
    if column == "value" and re.match(r"^[\d.]+[万亿千百]", text):
        fail(
            column,
            f"'{clip(text)}' mixes a number and a magnitude: write the number in 'value' and "
            "the magnitude in 'unit' (e.g. value 1.2, unit 万亿元)",
        )
    if column == "value" and "," in text:
        fail(column, f"'{clip(text)}' has a separator: write the number without commas (e.g. 1234)")
    fail(column, f"'{clip(text)}' is not {WANTED[column]}")


class _Sheet:
    """A sheet's rows checked one by one against a plan (prepare): what the plan knows, the
    schema's cell readers, and the rows and new sources found so far."""

    def __init__(self, plan, name: str, replace: bool):
        self.plan, self.name, self.replace = plan, name, replace
        self.by_name = {}
        for r in plan.indicators.itertuples(index=False):
            self.by_name.update({r.indicator_id: r, r.name_zh: r, r.name_en: r})
        self.known_sources = set(plan.sources["source_id"])
        years = plan.actuals["year"].astype(int)
        self.existing = set(zip(plan.actuals["indicator_id"], years, plan.actuals["source"]))
        self.wording = plan_wording(plan)
        self.readers = [(f, f.create_cell_reader()) for f in sheet_schema(plan).fields]
        self.rows, self.new_sources, self.seen = [], {}, {}

    def add(self, line: int, cell: dict) -> None:
        """Check one row (`line`: the sheet's row number) and keep it, or raise at its first error."""

        def fail(column, message):
            raise DataError(message, file=self.name, row=line, column=column)

        indicator, text = self._read(cell, fail)
        typed = self._typed(text, line)
        year, value = int(typed["year"]), float(typed["value"])
        self._check_unit(indicator, text, year, value, fail)
        source = text["source"]
        self._check_source(source, cell, fail)
        stated = self._stated(cell, value, text["quote"], fail)
        key = (indicator.indicator_id, year, source)
        self._check_duplicate(key, line, fail)
        self.rows.append(
            dict(
                indicator_id=indicator.indicator_id,
                year=str(year),
                value=text["value"],
                unit=text["unit"],
                stated=stated,
                # The 'indicator' cell is how the sheet finds the indicator, not the source's words:
                # without name_as_stated the row takes the plan's own name for it (no wording change).
                name_as_stated=cell.get("name_as_stated")
                or self.wording.get(indicator.indicator_id, indicator.name_zh),
                reported_rate=text["reported_rate"],
                source=source,
                locator=text["locator"],
                year_basis=text["year_basis"],
                quote=text["quote"],
            )
        )

    def _read(self, cell: dict, fail: Callable) -> tuple:
        """The project's readings: the indicator by its id or exact zh/en name; numbers plainly
        written (_plain_number); year_basis 'stated' when not given. The row as text, in the
        sheet schema's fields (SHEET_FIELDS)."""
        indicator = self.by_name.get(cell["indicator"])
        if indicator is None:
            fail(
                "indicator",
                f"unknown indicator '{clip(cell['indicator'])}' (give its id, or its exact zh/en name)",
            )
        text = {c: cell.get(c, "") for c in SHEET_FIELDS if c != "indicator_id"}
        text.update({c: _plain_number(c, text[c], fail) for c in NUMERIC})
        text.update(indicator_id=indicator.indicator_id, year_basis=text["year_basis"] or "stated")
        return indicator, text

    def _typed(self, text: dict, line: int) -> dict:
        """The row's cells read by the schema's fields (frictionless): typed, or the first cell
        that breaks the schema as a DataError."""
        typed = {}
        for schema_field, reader in self.readers:
            cell = text[schema_field.name]
            typed[schema_field.name], notes = reader(cell)
            if notes:
                raise _schema_error(schema_field, cell, notes, self.name, line)
        return typed

    def _check_unit(self, indicator, text: dict, year: int, value: float, fail: Callable) -> None:
        """The unit converts to the indicator's (a currency needs the year's rate); a count is not negative."""
        try:
            units.convert(1.0, text["unit"], indicator.unit, year=year, rates=self.plan.rates)
        except units.UnitError as exc:
            fail("unit", f"{exc} (the indicator {indicator.indicator_id} is in {indicator.unit})")
        if value < 0 and _is_count(indicator.unit):
            fail(
                "value",
                f"{clip(text['value'])} is negative, and {indicator.indicator_id} counts things "
                f"({indicator.unit})",
            )

    def _check_source(self, source: str, cell: dict, fail: Callable) -> None:
        """A source the plan does not know is added, given its title and file."""
        if source in self.known_sources or source in self.new_sources:
            return
        if not cell.get("source_title") or not cell.get("source_file"):
            fail("source", f"source '{source}' is new: give its source_title and source_file")
        self.new_sources[source] = dict(
            source_id=source,
            file=cell["source_file"],
            title_zh=cell["source_title"],
            title_en=cell["source_title"],
            issuer=cell.get("source_issuer", ""),
            date=cell.get("source_date", ""),
            role="bulletin",
        )

    @staticmethod
    def _stated(cell: dict, value: float, quote: str, fail: Callable) -> str:
        """The words that state the value: the 'stated' column (words, e.g. 两万亿元), which the
        quote must hold, else the value as a number the quote writes ('1' for 1.0, '４２０' for
        420; never '10' for 1)."""
        if cell.get("stated"):
            if not states(cell["stated"], quote):
                fail(
                    "stated",
                    f"'{clip(cell['stated'])}' does not occur in the quote; give the words of the "
                    "quote that state the value",
                )
            return cell["stated"]
        stated = stated_in_quote(value, quote)
        if stated is None:
            fail(
                "value",
                f"{clip(number_text(value))} does not occur in the quote as a number; give the "
                "words that state the value in a 'stated' column",
            )
        return stated

    def _check_duplicate(self, key: tuple, line: int, fail: Callable) -> None:
        """One row per indicator, year and source: in the sheet, and in the plan unless replacing."""
        if key in self.seen:
            fail("indicator", f"the same indicator, year and source as row {self.seen[key]}")
        self.seen[key] = line
        if key in self.existing and not self.replace:
            indicator, year, source = key
            fail(
                "indicator",
                f"{indicator} {year} from {source} is already in actuals.csv "
                "(use --replace, or replace=True, to replace it)",
            )


def stated_in_quote(value: float, quote: str) -> str | None:
    """The number in the quote equal to `value`, as the quote writes it ('1' for 1.0, '４２０' for
    420, '16718.8'); None when the quote writes no such number. Numbers are compared as numbers,
    whole: '10' and '1.5' do not state 1."""
    for match in QUOTED_NUMBER.finditer(quote):
        sign, digits = match.groups()
        number = float(unicodedata.normalize("NFKC", digits))
        if number == value:
            return digits
        if sign and -number == value:
            return sign + digits
    return None


def plan_wording(plan) -> dict[str, str]:
    """Each indicator's name as the plan's own document states it, else as the first target or
    actual that names it (the reference findings' wording_change compares against): the name a
    row that gives no name_as_stated takes."""
    parts = []
    for frame in (plan.targets, plan.actuals):
        rows = frame[["indicator_id", "name_as_stated", "source"]].dropna()
        parts.append(rows.drop_duplicates(["indicator_id", "source"]).astype(str))
    rows = pd.concat(parts, ignore_index=True)
    own = rows["source"] == str(plan.plan_source)
    first = pd.concat([rows[own], rows[~own]]).drop_duplicates("indicator_id")
    return dict(zip(first["indicator_id"], first["name_as_stated"]))


def _check_text(frame: pd.DataFrame, name: str) -> None:
    """A NUL byte or another control character anywhere in the sheet: refused first, at its row and column."""
    for column in frame.columns:
        values = [str(v) for v in frame[column]]
        if not CONTROL.search("\n".join(values)):  # one search per column: the common case
            continue
        row = next(i for i, v in enumerate(values) if CONTROL.search(v))
        char = CONTROL.search(values[row]).group()
        what = "a NUL byte" if char == "\x00" else f"a control character (U+{ord(char):04X})"
        raise DataError(
            f"{what} in the cell: not text a source states (is this a binary file?)",
            file=name,
            row=row + 2,
            column=column,
        )


def _plausible_years(plan) -> tuple[int | None, int]:
    """The years an actual of this plan may have: its own years (base, targets, actuals) widened by
    YEAR_MARGIN, and not after next year (sheet_schema adds them to the schema's own bounds)."""
    years = [int(y) for y in (plan.base_year,) if isinstance(y, int)]
    for table, column in ((plan.targets, "target_year"), (plan.actuals, "year")):
        values = pd.to_numeric(table[column], errors="coerce").dropna()
        if len(values):
            years += [int(values.min()), int(values.max())]
    next_year = pd.Timestamp.now().year + 1
    if not years:
        return None, next_year
    return min(years) - YEAR_MARGIN, min(next_year, max(years) + YEAR_MARGIN)


def _is_count(unit: str) -> bool:
    try:
        dimensions = str(units.parse_unit(unit).dimensionality)
    except units.UnitError:
        return False
    return any(d in dimensions for d in COUNT_DIMENSIONS) and "/" not in dimensions


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
    csv.writer(extra, lineterminator="\n").writerows(
        [[r.get(c, "") for c in header] for r in new_rows]
    )
    return body + extra.getvalue()


@dataclass
class Addition:
    """A sheet's rows added to a plan in memory (add_rows): nothing is written."""

    plan: Plan  # the plan with the rows (and any new sources)
    rows: pd.DataFrame  # the rows as prepare returns them: text, as actuals.csv will hold them
    replaced: set  # (indicator_id, year, source) of the plan's rows the new ones replace
    new_sources: list  # source rows to add to sources.csv


def add_rows(plan, data, *, replace: bool = False, name: str | None = None) -> Addition:
    """The plan with a sheet's actuals added, checked by prepare (the same rules as `ingest`);
    with `replace`, a row replaces the plan's row of the same indicator, year and source. The new
    rows are typed as load_plan would read them back once written."""
    rows, new_sources = prepare(plan, data, replace=replace, name=name)
    keys = set(zip(rows["indicator_id"], rows["year"], rows["source"]))
    current = list(
        zip(
            plan.actuals["indicator_id"].astype(str),
            plan.actuals["year"].astype(int).astype(str),
            plan.actuals["source"].astype(str),
        )
    )
    mask = np.fromiter((key in keys for key in current), dtype=bool, count=len(current))
    replaced = {key for key, hit in zip(current, mask) if hit}
    typed = rows.mask(rows == "")  # an empty cell is a missing value, as load_plan reads it
    typed = typed.astype(
        {c: "string" for c in typed.columns if c not in ("year", "value", "reported_rate")}
    ).assign(
        year=pd.array(typed["year"].astype(int), dtype="Int64"),
        value=typed["value"].astype(float),
        reported_rate=pd.to_numeric(typed["reported_rate"]).astype(float),
    )
    tables = dict(plan.tables)
    tables["actuals"] = _typed(
        "actuals", pd.concat([plan.actuals[~mask], typed], ignore_index=True)
    )
    if new_sources:
        sources = pd.DataFrame(new_sources).replace("", pd.NA).astype("string")
        tables["sources"] = pd.concat([plan.sources, sources], ignore_index=True)
    what_if = Plan(plan.plan_id, plan.path, plan.meta, plan.content_hash + "+what-if", tables)
    return Addition(what_if, rows, replaced, new_sources)


def ingest(
    plan_id: str,
    data,
    *,
    replace: bool = False,
    dry_run: bool = False,
    review: Callable[[Plan, Plan], dict] | None = None,
) -> IngestResult:
    """Validate a sheet of actuals and append it to the plan's data package (all or nothing).

    This is the data layer's half: `plantrack.ingest` (plantrack.judge.whatif.ingest) passes a
    `review(before, after)` that judges the plans before and after; the fields it returns
    (new_findings, changes) are set on the result before anything is written.
    """
    directory = plan_dir(plan_id)
    with plan_lock(directory, wait=10 if dry_run else 0):
        _remove_leftovers(directory)
        plan = load_plan(directory)
        addition = add_rows(plan, data, replace=replace)
        result = IngestResult(
            plan.plan_id,
            addition.rows,
            len(addition.replaced),
            [s["source_id"] for s in addition.new_sources],
            plan=addition.plan,
        )
        if review is not None:
            result = with_fields(result, **review(plan, addition.plan))
        if dry_run:
            return result
        texts = {
            "actuals.csv": _rewrite_csv(
                directory / "actuals.csv",
                addition.replaced,
                ("indicator_id", "year", "source"),
                addition.rows.to_dict(orient="records"),
            )
        }
        if addition.new_sources:
            texts["sources.csv"] = _rewrite_csv(
                directory / "sources.csv", set(), ("source_id",), addition.new_sources
            )
        _check_then_swap(directory, texts)
        result.written = True
        return result


STAGING_PREFIX = "plantrack-ingest-"


def _staging_prefix(directory: Path) -> str:
    return f"{STAGING_PREFIX}{directory.name}-"


def _remove_leftovers(directory: Path) -> None:
    """What an ingest that was killed left behind (the originals were never touched): its staging
    copy in the temporary folder, and a renamed-in-waiting file beside the plan's own."""
    for item in directory.glob(".ingest-*"):  # where older versions staged
        shutil.rmtree(item, ignore_errors=True)
    for item in directory.glob(".*.tmp-*"):
        item.unlink(missing_ok=True)
    for item in Path(tempfile.gettempdir()).glob(_staging_prefix(directory) + "*"):
        pid = item.name[len(_staging_prefix(directory)) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(item, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _check_then_swap(directory: Path, texts: dict[str, str]) -> None:
    """Validate the package as it will be, then rename each new file over the old one."""
    # Staged outside the plan's folder: a killed ingest never leaves a copy inside the package; the
    # next ingest of the plan removes a stale one (its process is gone) from the temporary folder.
    staging = Path(tempfile.mkdtemp(prefix=f"{_staging_prefix(directory)}{os.getpid()}-"))
    try:
        for item in directory.iterdir():
            if item.is_file() and not item.is_symlink() and not item.name.startswith("."):
                shutil.copy2(item, staging / item.name)
        for file_name, text in texts.items():
            (staging / file_name).write_text(text, encoding="utf-8")
        try:
            load_plan(staging, use_cache=False)
        except DataError as exc:
            where = str(exc).replace(
                str(staging), str(directory)
            )  # name the plan's file, not the staging copy
            raise DataError(f"the plan would not be valid after this ingest: {where}") from None
        # sources first: an extra source row is harmless if we stop before the actuals.
        for file_name in sorted(texts, key=lambda n: n != "sources.csv"):
            write_atomic(directory / file_name, (staging / file_name).read_bytes())
    finally:
        shutil.rmtree(staging, ignore_errors=True)
