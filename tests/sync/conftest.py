"""A tenant on the in-memory PSA, with a Microsoft side the tests change at will.

The ``world`` fixture runs every engine test twice: on ``MemorySyncStore``
and on ``DbSyncStore`` over a fresh database, where tenants, companies,
profiles and mappings are saved through the repositories so the store's
``setup()`` reads them back for real. Tests change a tenant's setup and
inspect the store only through the World's helpers, which do the same on
both stores.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

import pytest

from app.billing.types import BillingProfile, Exclusion, License, Mapping, TenantInventory
from app.errors import SeatsyncError
from app.models import close_database, open_database
from app.models.records import TenantRecord
from app.models.repositories import Catalog, Companies, Exclusions, Mappings, Profiles, PsaConnections, Tenants
from app.services.psa.fake import FakePsa
from app.services.settings import Settings
from app.services.sync.db_store import DbSyncStore
from app.services.sync.engine import SyncEngine
from app.services.sync.store import (
    ApprovalRules,
    AuditEntry,
    HeldState,
    JournalState,
    MemorySyncStore,
    SyncStore,
    TenantSetup,
)

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


class MemoryKit:
    """Seeds and inspects a MemorySyncStore."""

    def __init__(self) -> None:
        self.store = MemorySyncStore()

    def add_tenant(self, psa: FakePsa, setup: TenantSetup) -> None:
        self.store.setups[setup.tenant_id] = setup

    def set_policy(self, tenant_id: str, policy: ApprovalRules) -> None:
        self.store.setups[tenant_id] = replace(self.store.setups[tenant_id], policy=policy)

    def set_exclusions(self, tenant_id: str, exclusions: Iterable[Exclusion]) -> None:
        self.store.setups[tenant_id] = replace(self.store.setups[tenant_id], exclusions=tuple(exclusions))

    def audits(self) -> list[AuditEntry]:
        return list(self.store.audits)

    def journal_states(self) -> list[JournalState]:
        return [entry.state for entry in self.store.journal.values()]

    def held_state(self, key: str) -> HeldState:
        return self.store.held[key].state


class DbKit:
    """Seeds a database through the repositories, the way the app's dialogs do, and inspects it."""

    def __init__(self) -> None:
        self.store = DbSyncStore()
        self.connection = PsaConnections().create(kind="connectwise", name="Fake PSA").id
        self.profiles: dict[str, str] = {}  # PSA product id -> billing profile id
        # The memory world's default policy has no caps; the settings' defaults have some.
        Settings().set_max_seats_change_per_line(None)
        Settings().set_max_operations_per_run(None)

    def add_tenant(self, psa: FakePsa, setup: TenantSetup) -> None:
        Companies().replace(self.connection, psa.list_companies())
        Catalog().replace_agreements(self.connection, psa.list_agreements())
        Catalog().replace_products(self.connection, psa.list_products())
        Tenants().add(TenantRecord(tenant_id=setup.tenant_id, name=setup.name))
        for mapping in setup.mappings:
            company = next(a.company_id for a in psa.list_agreements() if a.id == mapping.agreement_id)
            record = Companies().by_psa_id(self.connection, company)
            assert record is not None
            Tenants().link(setup.tenant_id, record.id)
            Mappings().save(replace(mapping, profile=self._profile(mapping.profile)))
        for exclusion in setup.exclusions:
            Exclusions().add(exclusion)

    def _profile(self, profile: BillingProfile) -> BillingProfile:
        if profile.product.id not in self.profiles:
            self.profiles[profile.product.id] = Profiles().save(self.connection, replace(profile, id="")).id
        return Profiles().get(self.profiles[profile.product.id])

    def set_policy(self, tenant_id: str, policy: ApprovalRules) -> None:
        settings = Settings()
        for link in Tenants().links_of_tenant(tenant_id):
            settings.set_approval_policy(policy.mode, company_id=str(link.company_id))
        settings.set_max_seats_change_per_line(policy.max_seats_per_line)
        settings.set_max_operations_per_run(policy.max_operations_per_run)
        settings.set_max_amount_per_run(policy.max_amount_per_run)
        self.store = DbSyncStore()  # a store serves one run, on the settings it read first: the next reads these

    def set_exclusions(self, tenant_id: str, exclusions: Iterable[Exclusion]) -> None:
        for old in Exclusions().for_tenant(tenant_id):
            Exclusions().remove(old.sku_id, old.tenant_id)
        for exclusion in exclusions:
            Exclusions().add(exclusion)

    def audits(self) -> list[AuditEntry]:
        return self.store.audits()

    def journal_states(self) -> list[JournalState]:
        return [state for _, state in self.store.journal_states()]

    def held_state(self, key: str) -> HeldState:
        held = self.store.held(key)
        assert held is not None, f"no held operation {key}"
        return held.state


