"""``rules``: mapping rules, which map a license across every linked company at once.

A rule says: this SKU (optionally only of one term and billing cycle) bills
through this billing profile on the company's agreement of this type, or
whose name matches a pattern (case-insensitive; * and ? as wildcards).
``apply`` prints the rows the rules map and those they cannot, with the
reason, and asks before it saves (``--yes`` for scripts). A row that has a
mapping is never changed. A sync maps new tenants and new SKUs by the
rules before it plans them (docs/rules.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.commands.common import BadArguments, app_context, confirmed, is_terminal
from app.commands.render import table
from app.errors import SeatsyncError

NEEDS_YES = ("rules apply asks before it saves mappings, and standard input is not a terminal: add --yes to "
             "apply without asking")


class UnknownProfile(SeatsyncError):
    """No billing profile matches"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("rules", help="list, add, remove or apply mapping rules",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the mapping rules")
    listing.add_argument("--json", action="store_true", help="print JSON, for scripts")
    add = actions.add_parser("add", help="add a mapping rule")
    add.add_argument("--sku", required=True, help="the license: its SKU id or part number (ENTERPRISEPACK)")
    add.add_argument("--profile", required=True, help="the billing profile: its id or name")
    where = add.add_mutually_exclusive_group()
    where.add_argument("--agreement-type", default="", help="the company's agreement of this type")
    where.add_argument("--agreement-name", default="", help="the company's agreement whose name matches (a glob)")
    add.add_argument("--term", choices=("P1M", "P1Y", "P3Y"), help="only subscriptions of this term")
    add.add_argument("--cycle", choices=("monthly", "annual"), help="only subscriptions billed this often")
    add.add_argument("--bill-unassigned", action="store_true", help="bill purchased seats, not assigned ones")
    add.add_argument("--included", type=int, default=0, help="seats included (not billed)")
    add.add_argument("--minimum", type=int, default=0, help="the least quantity billed")
    add.add_argument("--negative-proration", action="store_true", help="credit decreases within a period")
    add.add_argument("--usernames", action="store_true", help="list the users in the line's description")
    add.add_argument("--by", default="headless", help="who adds it (kept in the history)")
    remove = actions.add_parser("remove", help="remove a mapping rule (the mappings it made stay)")
    remove.add_argument("rule", type=int, metavar="ID", help="the rule's id (rules list)")
    remove.add_argument("--by", default="headless", help="who removes it (kept in the history)")
    apply = actions.add_parser("apply", help="map what the rules map, after a preview")
    apply.add_argument("rules", nargs="*", type=int, metavar="ID", help="only these rules (default: every rule)")
    apply.add_argument("--yes", action="store_true", help="save without asking (for scripts)")
    apply.add_argument("--json", action="store_true", help="print the rows mapped and not mapped as JSON")
    apply.add_argument("--by", default="headless", help="who applies them (kept in the history)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "apply" and not args.yes and not is_terminal(sys.stdin):
        raise BadArguments(NEEDS_YES)
    with app_context() as context:
        if args.action == "list":
            return _list(context, args)
        if args.action == "add":
            rule = context.rules.add(_rule(context, args), actor=args.by)
            print(f"Rule {rule.id} added: {_describe(context, rule)}.")
            return 0
        if args.action == "remove":
            if not context.rules.remove(args.rule, actor=args.by):
                raise BadArguments(f"there is no mapping rule {args.rule} (see: rules list)")
            print(f"Rule {args.rule} removed; the mappings it made stay.")
            return 0
        return _apply(context, args)


def _describe(context: Any, rule: Any) -> str:
    from app.services.customers.rules import describe_rule

    return describe_rule(rule, context.microsoft.catalogue().name(rule.sku_id))


def _list(context: Any, args: argparse.Namespace) -> int:
    rules = context.rules.rules()
    if args.json:
        json.dump([{"id": r.id, "sku": r.sku_id, "license": context.microsoft.catalogue().name(r.sku_id),
                    "term": r.term.value if r.term else "", "cycle": r.cycle.value if r.cycle else "",
                    "profile": r.profile.name, "profile_id": r.profile.id, "agreement_type": r.agreement_type,
                    "agreement_name": r.agreement_name, "basis": r.basis.value, "included": r.included_quantity,
                    "minimum": r.minimum_quantity} for r in rules], sys.stdout, indent=2, ensure_ascii=False)
        print()
    elif rules:
        print(table(("Id", "Rule"), [(r.id, _describe(context, r)) for r in rules], right=(0,)))
    else:
        print("No mapping rule yet (add one: rules add --sku … --profile … --agreement-type …).")
    return 0


def _rule(context: Any, args: argparse.Namespace) -> Any:
    from app.billing.types import Cycle, QuantityBasis, Term
    from app.models.records import MappingRuleRecord

    sku = args.sku.strip()
    if "-" not in sku:  # a part number
        try:
            sku = context.microsoft.catalogue().sku_id(sku)
        except KeyError as error:
            raise BadArguments(f"{error.args[0]}: give the SKU id") from None
    profiles = context.uow.profiles.all()
    found = [p for p in profiles if p.id == args.profile or p.name.casefold() == args.profile.casefold()]
    if len(found) != 1:
        raise UnknownProfile(f"{args.profile!r}" + (" (several match: give its id)" if found else ""))
    return MappingRuleRecord(
        sku_id=sku, profile=found[0], term=Term(args.term) if args.term else None,
        cycle=Cycle(args.cycle) if args.cycle else None, agreement_type=args.agreement_type,
        agreement_name=args.agreement_name,
        basis=QuantityBasis.PURCHASED if args.bill_unassigned else QuantityBasis.ASSIGNED,
        included_quantity=args.included, minimum_quantity=args.minimum,
        negative_proration=args.negative_proration, usernames_in_description=args.usernames)


def _apply(context: Any, args: argparse.Namespace) -> int:
    rules = context.rules.rules()
    if args.rules:
        unknown = sorted(set(args.rules) - {r.id for r in rules})
        if unknown:
            raise BadArguments(f"there is no mapping rule {', '.join(map(str, unknown))} (see: rules list)")
        rules = [r for r in rules if r.id in args.rules]
    preview = context.rules.preview(rules)
    if args.json and args.yes:
        applied = context.rules.apply(preview, actor=args.by)
        json.dump({"mapped": [_row(r) for r in applied.written], "skipped": [_row(r) for r in applied.skipped],
                   "not_mapped": [_row(r) for r in preview.not_mapped]}, sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    _print_preview(preview)
    if not preview.mapped:
        return 0
    if not args.yes and not confirmed(f"Save these {len(preview.mapped)} mapping(s)? [y/N] "):
        print("Nothing was changed.")
        return 0
    applied = context.rules.apply(preview, actor=args.by)
    print(f"{len(applied.written)} license(s) mapped by rule; the next sync bills them.")
    if applied.skipped:
        print(f"{len(applied.skipped)} were mapped by someone meanwhile and keep their mapping.")
    return 0


def _row(r: Any) -> dict[str, Any]:
    return {"company": r.company, "tenant": r.target.tenant_id, "tenant_name": r.tenant, "sku": r.target.sku_id,
            "license": r.license, "rule": r.rule_id, "agreement": r.agreement.id if r.agreement else "",
            "agreement_name": r.agreement.name if r.agreement else "", "reason": r.reason}


def _print_preview(preview: Any) -> None:
    if preview.mapped:
        print(f"The rules map {len(preview.mapped)} license(s):")
        print(table(("Company", "Tenant", "License", "Agreement", "Rule"),
                    [(r.company, r.tenant, r.license, r.agreement.name or r.agreement.id, r.rule_id)
                     for r in preview.mapped], right=(4,)))
    if preview.not_mapped:
        print(f"They cannot map {len(preview.not_mapped)} (these stay \"Missing billing profile\"):")
        print(table(("Company", "Tenant", "License", "Why not", "Rule"),
                    [(r.company, r.tenant, r.license, r.reason, r.rule_id) for r in preview.not_mapped],
                    right=(4,)))
    if not preview.rows:
        print("The rules map nothing: no unmapped license of a linked company matches them.")
