"""The `plantrack` command: argument parsing and printing only; the work is done in the layers."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from plantrack.config import DEFAULT_PLAN, LANGUAGES, ROOT, ensure_kernel, outputs_root
from plantrack.errors import DataError, clip


def _cmd_plans(args) -> int:
    from plantrack.data.package import plan_title, survey_plans

    good, broken = survey_plans()
    for plan_id in good:
        print(f"{plan_id}\t{plan_title(plan_id, 'zh')}\t{plan_title(plan_id, 'en')}")
    for name, reason in broken.items():
        print(f"plantrack: broken plan folder '{name}': {reason}", file=sys.stderr)
    return 1 if broken else 0  # as `run`: the rest was done, and something needs attention


def _cmd_check(args) -> int:
    from plantrack.data.package import list_plans, load_plan
    from plantrack.judge.findings import findings

    plan_ids = [args.plan] if args.plan else list_plans()
    report = []
    for plan_id in plan_ids:
        try:
            plan = load_plan(plan_id)
        except DataError as exc:
            if args.plan:
                raise
            # every plan: one invalid plan is reported and the others are still checked (exit 2 at the end)
            report.append({"plan": plan_id, "valid": False, "error": str(exc)})
            continue
        found = findings(plan)
        report.append(
            {
                "plan": plan_id,
                "valid": True,
                "targets": len(plan.targets),
                "actuals": len(plan.actuals),
                "tasks": len(plan.tasks),
                "findings": found.to_dict(orient="records"),
            }
        )
    status = 2 if any(not entry["valid"] for entry in report) else 0
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        return status
    for entry in report:
        if not entry["valid"]:
            print(f"plantrack: error: {entry['error']}", file=sys.stderr)
            continue
        print(
            f"{entry['plan']}: valid — {entry['targets']} targets, {entry['actuals']} actuals, "
            f"{entry['tasks']} tasks, {len(entry['findings'])} findings"
        )
        for f in entry["findings"]:
            message = f["message_zh"] if args.lang == "zh" else f["message_en"]
            print(f"  [{f['severity']}] {f['indicator_id']} {f['kind']}: {message}")
    return status


def _cmd_assess(args) -> int:
    from plantrack.data.package import load_plan, write_atomic
    from plantrack.judge.progress import assess
    from plantrack.present import export

    plan = load_plan(args.plan)
    table = assess(plan, as_of=args.as_of)
    fmt = args.format
    if fmt == "text":
        if args.output:
            raise DataError("--output writes a file: give --format csv, xlsx or parquet")
        cols = [
            "indicator_id",
            "target_year",
            "target_stated",
            "actual_stated",
            "computed_rate",
            "reported_rate",
            "status",
            "trajectory_status",
        ]
        print(table[cols].to_string(index=False))
        return 0
    if args.lang:
        table = export.in_language(table, args.lang, plan.sector_names(args.lang))
    if fmt != "csv" and not args.output:
        raise DataError(f"--format {fmt} writes a binary file: give --output FILE")
    if args.output:
        write_atomic(Path(args.output), export.table_bytes(table, fmt))
        print(f"wrote {len(table)} rows to {args.output}", file=sys.stderr)
    else:
        export.to_csv(
            table, sys.stdout
        )  # quotes and names that start like a formula are neutralised
    return 0


def _cmd_run(args) -> int:
    from plantrack.batch.engines import scheduler_address
    from plantrack.batch.runner import run_plans

    if not (args.all or args.sector or args.all_plans):
        raise DataError("say which sectors: --all, --sector S (repeatable), or --all-plans")
    if args.all_plans and args.plan:
        raise DataError("--all-plans runs every plan: give it or --plan, not both")
    scheduler = scheduler_address(args.scheduler)  # --scheduler, else $PLANTRACK_SCHEDULER
    plans = None if args.all_plans else [args.plan or DEFAULT_PLAN]
    manifests = run_plans(
        plans,
        args.sector,
        lang=args.lang,
        jobs=args.jobs,
        outputs=Path(args.outputs),
        scheduler=scheduler,
    )
    for plan_id, manifest in manifests.items():
        print(
            f"{plan_id}: {manifest['ok']} ok, {manifest['failed']} failed — {Path(args.outputs) / plan_id / 'index.html'}"
        )
    if (args.all or args.all_plans) and not args.no_publish:
        # The static site is built from the data, not from the notebooks: publish even if a sector failed.
        _publish(None, Path(args.outputs) / "site")
    return 1 if any(m["failed"] for m in manifests.values()) else 0


def _publish(plans, out) -> None:
    import time

    from plantrack.present.site import publish

    started = time.monotonic()
    site = publish(plans, out)
    target = Path(out) if out else outputs_root() / "site"
    print(
        f"published {len(site['plans'])} plan(s), {site['pages']} pages in {time.monotonic() - started:.1f} s — "
        f"{target / 'index.html'}"
    )


def _cmd_publish(args) -> int:
    _publish(args.plans or None, args.out)
    return 0


def _cmd_lab(args) -> int:
    ensure_kernel()
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            f"--notebook-dir={ROOT / 'notebooks'}",
            *(["--no-browser"] if args.no_browser else []),
            *args.jupyter_options,  # e.g. --allow-root, --port=8899: Jupyter's own options
        ],
    )


def _duration(text: str) -> int:
    """'10m', '90s', '1h' or plain seconds -> seconds (argparse turns the ValueError into a usage error)."""
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: write e.g. 10m, 90s or 1h")
    seconds = float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]
    if not 5 <= seconds <= 7 * 86400:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the idle timeout must be between 5 seconds and 7 days"
        )
    return int(seconds)


def _cmd_dashboard(args) -> int:
    from plantrack.data.ids import check_plan_id
    from plantrack.serve.server import voila_command

    if args.plan:
        check_plan_id(args.plan)  # an id from data/plans/: a clear error before anything starts
        os.environ["PLANTRACK_PLAN"] = args.plan
    ensure_kernel()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"plantrack: warning: serving on {args.host}, reachable from other machines",
            file=sys.stderr,
        )
    url = f"http://{'127.0.0.1' if args.host in ('127.0.0.1', 'localhost') else args.host}:{args.port}/"
    print(f"plantrack dashboard: open {url}  (Ctrl+C to stop)", flush=True)
    command = voila_command(
        args.port,
        args.host,
        args.pool_size,
        not args.no_preheat,
        args.open,
        idle_timeout=args.idle_timeout,
        max_readers=args.max_readers or 0,
    )
    os.execv(command[0], command)


def _cmd_ingest(args) -> int:
    from plantrack.judge.whatif import ingest  # the data layer's ingest, with what it changes

    result = ingest(args.plan, args.file, replace=args.replace, dry_run=args.dry_run)
    print(result.summary())
    if args.dry_run:
        print("dry run: nothing was written")
    return 0


def _port(text: str) -> int:
    """A TCP port, checked before anything starts (Voilà would fail later, or bind elsewhere)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{clip(text)}' is not a port number (1 to 65535)"
        ) from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number: ports run from 1 to 65535")
    return port