@dataclass
class World:
    psa: FakePsa
    kit: MemoryKit | DbKit
    microsoft: Microsoft
    agreement: str
    flat_agreement: str
    product: str
    exo_product: str
    today: list[date]

    @property
    def store(self) -> SyncStore:
        return self.kit.store

    def engine(self, **kw) -> SyncEngine:
        return SyncEngine(psa=self.psa, fetch_inventory=self.microsoft, store=self.store,
                          today=lambda: self.today[0], **kw)

    def tenant(self, tenant_id: str, *, agreement: str | None = None, **mapping_options) -> str:
        products = {p.id: p for p in self.psa.list_products()}
        profile = BillingProfile(id="1", name="M365 BP", product=products[self.product])
        exo = BillingProfile(id="2", name="EXO", product=products[self.exo_product])
        agreement_id = agreement or self.agreement
        self.kit.add_tenant(self.psa, TenantSetup(tenant_id=tenant_id, name=f"Tenant {tenant_id}", mappings=(
            Mapping(tenant_id=tenant_id, sku_id=SPB, profile=profile, agreement_id=agreement_id, **mapping_options),
            Mapping(tenant_id=tenant_id, sku_id=EXO, profile=exo, agreement_id=agreement_id, **mapping_options),
        ), exclusions=()))
        self.microsoft.tenants[tenant_id] = TenantInventory(tenant_id=tenant_id, name=tenant_id)
        self.microsoft.seats(tenant_id, SPB, 10)
        self.microsoft.seats(tenant_id, EXO, 4)
        return tenant_id

    # -- the same on both stores -------------------------------------------------

    def set_policy(self, tenant_id: str, policy: ApprovalRules) -> None:
        self.kit.set_policy(tenant_id, policy)

    def set_exclusions(self, tenant_id: str, exclusions: Iterable[Exclusion]) -> None:
        self.kit.set_exclusions(tenant_id, exclusions)

    def audits(self) -> list[AuditEntry]:
        return self.kit.audits()

    def journal_states(self) -> list[JournalState]:
        return self.kit.journal_states()

    def approve(self, key: str, who: str) -> None:
        self.store.decide(key, approve=True, who=who)

    def held_state(self, key: str) -> HeldState:
        return self.kit.held_state(key)

    def owned(self, agreement: str | None = None):
        return sorted(((ln.kind.value, ln.product_id, ln.quantity, ln.start, ln.end, ln.amount)
                       for ln in self.psa.list_lines(agreement or self.agreement) if ln.owned),
                      key=lambda t: (t[0], t[1], str(t[3])))


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def world(request, tmp_path):
    """The world on the memory store, and on the database on each engine."""
    if request.param == "memory":
        yield from _world("memory", None, request)
    elif request.param == "sqlite":
        yield from _world("database", tmp_path / "seatsync.db", request)
    else:
        yield from _world("database", request.getfixturevalue("postgres_server").new_database(), request)


@pytest.fixture
def db_world(request, database_target):
    """The world on a database only (for what only a database can do: fail)."""
    yield from _world("database", database_target, request)


def _world(kind: str, database_target, request):
    psa = FakePsa()
    company = psa.add_company("Contoso", domains=["contoso.com"])
    agreement = psa.add_agreement(company, name="Contoso 365", start=date(2024, 1, 1), prorates=True)
    flat = psa.add_agreement(company, name="Contoso flat", start=date(2024, 1, 1), prorates=False)
    product = psa.add_product("M365-BP", description="Microsoft 365 Business Premium", price=Decimal("22.00"))
    exo = psa.add_product("EXO-P1", description="Exchange Online (Plan 1)", price=Decimal("4.00"))
    if kind == "database":
        open_database(database_target)
        request.addfinalizer(close_database)
        kit: MemoryKit | DbKit = DbKit()
    else:
        kit = MemoryKit()
    yield World(psa=psa, kit=kit, microsoft=Microsoft(), agreement=agreement, flat_agreement=flat,
                product=product, exo_product=exo, today=[date(2026, 1, 1)])
