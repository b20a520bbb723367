"""``plan``: the dry run. Prints exactly the operations a sync would apply now."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from app.commands.common import app_context, resolve_company
from app.commands.render import render_plans


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("plan", help="show what a sync would change, without changing anything",
                                   description=__doc__)
    parser.add_argument("--company", metavar="COMPANY", help="only this company (name, seatsync id or PSA id)")
    parser.add_argument("--example", action="store_true", help="plan the built-in example instead of your data")
    parser.add_argument("--today", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="with --example: plan as of this day (default: the example's own date)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON, for scripts")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.example:
        return _example(args)
    from app.billing.operations import Plan
    from app.billing.serialize import to_data

    with app_context() as context:
        summary = context.sync.plan(resolve_company(context, args.company))
        if args.json:
            json.dump({"tenants": [{"tenant": r.tenant_id, "name": r.name, "status": r.status.value,
                                    "error": r.error, "operations": to_data(r.go),
                                    "held": [{"operation": to_data(op), "why": why} for op, why in r.held],
                                    "findings": to_data(r.findings)} for r in summary.results]},
                      sys.stdout, indent=2, ensure_ascii=False)
            print()
            return 0
        plans = [(r.name or r.tenant_id, Plan(operations=tuple(r.go), findings=tuple(r.findings)))
                 for r in summary.results]
        uow = context.uow
        agreements = {a.id: a.name for c in uow.psa_connections.all() for a in uow.catalog.agreements(c.id)}
        print(render_plans(plans, _license_names(context), agreements))
        held = [(r.name, op, why) for r in summary.results for op, why in r.held]
        if held:
            print(f"\n{len(held)} operation(s) would wait for approval; `python main.py approvals list` after a sync.")
        failed = [r for r in summary.results if r.error]
        for r in failed:
            print(f"{r.name or r.tenant_id}: not planned: {r.error}", file=sys.stderr)
        return 1 if failed else 0


def _license_names(context) -> dict[str, str]:
    catalogue = context.microsoft.catalogue()
    return {e.sku_id.lower(): e.name for e in catalogue.entries()}


def _example(args: argparse.Namespace) -> int:
    from app.billing.plan import plan
    from app.billing.serialize import plan_to_data
    from app.sandbox.example import TODAY, example

    ex = example()
    today = args.today or TODAY
    plans = [(inv.name, plan(inv, ex.mappings, ex.exclusions, ex.agreements, ex.lines, today))
             for inv in ex.inventories]
    if args.json:
        json.dump({"today": today.isoformat(), "tenants": [{"tenant": name, **plan_to_data(p)} for name, p in plans]},
                  sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    names = {lic.sku_id.lower(): lic.name for inv in ex.inventories for lic in inv.licenses}
    print(f"Plan as of {today}\n")
    print(render_plans(plans, names, {a.id: a.name for a in ex.agreements}))
    return 0
