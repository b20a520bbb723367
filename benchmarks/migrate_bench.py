"""What migrating from another tool costs: 100 foreign lines found, previewed, decided and written.

    python benchmarks/migrate_bench.py [--psa connectwise] [--lines 100] [--latency 0.1] [--tenants 60]

A sandbox world of ``--tenants`` tenants, connected, onboarded and mapped as
a user would, never synced; then ``--lines`` lines "another tool" added on
mapped agreements for mapped products before seatsync's first sync (half
"Cloudconsole", half "Unite"), and every request to the sandboxes delayed
``--latency`` seconds. Measured, each with its requests and wall time:
finding each half by its reference, previewing adopting the first half and
cancelling the second, deciding both, the first sync (which writes the
decisions and every other row's first lines), the sync after it (the adopted
lines' quantities from the next period) and a third, which writes nothing.
Prints its figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_measure import BENCH_DAY  # noqa: E402


def measure(servers: list[Any], work: Callable[[], Any]) -> tuple[Any, int, float]:
    """(what ``work`` returned, the requests it sent the sandboxes, its wall time in seconds)."""
    for server in servers:
        server.reset_counts()
    started = time.perf_counter()
    result = work()
    return result, sum(server.request_count() for server in servers), time.perf_counter() - started


def run(directory: Path, *, psa: str, lines: int, latency: float, tenants: int) -> list[tuple[str, str, str, str]]:
    from app.billing.foreign import ForeignAction
    from app.bootstrap import open_context
    from app.sandbox.world import SandboxWorld
    from app.services.review.migration import ForeignFilter, MigrationService
    from app.services.secrets import MemoryKeyring, SecretStore

    world = SandboxWorld.start(directory / "world", tenants=tenants, psa=psa, today=lambda: BENCH_DAY)
    context = None
    try:
        context = open_context(directory / "data", secrets=SecretStore(MemoryKeyring()), ca_file=world.tls.ca)
        world.configure(context, share=1.0)
        adapter = context.psas.psa(context.uow.psa_connections.all()[0].id)
        if hasattr(adapter, "today"):
            adapter.today = lambda: BENCH_DAY
        places = sorted({(m.agreement_id, m.profile.product.identifier) for m in context.uow.mappings.all()})
        if len(places) < lines:
            raise SystemExit(f"the world has {len(places)} mapped products on agreements, fewer than {lines} lines: "
                             "give more --tenants")
        start = BENCH_DAY.replace(day=1)
        for n, (agreement, product) in enumerate(places[:lines]):
            world.psa_side.add_foreign_line(agreement, product, 3, reference="Cloudconsole" if n % 2 else "Unite",
                                            start=start)
        servers = [world.microsoft_server, world.psa_server]
        for server in servers:
            server.chaos.latency = latency
        service = MigrationService(context.uow, psas=context.psas,
                                   sync=lambda: context.sync_service(today=lambda: BENCH_DAY),
                                   today=lambda: BENCH_DAY)
        rows: list[tuple[str, str, str, str]] = []

        def row(what: str, result: tuple[Any, int, float], note: str = "") -> Any:
            value, requests, seconds = result
            rows.append((what, str(requests), f"{seconds:.2f}", note))
            return value

        cloud = row("find the Cloudconsole lines", measure(servers, lambda: service.find(
            ForeignFilter(reference="cloudconsole"))))
        unite = row("find the Unite lines", measure(servers, lambda: service.find(ForeignFilter(reference="unite"))))
        rows[-2] = (*rows[-2][:3], f"{len(cloud)} lines")
        rows[-1] = (*rows[-1][:3], f"{len(unite)} lines")
        adopt = row("preview adopting the Cloudconsole lines", measure(
            servers, lambda: service.preview(cloud, ForeignAction.ADOPT)))
        refused = [e.problem for e in adopt if e.problem]
        rows[-1] = (*rows[-1][:3], f"{len(refused)} refused" + (f" (first: {refused[0][:70]})" if refused else ""))
        row("preview cancelling the Unite lines",
            measure(servers, lambda: service.preview(unite, ForeignAction.CANCEL)))
        row("decide both (seatsync's database only)", measure(servers, lambda: (
            service.decide(cloud, ForeignAction.ADOPT, actor="bench"),
            service.decide(unite, ForeignAction.CANCEL, actor="bench"))))
        sync = context.sync_service(today=lambda: BENCH_DAY)
        for what in ("first sync: the decisions, and every row's first lines", "second sync: adopted lines corrected",
                     "third sync"):
            summary = row(what, measure(servers, lambda: sync.sync(actor="bench")))
            kinds: dict[str, int] = {}
            for r in summary.results:
                for op in r.applied:
                    kinds[op.kind.value] = kinds.get(op.kind.value, 0) + 1
            rows[-1] = (*rows[-1][:3], ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "nothing written")
        return rows
    finally:
        if context is not None:
            context.close()
        world.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--psa", default="connectwise", choices=("connectwise", "autotask", "halopsa"))
    parser.add_argument("--lines", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every sandbox request")
    parser.add_argument("--tenants", type=int, default=60)
    args = parser.parse_args(argv)
    from benchmarks.bench_report import table

    with tempfile.TemporaryDirectory() as directory:
        rows = run(Path(directory), psa=args.psa, lines=args.lines, latency=args.latency, tenants=args.tenants)
    print(f"Migrating {args.lines} foreign lines on {args.psa}, {args.tenants} tenants, "
          f"{args.latency * 1000:g} ms a request, on {BENCH_DAY}")
    print(table(("step", "requests", "seconds", "what"), rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
