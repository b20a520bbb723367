"""Starting and seeding the Autotask sandbox, for tests, the demo and the benchmark.

Two user-defined fields carry what Autotask has no field for (an MSP can
create the same UDFs in a real instance, under Admin > Features & Settings
> User-Defined Fields):
- ``Disable Proration`` (companies and contracts): "Yes" makes the
  contract bill quantity changes from a period boundary, never prorated;
- ``Domains`` (companies): the company's e-mail domains, comma-separated,
  beside its web address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from app.sandbox.autotask.app import AutotaskSandbox
from app.sandbox.server import SandboxServer, TlsFiles

PRORATION_UDF = "Disable Proration"
DOMAINS_UDF = "Domains"

#: A few Microsoft 365 services as an MSP's catalog holds them (name, price, cost).
CATALOG = (
    ("Microsoft 365 Business Basic", "7.20", "6.00"),
    ("Microsoft 365 Business Standard", "15.00", "12.50"),
    ("Microsoft 365 Business Premium", "26.40", "22.00"),
    ("Microsoft 365 E3", "43.20", "36.00"),
    ("Exchange Online (Plan 1)", "4.80", "4.00"),
)


@dataclass(frozen=True)
class SandboxAccount:
    """The API user and tracking identifier seeded into a sandbox."""

    username: str = "seatsync-api@sandbox.example"
    secret: str = field(default="sandbox-secret-7Q2x", repr=False)
    integration_code: str = "SEATSYNCSANDBOXTRACKINGID"
    zone: str = "webservices5"


def seed_account(app: AutotaskSandbox, account: SandboxAccount = SandboxAccount()) -> SandboxAccount:
    app.add_user(account.username, account.secret, zone=account.zone)
    app.add_integration_code(account.integration_code)
    return account


def serve(app: AutotaskSandbox, *, tls: TlsFiles | None = None) -> SandboxServer:
    """Start ``app`` on 127.0.0.1:0; stop the returned server when done."""
    server = SandboxServer(app, tls=tls).start()
    app.scheme = "https" if tls else "http"
    app.base_url = server.url
    return server


def lookup_url(server: SandboxServer) -> str:
    """The zone-lookup base URL a client is given (the real one is
    https://webservices.autotask.net/atservicesrest)."""
    return f"{server.url}/ATServicesRest"


def add_company(app: AutotaskSandbox, name: str, *, domains: tuple[str, ...] = (), active: bool = True,
                disable_proration: bool = False) -> int:
    udfs = {}
    if len(domains) > 1:
        udfs[DOMAINS_UDF] = ", ".join(domains)
    if disable_proration:
        udfs[PRORATION_UDF] = "Yes"
    website = f"https://www.{domains[0]}" if domains else ""
    return app.store.add_company(name, website=website, active=active, udfs=udfs)


def seed_msp(app: AutotaskSandbox, *, companies: int = 10, start: date = date(2024, 1, 1),
             end: date = date(2027, 12, 31), material_code: str = "Microsoft 365 prorations") -> dict[str, list[int]]:
    """An MSP's instance: the catalog, a Material Cost Code for one-off charges,
    and ``companies`` customers each with one active monthly Recurring Service
    contract (every fifth company has proration disabled)."""
    app.store.add_billing_code(material_code)
    services = [app.store.add_service(name, Decimal(price), cost=Decimal(cost), description=name)
                for name, price, cost in CATALOG]
    company_ids, contract_ids = [], []
    for n in range(companies):
        slug = f"customer{n + 1:04d}"
        cid = add_company(app, f"Customer {n + 1:04d} Ltd", domains=(f"{slug}.example",),
                          disable_proration=n % 5 == 4)
        company_ids.append(cid)
        contract_ids.append(app.store.add_contract(cid, "Microsoft 365", start=start, end=end))
    return {"services": services, "companies": company_ids, "contracts": contract_ids}
