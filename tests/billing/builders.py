"""Small builders for billing-core values, so each table row reads as a worked example."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.billing.types import (
    Agreement,
    Anchor,
    BillingOption,
    BillingProfile,
    Cycle,
    License,
    Line,
    Mapping,
    PriceKind,
    PricePolicy,
    Product,
    Subscription,
    TenantInventory,
    User,
)

TENANT = "11111111-1111-1111-1111-111111111111"
SKU = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"  # Microsoft 365 Business Premium (SPB)
SKU2 = "f245ecc8-75af-4f8e-b61f-27d8114de5f3"  # Microsoft 365 Business Standard


def product(price: str = "22.00", *, active: bool = True, description: str = "Microsoft 365 Business Premium",
            id: str = "P1", cost: str = "0") -> Product:
    return Product(id=id, identifier=f"M365-{id}", description=description, price=Decimal(price), active=active,
                   cost=Decimal(cost))


def profile(price: str = "22.00", *, policy: PricePolicy | None = None,
            option: BillingOption = BillingOption.BILLABLE, types: frozenset[str] = frozenset(),
            product_: Product | None = None) -> BillingProfile:
    return BillingProfile(id="BP1", name="M365 BP monthly", product=product_ or product(price),
                          price=policy or PricePolicy(kind=PriceKind.PSA), billing_option=option,
                          allowed_agreement_types=types)


def agreement(*, prorates: bool = True, cycle: Cycle = Cycle.MONTHLY, anchor: Anchor = Anchor.CALENDAR,
              start: date = date(2024, 1, 1), **kw) -> Agreement:
    return Agreement(id="A1", company_id="C1", name="Managed 365", type_name="Microsoft 365", cycle=cycle,
                     anchor=anchor, start=start, prorates=prorates, **kw)


def lic(purchased: int, assigned: int, *, sku: str = SKU, warning: int = 0, suspended: int = 0,
        subscriptions: tuple[Subscription, ...] = ()) -> License:
    return License(sku_id=sku, part_number="SPB", name="Microsoft 365 Business Premium",
                   enabled=purchased - warning, warning=warning, suspended=suspended, consumed=assigned,
                   subscriptions=subscriptions)


def inventory(*licenses: License, users: tuple[User, ...] | None = None) -> TenantInventory:
    return TenantInventory(tenant_id=TENANT, name="Contoso", licenses=licenses, users=users)


def users(*upns: str, sku: str = SKU, **fields: str) -> tuple[User, ...]:
    return tuple(User(id=f"u{i}", upn=upn, display_name=upn.split("@")[0], sku_ids=frozenset({sku}), **fields)
                 for i, upn in enumerate(upns))


def mapping(**kw) -> Mapping:
    kw.setdefault("profile", profile())
    return Mapping(tenant_id=TENANT, sku_id=kw.pop("sku", SKU), agreement_id="A1", **kw)


def main_line(quantity: int, m: Mapping, *, description: str | None = None, id: str = "L1",
              **kw) -> Line:
    from app.billing.markers import main_marker

    return Line(id=id, agreement_id=m.agreement_id, product_id=m.profile.product.id, quantity=quantity,
                unit_price=m.profile.product.price, start=date(2026, 1, 1),
                description=m.profile.product.description if description is None else description,
                marker=main_marker(m.row), **kw)
