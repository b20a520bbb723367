"""``approvals``: changes held for a person (approval policy, caps, suspicious drops).

Approved changes are applied by the next sync, if that sync still plans
them (a tenant that changed meanwhile gets a fresh plan instead).
"""

from __future__ import annotations

import argparse
import json
import sys

from app.commands.common import app_context
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
        action.add_argument("--all", action="store_true", help=f"{name} every held change")
        action.add_argument("--by", default="headless", help="who decides (kept in the audit)")
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
        keys = [r.op_key for r in held] if args.all else [_resolve(held, k) for k in args.keys]
        if not keys:
            raise UnknownApproval("(give the keys of the changes, or --all)")
        decide = approvals.approve if args.action == "approve" else approvals.reject
        with context.uow:  # all or none; the team database's refusal says which role decides (RoleRefused)
            for key in keys:
                decide(key, by=args.by)
        done = "approved; the next sync applies them" if args.action == "approve" else "rejected"
        print(f"{len(keys)} change(s) {done}.")
        return 0


def _resolve(held, prefix: str) -> str:
    found = [r.op_key for r in held if r.op_key.startswith(prefix)]
    if len(found) != 1:
        raise UnknownApproval(f"{prefix!r}" + (" (several match: give more of the key)" if found else ""))
    return found[0]
