"""The requests custom licenses add to a tenant's read, and how they grow per rule.

    python benchmarks/custom_counts_bench.py                 # 300 users, 20 groups, 10 shared mailboxes

Starts the Microsoft sandbox on loopback over TLS with one customer tenant of
``--users`` users (each with a user mailbox), ``--groups``
groups (each of 15 users, every fourth nesting the one before) and
``--shared`` shared mailboxes, names shown in reports. Reads the tenant as a
sync does (``InventoryService.fetch``), first with no custom license, then
with one custom license of each rule alone, then with all of them, and
prints the requests of each read by Graph endpoint. Twice: with the mailbox
report saying each mailbox's kind, and without (then seatsync asks each
mailbox's ``userPurpose``: APIS.md §A4 leaves open which Graph does).
Tokens are fetched before counting (a sync's token lasts an hour).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from app.billing.custom import CountRule, CustomLicense  # noqa: E402
from app.billing.types import TenantInventory  # noqa: E402
from app.sandbox.microsoft import MicrosoftSandbox, generate  # noqa: E402
from app.sandbox.server import SandboxServer, make_tls  # noqa: E402
from app.services.microsoft import MicrosoftClients  # noqa: E402
from app.services.microsoft.permissions import COUNT_PERMISSIONS  # noqa: E402
from app.services.microsoft.skus import SkuCatalogue  # noqa: E402
from app.services.sync.custom_reads import GraphCustomReads  # noqa: E402
from app.services.sync.inventory import InventoryService  # noqa: E402
from benchmarks.bench_report import table  # noqa: E402


class Discard:
    """Keeps no snapshot: each read is counted on its own."""

    def latest(self, tenant_id: str) -> TenantInventory | None:
        return None

    def save_snapshot(self, inventory: TenantInventory, previous: TenantInventory | None) -> None:
        pass


def world(users: int, groups: int, shared: int, seed: int):  # type: ignore[no-untyped-def]
    catalogue = SkuCatalogue.load()
    scenario = generate(1, seed=seed, catalogue=catalogue)
    (tenant,) = scenario.tenants.values()
    scenario.add_role(*COUNT_PERMISSIONS)
    scenario.conceal_report_names(tenant.id, False)
    if len(tenant.users) < users:
        scenario.add_users(tenant.id, users - len(tenant.users))
    people = list(scenario.tenant(tenant.id).users)
    scenario.set_mailbox(tenant.id, people, "user")  # every person has a mailbox
    rng = random.Random(seed)
    made = []
    for n in range(groups):
        members: list = rng.sample(people, min(15, len(people)))
        if made and n % 4 == 3:
            members.append(made[-1])
        made.append(scenario.add_group(tenant.id, f"Group {n + 1}", members=members))
    scenario.add_shared_mailboxes(tenant.id, shared)
    return scenario, tenant.id, made, catalogue


def customs(tenant_id: str, group_id: str, domain: str, sku: str) -> dict[str, CustomLicense]:
    def one(n: int, rule: CountRule, **values: object) -> CustomLicense:
        return CustomLicense(id=f"{n:032x}", tenant_id=tenant_id, name=rule.value, rule=rule, **values)  # type: ignore[arg-type]

    return {"enabled member users": one(1, CountRule.ENABLED_MEMBERS),
            "licensed users": one(2, CountRule.LICENSED_USERS),
            "users of a UPN domain": one(3, CountRule.UPN_DOMAIN, param=domain),
            "members of a group": one(4, CountRule.GROUP_MEMBERS, param=group_id),
            "user mailboxes": one(5, CountRule.USER_MAILBOXES),
            "shared mailboxes": one(6, CountRule.SHARED_MAILBOXES),
            "sum of two licenses": one(7, CountRule.SUM, terms=((1, sku), (-1, f"custom:{6:032x}"))),
            "a fixed number": one(8, CountRule.FIXED, param="12")}


def measure(args: argparse.Namespace, recipient_type: bool) -> list[tuple[str, int, str]]:
    scenario, tenant_id, groups, catalogue = world(args.users, args.groups, args.shared, args.seed)
    sandbox = MicrosoftSandbox(scenario)
    sandbox.report_recipient_type = recipient_type
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(sandbox, tls=make_tls(Path(tmp))) as server, \
            MicrosoftClients.create(sandbox.settings(server)) as clients:
        service = InventoryService(clients.graph, clients.partner_center, catalogue, Discard(),
                                   custom_reads=GraphCustomReads(clients.graph))

        def read(custom: tuple[CustomLicense, ...]) -> tuple[int, Counter[str]]:
            server.reset_counts()
            service.fetch(tenant_id, custom=custom)
            by_route = Counter({route: n for (_, route), n in server.requests.items() if n})
            return sum(by_route.values()), by_route

        service.fetch(tenant_id, with_users=True)  # tokens and authority metadata, as a running sync has them
        inventory = service.fetch(tenant_id, with_users=True)
        sku = inventory.licenses[0].sku_id
        domain = (inventory.users or ())[0].upn_domain
        rules = customs(tenant_id, groups[-1].id, domain, sku)
        base, base_routes = read(())
        rows = [("no custom license (licenses and subscriptions)", base,
                 ", ".join(f"{route} {n}" for route, n in sorted(base_routes.items())))]

        def added(total: int, by_route: Counter[str]) -> tuple[int, str]:
            return total - base, ", ".join(f"{route} {n}" for route, n in sorted((by_route - base_routes).items()))

        for name, custom in rules.items():
            extra = (rules["shared mailboxes"],) if name == "sum of two licenses" else ()
            rows.append((f"+ {name}" + (" (and the shared mailboxes it subtracts)" if extra else ""),
                         *added(*read((*extra, custom)))))
        rows.append(("every rule at once (8 custom licenses)", *added(*read(tuple(rules.values())))))
        return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--shared", type=int, default=10)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    for recipient_type in (True, False):
        head = (f"Requests of one tenant's read with custom licenses: {args.users} users, {args.groups} groups, "
                f"{args.shared} shared mailboxes; the report {'says' if recipient_type else 'does not say'} "
                "each mailbox's kind")
        print(head, "=" * len(head), sep="\n")
        print(table(["read", "requests (added)", "by endpoint (added)"], measure(args, recipient_type)), end="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
