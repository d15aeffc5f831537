"""The one error type a user sees for bad data or bad input, and the rule that keeps it short."""

from __future__ import annotations

import re

MAX_MESSAGE = 400  # characters of the reason; whatever the input, a message stays a few lines
MAX_ITEM = 60  # characters of one quoted value (a cell, a key, a file name inside a message)
MAX_ITEMS = 10  # items listed before "and N more"
# Control characters (a NUL, a terminal escape, a newline inside a cell) never reach a terminal raw.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _visible(text: str) -> str:
    return _CONTROL.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
        ),
        text.replace("\r\n", " ").replace("\n", " "),
    )


def clip(value, limit: int = MAX_ITEM) -> str:
    """A user's value for a message: visible characters only, cut to `limit` with '…'."""
    text = _visible(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def listing(items, limit: int = MAX_ITEMS) -> str:
    """'a, b, c' or 'a, b, c, d, e and 99,995 more': a list in a message never grows with the input."""
    items = [clip(i) for i in items]
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit:,} more"


class DataError(Exception):
    """Bad data or bad input, located by file, row and column where there is one.

    Row numbers count the header as row 1, as a spreadsheet shows them. The text is kept short
    (MAX_MESSAGE) and free of control characters, whatever the input put into it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ):
        self.reason = clip(message, MAX_MESSAGE)
        self.file = None if file is None else str(file)
        self.row = row
        self.column = None if column is None else clip(column)
        where = ", ".join(
            p
            for p in (
                clip(self.file, 200) if self.file else None,
                f"row {row}" if row is not None else None,
                f"column '{self.column}'" if self.column else None,
            )
            if p
        )
        super().__init__(f"{where}: {self.reason}" if where else self.reason)

    def _render_traceback_(self):
        # IPython (and so Papermill and Voilà) shows this instead of a traceback: one clear sentence.
        return [f"plantrack: {self}"]
