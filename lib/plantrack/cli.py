"""The `plantrack` command: argument parsing and printing only; the work is done in the layers."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from plantrack.config import DEFAULT_PLAN, LANGUAGES, ROOT, ensure_kernel, outputs_root
from plantrack.errors import DataError


def _cmd_plans(args) -> int:
    from plantrack.data.package import list_plans, load_plan
    for plan_id in list_plans():
        plan = load_plan(plan_id)
        print(f"{plan_id}\t{plan.title_zh}\t{plan.title_en}")
    return 0


def _cmd_check(args) -> int:
    from plantrack.data.package import list_plans, load_plan
    from plantrack.judge.findings import findings
    plan_ids = [args.plan] if args.plan else list_plans()
    report = []
    for plan_id in plan_ids:
        plan = load_plan(plan_id)
        found = findings(plan)
        report.append({"plan": plan_id, "valid": True, "targets": len(plan.targets),
                       "actuals": len(plan.actuals), "tasks": len(plan.tasks),
                       "findings": found.to_dict(orient="records")})
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        return 0
    for entry in report:
        print(f"{entry['plan']}: valid — {entry['targets']} targets, {entry['actuals']} actuals, "
              f"{entry['tasks']} tasks, {len(entry['findings'])} findings")
        for f in entry["findings"]:
            message = f["message_zh"] if args.lang == "zh" else f["message_en"]
            print(f"  [{f['severity']}] {f['indicator_id']} {f['kind']}: {message}")
    return 0


def _cmd_assess(args) -> int:
    from plantrack.data.package import load_plan
    from plantrack.judge.progress import assess
    table = assess(load_plan(args.plan), as_of=args.as_of)
    if args.format == "csv":
        table.to_csv(sys.stdout, index=False)
    else:
        cols = ["indicator_id", "target_year", "target_stated", "actual_stated", "computed_rate",
                "reported_rate", "status", "trajectory_status"]
        print(table[cols].to_string(index=False))
    return 0


def _cmd_run(args) -> int:
    from plantrack.batch.runner import run
    if not args.all and not args.sector:
        raise DataError("say which sectors: --all, or --sector S (repeatable)")
    manifest = run(args.plan, None if args.all else args.sector, lang=args.lang, jobs=args.jobs,
                   outputs=Path(args.outputs))
    out = Path(args.outputs) / args.plan
    print(f"{manifest['ok']} ok, {manifest['failed']} failed — {out / 'index.html'}")
    published = 0
    if args.all and not args.no_publish:
        # The static site is built from the data, not from the notebooks: publish even if a sector failed.
        published = _publish(None, Path(args.outputs) / "site")
    return 1 if manifest["failed"] or published else 0


def _publish(plans, out) -> int:
    import time

    from plantrack.present.site import publish
    started = time.monotonic()
    site = publish(plans, out)
    target = Path(out) if out else outputs_root() / "site"
    print(f"published {len(site['plans'])} plan(s), {site['pages']} pages in {time.monotonic() - started:.1f} s — "
          f"{target / 'index.html'}")
    return 0


def _cmd_publish(args) -> int:
    return _publish(args.plans or None, args.out)


def _cmd_lab(args) -> int:
    ensure_kernel()
    os.execvp(sys.executable, [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={ROOT / 'notebooks'}",
                               *(["--no-browser"] if args.no_browser else [])])


def _cmd_dashboard(args) -> int:
    from plantrack.data.package import plan_dir
    from plantrack.serve.server import voila_command
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


def _cmd_ingest(args) -> int:
    from plantrack.data.ingest import ingest
    result = ingest(args.plan, args.file, replace=args.replace, dry_run=args.dry_run)
    print(result.summary())
    if args.dry_run:
        print("dry run: nothing was written")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plantrack", description="Track a plan's targets against what happened.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("plans", help="list the plans in data/plans").set_defaults(func=_cmd_plans)

    check = sub.add_parser("check", help="validate plan data and print its findings")
    check.add_argument("plan", nargs="?", help="plan id (default: every plan)")
    check.add_argument("--format", choices=["text", "json"], default="text")
    check.add_argument("--lang", choices=LANGUAGES, default="en")
    check.set_defaults(func=_cmd_check)

    assess = sub.add_parser("assess", help="print the assessment table of a plan")
    assess.add_argument("plan")
    assess.add_argument("--as-of", type=int, default=None, help="ignore actuals after this year")
    assess.add_argument("--format", choices=["text", "csv"], default="text")
    assess.set_defaults(func=_cmd_assess)

    run = sub.add_parser("run", help="run the sector reports with Papermill (outputs/<plan>/)")
    group = run.add_mutually_exclusive_group()
    group.add_argument("--all", action="store_true", help="every sector of the plan")
    group.add_argument("--sector", action="append", help="one sector (repeatable)")
    run.add_argument("--plan", default=DEFAULT_PLAN)
    run.add_argument("--lang", choices=LANGUAGES, default=None)
    run.add_argument("--jobs", type=int, default=None, help="parallel processes (default: cores)")
    run.add_argument("--outputs", default=str(outputs_root()))
    run.add_argument("--no-publish", action="store_true", help="with --all: do not rebuild the static site")
    run.set_defaults(func=_cmd_run)

    publish = sub.add_parser("publish", help="build the static bilingual site (default outputs/site/)")
    publish.add_argument("plans", nargs="*", metavar="PLAN", help="plan ids (default: every plan in data/plans)")
    publish.add_argument("--out", default=None, help="the site's folder (default: outputs/site)")
    publish.set_defaults(func=_cmd_publish)

    lab = sub.add_parser("lab", help="open JupyterLab on notebooks/ with the plantrack kernel")
    lab.add_argument("--no-browser", action="store_true")
    lab.set_defaults(func=_cmd_lab)

    dashboard = sub.add_parser("dashboard", help="serve the Voilà dashboard (http://127.0.0.1:8866/)")
    dashboard.add_argument("--port", type=int, default=8866)
    dashboard.add_argument("--host", default="127.0.0.1", help="address to bind (default: localhost only)")
    dashboard.add_argument("--plan", default=None, help="plan shown first")
    dashboard.add_argument("--pool-size", type=int, default=1, help="preheated kernels kept warm")
    dashboard.add_argument("--no-preheat", action="store_true", help="start a kernel per visit instead")
    dashboard.add_argument("--open", action="store_true", help="open a browser")
    dashboard.set_defaults(func=_cmd_dashboard)

    ingest = sub.add_parser("ingest", help="add a CSV/XLSX sheet of actuals to a plan (all or nothing)")
    ingest.add_argument("file")
    ingest.add_argument("--plan", required=True)
    ingest.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    ingest.add_argument("--replace", action="store_true", help="replace existing (indicator, year, source) rows")
    ingest.set_defaults(func=_cmd_ingest)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except DataError as exc:
        print(f"plantrack: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
