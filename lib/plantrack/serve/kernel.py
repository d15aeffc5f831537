"""A reader's kernel under Voilà: what it loads, and what it answers a forged message.

serve/app.py imports this module first. Under Voilà (VOILA_BASE_URL is set in the kernel's
environment) it
- keeps jsonschema's optional format checkers out of the kernel: Altair imports jsonschema, which
  imports every installed format-checker package; rfc3987_syntax alone compiles a Lark grammar at
  import (about 3 s of CPU and 20 MB per kernel) for "format" checks the dashboard never runs (its
  specs are sent with validate=False). Marked absent in this process only, and only if not loaded;
- makes an exception raised by a comm or widget message from the browser a one-line warning in
  the server's log instead of a logged traceback (the kernel's stderr is forwarded to the page's
  websocket): a forged message gets nothing back to learn from.
In JupyterLab nothing changes.
"""
from __future__ import annotations

import logging
import os
import sys

UNUSED_FORMAT_CHECKERS = ("rfc3987_syntax", "rfc3987", "isoduration", "arrow", "webcolors", "uri_template", "fqdn",
                          "rfc3339_validator", "rfc3986_validator")


class ShortWarning(logging.Filter):
    """A record with a traceback becomes one line naming the exception type."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__} (message from the browser ignored)"
            record.args = ()
            record.exc_info = record.exc_text = record.stack_info = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def under_voila() -> bool:
    return "VOILA_BASE_URL" in os.environ


def prepare() -> None:
    if not under_voila():
        return
    if "jsonschema" not in sys.modules:
        for name in UNUSED_FORMAT_CHECKERS:
            sys.modules.setdefault(name, None)   # None: "import name" raises ImportError, jsonschema skips it
    for name in ("Comm", "ipykernel.comm", "ipywidgets", "traitlets"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, ShortWarning) for f in logger.filters):
            logger.addFilter(ShortWarning())


prepare()
