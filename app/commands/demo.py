"""``demo``: try seatsync without credentials, against sandboxes on this computer.

Starts the Microsoft sandbox and a PSA sandbox (ConnectWise unless ``--psa``
says Autotask or HaloPSA) on loopback with the demo's scenario (the tenants of two
partner accounts, a direct-bill CSP's and an indirect reseller's, with
their licenses, a PSA catalog with a product for every common Microsoft 365
license, most licenses mapped and a few left for you, one tenant without
consent), points a fresh demo database at them (secrets in a throw-away
keyring), runs a first sync, and opens the window. ``--once`` does the same
without a window and exits after printing the sync's summary and what the
PSA now holds; ``--quit-after-sync`` opens the window, runs "Sync now" for
every company from it and quits when that sync ends (exit code 1 if it
failed): the check that the window works on this display.

Before the window opens, the libraries Qt needs on X11 are checked (and
installed with apt-get when run as root). Everything the demo makes lives
in one temporary folder, removed however the demo ends: a quit, an error,
or SIGTERM, SIGINT (Ctrl+C) or SIGHUP, which end it as a quit does.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType

from app.commands.common import summary_table, use_context
from app.commands.render import table
from app.sandbox.world_psas import PSA_KINDS

#: The signals that end the demo as a quit does.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="try seatsync against sandboxes, without credentials",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="sync once, print the summary and exit (no window)")
    mode.add_argument("--quit-after-sync", action="store_true",
                      help="open the window, sync every company from it and quit when that sync ends")
    parser.add_argument("--tenants", type=int, default=25, metavar="N",
                        help="customer tenants of the home partner account (default 25); a second partner "
                             "account, an indirect reseller's, adds 3")
    parser.add_argument("--psa", choices=PSA_KINDS, default="connectwise",
                        help="the PSA to sync to (default connectwise)")
    parser.add_argument("--example", action="store_true", help="only plan the small built-in example")
    parser.set_defaults(func=run)


class StopOnSignals:
    """SIGTERM, SIGINT and SIGHUP end the demo as a quit does, so what it started stops and its folder goes.

    Outside the window a signal is raised as ``SystemExit(128 + signal)``, which unwinds every ``with``;
    while the window is open ``on_signal`` gets that code (it ends the event loop). Once the demo is
    ending (a first signal, or ``ending`` set), further signals are ignored so the clean-up is not cut short.
    """

    def __init__(self) -> None:
        self.on_signal: Callable[[int], None] | None = None
        self.ending = False
        self.code: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopOnSignals:
        self._previous = {number: signal.signal(number, self._handle) for number in STOP_SIGNALS}
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.ending or self.code is not None:
            return
        self.code = 128 + number
        if self.on_signal is not None:
            self.on_signal(self.code)
            return
        raise SystemExit(self.code)


def run(args: argparse.Namespace) -> int:
    if args.example:
        from app.commands import plan as plan_command

        return plan_command.run(argparse.Namespace(example=True, today=None, json=False, company=None))
    if not args.once:
        from app.ui.xcb import check

        problem = check()
        if problem:
            print(f"seatsync demo: {problem}", file=sys.stderr)
            return 1
    with StopOnSignals() as stop:
        try:
            return _demo(args, stop)
        finally:
            stop.ending = True


def _demo(args: argparse.Namespace, stop: StopOnSignals) -> int:
    from app.bootstrap import open_context
    from app.models.records import RunTrigger
    from app.sandbox.world import SandboxWorld
    from app.services.secrets import MemoryKeyring, SecretStore

    with tempfile.TemporaryDirectory(prefix="seatsync-demo-") as tmp:
        directory = Path(tmp)
        with SandboxWorld.start(directory, tenants=args.tenants, psa=args.psa, demo=True) as world:
            context = open_context(directory / "data", secrets=SecretStore(MemoryKeyring()), ca_file=world.tls.ca)
            try:
                world.configure(context)
                summary = context.sync.sync(actor="demo", trigger=RunTrigger.DEMO)
                print(summary_table(summary))
                if world.psa_kind == "connectwise":
                    print(f"\nWhat the PSA now holds: {world.psa_server.url}/sandbox "
                          f"(the sandbox's certificate authority is {world.tls.ca})")
                else:
                    print(f"\nWhat the PSA now holds ({world.psa_side.label}, {world.psa_server.url}):\n")
                    print(holdings_table(world))
                if args.once:
                    return 0
                sys.stdout.flush()
                use_context(context)
                from app.ui.app import run_window
                from app.ui.stop_signals import exit_loop, signals_reach_the_loop

                with signals_reach_the_loop():
                    stop.on_signal = exit_loop
                    try:
                        code = run_window([], context=context, quit_after_sync=args.quit_after_sync)
                    finally:
                        stop.ending = True
                return stop.code if stop.code is not None else code
            finally:
                use_context(None)
                context.close()


def holdings_table(world) -> str:  # a SandboxWorld
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
