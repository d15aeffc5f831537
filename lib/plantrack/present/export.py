"""CSV written for readers (who open it in a spreadsheet): text from the data cannot become a formula.

OWASP's rule for CSV injection: a text cell that begins with '=', '+', '-', '@', a tab or a
carriage return is prefixed with a single quote, so Excel, LibreOffice and Google Sheets show
it as text instead of evaluating it. The project's own data has such cells (a comparator '=',
quotes that begin with a tab). Numbers stay numbers: numeric columns are left alone, and a text
cell that is only a number ('-3.5') is not a formula and keeps its sign.

Only CSV meant for readers goes through here (`plantrack assess --format csv`, the dashboard's
downloads); the data package's own CSVs keep every value exactly as the source states it.
"""

from __future__ import annotations

import re

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", re.ASCII)


def safe_cell(value):
    """One cell as a spreadsheet should see it: text that would start a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not _NUMBER.match(value):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells cannot be read as formulas; numeric columns untouched."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        out[column] = series.map(safe_cell, na_action="ignore")
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out


def to_csv(frame: pd.DataFrame, target=None, **kwargs):
    """frame.to_csv after spreadsheet_safe; index off unless asked."""
    kwargs.setdefault("index", False)
    return spreadsheet_safe(frame).to_csv(target, **kwargs)


FORMATS = ("csv", "xlsx", "parquet")


def in_language(
    assessed: pd.DataFrame, lang: str, sector_names: dict | None = None
) -> pd.DataFrame:
    """assess() for a reader of `lang`: headers, statuses, sectors, confidence, finding kinds and
    yes/no in that language (the catalogue's csv.* keys); the other language's confidence reasons
    dropped. Values, units, names and quotes stay as the sources state them."""
    from plantrack.messages import t

    out = assessed.drop(columns=[c for c in assessed if c.startswith("confidence_reasons_")])
    out.insert(
        out.columns.get_loc("confidence") + 1,
        "confidence_reasons",
        assessed[f"confidence_reasons_{lang}"],
    )
    for column in ("status", "trajectory_status"):
        out[column] = out[column].map(lambda s: t(s, lang), na_action="ignore")
    out["confidence"] = out["confidence"].map(
        lambda c: t(f"confidence.{c}", lang), na_action="ignore"
    )
    out["direction"] = out["direction"].map(
        lambda d: t(f"site.direction.{d}", lang), na_action="ignore"
    )
    separator = "；" if lang == "zh" else "; "
    out["flags"] = out["flags"].map(
        lambda kinds: separator.join(t(k, lang) for k in kinds.split(", ") if k),
        na_action="ignore",
    )
    out["projection_reaches"] = out["projection_reaches"].map(
        lambda yes: t("csv.yes" if yes else "csv.no", lang), na_action="ignore"
    )
    if sector_names:
        out["sector"] = out["sector"].map(lambda s: sector_names.get(s, s), na_action="ignore")
    out = out.astype({c: "string" for c in out.columns if out[c].dtype == object})
    return out.rename(columns={c: t(f"csv.{c}", lang) for c in out.columns})


def table_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """The table as a file's bytes: CSV (UTF-8 with BOM, for Excel), XLSX or Parquet. CSV and XLSX
    are spreadsheet_safe (a text cell cannot become a formula); Parquet keeps the values as typed."""
    import io

    if fmt == "csv":
        return to_csv(frame).encode("utf-8-sig")
    buffer = io.BytesIO()
    if fmt == "xlsx":
        spreadsheet_safe(frame).to_excel(buffer, index=False, engine="openpyxl")
    elif fmt == "parquet":
        frame.to_parquet(buffer, index=False)
    else:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    return buffer.getvalue()
