"""`plantrack run`: execute the sector notebook with Papermill for many sectors, in parallel.

The run logic lives here: which jobs, writing what the workers return, the manifest and index.
Where notebooks execute is an engine (engines.py: the local process pool, or a Dask cluster);
what a worker does is worker.py. Each returned report is written beside its place and renamed
into it (write_atomic) only when the sector succeeded, so outputs/ always holds a whole report:
the new one or the previous one. The manifest and the index page are written the same way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import os
import shutil
import signal
import sys
from pathlib import Path

from plantrack.config import DEFAULT_PLAN, ensure_kernel, outputs_root, params_root
from plantrack.config import SECTOR_NOTEBOOK as NOTEBOOK
from plantrack.errors import DataError, clip, listing

log = logging.getLogger("plantrack.run")  # shown as "plantrack run: …" by the command line


@functools.lru_cache(maxsize=1)
def notebook_parameters(notebook: str = str(NOTEBOOK)) -> dict:
    """The sector notebook's parameters and their defaults, read from its `parameters` cell with
    papermill.inspect_notebook: the notebook is the one place they are defined."""
    import ast

    import papermill

    return {
        name: ast.literal_eval(spec["default"])
        for name, spec in papermill.inspect_notebook(notebook).items()
    }


def param_types() -> dict:
    """Each parameter's type from its default: text stays text; a None default (as_of) is a year or None."""
    return {
        name: (int, type(None)) if default is None else type(default)
        for name, default in notebook_parameters().items()
    }


def read_params(path: Path) -> dict:
    """A params YAML as a dict of known keys with the right types, or a DataError saying what is wrong."""
    from plantrack.data import safe_yaml

    data = safe_yaml.load(path)
    if not isinstance(data, dict):
        raise DataError("expected a mapping such as 'sector: commerce'", file=str(path))
    types = param_types()
    for key, value in data.items():
        if key not in types:
            raise DataError(
                f"unknown parameter (allowed: {', '.join(types)})",
                file=str(path),
                column=str(key),
            )
        if not isinstance(value, types[key]) or isinstance(value, bool):
            kind = "a year or null" if key == "as_of" else "text"
            raise DataError(f"must be {kind}, got {clip(repr(value))}", file=str(path), column=key)
    if "sector" not in data:
        raise DataError("the parameter 'sector' is missing", file=str(path))
    return data


def _params_files(params_dir: Path) -> dict[str, Path]:
    return (
        {p.stem: p for p in sorted(params_dir.glob("*.yaml")) if p.is_file()}
        if params_dir.is_dir()
        else {}
    )


def plan_jobs(
    plan, sectors: list[str] | None, lang: str | None, params_dir: Path | None = None
) -> list[dict]:
    """The runs to do: the params of every sector of the plan (or only those named).

    A sector's params come from params/<plan_id>/<sector>.yaml, else from params/<sector>.yaml
    (plans share that folder: the 2014 plan's infrastructure has its own file, so the 2016 plan's
    params/infrastructure.yaml is not read for it). A sector without a file runs with the
    defaults. Everything is checked before anything runs, and any mistake is a DataError naming
    the file: a sector that is not an id of the plan, a params file that does not parse, names an
    unknown plan or another plan than the one run, or another sector than its file name.
    """
    from plantrack.data.ids import check_sector_id
    from plantrack.data.package import list_plans
    from plantrack.messages import check_lang

    plan_id = plan.plan_id
    known = plan.sector_ids()
    for sector in sectors or ():
        check_sector_id(sector, known)  # ids first: a path is refused before any file is read
    folder = Path(params_dir) if params_dir is not None else params_root()
    own = _params_files(folder / plan_id)
    files = {**_params_files(folder), **own}
    known_plans = list_plans()
    params = {}
    for stem, path in files.items():
        if sectors is not None and stem not in sectors:
            continue  # --sector: only the files of the sectors asked for
        data = read_params(path)
        named = data.get("plan_id", plan_id)
        if named not in known_plans:
            raise DataError(
                f"unknown plan_id '{clip(named)}'; known plans: {listing(known_plans)}",
                file=str(path),
                column="plan_id",
            )
        if named != plan_id:
            if stem not in own and sectors is None and stem not in known:
                continue  # --all: a shared file for another plan's own sector is that plan's
            raise DataError(
                f"this file is for plan {named}, not {plan_id} (the plan run); give --plan {named}"
                + (
                    "" if stem in own else f", or put {plan_id}'s parameters in {folder / plan_id}/"
                ),
                file=str(path),
                column="plan_id",
            )
        if data["sector"] != stem:
            raise DataError(
                f"sector '{clip(data['sector'])}' differs from the file's name '{stem}'",
                file=str(path),
                column="sector",
            )
        if stem not in plan.sector_ids():
            raise DataError(
                f"unknown sector '{stem}' for plan {plan_id}; allowed: {listing(plan.sector_ids())}",
                file=str(path),
                column="sector",
            )
        try:
            check_lang(data.get("lang", "zh"))
        except DataError as exc:
            raise DataError(exc.reason, file=str(path), column="lang") from None
        as_of = data.get("as_of")
        if as_of is not None and not 1949 <= as_of <= 2100:
            raise DataError(
                f"as_of must be a year such as 2018, or null; got {as_of}",
                file=str(path),
                column="as_of",
            )
        params[stem] = data
    jobs = []
    for sector in dict.fromkeys(sectors or known):  # a sector asked for twice runs once
        job = {
            **notebook_parameters(),
            "plan_id": plan_id,
            "sector": sector,
            **params.get(sector, {}),
        }
        if lang:
            job["lang"] = lang
        jobs.append(job)
    return jobs


