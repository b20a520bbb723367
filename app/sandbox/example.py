"""A small built-in example: three tenants, their mappings, agreements and lines.

``python main.py plan --example`` plans it; docs and tests use it as a
readable, fixed scenario. Real SKU ids from Microsoft's catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.billing.markers import main_marker
from app.billing.types import (
    Agreement,
    BillingProfile,
    Exclusion,
    License,
    Line,
    Mapping,
    PriceKind,
    PricePolicy,
    Product,
    QuantityBasis,
    Subscription,
    TenantInventory,
    Term,
    User,
)

SPB = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"  # Microsoft 365 Business Premium
STANDARD = "f245ecc8-75af-4f8e-b61f-27d8114de5f3"  # Microsoft 365 Business Standard
EXCHANGE = "4b9405b0-7788-4568-add1-99614e613b69"  # Exchange Online (Plan 1)
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"  # Office 365 E3
FLOW_FREE = "f30db892-07e9-47e9-837c-80727f46fd3d"  # Microsoft Power Automate Free

TODAY = date(2026, 11, 16)


@dataclass(frozen=True)
class Example:
    inventories: tuple[TenantInventory, ...]
    mappings: tuple[Mapping, ...]
    exclusions: tuple[Exclusion, ...]
    agreements: tuple[Agreement, ...]
    lines: tuple[Line, ...]


def _users(domain: str, names: list[str], sku: str) -> tuple[User, ...]:
    return tuple(User(id=f"{domain}-{n}", upn=f"{n}@{domain}", display_name=n.title(), sku_ids=frozenset({sku}))
                 for n in names)


def example() -> Example:
    bp = Product(id="101", identifier="M365-BP", description="Microsoft 365 Business Premium", price=Decimal("22.00"))
    bs = Product(id="102", identifier="M365-BS", description="Microsoft 365 Business Standard", price=Decimal("12.50"))
    exo = Product(id="103", identifier="EXO-P1", description="Exchange Online (Plan 1)", price=Decimal("4.00"))
    profiles = {
        "bp": BillingProfile(id="1", name="M365 BP - Monthly", product=bp),
        "bs": BillingProfile(id="2", name="M365 BS - Annual/Monthly", product=bs,
                             price=PricePolicy(kind=PriceKind.PERCENT, percent=Decimal("10"))),
        "exo": BillingProfile(id="3", name="Exchange P1", product=exo),
    }
    contoso = TenantInventory(tenant_id="8f2c1d5e-0000-4000-8000-000000000001", name="Contoso Dental", licenses=(
        License(sku_id=SPB, part_number="SPB", name="Microsoft 365 Business Premium", enabled=25, consumed=23,
                subscriptions=(Subscription(id="sub-c1", sku_id=SPB, quantity=25, term=Term.YEAR,
                                            commitment_end=date(2027, 3, 31)),)),
        License(sku_id=EXCHANGE, part_number="EXCHANGESTANDARD", name="Exchange Online (Plan 1)", enabled=4,
                consumed=4),
        License(sku_id=FLOW_FREE, part_number="FLOW_FREE", name="Microsoft Power Automate Free", enabled=10000,
                consumed=3),
    ))
    fabrikam = TenantInventory(tenant_id="8f2c1d5e-0000-4000-8000-000000000002", name="Fabrikam Legal", licenses=(
        License(sku_id=STANDARD, part_number="O365_BUSINESS_PREMIUM", name="Microsoft 365 Business Standard",
                enabled=12, consumed=9),
        License(sku_id=E3, part_number="ENTERPRISEPACK", name="Office 365 E3", enabled=2, consumed=2),
    ), users=_users("fabrikam.example", ["ana", "ben", "cho", "dev", "eli", "fay", "gus", "hal", "ivy"], STANDARD))
    northwind = TenantInventory(tenant_id="8f2c1d5e-0000-4000-8000-000000000003", name="Northwind Traders",
                                licenses=(License(sku_id=SPB, part_number="SPB",
                                                  name="Microsoft 365 Business Premium", enabled=8, consumed=5),))
    agreements = (
        Agreement(id="201", company_id="11", name="Contoso - Managed 365", type_name="Microsoft 365"),
        Agreement(id="202", company_id="12", name="Fabrikam - Managed 365", type_name="Microsoft 365"),
        Agreement(id="203", company_id="13", name="Northwind - Managed 365", type_name="Microsoft 365",
                  prorates=False),
    )
    mappings = (
        Mapping(tenant_id=contoso.tenant_id, sku_id=SPB, profile=profiles["bp"], agreement_id="201"),
        Mapping(tenant_id=contoso.tenant_id, sku_id=EXCHANGE, profile=profiles["exo"], agreement_id="201",
                negative_proration=True),
        Mapping(tenant_id=fabrikam.tenant_id, sku_id=STANDARD, profile=profiles["bs"], agreement_id="202",
                usernames_in_description=True, basis=QuantityBasis.PURCHASED, minimum_quantity=10),
        Mapping(tenant_id=northwind.tenant_id, sku_id=SPB, profile=profiles["bp"], agreement_id="203",
                included_quantity=1),
    )
    # Contoso was synced before: its lines are behind the tenant by two seats
    # of Business Premium and ahead by one Exchange mailbox.
    lines = (
        Line(id="9001", agreement_id="201", product_id="101", quantity=21, unit_price=Decimal("22.00"),
             start=date(2026, 1, 1), description=bp.description, marker=main_marker(mappings[0].row),
             last_written_quantity=21),
        Line(id="9002", agreement_id="201", product_id="103", quantity=5, unit_price=Decimal("4.00"),
             start=date(2026, 1, 1), description=exo.description, marker=main_marker(mappings[1].row),
             last_written_quantity=5),
        Line(id="9003", agreement_id="202", product_id="102", quantity=12, unit_price=Decimal("13.75"),
             start=date(2025, 6, 1), description="M365 Business Standard", marker="CloudConsole"),
    )
    return Example(inventories=(contoso, fabrikam, northwind), mappings=mappings,
                   exclusions=(Exclusion(sku_id=FLOW_FREE, reason="free"),), agreements=agreements, lines=lines)