def _whole_number(low: int, high: int, what: str):
    """An argparse type: a whole number from low to high (argparse turns the error into usage)."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"'{clip(text)}' is not {what} from {low} to {high}")
        return number

    return parse


def _year(text: str) -> int:
    try:
        year = int(text)
    except ValueError:
        year = 0
    if not 1949 <= year <= 2100:
        raise argparse.ArgumentTypeError(f"'{clip(text)}' is not a year such as 2018")
    return year


class _LogFormat(logging.Formatter):
    """'2026-11-29T02:30:00 plantrack run: [3/16] commerce: ok (4.1 s)': the logger's name is
    the command's words."""

    def format(self, record: logging.LogRecord) -> str:
        record.words = record.name.replace(".", " ")
        return super().format(record)


def configure_logging(verbosity: int) -> None:
    """The plantrack loggers to stderr: INFO by default, WARNING with -q, DEBUG with -v."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _LogFormat("%(asctime)s %(words)s: %(message)s", datefmt="%Y-%m-%dT%H:%M:%S")
    )
    logger = logging.getLogger("plantrack")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel({-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plantrack", description="Track a plan's targets against what happened."
    )
    common = argparse.ArgumentParser(add_help=False)
    loudness = common.add_mutually_exclusive_group()
    loudness.add_argument(
        "-v", "--verbose", action="store_const", const=1, dest="verbosity", help="debug detail"
    )
    loudness.add_argument(
        "-q", "--quiet", action="store_const", const=-1, dest="verbosity", help="warnings only"
    )
    common.set_defaults(verbosity=0)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name, **kwargs):  # every command takes -v/-q
        return sub.add_parser(name, parents=[common], **kwargs)

    command("plans", help="list the plans in data/plans").set_defaults(func=_cmd_plans)

    check = command("check", help="validate plan data and print its findings")
    check.add_argument("plan", nargs="?", help="plan id (default: every plan)")
    check.add_argument("--format", choices=["text", "json"], default="text")
    check.add_argument("--lang", choices=LANGUAGES, default="en")
    check.set_defaults(func=_cmd_check)

    assess = command("assess", help="print the assessment table of a plan")
    assess.add_argument("plan")
    assess.add_argument("--as-of", type=_year, default=None, help="ignore actuals after this year")
    assess.add_argument("--format", choices=["text", "csv", "xlsx", "parquet"], default="text")
    assess.add_argument("--output", metavar="FILE", help="write to FILE (needed for xlsx, parquet)")
    assess.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=None,
        help="headers, statuses and sectors in this language (default: column names and codes)",
    )
    assess.set_defaults(func=_cmd_assess)

    run = command("run", help="run the sector reports with Papermill (outputs/<plan>/)")
    group = run.add_mutually_exclusive_group()
    group.add_argument("--all", action="store_true", help="every sector of the plan")
    group.add_argument("--sector", action="append", help="one sector (repeatable)")
    group.add_argument(
        "--all-plans", action="store_true", help="every sector of every plan, as one batch"
    )
    run.add_argument(
        "--plan", default=None, help=f"a plan id from data/plans/ (default {DEFAULT_PLAN})"
    )
    run.add_argument("--lang", choices=LANGUAGES, default=None)
    run.add_argument(
        "--jobs",
        type=_whole_number(1, 1024, "a number of processes"),
        default=None,
        help="parallel processes (default: cores; local only)",
    )
    run.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="run on this Dask cluster (default: $PLANTRACK_SCHEDULER, else local processes)",
    )
    run.add_argument("--outputs", default=str(outputs_root()))
    run.add_argument(
        "--no-publish", action="store_true", help="with --all: do not rebuild the static site"
    )
    run.set_defaults(func=_cmd_run)

    publish = command("publish", help="build the static bilingual site (default outputs/site/)")
    publish.add_argument(
        "plans", nargs="*", metavar="PLAN", help="plan ids (default: every plan in data/plans)"
    )
    publish.add_argument("--out", default=None, help="the site's folder (default: outputs/site)")
    publish.set_defaults(func=_cmd_publish)

    lab = command(
        "lab",
        help="open JupyterLab on notebooks/ with the plantrack kernel (other options go to Jupyter)",
        usage="plantrack lab [--no-browser] [JUPYTER OPTIONS, e.g. --allow-root --port=8899]",
    )
    lab.add_argument("--no-browser", action="store_true")
    lab.set_defaults(func=_cmd_lab)

    dashboard = command("dashboard", help="serve the Voilà dashboard (http://127.0.0.1:8866/)")
    dashboard.add_argument("--port", type=_port, default=8866, help="1 to 65535 (default 8866)")
    dashboard.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: localhost only)"
    )
    dashboard.add_argument("--plan", default=None, help="plan shown first")
    dashboard.add_argument(
        "--pool-size",
        type=_whole_number(1, 64, "a number of kernels"),
        default=1,
        help="preheated kernels kept warm",
    )
    dashboard.add_argument(
        "--no-preheat", action="store_true", help="start a kernel per visit instead"
    )
    dashboard.add_argument("--open", action="store_true", help="open a browser")
    dashboard.add_argument(
        "--idle-timeout",
        type=_duration,
        default=600,
        metavar="TIME",
        help="free a reader's kernel after this long without activity, e.g. 10m, 90s (default 10m)",
    )
    dashboard.add_argument(
        "--max-readers",
        type=_whole_number(1, 10_000, "a number of readers"),
        default=None,
        metavar="N",
        help="readers served at once; more get a 'busy, try again' page (default: sized from this machine)",
    )
    dashboard.set_defaults(func=_cmd_dashboard)

    ingest = command("ingest", help="add a CSV/XLSX sheet of actuals to a plan (all or nothing)")
    ingest.add_argument("file")
    ingest.add_argument("--plan", required=True)
    ingest.add_argument(
        "--dry-run", action="store_true", help="show what would change; write nothing"
    )
    ingest.add_argument(
        "--replace", action="store_true", help="replace existing (indicator, year, source) rows"
    )
    ingest.set_defaults(func=_cmd_ingest)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":  # only `lab` passes options on (to Jupyter)
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.jupyter_options = extra
    configure_logging(args.verbosity)
    try:
        return args.func(args)
    except DataError as exc:
        print(f"plantrack: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader closed the pipe (`plantrack assess … | head`): they have what they wanted.
        # Point stdout at /dev/null so the interpreter's final flush does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