def validate_params_file(path: Path) -> dict:
    """A params file checked as the notebook would check it (types, plan, sector, language)."""
    from plantrack.present.report import check_params

    params = read_params(Path(path))
    params = {**notebook_parameters(), **params}
    try:
        check_params(params["plan_id"], params["sector"], params["lang"], params["as_of"])
    except DataError as exc:
        raise DataError(exc.reason, file=str(path)) from None
    return params


class _Progress:
    """A tqdm bar on a terminal, unless the log is quieter than INFO (`-q`); log lines otherwise
    (cron, CI). A failed sector is always a warning line."""

    def __init__(self, total: int, stream=sys.stderr, label_plans: bool = False):
        self.total, self.done, self.stream = total, 0, stream
        self.label_plans = label_plans
        self.bar = None
        if stream.isatty() and log.isEnabledFor(logging.INFO):
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=stream, unit="sector", dynamic_ncols=True, leave=True)

    def note(self, text: str) -> None:
        self._line(text)

    def update(self, result: dict, plan_id: str) -> None:
        self.done += 1
        name = f"{plan_id}/{result['sector']}" if self.label_plans else result["sector"]
        line = (
            f"[{self.done}/{self.total}] {name}: {result['status']} ({result['duration_s']:.1f} s)"
        )
        if result["error"]:
            self._line(f"{line} — {result['error'][:200]}", logging.WARNING)
        elif self.bar is None:
            self._line(line)
        if self.bar is not None:
            self.bar.set_postfix_str(f"{name}: {result['status']}", refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def _line(self, text: str, level: int = logging.INFO) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            log.log(level, text)


def run(
    plan_id: str = DEFAULT_PLAN,
    sectors: list[str] | None = None,
    *,
    lang: str | None = None,
    jobs: int | None = None,
    outputs: Path | None = None,
    params_dir: Path | None = None,
    notebook: Path = NOTEBOOK,
    progress=True,
    scheduler: str | None = None,
) -> dict:
    """Run the sector reports; returns the manifest (also written to outputs/<plan>/manifest.json)."""
    return run_plans(
        [plan_id],
        sectors,
        lang=lang,
        jobs=jobs,
        outputs=outputs,
        params_dir=params_dir,
        notebook=notebook,
        progress=progress,
        scheduler=scheduler,
    )[plan_id]


def run_plans(
    plan_ids: list[str] | None = None,
    sectors: list[str] | None = None,
    *,
    lang: str | None = None,
    jobs: int | None = None,
    outputs: Path | None = None,
    params_dir: Path | None = None,
    notebook: Path = NOTEBOOK,
    progress=True,
    scheduler: str | None = None,
) -> dict[str, dict]:
    """Run the sectors of several plans (default: every plan) as one batch; a manifest per plan.

    On the local process pool, or on the Dask cluster whose scheduler is given (tcp://HOST:PORT).
    Workers return each executed notebook and its HTML; they are written here, atomically, so the
    reports and manifests are the same whichever engine ran them.
    """
    from plantrack.batch.engines import engine
    from plantrack.batch.worker import plan_files
    from plantrack.data.ids import check_plan_id
    from plantrack.data.package import list_plans, load_plan, plan_lock, write_atomic
    from plantrack.messages import check_lang

    plan_ids = list(dict.fromkeys(list_plans() if plan_ids is None else plan_ids))
    for plan_id in plan_ids:
        check_plan_id(
            plan_id
        )  # an id from data/plans/, never a path: outputs/<plan> stays in outputs/
    if lang is not None:
        check_lang(lang)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise DataError(f"--jobs must be a whole number of processes, 1 or more; got {clip(jobs)}")
    plans = {plan_id: load_plan(plan_id) for plan_id in plan_ids}
    # every id and params file of every plan checked: nothing written yet
    work = {plan_id: plan_jobs(plan, sectors, lang, params_dir) for plan_id, plan in plans.items()}
    source = Path(notebook).read_text(encoding="utf-8")
    total = sum(len(w) for w in work.values())
    workers = max(1, min(jobs or os.cpu_count() or 1, total or 1))
    outputs = Path(outputs) if outputs is not None else outputs_root()  # $PLANTRACK_OUTPUTS now
    outs = {plan_id: outputs / plan_id for plan_id in plans}
    results = {plan_id: [] for plan_id in plans}
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with contextlib.ExitStack() as stack:
            for plan_id in sorted(
                plans
            ):  # one order for every run: two batches never wait on each other
                stack.enter_context(plan_lock(plans[plan_id].path))
            # Connected (or the pool made) before outputs/ is touched: an unreachable cluster writes nothing.
            runner = stack.enter_context(engine(scheduler, workers))
            for out in outs.values():
                _clear_staging(out)
            kernel = ensure_kernel()
            started = dt.datetime.now(dt.timezone.utc)
            tasks = []
            for plan_id, plan in plans.items():
                # To a cluster goes the plan's own files: every worker reports on the data hashed here.
                shipped = plan_files(plan.path) if scheduler else None
                tasks += [
                    {
                        "job": job,
                        "notebook": source,
                        "kernel": kernel,
                        "cwd": str(Path(notebook).parent),
                        "plan_files": shipped,
                        "plan_hash": plan.content_hash,
                    }
                    for job in work[plan_id]
                ]
            display = _Progress(total, label_plans=len(plans) > 1) if progress else None
            if display and scheduler:
                display.note(
                    f"Dask cluster {scheduler}, dashboard: {runner.dashboard_link or 'none (no bokeh on the scheduler)'}"
                )
            for result in runner.results(tasks):
                plan_id = result.pop("plan_id")
                results[plan_id].append(_store(outs[plan_id], result))
                if display:
                    display.update(result, plan_id)
            if display:
                display.close()
            manifests = {}
            for plan_id, plan in plans.items():
                manifest = _manifest(plan, outs[plan_id], results[plan_id], started)
                write_atomic(
                    outs[plan_id] / "manifest.json",
                    json.dumps(manifest, ensure_ascii=False, indent=2),
                )
                write_atomic(
                    outs[plan_id] / "index.html", index_page(plan, manifest, outs[plan_id])
                )
                manifests[plan_id] = manifest
            return manifests
    finally:
        signal.signal(signal.SIGTERM, previous)


def _store(out: Path, result: dict) -> dict:
    """Write what a worker returned, each file whole or not at all (write_atomic)."""
    from plantrack.data.package import write_atomic

    sector = result["sector"]
    notebook, page = result.pop("notebook_text", None), result.pop("html_text", None)
    failed = result.pop("failed_notebook_text", None)
    if result["status"] == "ok":
        write_atomic(out / f"{sector}.ipynb", notebook)
        write_atomic(out / f"{sector}.html", page)
        (out / f"{sector}.failed.ipynb").unlink(missing_ok=True)
        result.update(notebook=f"{sector}.ipynb", html=f"{sector}.html")
    elif failed is not None:
        write_atomic(out / f"{sector}.failed.ipynb", failed)
        result["failed_notebook"] = f"{sector}.failed.ipynb"
    return result


def _clear_staging(out: Path) -> None:
    """Whatever a killed run left in outputs/<plan>/: half-written temporaries (write_atomic's
    .<name>.tmp-<pid>), and the .partial/ staging folder older versions used."""
    out.mkdir(parents=True, exist_ok=True)
    partial = out / ".partial"
    if partial.is_symlink() or partial.is_file():
        partial.unlink()
    if partial.is_dir():
        shutil.rmtree(partial)
    for leftover in out.glob(".*.tmp-*"):
        if leftover.is_file() and not leftover.is_symlink():
            leftover.unlink()


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def _manifest(plan, out: Path, results: list[dict], started) -> dict:
    from plantrack.judge.progress import assess, status_counts

    previous = {}
    if (out / "manifest.json").is_file():
        try:
            previous = {
                s["sector"]: s for s in json.loads((out / "manifest.json").read_text())["sectors"]
            }
        except (ValueError, KeyError, TypeError):
            previous = {}
    by_sector = status_counts(assess(plan, flags=False))  # one table: sectors x statuses
    for result in results:
        counts = by_sector.loc[result["sector"]] if result["sector"] in by_sector.index else {}
        result["counts"] = {str(k): int(v) for k, v in dict(counts).items() if v}
        previous[result["sector"]] = result
    order = {s: i for i, s in enumerate(plan.sector_ids())}
    sectors = sorted(previous.values(), key=lambda s: order.get(s["sector"], len(order)))
    return {
        "plan_id": plan.plan_id,
        "data_hash": plan.content_hash,
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "ok": sum(r["status"] == "ok" for r in results),
        "failed": sum(r["status"] != "ok" for r in results),
        "sectors": sectors,
    }


def index_page(plan, manifest: dict, out: Path, lang: str = "en") -> str:
    """The run's index: every sector, its counts and whether it ran (escaped by the template)."""
    from plantrack.present.html import render, stylesheet

    sectors = [
        dict(
            s,
            name=f"{plan.sector_name(s['sector'], 'zh')} / {plan.sector_name(s['sector'], 'en')}",
            report=f"{s['sector']}.html" if (out / f"{s['sector']}.html").is_file() else None,
            counts=list(s.get("counts", {}).items()),
            error=s.get("error") or "",
        )
        for s in manifest["sectors"]
    ]
    return render(
        "runs_index.html.j2",
        plan=plan,
        manifest=manifest,
        sectors=sectors,
        lang=lang,
        stylesheet=stylesheet(),
    )
