"""`plantrack run`: execute the sector notebook with Papermill for many sectors, in parallel.

Each sector runs into outputs/<plan>/.partial/ and is moved into place only when it succeeded,
so outputs/ always holds a whole report: the new one or the previous one. The manifest and the
index page are written the same way (temporary file, then rename).
"""
from __future__ import annotations

import concurrent.futures as futures
import datetime as dt
import functools
import json
import multiprocessing
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from plantrack.errors import DataError, clip, listing

from plantrack.config import DEFAULT_PLAN, ensure_kernel, outputs_root, params_root
from plantrack.config import SECTOR_NOTEBOOK as NOTEBOOK

OUTPUTS = outputs_root()
TEMPLATES = Path(__file__).resolve().parents[1] / "present" / "templates"
PARAM_TYPES = {"plan_id": str, "sector": str, "lang": str, "as_of": (int, type(None))}


def read_params(path: Path) -> dict:
    """A params YAML as a dict of known keys with the right types, or a DataError saying what is wrong."""
    from plantrack.data import safe_yaml
    data = safe_yaml.load(path)
    if not isinstance(data, dict):
        raise DataError("expected a mapping such as 'sector: commerce'", file=str(path))
    for key, value in data.items():
        if key not in PARAM_TYPES:
            raise DataError(f"unknown parameter (allowed: {', '.join(PARAM_TYPES)})", file=str(path), column=str(key))
        if not isinstance(value, PARAM_TYPES[key]) or isinstance(value, bool):
            kind = "a year or null" if key == "as_of" else "text"
            raise DataError(f"must be {kind}, got {clip(repr(value))}", file=str(path), column=key)
    if "sector" not in data:
        raise DataError("the parameter 'sector' is missing", file=str(path))
    return data


def _params_files(params_dir: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(params_dir.glob("*.yaml")) if p.is_file()} if params_dir.is_dir() else {}


def plan_jobs(plan, sectors: list[str] | None, lang: str | None, params_dir: Path | None = None) -> list[dict]:
    """The runs to do: params/<sector>.yaml for every sector of the plan (or only those named).

    Everything is checked before anything runs, and any mistake is a DataError naming the file:
    a sector that is not an id of the plan or of params/, a params file that does not parse, names
    an unknown plan, another plan than the one run, or another sector than its file name.
    """
    from plantrack.data.ids import check_sector_id
    from plantrack.data.package import list_plans
    from plantrack.messages import check_lang
    plan_id = plan.plan_id
    known = plan.sector_ids()
    for sector in sectors or ():
        check_sector_id(sector, known)      # ids first: a path is refused before any file is read
    files = _params_files(Path(params_dir) if params_dir is not None else params_root())
    known_plans = list_plans()
    params = {}
    for stem, path in files.items():
        if sectors is not None and stem not in sectors:
            continue          # --sector: only the files of the sectors asked for
        data = read_params(path)
        named = data.get("plan_id", plan_id)
        if named not in known_plans:
            raise DataError(f"unknown plan_id '{clip(named)}'; known plans: {listing(known_plans)}",
                            file=str(path), column="plan_id")
        if named != plan_id:
            if sectors is None and stem not in known:
                continue      # --all: a file for a sector of another plan belongs to that plan's runs
            raise DataError(f"this file is for plan {named}, not {plan_id} (the plan run; give --plan {named})",
                            file=str(path), column="plan_id")
        if data["sector"] != stem:
            raise DataError(f"sector '{clip(data['sector'])}' differs from the file's name '{stem}'",
                            file=str(path), column="sector")
        if stem not in plan.sector_ids():
            raise DataError(f"unknown sector '{stem}' for plan {plan_id}; allowed: {listing(plan.sector_ids())}",
                            file=str(path), column="sector")
        try:
            check_lang(data.get("lang", "zh"))
        except DataError as exc:
            raise DataError(exc.reason, file=str(path), column="lang") from None
        as_of = data.get("as_of")
        if as_of is not None and not 1949 <= as_of <= 2100:
            raise DataError(f"as_of must be a year such as 2018, or null; got {as_of}", file=str(path), column="as_of")
        params[stem] = data
    jobs = []
    for sector in dict.fromkeys(sectors or known):     # a sector asked for twice runs once
        job = {"plan_id": plan_id, "sector": sector, "lang": "zh", "as_of": None, **params.get(sector, {})}
        if lang:
            job["lang"] = lang
        jobs.append(job)
    return jobs


def validate_params_file(path: Path) -> dict:
    """A params file checked as the notebook would check it (types, plan, sector, language)."""
    from plantrack.present.report import check_params
    params = read_params(Path(path))
    params = {"plan_id": DEFAULT_PLAN, "lang": "zh", "as_of": None, **params}
    try:
        check_params(params["plan_id"], params["sector"], params["lang"], params["as_of"])
    except DataError as exc:
        raise DataError(exc.reason, file=str(path)) from None
    return params


