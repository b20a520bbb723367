"""``settings``: the sync's schedule, approval rules, caps and thresholds, read and changed without the window.

    python main.py settings list [--json]
    python main.py settings set NAME VALUE [--by WHO]

The names, their values and checks are ``app.services.preferences.NAMED_SETTINGS``;
a change is saved as the Settings view saves it. This module only prints.
"""

from __future__ import annotations

import argparse
import json
import sys

DESCRIPTION = """\
The settings a sync runs by, for a server without a window (the Settings view changes
the same ones, and the notifications). A change is checked, kept in History with who
made it, and counts from the next run.

  settings list [--json]              each setting, its value and what it takes
  settings set NAME VALUE [--by WHO]  change one (none: no cap)

  settings set minimum-margin 20
  settings set max-amount-per-run 1500.00
  settings set approval-policy hold-decreases
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("settings", help="the sync's schedule, approval rules, caps and thresholds",
                                   description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="each setting, its value and what it takes")
    listing.add_argument("--json", action="store_true", help="print JSON, for scripts")
    change = actions.add_parser("set", help="change one setting")
    change.add_argument("name", metavar="NAME", help="the setting (settings list names each)")
    change.add_argument("value", metavar="VALUE", help="its new value (settings list says what each takes)")
    change.add_argument("--by", default="headless", help="who changes it (kept in the history)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.commands.common import app_context
    from app.commands.render import printable, table
    from app.services.preferences import NAMED_SETTINGS

    with app_context() as context:
        service = context.preferences
        if args.action == "set":
            print(f"{args.name} is {service.set_named(args.name, args.value, actor=args.by)}: from the next run")
            return 0
        preferences, _ = service.current()
        values = [(n, n.shown(preferences)) for n in NAMED_SETTINGS]
        if args.json:
            json.dump([{"name": n.name, "value": value, "means": n.label, "takes": n.accepts} for n, value in values],
                      sys.stdout, indent=2, ensure_ascii=False)
            print()
        else:
            print(table(["setting", "value", "means", "takes"],
                        [(n.name, printable(value), n.label, n.accepts) for n, value in values]))
        return 0
