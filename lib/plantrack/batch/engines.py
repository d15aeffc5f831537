"""Where sector notebooks execute: a local process pool (the default) or an existing Dask cluster.

Both engines have one small interface: used as a context manager, `results(tasks)` yields one
result per task as each completes (in completion order). A task is executed by
worker.execute_sector; a task that raises (a lost kernel, a full disk) is tried once more, and
then comes back as a failed result carrying its error. runner.py does everything else.
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import os
from typing import Iterator

from plantrack.batch.worker import die_with_parent, execute_sector
from plantrack.errors import DataError, clip

RETRIES = 1  # "fails twice": one more attempt for a sector whose task raised


def _failed(task: dict, exc: BaseException, attempts: int) -> dict:
    job = task["job"]
    return {
        "plan_id": job["plan_id"],
        "sector": job["sector"],
        "lang": job["lang"],
        "as_of": job["as_of"],
        "status": "failed",
        "error": clip(f"{type(exc).__name__}: {exc} (failed {attempts} times)", 500),
        "failing_cell": None,
        "duration_s": 0.0,
    }


class LocalEngine:
    """A pool of worker processes on this machine; they (and their kernels) die with this process."""

    dashboard_link = None

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = None

    def __enter__(self):
        self.pool = futures.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=die_with_parent,
            initargs=(os.getpid(),),
        )
        return self

    def results(self, tasks: list[dict]) -> Iterator[dict]:
        attempts = {}
        pending = {}
        for task in tasks:
            pending[self.pool.submit(execute_sector, task)] = task
            attempts[id(task)] = 1
        while pending:
            done, _ = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
            for future in done:
                task = pending.pop(future)
                exc = future.exception()
                if exc is None:
                    yield future.result()
                elif attempts[id(task)] <= RETRIES and not isinstance(
                    exc, futures.process.BrokenProcessPool
                ):
                    attempts[id(task)] += 1
                    pending[self.pool.submit(execute_sector, task)] = task
                else:
                    yield _failed(task, exc, attempts[id(task)])

    def __exit__(self, kind, exc, tb):
        if kind is None:
            self.pool.shutdown()
            return
        # Stopped (SIGTERM, Ctrl+C): end the workers now. Their kernels notice their parent is
        # gone and exit; finished reports are already in place, unfinished ones never were.
        for process in list(getattr(self.pool, "_processes", {}).values()):
            process.terminate()
        self.pool.shutdown(wait=False, cancel_futures=True)


class DaskEngine:
    """An existing Dask distributed cluster, reached through its scheduler's address.

    A lost worker's tasks are rescheduled by Dask itself (the scheduler's allowed-failures); a task
    that raised is retried once (retries=1). Workers need the plantrack package and its kernel.
    """

    def __init__(self, address: str, connect_timeout: float = 20, workers_timeout: float = 120):
        self.address = address
        self.connect_timeout, self.workers_timeout = connect_timeout, workers_timeout
        self.client = None
        self.futures = []

    @property
    def dashboard_link(self) -> str | None:
        try:
            return self.client.dashboard_link if self.client is not None else None
        except KeyError:  # a scheduler without its dashboard (no bokeh there)
            return None

    def __enter__(self):
        from distributed import Client

        try:
            self.client = Client(self.address, timeout=self.connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise DataError(
                f"cannot reach the Dask scheduler at {clip(self.address)} ({clip(str(exc), 200)})"
            ) from None
        try:
            self.client.wait_for_workers(1, timeout=self.workers_timeout)
        except TimeoutError:
            self.client.close()
            raise DataError(
                f"the Dask scheduler at {clip(self.address)} has no worker "
                f"(waited {self.workers_timeout:.0f} s)"
            ) from None
        return self

    def results(self, tasks: list[dict]) -> Iterator[dict]:
        from distributed import as_completed

        by_key = {}
        for task in tasks:
            job = task["job"]
            # pure=False: a rerun of the same sector is new work, never a cached result
            future = self.client.submit(
                execute_sector,
                task,
                retries=RETRIES,
                pure=False,
                key=f"plantrack-{job['plan_id']}-{job['sector']}-{os.urandom(4).hex()}",
            )
            by_key[future.key] = task
            self.futures.append(future)
        for future in as_completed(self.futures, loop=self.client.loop):  # not a default client
            task = by_key[future.key]
            if future.status == "cancelled":  # e.g. the scheduler restarted under us
                yield _failed(task, RuntimeError("cancelled by the Dask scheduler"), 1)
            elif future.status == "error":
                yield _failed(task, future.exception(), RETRIES + 1)
            else:
                yield future.result()
            future.release()  # the notebook and HTML are written: the cluster may forget them

    def __exit__(self, kind, exc, tb):
        try:
            if kind is not None and self.futures:
                self.client.cancel(self.futures)  # stopped: the cluster drops the rest of this run
        finally:
            self.client.close()


def scheduler_address(text: str | None) -> str | None:
    """--scheduler or $PLANTRACK_SCHEDULER: a Dask scheduler address such as tcp://host:8786, checked."""
    text = text if text is not None else os.environ.get("PLANTRACK_SCHEDULER") or None
    if text is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = None
    if (
        parts.scheme not in ("tcp", "tls")
        or not parts.hostname
        or port is None
        or parts.path not in ("", "/")
    ):
        raise DataError(
            f"the Dask scheduler address must look like tcp://HOST:PORT; got '{clip(text)}'"
        )
    return text


def engine(scheduler: str | None, workers: int):
    """The Dask engine when a scheduler is given, else the local process pool."""
    return DaskEngine(scheduler) if scheduler else LocalEngine(workers)
