"""The lines a global exclusion offers to cancel: seatsync's main lines of the license, read from the PSA side by
side however many tenants map it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.billing.markers import main_marker
from app.billing.types import Agreement, BillingProfile, LineKind, Mapping, Product
from app.models.records import TenantRecord
from app.services.psa.port import NewLine, PsaCompany
from tests.meeting_psa import MeetingPsa

SPB, EXO = "sku-spb", "sku-exo"


def test_every_tenants_line_of_the_license_is_found_reading_its_agreements_side_by_side(ctx):
    fake = MeetingPsa(together=3)
    connection = ctx.uow.psa_connections.create(kind="connectwise", name="Main", settings={})
    spb = fake.add_product("M365-BP", price="22.00")
    exo = fake.add_product("EXO-P1", price="4.00")
    profiles = {sku: ctx.uow.profiles.save(connection.id, BillingProfile(id="", name=sku, product=Product(
        id=product, price=Decimal("1")))) for sku, product in ((SPB, spb), (EXO, exo))}
    companies = [fake.add_company(f"Customer {n}") for n in range(6)]
    agreements = [fake.add_agreement(company) for company in companies]
    ctx.uow.companies.replace(connection.id, [PsaCompany(id=c, name=f"Customer {n}") for n, c in enumerate(companies)])
    ctx.uow.catalog.replace_agreements(connection.id, [
        Agreement(id=a, company_id=c, name=f"M365 {n}") for n, (a, c) in enumerate(zip(agreements, companies,
                                                                                            strict=True))])
    expected = set()
    for n, agreement in enumerate(agreements):
        tenant = f"tenant-{n}"
        ctx.uow.tenants.add(TenantRecord(tenant_id=tenant, name=f"Tenant {n}"))
        for sku, product in ((SPB, spb), (EXO, exo)):
            mapping = Mapping(tenant_id=tenant, sku_id=sku, profile=profiles[sku], agreement_id=agreement)
            ctx.uow.mappings.save(mapping)
            line = fake.create_line(NewLine(agreement_id=agreement, product_id=product, kind=LineKind.MAIN,
                                            quantity=n + 1, unit_price=Decimal("1"), start=date(2026, 1, 1),
                                            end=None, description=sku, marker=main_marker(mapping.row)))
            if sku == SPB:
                expected.add((tenant, agreement, line.id, f"Customer {n}", f"M365 {n}"))
    ctx.psas.psa = lambda connection_id: fake

    found = ctx.exclusions.active_lines(SPB, today=date(2026, 3, 10))

    assert {(a.tenant_id, a.agreement_id, a.line.id, a.company_name, a.agreement_name) for a in found} == expected
    assert {a.line.product_id for a in found} == {spb} and not fake.meet.broken
