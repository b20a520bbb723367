"""``approvals``: changes held for a person (approval policy, caps, suspicious drops).

Approved changes are applied by the next sync, if that sync still plans
them (a tenant that changed meanwhile gets a fresh plan instead).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from app.commands.common import BadArguments, app_context, resolve_company
from app.commands.render import table
from app.errors import SeatsyncError


class UnknownApproval(SeatsyncError):
    """No held change matches"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("approvals", help="list, approve or reject changes held for a person",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="changes waiting for approval")
    listing.add_argument("--json", action="store_true", help="print JSON, for scripts")
    for name, verb in (("approve", "apply at the next sync"), ("reject", "never apply")):
        action = actions.add_parser(name, help=f"{name} held changes: {verb}")
        action.add_argument("keys", nargs="*", metavar="KEY", help="the change's key (or a unique start of it)")
        action.add_argument("--all", action="store_true", help=f"{name} every held change the filters leave")
        action.add_argument("--company", metavar="COMPANY", help="with --all: only this company's tenants (name, "
                                                                 "seatsync id or PSA id)")
        action.add_argument("--reason", metavar="TEXT", help="with --all: only changes whose reason contains TEXT")
        action.add_argument("--decreases", action="store_true", help="with --all: only decreases")
        action.add_argument("--by", default="headless", help="who decides (kept in the audit)")
        if name == "approve":
            action.add_argument("--quantity", type=int, metavar="N",
                                help="approve one change adjusted: N seats, part of the planned change")
            action.add_argument("--from", dest="effective", type=date.fromisoformat, metavar="YYYY-MM-DD",
                                help="approve one change adjusted: from this later day (a main line: the first "
                                     "day of a billing period)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.models.repositories.journal import Approvals

    approvals = Approvals()
    with app_context() as context:
        held = approvals.held()
        names = {t.tenant_id: t.name for t in context.uow.tenants.all()}
        if args.action == "list":
            rows = []
            for record in held:
                op = record.operation()
                rows.append({"key": record.op_key, "tenant": names.get(record.tenant_id, record.tenant_id),
                             "change": f"{op.kind.value} {op.before} → {op.quantity}", "amount": str(op.amount),
                             "why": record.reason, "basis": op.basis.formula})
            if args.json:
                json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
                print()
            elif rows:
                print(table(("Key", "Tenant", "Change", "Amount", "Why", "Basis"),
                            [(r["key"][:15], r["tenant"], r["change"], r["amount"], r["why"], r["basis"])
                             for r in rows], right=(3,)))
            else:
                print("No change is waiting for approval.")
            return 0
        if getattr(args, "quantity", None) is not None or getattr(args, "effective", None) is not None:
            if args.all or len(args.keys) != 1:
                raise BadArguments("--quantity and --from adjust one change: give its key alone")
            row = context.review.approve_adjusted(_resolve(held, args.keys[0]), quantity=args.quantity,
                                                  effective=args.effective, by=args.by)
            print(f"Approved adjusted: {row.action}, {row.before} → {row.after} from {row.effective.isoformat()}, "
                  f"{row.amount}; the next sync applies it, and plans the rest of the change again.")
            return 0
        if (args.company or args.reason or args.decreases) and not args.all:
            raise BadArguments("--company, --reason and --decreases choose among every held change: add --all")
        if args.all:
            keys = [r.op_key for r in _filtered(context, held, args)]
            if not keys:
                print("No held change matches: nothing was decided.")
                return 0
        else:
            keys = [_resolve(held, k) for k in args.keys]
        if not keys:
            raise UnknownApproval("(give the keys of the changes, or --all)")
        decide = approvals.approve if args.action == "approve" else approvals.reject
        with context.uow:  # all or none; the team database's refusal says which role decides (RoleRefused)
            for key in keys:
                decide(key, by=args.by)
        done = "approved; the next sync applies them" if args.action == "approve" else "rejected"
        print(f"{len(keys)} change(s) {done}.")
        return 0


def _filtered(context, held, args: argparse.Namespace) -> list:
    """The held changes ``--company``, ``--reason`` and ``--decreases`` leave (all when none is given)."""
    tenants = None
    if args.company:
        company = resolve_company(context, args.company)
        tenants = {link.tenant_id for link in context.uow.tenants.links_of_company(company)}
    reason = (args.reason or "").casefold()
    return [r for r in held if (tenants is None or r.tenant_id in tenants) and reason in r.reason.casefold()
            and (not args.decreases or r.operation().is_decrease)]


def _resolve(held, prefix: str) -> str:
    found = [r.op_key for r in held if r.op_key.startswith(prefix)]
    if len(found) != 1:
        raise UnknownApproval(f"{prefix!r}" + (" (several match: give more of the key)" if found else ""))
    return found[0]
