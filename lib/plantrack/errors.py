"""The one error type a user sees for bad data or bad input."""


class DataError(Exception):
    """Bad data or bad input, located by file, row and column where there is one.

    Row numbers count the header as row 1, as a spreadsheet shows them.
    """

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None):
        self.reason = message
        self.file, self.row, self.column = file, row, column
        where = ", ".join(p for p in (
            str(file) if file else None,
            f"row {row}" if row is not None else None,
            f"column '{column}'" if column else None) if p)
        super().__init__(f"{where}: {message}" if where else message)

    def _render_traceback_(self):
        # IPython (and so Papermill and Voilà) shows this instead of a traceback: one clear sentence.
        return [f"plantrack: {self}"]
