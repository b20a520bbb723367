"""``ignored``: accounts whose licenses are never billed (your admin, service and test accounts).

    python main.py ignored list [--json]
    python main.py ignored who PATTERN [--tenant ID]
    python main.py ignored add PATTERN [--tenant ID] [--reason TEXT] [--by WHO]
    python main.py ignored remove PATTERN [--tenant ID] [--by WHO]

The logic is ``app.services.customers.ignored``; this module only prints.
"""

from __future__ import annotations

import argparse
import json
import sys

DESCRIPTION = """\
Accounts whose licenses are never billed: the admin, break-glass, service and test
accounts you keep in customers' tenants. A pattern is a UPN, where * stands for any
characters (admin@contoso.com, *-svc@*); it applies in one tenant (--tenant) or in
every tenant. A change counts from each tenant's next read.

  ignored list [--json]                     every pattern kept
  ignored who PATTERN [--tenant ID]         the accounts it matches now (reads the users)
  ignored add PATTERN [--tenant ID] [--reason TEXT]
                                            ignore them (or change the reason)
  ignored remove PATTERN [--tenant ID]      bill them again
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ignored", help="accounts whose licenses are never billed",
                                   description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every pattern kept")
    listing.add_argument("--json", action="store_true", help="print JSON, for scripts")
    for name, what in (("who", "the accounts a pattern matches now"), ("add", "ignore the accounts a pattern names"),
                       ("remove", "bill the accounts a pattern names again")):
        action = actions.add_parser(name, help=what)
        action.add_argument("pattern", help="a UPN, * for any characters (quote it in the shell)")
        action.add_argument("--tenant", metavar="ID", help="one added tenant (default: every tenant)")
        if name == "add":
            action.add_argument("--reason", default="", help="why (kept in the list and the history)")
        if name != "who":
            action.add_argument("--by", default="headless", help="who changes it (kept in the history)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.billing.ignored import IgnoredAccount
    from app.commands.common import app_context
    from app.commands.render import printable, table

    with app_context() as context:
        service = context.ignored_accounts
        tenant = args.tenant.strip().lower() if getattr(args, "tenant", None) else None
        if args.action == "list":
            rows = service.rows()
            if args.json:
                json.dump([{"pattern": r.account.pattern, "tenant_id": r.account.tenant_id, "tenant": r.tenant_name,
                            "reason": r.account.reason} for r in rows], sys.stdout, indent=2, ensure_ascii=False)
                print()
            elif rows:
                print(table(["applies to", "pattern", "reason"],
                            [(r.tenant_name or "every tenant", r.account.pattern, r.account.reason) for r in rows]))
            else:
                print("no account is ignored")
            return 0
        if args.action == "who":
            found = service.who(args.pattern, tenant)
            if found.found:
                print(table(["tenant", "account", "licenses"],
                            [(m.tenant_name, m.upn, ", ".join(m.licenses)) for m in found.found]))
            print(f"{printable(args.pattern)} matches {len(found.found)} account(s) in {found.tenants} tenant(s)")
            for name, why in found.failed:
                print(f"not read: {printable(name)}: {printable(why)}", file=sys.stderr)
            return 1 if found.failed else 0
        if args.action == "add":
            kept = service.ignore(IgnoredAccount(pattern=args.pattern, tenant_id=tenant, reason=args.reason),
                                  actor=args.by)
            print(f"ignored {printable(kept.pattern)} in {kept.tenant_id or 'every tenant'}: not billed from each "
                  "tenant's next read")
            return 0
        if service.stop_ignoring(args.pattern, tenant, actor=args.by):
            print(f"{printable(args.pattern.strip().lower())} is billed again from each tenant's next read")
            return 0
        print(f"{printable(args.pattern)} was not ignored in {tenant or 'every tenant'}", file=sys.stderr)
        return 1
