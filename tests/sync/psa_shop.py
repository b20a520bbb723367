"""A shop of several customers on the in-memory PSA, saved through the repositories, for the sync service.

Each company has one tenant whose Business Premium is mapped to its own agreement; Microsoft's side is the
tenant's latest snapshot, or a refusal the test sets (``refuse``). ``service()`` is the sync service over it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from app.billing.types import BillingProfile, Mapping, TenantInventory
from app.services.microsoft.errors import ConsentMissing, GdapMissing, SecretInvalid
from app.services.psa.fake import FakePsa
from app.services.sync.inventory import InventoryRefused
from app.services.sync.service import SyncService
from tests.ui.seed import SPB, TODAY, Seed, lic

#: What Entra ID answers, by code, as the token client raises it.
REFUSALS = {
    "AADSTS700016": lambda tenant: ConsentMissing(
        f"(tenant {tenant}: AADSTS700016: Application with identifier 'c0ffee' was not found in the directory "
        f"'{tenant}'. This can happen if the application has not been installed by the administrator of the "
        "tenant.)", tenant_id=tenant, code="AADSTS700016"),
    # As the inventory service says it: the tenant's read refused, because of the relationship.
    "GDAP": lambda tenant: InventoryRefused(f"(tenant {tenant})", tenant_id=tenant, cause=GdapMissing(
        f"(tenant {tenant}: no active GDAP relationship)", tenant_id=tenant)),
    "AADSTS7000222": lambda tenant: SecretInvalid(
        f"(tenant {tenant}: AADSTS7000222: The provided client secret keys for app 'c0ffee' are expired.)",
        tenant_id=tenant, code="AADSTS7000222"),
}


@dataclass
class Shop:
    context: object
    psa: FakePsa
    #: Company name -> tenant id.
    tenants: dict[str, str]
    #: Tenant id -> the AADSTS code Microsoft refuses it with.
    refused: dict[str, str] = field(default_factory=dict)
    #: Called with the tenant id at each Microsoft read (a test's hook into the middle of a sync).
    on_read: Callable[[str], None] = lambda tenant_id: None
    reads: list[str] = field(default_factory=list)

    def refuse(self, company: str, code: str) -> None:
        self.refused[self.tenants[company]] = code

    def fetch(self, tenant_id: str, with_users: bool) -> TenantInventory:
        self.reads.append(tenant_id)
        self.on_read(tenant_id)
        if tenant_id in self.refused:
            raise REFUSALS[self.refused[tenant_id]](tenant_id)
        return self.context.uow.inventory.latest(tenant_id)

    def service(self, **kw) -> SyncService:
        return self.context.sync_service(today=lambda: TODAY, fetch_inventory=self.fetch, **kw)


def open_shop(context, names: list[str], *, seats: int = 10) -> Shop:
    """``names`` as companies on one in-memory PSA, each with a tenant and its Business Premium mapped."""
    seed = Seed(context)
    psa = FakePsa()
    agreements = {}
    for name in names:
        agreements[name] = psa.add_agreement(psa.add_company(name), name=f"{name} - Managed 365",
                                             type_name="Microsoft 365")
    psa.add_product("M365-BP", description="Microsoft 365 Business Premium", price=Decimal("22.00"))
    connection = seed.connection_id
    companies = {c.name: c for c in context.uow.companies.replace(connection, psa.list_companies())}
    context.uow.catalog.replace_agreements(connection, psa.list_agreements())
    context.uow.catalog.replace_products(connection, psa.list_products())
    [product] = context.uow.catalog.products(connection)
    profile = context.uow.profiles.save(connection, BillingProfile(id="", name="M365 BP - Monthly", product=product))
    tenants = {}
    for name in names:
        tenant = tenants[name] = seed.tenant(companies[name], name)
        seed.snapshot(tenant, [lic(SPB, "Microsoft 365 Business Premium", seats, seats)])
        context.uow.mappings.save(Mapping(tenant_id=tenant, sku_id=SPB, profile=profile, agreement_id=agreements[name]))
    context.psas.psa = lambda connection_id: psa  # the in-memory PSA stands in for the real one
    return Shop(context=context, psa=psa, tenants=tenants)
