"""The `plantrack` command."""
from __future__ import annotations

import argparse
import json
import sys

from .errors import DataError


def _cmd_plans(args) -> int:
    from .data import list_plans, load_plan
    for plan_id in list_plans():
        plan = load_plan(plan_id)
        print(f"{plan_id}\t{plan.title_zh}\t{plan.title_en}")
    return 0


def _cmd_check(args) -> int:
    from .data import list_plans, load_plan
    from .checks import findings
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
    from .data import load_plan
    from .progress import assess
    table = assess(load_plan(args.plan), as_of=args.as_of)
    if args.format == "csv":
        table.to_csv(sys.stdout, index=False)
    else:
        cols = ["indicator_id", "target_year", "target_stated", "actual_stated", "computed_rate",
                "reported_rate", "status", "trajectory_status"]
        print(table[cols].to_string(index=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plantrack", description="Track a plan's targets against what happened.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("plans", help="list the plans in data/plans").set_defaults(func=_cmd_plans)

    check = sub.add_parser("check", help="validate plan data and print its findings")
    check.add_argument("plan", nargs="?", help="plan id (default: every plan)")
    check.add_argument("--format", choices=["text", "json"], default="text")
    check.add_argument("--lang", choices=["zh", "en"], default="en")
    check.set_defaults(func=_cmd_check)

    assess = sub.add_parser("assess", help="print the assessment table of a plan")
    assess.add_argument("plan")
    assess.add_argument("--as-of", type=int, default=None, help="ignore actuals after this year")
    assess.add_argument("--format", choices=["text", "csv"], default="text")
    assess.set_defaults(func=_cmd_assess)

    from . import dashboard_server, ingestion, runner
    runner.add_cli(sub)
    dashboard_server.add_cli(sub)
    ingestion.add_cli(sub)
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
