"""What runs on a worker, whichever engine started it: one sector notebook through Papermill.

`execute_sector(task)` gets the notebook's text and the job's parameters and returns the executed
notebook and its HTML as text: it writes nothing the client has to see, so a worker on another
machine needs the plantrack package and its `plantrack` kernel, and no shared file system. When
the task carries the plan's files (the Dask engine sends them), the kernel reads that copy, so
every worker reports on exactly the data the client checked and hashed.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[1] / "present" / "templates"
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies, however the parent dies (SIGKILL too).

    The ProcessPool initializer of every local worker; kernels get the same through _KERNEL_GUARD.
    Elsewhere than Linux this is a no-op and only an orderly stop cleans up.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


# The kernel is the worker's child: a few lines of Python set the same parent-death signal, then
# exec the real kernel command (the setting survives exec). No import of plantrack: it stays fast.
# Linux sends it when the *thread* that started the kernel ends: a worker thread (Dask) or the
# process's main thread (local pool), both alive as long as the worker is.
_KERNEL_GUARD = (
    "import ctypes,os,sys\n"
    "ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)\n"
    "os.getppid() == int(sys.argv[1]) or os._exit(1)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])"
)


@functools.lru_cache(maxsize=1)
def _kernel_manager_class():
    # Async, as nbclient's own default: with a blocking client, nbclient waits on the kernel's output
    # inside its event loop and never sees a kernel that died mid-cell (the worker hung for good).
    from jupyter_client.manager import AsyncKernelManager

    class GuardedKernelManager(AsyncKernelManager):
        """A kernel that dies with the worker that started it (Linux), even when the worker is killed."""

        def format_kernel_cmd(self, extra_arguments=None):
            command = super().format_kernel_cmd(extra_arguments)
            if not sys.platform.startswith("linux"):
                return command
            return [sys.executable, "-I", "-S", "-c", _KERNEL_GUARD, str(os.getpid()), *command]

    return GuardedKernelManager


# One kernel and one scratch folder per worker thread: a Dask worker may run several tasks at once
# (--nthreads), a local pool worker runs one. Never shared between two running notebooks.
_local = threading.local()


def _scratch() -> Path:
    folder = getattr(_local, "scratch", None)
    if folder is None or not folder.is_dir():
        folder = Path(tempfile.mkdtemp(prefix=f"plantrack-worker-{os.getpid()}-"))
        from multiprocessing import util

        util.Finalize(
            None, shutil.rmtree, args=(str(folder), True), exitpriority=5
        )  # at worker exit
        _local.scratch = folder
    return folder


def _worker_kernel(kernel: str, cwd: str, data_root: str | None):
    """One kernel per worker thread, reused for each notebook it runs: imports are paid once.

    Every notebook's cells define all they use (parameters first), and a kernel is restarted
    after any failure, so one sector's state never reaches another's report.
    """
    from multiprocessing import util

    from jupyter_core.utils import run_sync

    km = getattr(_local, "kernel", None)
    if km is None or not run_sync(km.is_alive)() or _local.kernel_key != (kernel, data_root):
        _drop_kernel()
        km = _kernel_manager_class()(kernel_name=kernel)
        env = dict(os.environ)
        if data_root:
            env["PLANTRACK_DATA"] = data_root
        run_sync(km.start_kernel)(cwd=cwd, env=env)
        util.Finalize(km, _shutdown, args=(km,), exitpriority=10)  # at worker exit
        _local.kernel, _local.kernel_key = km, (kernel, data_root)
    return km


def _shutdown(km) -> None:
    from jupyter_core.utils import run_sync

    try:
        run_sync(km.shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001 - at exit, or a kernel already gone: nothing left to stop
        pass


def _drop_kernel() -> None:
    km = getattr(_local, "kernel", None)
    _local.kernel = None
    if km is not None:
        _shutdown(km)


def _unpack_plan(plan_id: str, digest: str, files: dict[str, bytes]) -> str:
    """The client's copy of the plan, written once per content hash into this thread's scratch folder."""
    root = _scratch() / "plans"
    folder = root / plan_id
    marker = folder / ".plantrack-hash"
    if not (marker.is_file() and marker.read_text() == digest):
        shutil.rmtree(folder, ignore_errors=True)
        for name, content in files.items():
            path = folder / name
            if not path.resolve().is_relative_to(folder.resolve()):
                raise ValueError(f"plan file outside its folder: {name!r}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        marker.write_text(digest)
    return str(root)


@functools.cache
def _exporter(thread: int):
    """One HTML exporter per worker thread (loading its templates is the slow part; a Dask
    worker may run tasks in several threads, and an exporter is not made for sharing)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="plantrack_report",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_markdown=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


def export_html(notebook_path: Path) -> str:
    body, _ = _exporter(threading.get_ident()).from_filename(str(notebook_path))
    return body


def execute_sector(task: dict) -> dict:
    """Run one sector's notebook; return the result with the executed notebook and HTML as text.

    A cell that raises (a deterministic failure) comes back as a result with status "failed", the
    error, the failing cell and the failed notebook. Anything else (a kernel that died, a full
    disk) is raised, so the engine may try the sector once more, elsewhere.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    job, kernel = task["job"], task["kernel"]
    sector = job["sector"]
    started = time.monotonic()
    result = {
        "plan_id": job["plan_id"],
        "sector": sector,
        "lang": job["lang"],
        "as_of": job["as_of"],
        "status": "failed",
        "error": None,
        "failing_cell": None,
    }
    data_root = None
    if task.get("plan_files") is not None:
        data_root = _unpack_plan(job["plan_id"], task["plan_hash"], task["plan_files"])
    notebooks = (
        Path(task["cwd"])
        if task.get("cwd") and Path(task["cwd"]).is_dir()
        else Path(tempfile.gettempdir())
    )
    work = Path(tempfile.mkdtemp(prefix="run-", dir=_scratch()))
    try:
        source, executed = work / "sector.ipynb", work / f"{sector}.ipynb"
        source.write_text(task["notebook"], encoding="utf-8")
        try:
            km = _worker_kernel(kernel, str(notebooks), data_root)
            pm.execute_notebook(
                str(source),
                str(executed),
                parameters=job,
                kernel_name=kernel,
                progress_bar=False,
                log_output=False,
                km=km,
            )
            html = export_html(executed)
            result.update(
                status="ok", notebook_text=executed.read_text(encoding="utf-8"), html_text=html
            )
        except PapermillExecutionError as exc:
            _drop_kernel()  # the next sector gets a fresh kernel
            result.update(error=f"{exc.ename}: {exc.evalue}".strip(), failing_cell=exc.exec_count)
            if executed.is_file():  # kept, marked failed by Papermill
                result["failed_notebook_text"] = executed.read_text(encoding="utf-8")
        except BaseException:
            _drop_kernel()
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["duration_s"] = round(time.monotonic() - started, 2)
    return result


def plan_files(directory: Path) -> dict[str, bytes]:
    """The files of a plan's package (its datapackage.json and every resource), to send to workers."""
    descriptor = json.loads((directory / "datapackage.json").read_text(encoding="utf-8"))
    names = ["datapackage.json"] + [
        r["path"] for r in descriptor.get("resources", []) if isinstance(r.get("path"), str)
    ]
    return {name: (directory / name).read_bytes() for name in names if (directory / name).is_file()}