_WORKER_KERNEL = {}
PR_SET_PDEATHSIG = 1   # linux/prctl.h


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies, however the parent dies (SIGKILL too).

    The ProcessPool initializer of every worker; the worker's kernels get the same through
    _KERNEL_GUARD. Elsewhere than Linux this is a no-op and only an orderly stop cleans up.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:     # the parent died before the request took effect
        os._exit(1)


# The kernel is the worker's child: a few lines of Python set the same parent-death signal, then
# exec the real kernel command (the setting survives exec). No import of plantrack: it stays fast.
_KERNEL_GUARD = ("import ctypes,os,sys\n"
                 "ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)\n"
                 "os.getppid() == int(sys.argv[1]) or os._exit(1)\n"
                 "os.execvp(sys.argv[2], sys.argv[2:])")


@functools.lru_cache(maxsize=1)
def _kernel_manager_class():
    from jupyter_client.manager import KernelManager

    class GuardedKernelManager(KernelManager):
        """A kernel that dies with the worker that started it (Linux), even when the worker is killed."""

        def format_kernel_cmd(self, extra_arguments=None):
            command = super().format_kernel_cmd(extra_arguments)
            if not sys.platform.startswith("linux"):
                return command
            return [sys.executable, "-I", "-S", "-c", _KERNEL_GUARD, str(os.getpid()), *command]
    return GuardedKernelManager


def _worker_kernel(kernel: str, cwd: str):
    """One kernel per worker process, reused for each notebook it runs: imports are paid once.

    Every notebook's cells define all they use (parameters first), and a kernel is restarted
    after any failure, so one sector's state never reaches another's report.
    """
    from multiprocessing import util
    km = _WORKER_KERNEL.get(kernel)
    if km is None or not km.is_alive():
        km = _kernel_manager_class()(kernel_name=kernel)
        km.start_kernel(cwd=cwd)
        util.Finalize(km, km.shutdown_kernel, kwargs={"now": True}, exitpriority=10)  # at worker exit
        _WORKER_KERNEL[kernel] = km
    return km


def run_one(job: dict, notebook: str, out_dir: str, kernel: str) -> dict:
    """Execute one sector (in a worker process). Never raises: the result says what happened."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    out, partial = Path(out_dir), Path(out_dir) / ".partial"
    sector = job["sector"]
    started = time.monotonic()
    executed = partial / f"{sector}.ipynb"
    result = {"sector": sector, "lang": job["lang"], "as_of": job["as_of"], "status": "failed",
              "error": job.get("error"), "failing_cell": None}
    if result["error"]:
        result["duration_s"] = 0.0
        return result
    try:
        km = _worker_kernel(kernel, str(Path(notebook).parent))
        pm.execute_notebook(notebook, str(executed), parameters=job, kernel_name=kernel, progress_bar=False,
                            log_output=False, km=km)
        page = export_html(executed)
        (partial / f"{sector}.html").write_text(page, encoding="utf-8")
        os.replace(executed, out / f"{sector}.ipynb")
        os.replace(partial / f"{sector}.html", out / f"{sector}.html")
        (out / f"{sector}.failed.ipynb").unlink(missing_ok=True)
        result.update(status="ok", notebook=f"{sector}.ipynb", html=f"{sector}.html")
    except PapermillExecutionError as exc:
        result.update(error=f"{exc.ename}: {exc.evalue}".strip(), failing_cell=exc.exec_count)
    except Exception as exc:  # a kernel that died, a full disk...: recorded, the batch goes on
        result.update(error=f"{type(exc).__name__}: {exc}")
    if result["status"] == "failed" and kernel in _WORKER_KERNEL:
        _WORKER_KERNEL.pop(kernel).shutdown_kernel(now=True)   # the next sector gets a fresh kernel
    if result["status"] == "failed" and executed.exists():
        os.replace(executed, out / f"{sector}.failed.ipynb")   # kept, marked failed by Papermill
        result["failed_notebook"] = f"{sector}.failed.ipynb"
    result["duration_s"] = round(time.monotonic() - started, 2)
    return result


def export_html(notebook_path: Path) -> str:
    from nbconvert import HTMLExporter
    exporter = HTMLExporter(template_name="plantrack_report",
                            extra_template_basedirs=[str(TEMPLATES)],
                            exclude_input=True, exclude_markdown=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_filename(str(notebook_path))
    return body


class _Progress:
    """A one-line display on a terminal; plain log lines when not a TTY (cron, CI)."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.stream, self.tty = total, 0, stream, stream.isatty()

    def update(self, result: dict) -> None:
        self.done += 1
        line = f"[{self.done}/{self.total}] {result['sector']}: {result['status']} ({result['duration_s']:.1f} s)"
        if result["error"]:
            line += f" — {result['error'][:200]}"
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if self.done == self.total or result["error"] else ""))
        else:
            self.stream.write(f"{dt.datetime.now().isoformat(timespec='seconds')} plantrack run: {line}\n")
        self.stream.flush()


