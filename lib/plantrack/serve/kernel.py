"""A reader's kernel under Voilà: what it loads, and what it answers a forged message.

serve/app.py imports this module first. Under Voilà (VOILA_BASE_URL is set in the kernel's
environment) it
- keeps out of the kernel what a reader's summary never uses (each marked absent in this process
  only, and only if not loaded yet):
  - Arrow: pandas 3 imports pyarrow at import to keep strings in Arrow (about 35 MiB per kernel);
    the dashboard's tables are small, so they keep Python strings and are read from the plan's
    validated CSVs instead of the parquet cache (data/package.py);
  - Dask: pint imports it to support Dask arrays (about 8 MiB and 0.3 s per kernel);
  - Voilà itself: its `wait_for_request` (how a preheated kernel learns the reader's request)
    lives in voila.utils, which imports jupyter_server, nbconvert and requests (about 25 MiB per
    kernel); `wait_for_request` below does the same with the `websockets` client alone;
  - jsonschema's optional format checkers, should Altair be imported (a PNG/SVG download):
    jsonschema imports every installed format-checker package; rfc3987_syntax alone compiles a
    Lark grammar at import (about 3 s of CPU and 20 MB) for "format" checks the dashboard never
    runs (its specs are sent with validate=False);
- makes an exception raised by a comm or widget message from the browser a one-line warning in
  the server's log. Without this, ipywidgets shows it with IPython's showtraceback, which
  publishes the whole traceback (file paths, source lines) to the page's websocket, and the comm
  manager logs one: a forged message would get back what it needs to learn the code.
In JupyterLab nothing changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import logging
import os
import sys
import threading
import time
import warnings

NOT_IN_READER_KERNEL = ("pyarrow", "dask")
UNUSED_FORMAT_CHECKERS = (
    "rfc3987_syntax",
    "rfc3987",
    "isoduration",
    "arrow",
    "webcolors",
    "uri_template",
    "fqdn",
    "rfc3339_validator",
    "rfc3986_validator",
)


class ShortWarning(logging.Filter):
    """A record with a traceback becomes one line naming the exception type."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            exc = record.exc_info[1]
            record.msg = (
                f"{record.getMessage()}: {type(exc).__name__} (message from the browser ignored)"
            )
            record.args = ()
            record.exc_info = record.exc_text = record.stack_info = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_handling = threading.local()


def kernel_log() -> logging.Logger:
    try:
        from ipykernel.kernelapp import IPKernelApp

        return IPKernelApp.instance().log  # written to the server's log
    except Exception:  # noqa: BLE001
        return logging.getLogger("plantrack")


def _while_handling(handler):
    """A comm handler that marks 'handling a message from the browser' while it runs."""

    @functools.wraps(handler)
    def run(*args, **kwargs):
        _handling.active = True
        try:
            result = handler(*args, **kwargs)
        finally:
            _handling.active = False
        if inspect.isawaitable(result):

            async def awaited():
                _handling.active = True
                try:
                    return await result
                finally:
                    _handling.active = False

            return awaited()
        return result

    run.plantrack_guarded = True
    return run


def _guard_comm_messages() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None or getattr(shell.showtraceback, "plantrack_guarded", False):
        return
    for msg_type in ("comm_open", "comm_msg", "comm_close"):
        handler = kernel.shell_handlers.get(msg_type)
        if handler is not None and not getattr(handler, "plantrack_guarded", False):
            kernel.shell_handlers[msg_type] = _while_handling(handler)
    shown = shell.showtraceback

    @functools.wraps(shown)
    def showtraceback(exc_tuple=None, *args, **kwargs):
        if not getattr(_handling, "active", False):
            return shown(exc_tuple, *args, **kwargs)
        etype, value, _ = exc_tuple or sys.exc_info()
        kernel_log().warning(
            "message from the browser ignored: %s: %s",
            getattr(etype, "__name__", etype),
            str(value)[:200],
        )

    showtraceback.plantrack_guarded = True
    shell.showtraceback = showtraceback


def under_voila() -> bool:
    return "VOILA_BASE_URL" in os.environ


FORK_TIMEOUT_S = 120


def in_fork(work, timeout: float = FORK_TIMEOUT_S) -> bool:
    """Run work() in a forked copy of this kernel and wait for it: what the copy imports and
    allocates (Altair to build a chart spec, Frictionless to validate a plan) leaves with it; what
    it writes (cache files) stays. True when work() returned; False when it raised, took over
    `timeout` seconds (then killed) or cannot fork here (not Linux): the caller then does the work
    itself. The copy touches nothing of the kernel's: no output, no sockets, no exit handlers."""
    if not sys.platform.startswith("linux"):
        return False
    with warnings.catch_warnings():  # Python 3.12+ warns about fork in a threaded process
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            pid = os.fork()
        except OSError:
            return False
    if pid == 0:
        code = 1
        try:
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 1)
            os.dup2(null, 2)
            sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
            logging.disable(logging.CRITICAL)
            warnings.simplefilter("ignore")
            work()
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) == 0
        if time.monotonic() > deadline:
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            return False
        time.sleep(0.01)


def preheated() -> bool:
    """Whether this kernel runs the notebook before any reader asked for it (Voilà's pool)."""
    return os.environ.get("VOILA_PREHEAT", "False") != "False"


def wait_for_request() -> None:
    """voila.utils.wait_for_request (Voilà 0.5), without importing Voilà in the kernel: a
    preheated kernel waits until Voilà hands it a reader's request over the server's
    `voila/query/<kernel id>` websocket, then has the request's variables (QUERY_STRING…) in
    os.environ. The deep-link tests in a real Voilà (tests/test_dashboard_browser.py) check it."""
    if not preheated():
        return
    protocol = os.environ.get("VOILA_WS_PROTOCOL", "ws")
    server_ip = os.environ.get("VOILA_APP_IP", "127.0.0.1")
    server_port = os.environ.get("VOILA_APP_PORT", "8866")
    ws_base_url = os.environ.get("VOILA_WS_BASE_URL", os.environ.get("VOILA_SERVER_URL", "/"))
    url = (
        f"{protocol}://{server_ip}:{server_port}{ws_base_url}voila/query/"
        f"{os.environ.get('VOILA_KERNEL_ID')}"
    )
    received = []

    def receive():  # in a thread of its own: the kernel's own event loop is busy running the cell
        received.append(asyncio.new_event_loop().run_until_complete(_request_info(url)))

    thread = threading.Thread(target=receive)
    thread.start()
    thread.join()
    if received and received[0] is not None:
        for key, value in json.loads(received[0]).items():
            os.environ[key] = value


async def _request_info(url: str) -> str | None:
    from websockets import connect

    try:
        async with connect(url, open_timeout=5) as websocket:
            return await websocket.recv()
    except (TimeoutError, ConnectionRefusedError):
        kernel_log().warning("no request from Voilà at %s", url)
        return None


def prepare() -> None:
    if not under_voila():
        return
    for name in NOT_IN_READER_KERNEL:
        # None: "import name" raises ImportError; pandas and pint then do without it
        sys.modules.setdefault(name, None)
    if "jsonschema" not in sys.modules:
        for name in UNUSED_FORMAT_CHECKERS:
            sys.modules.setdefault(
                name, None
            )  # None: "import name" raises ImportError, jsonschema skips it
    for name in ("Comm", "ipykernel.comm", "ipywidgets", "traitlets"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, ShortWarning) for f in logger.filters):
            logger.addFilter(ShortWarning())
    _guard_comm_messages()


prepare()
