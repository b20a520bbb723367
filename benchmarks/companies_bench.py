"""How long the Companies list takes to read on a real database of many companies.

    python benchmarks/companies_bench.py --companies 5000 --keep /tmp/companies-db

Builds a seatsync database (SQLite, through the repositories, as the app
writes it) of ``--companies`` PSA companies, each with one tenant, two
inventory snapshots of ten licenses and eight of them mapped, then times
``CompanyService.company_rows()`` (the list's one worker call: names,
counts, badges, monthly amounts) ``--repeat`` times and prints each figure.
Building 5,000 companies takes a few minutes; ``--keep DIR`` keeps the
database there and reuses it on the next run. Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from app.billing.types import Agreement, BillingProfile, License, Mapping, Product, TenantInventory  # noqa: E402
from app.bootstrap import open_context  # noqa: E402
from app.models.records import TenantRecord  # noqa: E402
from app.services.container import Services  # noqa: E402
from app.services.psa.port import PsaCompany  # noqa: E402
from app.services.secrets import MemoryKeyring, SecretStore  # noqa: E402

LICENSES = 10
MAPPED = 8


def seed(context: Services, companies: int) -> None:
    uow = context.uow
    connection = uow.psa_connections.create(kind="connectwise", name="Main", settings={})
    skus = [f"00000000-0000-4000-8000-{k:012d}" for k in range(LICENSES)]
    now = datetime.now(UTC)
    with uow:
        rows = uow.companies.replace(connection.id, [PsaCompany(id=str(i), name=f"Company {i:05d}",
                                                                identifier=f"C{i}") for i in range(companies)])
        uow.catalog.replace_agreements(connection.id, [Agreement(id=f"A{i}", company_id=str(i), name=f"Agreement {i}",
                                                                 type_name="Microsoft 365") for i in range(companies)])
        uow.catalog.replace_products(connection.id, [Product(id=f"P{k}", identifier=f"SKU{k}",
                                                             price=Decimal("10.00")) for k in range(LICENSES)])
        products = uow.catalog.products(connection.id)
        profiles = [uow.profiles.save(connection.id, BillingProfile(id="", name=f"Profile {k}", product=products[k]))
                    for k in range(MAPPED)]
        for i, company in enumerate(rows):
            tenant_id = f"10000000-0000-4000-8000-{i:012d}"
            uow.tenants.add(TenantRecord(tenant_id=tenant_id, name=f"Tenant {i}"))
            uow.tenants.link(tenant_id, company.id)
            for days_ago in (1, 0):
                uow.inventory.save(TenantInventory(
                    tenant_id=tenant_id, name=f"Tenant {i}", fetched_at=now - timedelta(days=days_ago),
                    licenses=tuple(License(sku_id=sku, part_number=f"SKU{k}", name=f"License {k}", enabled=10 + k,
                                           consumed=5 + k) for k, sku in enumerate(skus))))
            for k in range(MAPPED):
                uow.mappings.save(Mapping(tenant_id=tenant_id, sku_id=skus[k], profile=profiles[k],
                                          agreement_id=f"A{i}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--companies", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="the database's folder, kept and reused")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch)
        context = open_context(directory, secrets=SecretStore(MemoryKeyring()))
        try:
            if not context.uow.psa_connections.all():
                started = time.perf_counter()
                seed(context, args.companies)
                print(f"built {args.companies:,} companies in {time.perf_counter() - started:.0f} s")
            for _ in range(args.repeat):
                started = time.perf_counter()
                rows = context.companies.company_rows()
                print(f"companies list: {len(rows):,} companies read in "
                      f"{(time.perf_counter() - started) * 1000:.0f} ms (goal 200 ms)")
        finally:
            context.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
