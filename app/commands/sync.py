"""``sync``: bring the PSA in step with Microsoft 365 now, for one company or all.

Without ``--yes`` it shows the plan and asks before changing anything; that
needs a terminal: from a script or a scheduler (standard input not a
terminal) it refuses with exit code 2 instead of silently changing nothing.
The progress bar is drawn only on a terminal; logs get the summary alone.
"""

from __future__ import annotations

import argparse
import json
import sys

from app.commands.common import (
    BadArguments,
    app_context,
    confirmed,
    is_terminal,
    progress_bar,
    resolve_company,
    summary_table,
)

NEEDS_YES = ("sync asks before it changes the PSA, and standard input is not a terminal: add --yes to apply "
             "without asking (`python main.py plan` shows the changes without applying them)")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sync", help="apply the plan to the PSA now", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--company", metavar="COMPANY", help="only this company (name, seatsync id or PSA id)")
    parser.add_argument("--yes", action="store_true", help="apply without asking (for scripts and schedulers)")
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.yes and not is_terminal(sys.stdin):
        raise BadArguments(NEEDS_YES)

    with app_context() as context:
        service = context.sync
        company = resolve_company(context, args.company)
        if not args.yes:
            plan = service.plan(company)
            print(summary_table(plan))
            if not plan.planned:
                return 0
            if not confirmed(f"Apply {plan.planned} change(s) to the PSA? [y/N] "):
                print("Nothing was changed.")
                return 0
        tenants = sum(len(t) for t in service.targets(company).values())
        summary = service.sync(company, actor="headless", progress=None if args.json else progress_bar(tenants))
        if args.json:
            from app.billing.serialize import to_data

            json.dump({"run": summary.run_id, "tenants": [
                {"tenant": r.tenant_id, "status": r.status.value, "error": r.error,
                 "applied": to_data(r.applied), "held": [{"key": op.key, "why": why} for op, why in r.held]}
                for r in summary.results], "mapped_by_rule": [
                {"tenant": r.target.tenant_id, "sku": r.target.sku_id, "company": r.company, "license": r.license,
                 "agreement": r.agreement.id if r.agreement else "", "rule": r.rule_id}
                for r in summary.mapped_by_rule]}, sys.stdout, indent=2)
            print()
        else:
            print(summary_table(summary))
            if summary.mapped_by_rule:
                from app.services.customers.rules import mapped_by_rule_text

                print(f"{mapped_by_rule_text(summary.mapped_by_rule, named=len(summary.mapped_by_rule))}.")
        return 1 if summary.failed else 0
