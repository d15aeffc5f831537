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
