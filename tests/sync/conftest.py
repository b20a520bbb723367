"""A tenant on the in-memory PSA, with a Microsoft side the tests change at will."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

import pytest

from app.billing.types import BillingProfile, License, Mapping, Product, TenantInventory
from app.errors import SeatsyncError
from app.services.psa.fake import FakePsa
from app.services.sync.engine import SyncEngine
from app.services.sync.store import MemorySyncStore, TenantSetup

SPB = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"
EXO = "4b9405b0-7788-4568-add1-99614e613b69"
NEW_SKU = "6fd2c87f-b296-42f0-b197-1e91e994b900"


class EmptyRead(SeatsyncError):
    """Microsoft returned no licenses for a tenant that had seats."""


@dataclass
class Microsoft:
    """Stands in for the inventory service: tenant id → inventory, or an error."""

    tenants: dict[str, TenantInventory] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    reads: int = 0

    def __call__(self, tenant_id: str, with_users: bool) -> TenantInventory:
        self.reads += 1
        if tenant_id in self.failing:
            raise EmptyRead(tenant_id)
        return self.tenants[tenant_id]

    def seats(self, tenant_id: str, sku: str, assigned: int, purchased: int | None = None) -> None:
        inv = self.tenants[tenant_id]
        others = tuple(lic for lic in inv.licenses if lic.sku_id != sku)
        lic = License(sku_id=sku, part_number=sku[:8], name=f"SKU {sku[:8]}",
                      enabled=purchased if purchased is not None else assigned + 2, consumed=assigned)
        self.tenants[tenant_id] = replace(inv, licenses=(*others, lic))


@dataclass
class World:
    psa: FakePsa
    store: MemorySyncStore
    microsoft: Microsoft
    agreement: str
    flat_agreement: str
    product: str
    exo_product: str
    today: list[date]

    def engine(self, **kw) -> SyncEngine:
        return SyncEngine(psa=self.psa, fetch_inventory=self.microsoft, store=self.store,
                          today=lambda: self.today[0], **kw)

    def tenant(self, tenant_id: str, *, agreement: str | None = None, **mapping_options) -> str:
        products = {p.id: p for p in self.psa.list_products()}
        profile = BillingProfile(id="1", name="M365 BP", product=products[self.product])
        exo = BillingProfile(id="2", name="EXO", product=products[self.exo_product])
        agreement_id = agreement or self.agreement
        self.store.setups[tenant_id] = TenantSetup(tenant_id=tenant_id, name=f"Tenant {tenant_id}", mappings=(
            Mapping(tenant_id=tenant_id, sku_id=SPB, profile=profile, agreement_id=agreement_id, **mapping_options),
            Mapping(tenant_id=tenant_id, sku_id=EXO, profile=exo, agreement_id=agreement_id, **mapping_options),
        ), exclusions=())
        self.microsoft.tenants[tenant_id] = TenantInventory(tenant_id=tenant_id, name=tenant_id)
        self.microsoft.seats(tenant_id, SPB, 10)
        self.microsoft.seats(tenant_id, EXO, 4)
        return tenant_id

    def owned(self, agreement: str | None = None):
        return sorted(((ln.kind.value, ln.product_id, ln.quantity, ln.start, ln.end, ln.amount)
                       for ln in self.psa.list_lines(agreement or self.agreement) if ln.owned),
                      key=lambda t: (t[0], t[1], str(t[3])))


@pytest.fixture
def world() -> World:
    psa = FakePsa()
    company = psa.add_company("Contoso", domains=["contoso.com"])
    agreement = psa.add_agreement(company, name="Contoso 365", start=date(2024, 1, 1), prorates=True)
    flat = psa.add_agreement(company, name="Contoso flat", start=date(2024, 1, 1), prorates=False)
    product = psa.add_product("M365-BP", description="Microsoft 365 Business Premium", price=Decimal("22.00"))
    exo = psa.add_product("EXO-P1", description="Exchange Online (Plan 1)", price=Decimal("4.00"))
    return World(psa=psa, store=MemorySyncStore(), microsoft=Microsoft(), agreement=agreement, flat_agreement=flat,
                 product=product, exo_product=exo, today=[date(2026, 1, 1)])
