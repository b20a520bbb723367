"""The Companies list's figures kept on each company stay what a fresh computation says, whatever is written.

Every write that changes what the list shows (snapshots, mappings, exclusions, links, the catalog's prices
and agreements, billing profiles, the journal's writes, tenants removed) works the figures out again
(app/models/repositories/summaries.py). Random sequences of those writes run here on SQLite and PostgreSQL;
after each, the figures kept equal ``work_out()`` (a fresh computation), and the list equals the list as
seatsync computed it before it kept figures (``reference_rows``: every input read through the repositories and
priced afresh, company by company).
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from app.billing import types as core
from app.billing.markers import main_marker
from app.billing.operations import Operation, OpKind
from app.models import close_database, open_database
from app.models.connections import Company
from app.models.database import db
from app.models.records import CompanyRecord, HeldStatus, JournalState, SyncOutcome, SyncOutcomeRecord, TenantRecord
from app.models.repositories import summaries
from app.models.repositories.overview import Overview
from app.models.repositories.summaries import Figures, work_out
from app.services.customers.companies import RUNS_LOOKED_AT, CompanyService, _Prices, _stored_outcome, last_sync
from app.services.customers.company_rows import CompanyRow, TenantOutcome, total
from app.services.psa.port import PsaCompany
from app.services.uow import UnitOfWork, connected

START = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
SKUS = ("0a6f2e6c-1111-4d2b-9e3a-000000000001", "0a6f2e6c-2222-4d2b-9e3a-000000000002",
        "0a6f2e6c-3333-4d2b-9e3a-000000000003", "0a6f2e6c-4444-4d2b-9e3a-000000000004")
TENANTS = tuple(f"7f000000-0000-4000-8000-00000000000{n}" for n in range(5))
OFFICES = ("Leeds", " leeds ", "York")


# -- the list as seatsync computed it before it kept figures -------------------------------------------------


def reference_rows(uow: UnitOfWork, session: dict[str, TenantOutcome]) -> list[CompanyRow]:
    """Every company with a tenant, each worked out afresh from the repositories: its tenants' latest
    snapshots, their mappings priced on its connection's catalog, the exclusions, held and failed writes and
    outcomes (``session``: the window's own, which win when newer)."""
    companies = {c.id: c for c in uow.companies.all()}
    connections = {c.id: c.name for c in uow.psa_connections.all()}
    names = {t.tenant_id: t.name for t in uow.tenants.all()}
    links = defaultdict(list)
    for link in uow.tenants.all_links():
        links[link.company_id].append(link)
    inventories = {tenant_id: uow.inventory.latest(tenant_id) for tenant_id in names}
    seated: dict[str, list[str]] = defaultdict(list)
    active: dict[tuple[str, str], set[str]] = defaultdict(set)
    for tenant_id, inventory in inventories.items():
        for lic in inventory.licenses if inventory else ():
            if lic.purchased or lic.assigned:
                seated[tenant_id].append(lic.sku_id.lower())
            active[(tenant_id, lic.sku_id.lower())] |= {s.id for s in lic.subscriptions if s.status == "active"}
    mappings: dict[str, list[core.Mapping]] = defaultdict(list)
    for mapping in uow.mappings.all():
        mappings[mapping.tenant_id].append(mapping)
    exclusions = uow.exclusions.all()

    def excluded(tenant_id: str, sku: str) -> bool:
        return any(e.sku_id.lower() == sku and e.tenant_id in (None, tenant_id) for e in exclusions)

    def mapped(tenant_id: str, sku: str, key: str) -> bool:
        mine = {m.subscription_id for m in mappings[tenant_id] if m.sku_id.lower() == sku
                and (not key or (m.user_filter.key if m.user_filter else "") == key)}
        return bool(mine) and ("" in mine or active[(tenant_id, sku)] <= mine)

    held: dict[str, int] = defaultdict(int)
    for record in uow.approvals.held(HeldStatus.HELD):
        held[record.tenant_id] += 1
    failed: dict[str, int] = defaultdict(int)
    for entry in uow.journal.in_state(JournalState.FAILED):
        failed[entry.tenant_id] += 1
    outcomes = {t: _stored_outcome(r) for t, r in uow.sync_outcomes.latest().items()}
    for tenant_id, outcome in session.items():
        if tenant_id not in outcomes or outcome.at >= outcomes[tenant_id].at:
            outcomes[tenant_id] = outcome
    runs = uow.runs.recent(RUNS_LOOKED_AT)
    rows = []
    for company_id, company_links in links.items():
        company = companies[company_id]
        count = unmapped = 0
        for link in company_links:
            key = link.user_filter.key if link.user_filter else ""
            for sku in seated[link.tenant_id]:
                count += 1
                unmapped += not excluded(link.tenant_id, sku) and not mapped(link.tenant_id, sku, key)
        tenants = sorted({(names[link.tenant_id], link.tenant_id) for link in company_links})
        tenant_ids = [t for _, t in tenants]
        prices = _Prices(uow, company.connection_id)
        amounts = []
        for tenant_id in tenant_ids:
            price = prices.pricer(tenant_id, inventories[tenant_id])
            for mapping in mappings[tenant_id]:
                agreement = prices.agreements.get(mapping.agreement_id)
                if agreement is None or agreement.company_id != company.psa_id \
                        or excluded(tenant_id, mapping.sku_id.lower()):
                    continue
                amounts.append(price(mapping))
        rows.append(CompanyRow(
            id=company.id, psa_id=company.psa_id, connection_id=company.connection_id, name=company.name,
            identifier=company.identifier, active=company.active, psa=connections.get(company.connection_id, ""),
            tenant_names=tuple(n for n, _ in tenants), licenses=count, unmapped=unmapped,
            held=sum(held[t] for t in tenant_ids), last_sync=last_sync(company.id, tenant_ids, runs, outcomes, failed),
            monthly=total(amounts), unpriced=sum(1 for a in amounts if a is None)))
    rows.sort(key=lambda r: (r.name.casefold(), r.id))
    return rows


def digits(rows: list[CompanyRow]) -> list[list[str]]:
    """Each row's monthly amounts as written (Decimal equality ignores trailing zeros; the list shows them)."""
    return [[f"{m.amount} {m.currency}" for m in row.monthly] for row in rows]


def kept() -> dict[int, Figures | None]:
    return {company.id: company.figures for company in Overview().companies()}


# -- a world and random writes to it --------------------------------------------------------------------------


class World:
    """Two PSA connections (with the same company and agreement ids on each), five tenants, four licenses,
    profiles of every price policy; ``step`` makes one random write through the repositories."""

    def __init__(self, uow: UnitOfWork, rng: random.Random) -> None:
        self.uow, self.rng = uow, rng
        self.clock = START
        self.keys = 0
        self.nulled: set[int] = set()
        self.connections = [uow.psa_connections.create(kind="connectwise", name=name, settings={}).id
                            for name in ("Alpha", "Beta")]
        self.companies: dict[int, list[CompanyRecord]] = {}
        for connection, count in zip(self.connections, (4, 2), strict=True):
            self.companies[connection] = uow.companies.replace(connection, [
                PsaCompany(id=str(n), name=f"Company {n} of {connection}", identifier=f"C{n}") for n in range(count)])
        self.prices = {c: {"P1": Decimal("10.00"), "P2": Decimal("4.50"), "P3": Decimal("7.333")}
                       for c in self.connections}
        for connection in self.connections:
            self.set_prices(connection)
            self.agreements(connection, {})
        alpha, beta = self.connections
        products = {c: {p.id: p for p in uow.catalog.products(c)} for c in self.connections}
        self.profile_ids = [uow.profiles.save(alpha, profile).id for profile in (
            core.BillingProfile(id="", name="PSA price", product=products[alpha]["P1"]),
            core.BillingProfile(id="", name="Fixed", product=products[alpha]["P2"],
                                price=core.PricePolicy(kind=core.PriceKind.FIXED, fixed=Decimal("21.00"))),
            core.BillingProfile(id="", name="Markup", product=products[alpha]["P3"],
                                price=core.PricePolicy(kind=core.PriceKind.PERCENT, percent=Decimal("12.5"))),
            core.BillingProfile(id="", name="Free", product=products[alpha]["P1"],
                                billing_option=core.BillingOption.NO_CHARGE))]
        self.profile_ids.append(uow.profiles.save(beta, core.BillingProfile(
            id="", name="Beta", product=products[beta]["P2"])).id)
        self.tenants: list[str] = []
        for tenant_id in TENANTS[:4]:
            self.add_tenant(tenant_id)

    # the writes

    def writes(self, count: int) -> Iterator[Callable[[], None]]:
        """A few mappings, then every kind of write once in a random order, then ``count`` drawn at random
        (the common ones more often)."""
        yield from [self.map] * 4
        kinds = [self.snapshot, self.relabel, self.map, self.unmap, self.exclude, self.include, self.link, self.unlink,
                 self.reprice, self.reagree, self.edit_profile, self.journal, self.hold, self.outcome,
                 self.remove_tenant, self.add_tenant, self.rename, self.forget]
        yield from self.rng.sample(kinds, len(kinds))
        weighted = kinds + [self.snapshot, self.map] * 5 + [self.unmap, self.link, self.reprice, self.reagree,
                                                            self.edit_profile] + [self.journal] * 2
        for _ in range(count):
            yield self.rng.choice(weighted)

    def add_tenant(self, tenant_id: str | None = None) -> None:
        tenant_id = tenant_id or self.rng.choice(TENANTS)
        self.uow.tenants.add(TenantRecord(tenant_id=tenant_id, name=f"Tenant {tenant_id[-1]}"))
        if tenant_id not in self.tenants:
            self.tenants.append(tenant_id)
        self.link(tenant_id)
        self.snapshot(tenant_id)

    def snapshot(self, tenant_id: str | None = None) -> None:
        tenant_id = tenant_id or self.tenant()
        if tenant_id is None:
            return
        licenses = []
        for sku in self.rng.sample(SKUS, self.rng.randint(0, len(SKUS))):
            enabled = self.rng.choice((0, 1, 5, 12, 30))
            subscriptions = tuple(
                core.Subscription(id=f"sub-{sku[-1]}-{n}", sku_id=sku, quantity=self.rng.randint(0, 10),
                                  status=self.rng.choice(("active", "active", "suspended")))
                for n in range(self.rng.choice((0, 0, 1, 2, 3))))
            licenses.append(core.License(sku_id=sku, part_number=f"PART{sku[-1]}", enabled=enabled,
                                         warning=self.rng.choice((0, 0, 2)), consumed=self.rng.randint(0, enabled),
                                         subscriptions=subscriptions))
        self.clock += timedelta(hours=self.rng.choice((0, 1, 1, 24)))
        at = self.clock - timedelta(days=self.rng.choice((0, 0, 0, 5)))  # sometimes a read older than the latest
        self.uow.inventory.save(core.TenantInventory(tenant_id=tenant_id, name="", fetched_at=at,
                                                     licenses=tuple(licenses)))

    def relabel(self) -> None:
        """A later read that finds the same seats under other names: a new snapshot, the same figures."""
        tenant_id = self.tenant()
        latest = self.uow.inventory.latest(tenant_id) if tenant_id else None
        if latest is None:
            return
        self.clock += timedelta(hours=1)
        self.uow.inventory.save(replace(latest, name=f"renamed at {self.clock}", fetched_at=self.clock, licenses=tuple(
            replace(lic, name=f"{lic.name} (renamed)") for lic in latest.licenses)))

    def map(self) -> None:
        tenant_id = self.tenant()
        if tenant_id is None:
            return
        sku = self.rng.choice(SKUS)
        latest = self.uow.inventory.latest(tenant_id)
        found = latest.license(sku) if latest else None
        subscriptions = [s.id for s in found.subscriptions] if found else []
        basis = self.rng.choice(list(core.QuantityBasis))
        param = {core.QuantityBasis.UPN_DOMAIN: "contoso.example",
                 core.QuantityBasis.SUM_OF_LICENSES: ",".join(self.rng.sample(SKUS, 2)).upper()}.get(basis, "")
        # Mostly an agreement of a company the tenant bills to (on either connection), else any.
        own = [a.id for link in self.uow.tenants.links_of_tenant(tenant_id)
               for connection in self.connections for a in self.uow.catalog.agreements(connection)
               if a.company_id == link.company_psa_id]
        self.uow.mappings.save(core.Mapping(
            tenant_id=tenant_id, sku_id=sku.upper() if self.rng.random() < 0.2 else sku,
            profile=self.uow.profiles.get(self.rng.choice(self.profile_ids)),
            agreement_id=self.rng.choice(own * 3 + ["G1", "G2", "A0", "A1", "Y0", "gone"]),
            subscription_id=self.rng.choice([""] * 3 + subscriptions),
            user_filter=self.rng.choice((None, None, core.UserFilter(field=core.FilterField.OFFICE,
                                                                     value=self.rng.choice(OFFICES)))),
            basis=basis, basis_param=param, included_quantity=self.rng.choice((0, 0, 2)),
            minimum_quantity=self.rng.choice((0, 0, 3))))

    def unmap(self) -> None:
        mappings = self.uow.mappings.all()
        if mappings:
            self.uow.mappings.delete(self.rng.choice(mappings).row)

    def exclude(self) -> None:
        sku = self.rng.choice(SKUS)
        self.uow.exclusions.add(core.Exclusion(sku_id=sku.upper() if self.rng.random() < 0.3 else sku,
                                               tenant_id=self.rng.choice([None, *self.tenants])))

    def include(self) -> None:
        exclusions = self.uow.exclusions.all()
        if exclusions:
            exclusion = self.rng.choice(exclusions)
            self.uow.exclusions.remove(exclusion.sku_id, exclusion.tenant_id)

    def link(self, tenant_id: str | None = None) -> None:
        tenant_id = tenant_id or self.tenant()
        if tenant_id is None:
            return
        company = self.rng.choice([c for companies in self.companies.values() for c in companies])
        user_filter = self.rng.choice((None, None, core.UserFilter(field=core.FilterField.OFFICE,
                                                                   value=self.rng.choice(OFFICES))))
        self.uow.tenants.link(tenant_id, company.id, user_filter)

    def unlink(self) -> None:
        links = self.uow.tenants.all_links()
        if links:
            link = self.rng.choice(links)
            self.uow.tenants.unlink(link.tenant_id, link.company_id, link.user_filter)

    def set_prices(self, connection: int) -> None:
        self.uow.catalog.replace_products(connection, [core.Product(id=psa_id, identifier=psa_id, price=price)
                                                       for psa_id, price in self.prices[connection].items()])

    def reprice(self) -> None:
        connection = self.rng.choice(self.connections)
        prices = self.prices[connection]
        psa_id = self.rng.choice(("P1", "P1", "P2", "P3", "P3", "P4"))  # P2 is billed at a fixed price
        if psa_id in prices and self.rng.random() < 0.2:
            del prices[psa_id]  # the PSA dropped it: kept, inactive, at its last price
        else:
            prices[psa_id] = self.rng.choice((Decimal("10.00"), Decimal("10.0"), Decimal("12.99"), Decimal("0.333")))
        self.set_prices(connection)

    def agreements(self, connection: int, changes: dict[str, dict[str, object]]) -> None:
        companies = [c.psa_id for c in self.companies[connection]]
        listed = {f"A{n}": dict(company_id=psa_id) for n, psa_id in enumerate(companies)}
        listed["Y0"] = dict(company_id=companies[0], cycle=core.Cycle.ANNUAL, currency="EUR")
        # The same ids on both connections, of different companies.
        listed["G1"] = dict(company_id=companies[0 if connection == self.connections[0] else 1])
        listed["G2"] = dict(company_id=companies[-1], currency="JPY")
        for psa_id, change in changes.items():
            listed[psa_id] = {**listed.get(psa_id, dict(company_id=companies[0])), **change}
        self.uow.catalog.replace_agreements(connection, [
            core.Agreement(id=psa_id, name=psa_id, **values) for psa_id, values in listed.items()
            if values.get("company_id") is not None])

    def reagree(self) -> None:
        connection = self.rng.choice(self.connections)
        companies = [c.psa_id for c in self.companies[connection]]
        psa_id = self.rng.choice(("A0", "A1", "G1", "G2", "Y0", "gone"))
        change = self.rng.choice((dict(cycle=core.Cycle.ANNUAL), dict(currency="GBP"),
                                  dict(company_id=self.rng.choice(companies)), dict(company_id=None)))
        self.agreements(connection, {psa_id: change})

    def edit_profile(self) -> None:
        profile = self.uow.profiles.get(self.rng.choice(self.profile_ids))
        connection = self.connections[0] if profile.name != "Beta" else self.connections[1]
        product = self.rng.choice(self.uow.catalog.products(connection))
        price = self.rng.choice((core.PricePolicy(), core.PricePolicy(kind=core.PriceKind.FIXED, fixed=Decimal("3.10")),
                                 core.PricePolicy(kind=core.PriceKind.PERCENT, percent=Decimal("-10"))))
        option = self.rng.choice(list(core.BillingOption))
        self.uow.profiles.save(connection, replace(profile, product=product, price=price, billing_option=option))

    def journal(self) -> None:
        mappings = self.uow.mappings.all()
        if not mappings:
            return
        mapping = self.rng.choice(mappings)
        self.keys += 1
        op = Operation(key=f"op-{self.keys}", kind=self.rng.choice((OpKind.CREATE_LINE, OpKind.SET_QUANTITY)),
                       row=mapping.row, agreement_id=mapping.agreement_id, product_id=mapping.profile.product.id,
                       marker=main_marker(mapping.row), effective=date(2026, 3, 1), quantity=self.rng.randint(0, 40))
        self.uow.journal.begin(op, tenant_id=mapping.tenant_id)
        if self.rng.random() < 0.8:
            self.uow.journal.mark_done(op.key, psa_record_id=str(self.keys))
        else:
            self.uow.journal.mark_failed(op.key, "refused")

    def hold(self) -> None:
        tenant_id = self.tenant()
        if tenant_id is None:
            return
        self.keys += 1
        row = core.RowKey(tenant_id=tenant_id, sku_id=SKUS[0])
        self.uow.approvals.hold(Operation(key=f"held-{self.keys}", kind=OpKind.SET_QUANTITY, row=row,
                                          agreement_id="A0", product_id="P1", marker=main_marker(row),
                                          effective=date(2026, 3, 1), quantity=1, before=2), reason="a decrease")

    def outcome(self) -> None:
        tenant_id = self.tenant()
        if tenant_id is None:
            return
        self.clock += timedelta(minutes=5)
        status = self.rng.choice(list(SyncOutcome))
        self.uow.sync_outcomes.record([SyncOutcomeRecord(
            tenant_id=tenant_id, status=status, finished_at=self.clock, writes=self.rng.randint(0, 3),
            error="" if status is SyncOutcome.OK else "consent missing")])

    def remove_tenant(self) -> None:
        if len(self.tenants) > 2:
            tenant_id = self.rng.choice(self.tenants)
            self.uow.tenants.remove(tenant_id)
            self.tenants.remove(tenant_id)

    def rename(self) -> None:
        connection = self.rng.choice(self.connections)
        self.uow.companies.replace(connection, [
            PsaCompany(id=c.psa_id, name=f"{c.name}{self.rng.choice(('', ' Ltd'))}", identifier=c.identifier,
                       active=self.rng.random() < 0.8) for c in self.companies[connection]])

    def forget(self) -> None:
        """A database from before the figures were kept: some companies have none yet."""
        ids = [company.id for company in Overview().companies()]
        forgotten = self.rng.sample(ids, self.rng.randint(0, len(ids)))
        Company.update(list_monthly=None).where(Company.id.in_(forgotten)).execute()
        self.nulled.update(forgotten)

    def tenant(self) -> str | None:
        return self.rng.choice(self.tenants) if self.tenants else None


@pytest.fixture
def uow(database):
    unit = UnitOfWork()
    with connected():
        yield unit


def test_the_figures_kept_after_the_set_up_equal_a_fresh_computation(uow):
    World(uow, random.Random(0))
    fresh = work_out()
    assert fresh and kept() == fresh  # the world's set-up wrote through the same paths


@pytest.mark.parametrize("seed", range(8))
def test_after_random_writes_the_list_is_what_it_was_computed_as_before(uow, seed):
    rng = random.Random(seed)
    world = World(uow, rng)
    service = CompanyService(uow)
    done = []
    for write in world.writes(40):
        write()
        done.append(write.__name__)
        stored, fresh = kept(), work_out()
        for company_id, figures in stored.items():
            expected = None if company_id in world.nulled else fresh[company_id]
            assert figures == expected, (company_id, done)
        unlinked = Company.select(Company.id).where(Company.list_monthly.is_null(False)
                                                    & Company.id.not_in(list(stored)))
        assert not unlinked.exists(), done  # a company without a tenant keeps no figures
        rows = service.company_rows()
        assert rows == reference_rows(uow, service.outcomes), done
        assert digits(rows) == digits(reference_rows(uow, service.outcomes)), done
        assert kept() == fresh, done  # the list kept what it worked out
        world.nulled.clear()


def test_a_write_that_changes_nothing_the_list_shows_leaves_the_figures_alone(uow):
    world = World(uow, random.Random(7))
    for _ in range(10):
        world.map()
    before = kept()
    Company.update(list_licenses=999).execute()  # a marker: any work-out would overwrite it
    world.hold()
    world.outcome()
    world.rename()
    assert all(f is None or f.licenses == 999 for f in kept().values())
    summaries.refresh_all()
    assert kept() == before


def test_a_database_from_before_the_figures_is_listed_right_and_keeps_them(uow):
    world = World(uow, random.Random(3))
    for write in world.writes(10):
        write()
    service = CompanyService(uow)
    expected = service.company_rows()
    Company.update(list_monthly=None).execute()  # as migration 12 leaves an earlier database
    assert all(figures is None for figures in kept().values())
    assert service.company_rows() == expected
    assert kept() == work_out()


@pytest.mark.postgresql
def test_on_postgresql_a_write_waits_for_another_working_out_one_company(postgres_server, tmp_path):
    """A sync keeps a tenant's new snapshot while a person maps one of its licenses: the one that commits
    second works the company's figures out from both (without the lock, from what it read before the first
    committed: the snapshot's or the mapping's change would be lost)."""
    open_database(postgres_server.new_database())
    try:
        uow = UnitOfWork()
        with connected():
            world = World(uow, random.Random(11))
            tenant_id = world.tenants[0]
            company = world.companies[world.connections[0]][0]  # Alpha's company "0", whose agreement A0 is
            uow.tenants.link(tenant_id, company.id)
            profile = uow.profiles.get(world.profile_ids[0])  # Alpha's P1 at its price, 10.00
            held, started = threading.Event(), threading.Event()
            errors: list[BaseException] = []

            def sync() -> None:
                try:
                    with connected(), db.atomic():
                        uow.inventory.save(core.TenantInventory(
                            tenant_id=tenant_id, fetched_at=START + timedelta(days=400),
                            licenses=(core.License(sku_id=SKUS[0], enabled=9, consumed=7),)))
                        held.set()
                        started.wait(10)
                        threading.Event().wait(0.5)  # the mapping's save reaches the lock meanwhile
                except BaseException as error:  # noqa: BLE001 (reported below)
                    errors.append(error)

            def person() -> None:
                try:
                    held.wait(10)
                    started.set()
                    with connected():
                        uow.mappings.save(core.Mapping(tenant_id=tenant_id, sku_id=SKUS[0], profile=profile,
                                                       agreement_id="A0"))
                except BaseException as error:  # noqa: BLE001 (reported below)
                    errors.append(error)

            threads = [threading.Thread(target=sync), threading.Thread(target=person)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert not errors
            fresh = work_out()
            assert Decimal("70.00") in [m.amount for m in fresh[company.id].monthly]  # 7 assigned × 10.00
            assert kept() == fresh
    finally:
        close_database()
