"""`plantrack dashboard`: serve notebooks/summary.ipynb with Voilà, locked down for readers."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import DataError

SUMMARY = Path(__file__).resolve().parents[2] / "notebooks" / "summary.ipynb"


TEMPLATE = "plantrack"


def template_dir() -> Path:
    return Path(sys.prefix) / "share" / "jupyter" / "voila" / "templates" / TEMPLATE


def chart_bundle_path() -> Path:
    """Named by the versions that make it, so a browser's cached copy is never stale."""
    import altair
    import vl_convert
    return template_dir() / "static" / f"jupyterchart-altair-{altair.__version__}-vlc-{vl_convert.__version__}.js"


def install_chart_bundle() -> None:
    """JupyterChart's JavaScript, Vega included, as a static file of the template.

    Every chart on a page imports it by URL (see dashboard.charts_offline): the browser fetches
    and evaluates it once per page and caches it between visits, instead of receiving 0.9 MB of
    inline JavaScript through the kernel for each chart.
    """
    path = chart_bundle_path()
    if path.is_file():
        return
    import altair as alt
    alt.JupyterChart.enable_offline()           # vl-convert bundles the JavaScript: no network
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(alt.JupyterChart._esm, encoding="utf-8")
    partial.replace(path)


def served_chart_bundle_url() -> str | None:
    """The bundle's URL path when this kernel serves a Voilà page (Voilà sets VOILA_BASE_URL)."""
    base = os.environ.get("VOILA_BASE_URL")
    if base is None:
        return None
    bundle = chart_bundle_path()
    return f"{base.rstrip('/')}/voila/templates/{TEMPLATE}/static/{bundle.name}" if bundle.is_file() else None


def install_offline_template() -> str:
    """Voilà's lab template minus its two Font Awesome links to a CDN (readers may have no internet).

    Derived from the installed Voilà at start-up, so it follows Voilà upgrades; files it does
    not override come from 'lab' (conf.json base_template).
    """
    import json
    from jupyter_core.paths import jupyter_path
    lab = next((Path(p) / "index.html.j2" for p in jupyter_path("voila", "templates", "lab")
                if (Path(p) / "index.html.j2").is_file()), None)
    if lab is None:
        raise DataError("Voilà's lab template is not installed")
    target = template_dir()
    target.mkdir(parents=True, exist_ok=True)
    install_chart_bundle()
    text = "".join(line for line in lab.read_text(encoding="utf-8").splitlines(keepends=True)
                   if "cdn.jsdelivr.net" not in line)
    # Mermaid would be imported from a CDN if a diagram appeared: the dashboard has none.
    text += "\n{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}\n"
    if not (target / "index.html.j2").is_file() or (target / "index.html.j2").read_text(encoding="utf-8") != text:
        (target / "index.html.j2").write_text(text, encoding="utf-8")
        (target / "conf.json").write_text(json.dumps({"base_template": "lab"}), encoding="utf-8")
    return TEMPLATE


def voila_command(port: int = 8866, host: str = "127.0.0.1", pool_size: int = 1, preheat: bool = True,
                  open_browser: bool = False, notebook: Path = SUMMARY) -> list[str]:
    """The Voilà command line: localhost, no code, no tracebacks, warm kernels, offline template."""
    command = [sys.executable, "-m", "voila", str(notebook), f"--port={port}", f"--Voila.ip={host}",
               "--Voila.port_retries=0", f"--Voila.open_browser={open_browser}",
               "--VoilaConfiguration.strip_sources=True", "--VoilaConfiguration.show_tracebacks=False",
               f"--VoilaConfiguration.template={install_offline_template()}", "--VoilaConfiguration.show_margins=True", "--VoilaConfiguration.theme=light",
               r"--VoilaConfiguration.file_allowlist=.*\.(png|jpg|gif|svg)"]
    if preheat:
        command += ["--VoilaConfiguration.preheat_kernel=True", f"--VoilaConfiguration.default_pool_size={pool_size}"]
    return command


def _cmd_dashboard(args) -> int:
    from .data import plan_dir
    from .runner import ensure_kernel
    if args.plan:
        plan_dir(args.plan)   # an unknown plan is a clear error before anything starts
        os.environ["PLANTRACK_PLAN"] = args.plan
    ensure_kernel()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"plantrack: warning: serving on {args.host}, reachable from other machines", file=sys.stderr)
    url = f"http://{'127.0.0.1' if args.host in ('127.0.0.1', 'localhost') else args.host}:{args.port}/"
    print(f"plantrack dashboard: open {url}  (Ctrl+C to stop)", flush=True)
    command = voila_command(args.port, args.host, args.pool_size, not args.no_preheat, args.open)
    os.execv(command[0], command)


def add_cli(sub) -> None:
    parser = sub.add_parser("dashboard", help="serve the Voilà dashboard (http://127.0.0.1:8866/)")
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: localhost only)")
    parser.add_argument("--plan", default=None, help="plan shown first")
    parser.add_argument("--pool-size", type=int, default=1, help="preheated kernels kept warm")
    parser.add_argument("--no-preheat", action="store_true", help="start a kernel per visit instead")
    parser.add_argument("--open", action="store_true", help="open a browser")
    parser.set_defaults(func=_cmd_dashboard)


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BackgroundServer:
    """Voilà started the way `plantrack dashboard` starts it, for tests and benchmarks."""

    def __init__(self, *, preheat: bool = True, pool_size: int = 1, notebook: Path = SUMMARY, log_path: Path | None = None,
                 env: dict | None = None):
        import subprocess
        import tempfile
        from .runner import ensure_kernel
        ensure_kernel()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.preheat = preheat
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="voila-", suffix=".log")[1])
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(voila_command(self.port, "127.0.0.1", pool_size, preheat, False, notebook),
                                        stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
                                        env={**os.environ, **(env or {})})

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
                    self._wait_idle(deadline)   # the warm kernel has finished running the notebook
                return self
            time.sleep(0.3)
        raise TimeoutError(f"Voilà was not ready after {timeout} s: {self.log_path}")

    def _wait_idle(self, deadline: float) -> None:
        """Until Voilà and its kernels stop using CPU for a second (the preheated notebook has run)."""
        import time
        import psutil
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
        while time.monotonic() < deadline and "is filled with" not in self.log_path.read_text(errors="replace").rsplit("Using pre-heated kernel", 1)[-1]:
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
