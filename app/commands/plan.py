"""``plan``: the dry run. Prints exactly the operations a sync would apply."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from app.billing.plan import plan
from app.billing.serialize import plan_to_data
from app.commands.render import render_plans
from app.errors import ConfigurationError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("plan", help="show what a sync would change, without changing anything",
                                   description=__doc__)
    parser.add_argument("--example", action="store_true", help="plan the built-in example instead of your data")
    parser.add_argument("--today", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="plan as of this day (default: today; the example's own date with --example)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON, for scripts")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.example:
        raise ConfigurationError("no PSA and Microsoft connection to plan against; set them up in the "
                                 "window, or try `python main.py plan --example`")
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
