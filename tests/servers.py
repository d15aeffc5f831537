"""The test and benchmark harness: Voila started the way `plantrack dashboard` starts it,
Chromium, and a real Dask cluster (a scheduler and named workers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from plantrack.config import SUMMARY_NOTEBOOK as SUMMARY
from plantrack.serve.server import voila_command

CHROMIUM = (
    "/usr/bin/chromium"  # Debian's package: Playwright's own browser download cannot run here
)
# As root, with no GPU, and nothing that reaches for the network (the machine has none).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright):
    """Chromium from a Playwright instance (sync or async), the one way tests and benchmarks start it."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BackgroundServer:
    """Voilà started the way `plantrack dashboard` starts it, for tests and benchmarks."""

    def __init__(
        self,
        *,
        preheat: bool = True,
        pool_size: int = 1,
        notebook: Path = SUMMARY,
        log_path: Path | None = None,
        env: dict | None = None,
        idle_timeout: int = 600,
        max_readers: int = 0,
        max_starts: int = 0,
    ):
        import subprocess
        import tempfile

        from plantrack.config import ensure_kernel

        ensure_kernel()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.preheat = preheat
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="voila-", suffix=".log")[1])
        self._log = open(self.log_path, "w")
        self.pool_size = pool_size if preheat else 0
        command = voila_command(
            self.port,
            "127.0.0.1",
            pool_size,
            preheat,
            False,
            notebook,
            idle_timeout=idle_timeout,
            max_readers=max_readers,
            max_starts=max_starts,
        )
        self.process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )

    def wait_ready(self, timeout: float = 180.0) -> "BackgroundServer":
        """Until the page answers and, with preheating, the pool holds a warm kernel."""
        import time
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Voilà exited: {self.log_path.read_text()[-2000:]}")
            log = self.log_path.read_text(errors="replace")
            if not self.preheat or "is filled with" in log:
                try:
                    urllib.request.urlopen(self.url + "voila/static/voila.js", timeout=5)
                except OSError:
                    time.sleep(0.3)
                    continue
                if self.preheat:
                    self._wait_idle(deadline)  # the warm kernel has finished running the notebook
                return self
            time.sleep(0.3)
        raise TimeoutError(f"Voilà was not ready after {timeout} s: {self.log_path}")

    def _wait_idle(self, deadline: float) -> None:
        """Until Voilà and its kernels stop using CPU for a second (the preheated notebook has run)."""
        import time

        root = psutil.Process(self.process.pid)
        previous = None
        while time.monotonic() < deadline:
            try:
                procs = [root, *root.children(recursive=True)]
                used = sum(sum(p.cpu_times()[:2]) for p in procs)
            except psutil.Error:
                used = None
            if previous is not None and used is not None and used - previous < 0.05:
                return
            previous = used
            time.sleep(1.0)

    def wait_refilled(self, timeout: float = 180.0) -> None:
        """With preheating: until the pool has a warm kernel again after a visit used one."""
        import time

        deadline = time.monotonic() + timeout
        while (
            time.monotonic() < deadline
            and "is filled with"
            not in self.log_path.read_text(errors="replace").rsplit("Using pre-heated kernel", 1)[
                -1
            ]
        ):
            time.sleep(0.3)
        self._wait_idle(deadline)

    def stop(self) -> None:
        import signal

        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, OSError):
            pass
        except Exception:
            os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()

    def kernel_processes(self) -> list:
        """The server's kernel processes (its children: pool and readers alike)."""

        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            return []

    def tree_rss(self) -> int:
        """Server + all kernels, bytes."""

        total = 0
        for proc in [psutil.Process(self.process.pid), *self.kernel_processes()]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        return total


class Cluster:
    """A scheduler and named workers, each in its own process group (killed whole at the end)."""

    def __init__(self, folder: Path):
        self.folder, self.workers, self.processes = folder, {}, []
        scheduler_file = folder / "scheduler.json"
        self.scheduler = self._start(
            [
                str(Path(sys.executable).with_name("dask")),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                "127.0.0.1:0",
                "--scheduler-file",
                str(scheduler_file),
            ],
            "scheduler",
        )
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            assert self.scheduler.poll() is None, (folder / "scheduler.log").read_text()
            time.sleep(0.2)
        assert scheduler_file.is_file(), "the Dask scheduler did not start within 60 s"
        self.address = json.loads(scheduler_file.read_text())["address"]
        empty = folder / "no-data"
        empty.mkdir()
        # The workers have the package and kernel, but no plan data and no view of outputs/.
        self.worker_env = {
            **os.environ,
            "PLANTRACK_DATA": str(empty),
            "PLANTRACK_OUTPUTS": str(folder / "nowhere"),
        }

    def _start(self, command, name, env=None):
        log = open(self.folder / f"{name}.log", "ab")
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.folder,
            env=env,
        )
        self.processes.append(process)
        return process

    def start_worker(self, name: str):
        self.workers[name] = self._start(
            [
                str(Path(sys.executable).with_name("dask")),
                "worker",
                self.address,
                "--name",
                name,
                "--nthreads",
                "1",
                "--memory-limit",
                "0",
                "--local-directory",
                str(self.folder / name),
            ],
            name,
            self.worker_env,
        )

    def wait_for_workers(self, count: int):
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=120)
            deadline = time.monotonic() + 60  # a killed worker leaves once the scheduler notices
            while len(client.scheduler_info()["workers"]) != count and time.monotonic() < deadline:
                time.sleep(0.5)
            assert len(client.scheduler_info()["workers"]) == count

    def kill_worker(self, name: str) -> list[psutil.Process]:
        """SIGKILL the worker's process group (nanny and worker); returns the kernels it had started."""
        process = self.workers.pop(name)
        tree = psutil.Process(process.pid).children(recursive=True)
        kernels = [p for p in tree if "ipykernel" in " ".join(p.cmdline())]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        return kernels

    def close(self):
        for process in reversed(self.processes):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=30)


def http_get(url, headers=None, timeout=120):
    """GET url -> (status, headers, body text); an HTTP error status is returned, not raised."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return (
                response.status,
                dict(response.headers),
                response.read().decode("utf-8", "replace"),
            )
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode("utf-8", "replace")
