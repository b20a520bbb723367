"""``demo``: try seatsync without credentials, against sandboxes on this computer.

Starts the Microsoft sandbox and a PSA sandbox (ConnectWise unless ``--psa``
says Autotask or HaloPSA) on loopback with a seeded scenario (tenants, some
mapped, some not, one without consent), points a fresh demo database at them
(secrets in a throw-away keyring), runs a first sync, and opens the window.
``--once`` does the same without a window and exits after printing the sync's
summary and what the PSA now holds.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from app.commands.common import summary_table, use_context
from app.commands.render import table
from app.sandbox.world_psas import PSA_KINDS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="try seatsync against sandboxes, without credentials",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", action="store_true", help="sync once, print the summary and exit (no window)")
    parser.add_argument("--tenants", type=int, default=25, metavar="N", help="customer tenants (default 25)")
    parser.add_argument("--psa", choices=PSA_KINDS, default="connectwise",
                        help="the PSA to sync to (default connectwise)")
    parser.add_argument("--example", action="store_true", help="only plan the small built-in example")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.example:
        from app.commands import plan as plan_command

        return plan_command.run(argparse.Namespace(example=True, today=None, json=False, company=None))
    from app.bootstrap import open_context
    from app.sandbox.world import SandboxWorld
    from app.services.secrets import MemoryKeyring, SecretStore
    from app.services.sync.service import SyncService

    with tempfile.TemporaryDirectory(prefix="seatsync-demo-") as tmp:
        directory = Path(tmp)
        with SandboxWorld.start(directory, tenants=args.tenants, psa=args.psa) as world:
            context = open_context(directory / "data", secrets=SecretStore(MemoryKeyring()), ca_file=world.tls.ca)
            try:
                world.configure(context)
                summary = SyncService(context).sync(actor="demo", trigger="demo")
                print(summary_table(summary))
                if world.psa_kind == "connectwise":
                    print(f"\nWhat the PSA now holds: {world.psa_server.url}/sandbox "
                          f"(the sandbox's certificate authority is {world.tls.ca})")
                else:
                    print(f"\nWhat the PSA now holds ({world.psa_side.label}, {world.psa_server.url}):\n")
                    print(holdings_table(world))
                if args.once:
                    return 0
                use_context(context)
                from app.ui.app import run_window

                return run_window([], context=context)
            finally:
                use_context(None)
                context.close()


def holdings_table(world) -> str:  # noqa: ANN001 - a SandboxWorld
    """Every line seatsync owns in the PSA sandbox, agreement by agreement."""
    rows = []
    for _, agreement in sorted(world.agreements.items()):
        for held in world.psa_side.holdings(agreement):
            if held.marker.startswith("seatsync:"):
                days = f"{held.start} – {held.end}" if held.kind == "dated" else f"from {held.start or '-'}"
                rows.append((agreement, held.product, held.kind, held.quantity, f"{held.amount:.2f}", days))
    if not rows:
        return "(no line written yet)"
    return table(("Agreement", "Product", "Line", "Seats", "Amount", "Bills"), rows, right=(3, 4))
