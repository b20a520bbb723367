"""Seeds a fresh database through the repositories: companies, tenants, snapshots, profiles, agreements.

Used by the Companies service tests (no Qt) and the window's tests alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from app.billing.types import (
    Agreement,
    BillingProfile,
    Cycle,
    Exclusion,
    License,
    PriceKind,
    PricePolicy,
    Product,
    Subscription,
    TenantInventory,
    Term,
    User,
    UserFilter,
)
from app.models.records import CompanyRecord, ConsentStatus, RunStatus, TenantRecord
from app.services.psa.port import PsaCompany

SPB = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"  # Microsoft 365 Business Premium
STANDARD = "f245ecc8-75af-4f8e-b61f-27d8114de5f3"  # Microsoft 365 Business Standard
EXCHANGE = "4b9405b0-7788-4568-add1-99614e613b69"  # Exchange Online (Plan 1)
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"  # Office 365 E3
FLOW_FREE = "f30db892-07e9-47e9-837c-80727f46fd3d"  # Microsoft Power Automate Free
READ_AT = datetime(2026, 11, 16, 5, 0, tzinfo=UTC)
TODAY = date(2026, 11, 16)


def tenant_guid(n: int) -> str:
    return str(uuid.UUID(int=0x8F2C1D5E_0000_4000_8000_000000000000 + n))


def users(domain: str, count: int, sku_ids: Iterable[str], *,
          offices: tuple[str, ...] = ("Leeds",)) -> tuple[User, ...]:
    skus = frozenset(sku_ids)
    return tuple(User(id=f"u{n}", upn=f"user{n:03d}@{domain}", display_name=f"User {n}",
                      office=offices[n % len(offices)], sku_ids=skus) for n in range(count))


class Seed:
    def __init__(self, context) -> None:
        self.ctx = context
        self.connection_id = context.uow.psa_connections.create(kind="connectwise", name="Main",
                                                            settings={"site": "https://na.example"}).id
        self._companies: list[PsaCompany] = []
        self._tenants = 0

    # -- PSA side ------------------------------------------------------------------

    def companies(self, names: Iterable[str]) -> list[CompanyRecord]:
        start = len(self._companies)
        for name in names:
            self._companies.append(PsaCompany(id=str(100 + len(self._companies)), name=name,
                                              identifier=name.replace(" ", "")[:20]))
        stored = {c.psa_id: c for c in self.ctx.uow.companies.replace(self.connection_id, self._companies)}
        return [stored[c.id] for c in self._companies[start:]]

    def company(self, name: str) -> CompanyRecord:
        return self.companies([name])[0]

    def agreement(self, company: CompanyRecord, name: str, *, type_name: str = "Microsoft 365",
                  prorates: bool = True, cycle: Cycle = Cycle.MONTHLY, psa_id: str | None = None) -> Agreement:
        existing = self.ctx.uow.catalog.agreements(self.connection_id, company.psa_id)
        agreement = Agreement(id=psa_id or f"A{company.psa_id}-{len(existing) + 1}", company_id=company.psa_id,
                              name=name, type_name=type_name, cycle=cycle, start=date(2024, 1, 1), prorates=prorates)
        self.ctx.uow.catalog.replace_agreements(self.connection_id, [*existing, agreement],
                                                company_psa_id=company.psa_id)
        return agreement

    def profile(self, name: str, *, identifier: str, description: str, price: str,
                types: Iterable[str] = (), fixed: str | None = None) -> BillingProfile:
        product = Product(id=f"P-{identifier}", identifier=identifier, description=description, price=Decimal(price))
        policy = PricePolicy(kind=PriceKind.FIXED, fixed=Decimal(fixed)) if fixed else PricePolicy()
        return self.ctx.uow.profiles.save(self.connection_id, BillingProfile(
            id="", name=name, product=product, price=policy, allowed_agreement_types=frozenset(types)))

    # -- Microsoft side ------------------------------------------------------------

    def tenant(self, company: CompanyRecord | None, name: str, *, user_filter: UserFilter | None = None,
               tenant_id: str | None = None) -> str:
        self._tenants += 1
        tenant_id = tenant_id or tenant_guid(self._tenants)
        domain = name.lower().replace(" ", "") + ".example"
        if self.ctx.uow.tenants.find(tenant_id) is None:
            self.ctx.uow.tenants.add(TenantRecord(tenant_id=tenant_id, name=name, default_domain=domain,
                                              consent_status=ConsentStatus.GRANTED))
        if company is not None:
            self.ctx.uow.tenants.link(tenant_id, company.id, user_filter)
        return tenant_id

    def snapshot(self, tenant_id: str, licenses: Iterable[License], *, at: datetime = READ_AT,
                 name: str = "") -> None:
        self.ctx.uow.inventory.save(TenantInventory(tenant_id=tenant_id, name=name, fetched_at=at,
                                                licenses=tuple(licenses)))

    def history(self, tenant_id: str, days: int, make: Callable[[int], list[License]]) -> None:
        """One snapshot a day for ``days`` days up to READ_AT; ``make(day_index)`` gives its licenses."""
        for n in range(days):
            self.snapshot(tenant_id, make(n), at=READ_AT - timedelta(days=days - 1 - n))


def lic(sku: str, name: str, purchased: int, assigned: int, *subs: Subscription, part: str = "") -> License:
    return License(sku_id=sku, part_number=part or name.upper().replace(" ", "_")[:20], name=name,
                   enabled=purchased, consumed=assigned, subscriptions=subs)


def sub(sub_id: str, sku: str, quantity: int, *, annual: bool = False, yearly_billing: bool = False,
        ends: date | None = None, offer: str = "") -> Subscription:
    return Subscription(id=sub_id, sku_id=sku, offer_name=offer or ("Annual" if annual else "Monthly"),
                        quantity=quantity, term=Term.YEAR if annual else Term.MONTH,
                        billing_cycle=Cycle.ANNUAL if yearly_billing else Cycle.MONTHLY,
                        commitment_end=ends or (date(2027, 3, 31) if annual else date(2026, 12, 15)))


CUSTOMERS = (
    "Adatum Accounting", "Alpine Ski House", "Bellows College", "Best For You Organics", "Blue Yonder Airlines",
    "City Power & Light", "Coho Winery", "Consolidated Messenger", "Contoso Dental", "Fabrikam Legal",
    "Fourth Coffee", "Graphic Design Institute", "Humongous Insurance", "Litware Inc", "Lucerne Publishing",
    "Margie's Travel", "Northwind Traders", "Proseware Inc", "Relecloud", "Southridge Video", "Tailspin Toys",
    "Trey Research", "VanArsdel Ltd", "Wide World Importers", "Wingtip Toys", "Woodgrove Bank",
)


def realistic_world(seed: Seed) -> dict:
    """Two dozen customers in every state a billing admin meets: mapped, unmapped, excluded, failed, held."""
    from app.billing.markers import main_marker
    from app.billing.operations import Operation, OpKind
    from app.billing.types import Mapping, RowKey
    from app.models.repositories import Approvals

    ctx = seed.ctx
    companies = seed.companies(CUSTOMERS)
    bp = seed.profile("M365 BP - Monthly", identifier="M365-BP", description="Microsoft 365 Business Premium",
                      price="22.00", types=["Microsoft 365"])
    bp_annual = seed.profile("M365 BP - Annual/Monthly 2026", identifier="M365-BP-A",
                             description="Microsoft 365 Business Premium (annual)", price="20.50",
                             types=["Microsoft 365"])
    bs = seed.profile("M365 BS - Monthly", identifier="M365-BS", description="Microsoft 365 Business Standard",
                      price="12.50", types=["Microsoft 365"])
    exo = seed.profile("Exchange P1", identifier="EXO-P1", description="Exchange Online (Plan 1)", price="4.00",
                       types=["Microsoft 365", "Managed services"])
    featured = {}
    for n, company in enumerate(companies):
        tenant = seed.tenant(company, company.name)
        m365 = seed.agreement(company, f"{company.name} - Managed 365")
        seed.agreement(company, f"{company.name} - Block hours", type_name="Block time")
        premium = 8 + (n * 7) % 40
        assigned = premium - n % 3
        licenses = [lic(SPB, "Microsoft 365 Business Premium", premium, assigned,
                        sub(f"s{n}-a", SPB, premium - 4, annual=True), sub(f"s{n}-m", SPB, 4)),
                    lic(EXCHANGE, "Exchange Online (Plan 1)", 3 + n % 4, 3 + n % 4),
                    lic(STANDARD, "Microsoft 365 Business Standard", 5 + n % 6, 4 + n % 6)]
        if n % 5 == 0:
            licenses.append(lic(FLOW_FREE, "Microsoft Power Automate Free", 10000, 2 + n % 4))
        if company.name == "Contoso Dental":
            def history(day: int, licenses=licenses) -> list[License]:
                drift = [0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4][day * 12 // 60]
                first = licenses[0]
                return [License(sku_id=first.sku_id, part_number=first.part_number, name=first.name,
                                enabled=first.enabled - 4 + drift, consumed=first.consumed - 5 + drift,
                                subscriptions=first.subscriptions), *licenses[1:]]
            seed.history(tenant, 60, history)
            featured = {"company": company, "tenant": tenant, "agreement": m365}
        else:
            seed.snapshot(tenant, licenses)
        if n % 4 != 1:
            ctx.uow.mappings.save(Mapping(tenant_id=tenant, sku_id=SPB, profile=bp_annual if n % 2 else bp,
                                      agreement_id=m365.id))
            ctx.uow.mappings.save(Mapping(tenant_id=tenant, sku_id=EXCHANGE, profile=exo, agreement_id=m365.id))
        if n % 3 == 0:
            ctx.uow.mappings.save(Mapping(tenant_id=tenant, sku_id=STANDARD, profile=bs, agreement_id=m365.id,
                                      usernames_in_description=True))
        if n % 10 == 0:
            ctx.uow.exclusions.add(Exclusion(sku_id=FLOW_FREE, tenant_id=tenant, reason="free"))
        if n in (6, 17):  # a decrease waiting for approval
            row = RowKey(tenant_id=tenant, sku_id=SPB)
            Approvals().hold(Operation(key=f"v1-held-{n}", kind=OpKind.SET_QUANTITY, row=row, agreement_id=m365.id,
                                       product_id=bp.product.id, marker=main_marker(row), effective=TODAY,
                                       quantity=premium - 5, before=premium), reason="decreases wait for approval")
        if n == 12:  # a write the PSA refused
            row = RowKey(tenant_id=tenant, sku_id=EXCHANGE)
            op = Operation(key=f"v1-failed-{n}", kind=OpKind.SET_QUANTITY, row=row, agreement_id=m365.id,
                           product_id=exo.product.id, marker=main_marker(row), effective=TODAY, quantity=6, before=5)
            ctx.uow.journal.begin(op)
            ctx.uow.journal.mark_failed(op.key, "the agreement is closed in the PSA")
    run = ctx.uow.runs.start(trigger="schedule", scope="all", at=READ_AT)
    ctx.uow.runs.finish(run.id, status=RunStatus.SUCCEEDED, at=READ_AT + timedelta(minutes=2), operations_applied=14)
    return {"profiles": (bp, bp_annual, bs, exo), **featured}
