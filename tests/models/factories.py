"""Small builders of the values the repository tests store."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from app.billing import types as core
from app.models.records import ConsentStatus, TenantRecord
from app.models.repositories import Profiles, PsaConnections, Tenants

TENANT = "8c1f3a2e-0d4b-4a57-9b7e-1f2a3b4c5d6e"
OTHER_TENANT = "0b6c7d8e-1f20-4a3b-8c9d-aabbccddeeff"
BP = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"  # Microsoft 365 Business Premium
E3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"
FETCHED = datetime(2024, 5, 1, 5, 30, tzinfo=UTC)


def connection(kind: str = "connectwise", name: str = "Main") -> int:
    return PsaConnections().create(kind=kind, name=name, settings={"site": "na.example"}).id


def tenant(tenant_id: str = TENANT, name: str = "Contoso Ltd") -> TenantRecord:
    return Tenants().add(
        TenantRecord(
            tenant_id=tenant_id,
            name=name,
            default_domain="contoso.onmicrosoft.com",
            verified_domains=("contoso.com", "contoso.onmicrosoft.com"),
            consent_status=ConsentStatus.GRANTED,
        )
    )


def product(psa_id: str = "P1", price: str = "18.10") -> core.Product:
    return core.Product(
        id=psa_id, identifier="M365-BP", description="Microsoft 365 Business Premium", price=Decimal(price),
        cost=Decimal("15.4000"),
    )


def profile(connection_id: int, *, name: str = "BP retail", psa_id: str = "P1") -> core.BillingProfile:
    return Profiles().save(
        connection_id,
        core.BillingProfile(
            id="",
            name=name,
            product=product(psa_id),
            price=core.PricePolicy(kind=core.PriceKind.FIXED, fixed=Decimal("21.00")),
            billing_option=core.BillingOption.BILLABLE,
            allowed_agreement_types=frozenset({"MSP", "Cloud"}),
        ),
    )


def agreement(psa_id: str = "A7", company_id: str = "19", **overrides: object) -> core.Agreement:
    values: dict[str, object] = dict(
        id=psa_id, company_id=company_id, name="Managed 365", type_name="MSP", cycle=core.Cycle.ANNUAL,
        anchor=core.Anchor.ANNIVERSARY, start=date(2023, 7, 15), prorates=False,
        status=core.AgreementStatus.ACTIVE, currency="GBP",
    )
    values.update(overrides)
    return core.Agreement(**values)  # type: ignore[arg-type]