def run(plan_id: str = DEFAULT_PLAN, sectors: list[str] | None = None, *, lang: str | None = None,
        jobs: int | None = None, outputs: Path = OUTPUTS, params_dir: Path | None = None,
        notebook: Path = NOTEBOOK, progress=True) -> dict:
    """Run the sector reports; returns the manifest (also written to outputs/<plan>/manifest.json)."""
    from plantrack.data.package import load_plan, plan_lock, write_atomic

    from plantrack.data.ids import check_plan_id
    from plantrack.messages import check_lang

    check_plan_id(plan_id)          # an id from data/plans/, never a path: outputs/<plan> stays in outputs/
    if lang is not None:
        check_lang(lang)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise DataError(f"--jobs must be a whole number of processes, 1 or more; got {clip(jobs)}")
    plan = load_plan(plan_id)
    work = plan_jobs(plan, sectors, lang, params_dir)   # every id and params file checked: nothing written yet
    out = Path(outputs) / plan_id
    with plan_lock(plan.path):
        _clear_staging(out)
        kernel = ensure_kernel()
        started = dt.datetime.now(dt.timezone.utc)
        display = _Progress(len(work)) if progress else None
        results = []
        workers = max(1, min(jobs or os.cpu_count() or 1, len(work) or 1))
        context = multiprocessing.get_context("spawn")
        previous = signal.signal(signal.SIGTERM, _terminate)
        # Workers (and their kernels) die with this process, even when it is SIGKILLed.
        pool = futures.ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                           initializer=die_with_parent, initargs=(os.getpid(),))
        try:
            pending = [pool.submit(run_one, job, str(notebook), str(out), kernel) for job in work]
            for done in futures.as_completed(pending):
                result = done.result()
                results.append(result)
                if display:
                    display.update(result)
            pool.shutdown()
        except BaseException:
            # Stopped (SIGTERM, Ctrl+C): end the workers now. Their kernels notice their parent is
            # gone and exit; finished reports are already in place, unfinished ones never were.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)
        manifest = _manifest(plan, out, results, started)
        write_atomic(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        write_atomic(out / "index.html", index_page(plan, manifest, out))
        return manifest


def _clear_staging(out: Path) -> None:
    """Whatever a killed run left in outputs/<plan>/: its .partial/ staging and half-written temporaries."""
    partial = out / ".partial"
    if partial.is_symlink() or partial.is_file():
        partial.unlink()
    if partial.is_dir():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    for leftover in out.glob(".*.tmp-*"):
        if leftover.is_file() and not leftover.is_symlink():
            leftover.unlink()


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def _manifest(plan, out: Path, results: list[dict], started) -> dict:
    from plantrack.judge.progress import assess
    previous = {}
    if (out / "manifest.json").is_file():
        try:
            previous = {s["sector"]: s for s in json.loads((out / "manifest.json").read_text())["sectors"]}
        except (ValueError, KeyError, TypeError):
            previous = {}
    assessed = assess(plan)
    for result in results:
        counts = assessed[assessed["sector"] == result["sector"]]["status"].value_counts()
        result["counts"] = {k: int(v) for k, v in counts.items()}
        previous[result["sector"]] = result
    order = {s: i for i, s in enumerate(plan.sector_ids())}
    sectors = sorted(previous.values(), key=lambda s: order.get(s["sector"], len(order)))
    return {"plan_id": plan.plan_id, "data_hash": plan.content_hash,
            "started": started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "ok": sum(r["status"] == "ok" for r in results), "failed": sum(r["status"] != "ok" for r in results),
            "sectors": sectors}


def index_page(plan, manifest: dict, out: Path, lang: str = "en") -> str:
    """The run's index: every sector, its counts and whether it ran (escaped by the template)."""
    from plantrack.present.html import render, stylesheet
    sectors = [dict(s, name=f"{plan.sector_name(s['sector'], 'zh')} / {plan.sector_name(s['sector'], 'en')}",
                    report=f"{s['sector']}.html" if (out / f"{s['sector']}.html").is_file() else None,
                    counts=list(s.get("counts", {}).items()), error=s.get("error") or "")
               for s in manifest["sectors"]]
    return render("runs_index.html.j2", plan=plan, manifest=manifest, sectors=sectors, lang=lang,
                  stylesheet=stylesheet())
