"""``migrate``: the lines other tools wrote (CloudConsole, Unite, a sync tool, by hand): list them, and adopt,
cancel or ignore them in bulk.

A row whose agreement holds such a line of its product is not synced until
the line is decided. Choose lines by the text in seatsync's marker field
(``--reference Cloudconsole``, ``--blank``), product, agreement type, company
or id; each action first shows what it would write at the next sync. Without
``--yes`` it asks before deciding, which needs a terminal.

  adopt   seatsync takes the line over: its marker is set; it bills unchanged
          this period, then what Microsoft counts
  cancel  the line stops billing after --last-day (by default the day before
          seatsync's line starts)
  ignore  seatsync bills beside it, on purpose
  forget  the line is undecided again (its row is held)
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from app.commands.common import BadArguments, app_context, confirmed, is_terminal, resolve_company
from app.commands.render import table

ACTIONS = ("adopt", "cancel", "ignore", "forget")
NEEDS_YES = ("migrate asks before it decides, and standard input is not a terminal: add --yes to decide without "
             "asking (`python main.py migrate list` shows the lines)")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("migrate", help="adopt, cancel or ignore lines other tools wrote",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name in ("list", *ACTIONS):
        action = actions.add_parser(name, help="the lines seatsync does not own" if name == "list" else
                                    f"{name} the chosen lines")
        which = action.add_mutually_exclusive_group()
        which.add_argument("--reference", metavar="TEXT", help="lines whose reference contains TEXT (any case)")
        which.add_argument("--blank", action="store_true", help="lines with no reference")
        action.add_argument("--product", metavar="PRODUCT", help="the PSA product's identifier or id")
        action.add_argument("--agreement-type", metavar="TYPE", help="agreements of this type")
        action.add_argument("--company", metavar="COMPANY", help="only this company (name, seatsync id or PSA id)")
        action.add_argument("--line", action="append", default=[], metavar="ID", help="this line (repeatable)")
        action.add_argument("--all-companies", action="store_true",
                            help="every agreement of every linked company, not only the agreements mapped")
        action.add_argument("--undecided", action="store_true", help="only lines nobody decided about yet")
        action.add_argument("--json", action="store_true", help="print JSON, for scripts")
        if name != "list":
            action.add_argument("--yes", action="store_true", help="decide without asking")
            action.add_argument("--by", default="headless", help="who decides (kept in History)")
        if name == "cancel":
            action.add_argument("--last-day", type=date.fromisoformat, metavar="YYYY-MM-DD",
                                help="the last day each line bills (default: the day before seatsync's line starts)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.billing.foreign import ForeignAction
    from app.services.review.migration import ForeignFilter, Scope

    deciding = args.action != "list"
    if deciding and not args.yes and not is_terminal(sys.stdin):
        raise BadArguments(NEEDS_YES)
    with app_context() as context:
        service = context.migration
        wanted = ForeignFilter(reference="" if args.blank else args.reference, product=args.product or "",
                               agreement_type=args.agreement_type or "",
                               scope=Scope.ALL if args.all_companies else Scope.MAPPED,
                               undecided_only=args.undecided, company_id=resolve_company(context, args.company),
                               line_ids=frozenset(args.line))
        found = service.find(wanted)
        if not deciding:
            _print_lines(found, args.json)
            return 0
        if not found:
            print("No line seatsync does not own matches.")
            return 0
        if args.action == "forget":
            print(f"{service.forget(found, actor=args.by)} line(s) undecided again: their rows are held until "
                  "decided.")
            return 0
        action = ForeignAction(args.action)
        effects = service.preview(found, action, getattr(args, "last_day", None))
        refused = [e for e in effects if e.problem]
        if args.json:
            json.dump([{"line": e.line.line.id, "company": e.line.company, "agreement": e.line.agreement.name,
                        "product": e.line.product, "reference": e.line.reference, "writes": list(e.writes),
                        "problem": e.problem} for e in effects], sys.stdout, indent=2, ensure_ascii=False)
            print()
        else:
            print(table(("Line", "Company", "Agreement", "Product", "Seats", "Reference", f"If {args.action}ed"),
                        [(e.line.line.id, e.line.company, e.line.agreement.name, e.line.product, e.line.line.quantity,
                          e.line.reference, e.problem or "; ".join(e.writes)) for e in effects], right=(4,)))
        if refused:
            print(f"{len(refused)} line(s) cannot be {args.action}ed (said above): nothing was decided.")
            return 1
        if not args.yes and not confirmed(f"{args.action.capitalize()} {len(found)} line(s)? [y/N] "):
            print("Nothing was decided.")
            return 0
        service.decide(found, action, getattr(args, "last_day", None), actor=args.by)
        print(f"{len(found)} line(s) {args.action}ed: the next sync of their companies writes it "
              "(`python main.py sync`).")
        return 0


def _print_lines(found, as_json: bool) -> None:
    if as_json:
        json.dump([{"connection": f.connection_id, "line": f.line.id, "company": f.company,
                    "agreement": f.agreement.name, "agreement_id": f.agreement.id,
                    "agreement_type": f.agreement.type_name, "product": f.product, "quantity": f.line.quantity,
                    "reference": f.reference, "decision": f.decision.action.value if f.decision else None,
                    "holds_rows_of": list(f.billed_for)} for f in found], sys.stdout, indent=2, ensure_ascii=False)
        print()
    elif found:
        print(table(("Line", "Company", "Agreement", "Type", "Product", "Seats", "Reference", "Decision"),
                    [(f.line.id, f.company, f.agreement.name, f.agreement.type_name, f.product, f.line.quantity,
                      f.reference or "(blank)", _decision(f)) for f in found], right=(5,)))
    else:
        print("No line seatsync does not own matches.")


def _decision(f) -> str:
    if f.decision is None:
        return "undecided: its row is held" if f.billed_for else "undecided"
    if f.decision.last_day is not None:
        return f"cancel after {f.decision.last_day.isoformat()}"
    return f.decision.action.value
