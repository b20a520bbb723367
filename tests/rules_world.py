"""Companies on the in-memory PSA for the mapping rules' tests: each with a tenant holding Office 365 E3 and an
agreement of type "Microsoft 365"; the catalog cached, a billing profile for E3, and the services' PSA the fake."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from app.billing.types import BillingProfile, License, PricePolicy, Product, TenantInventory
from app.models.records import CompanyRecord, ConsentStatus, MappingRuleRecord, TenantRecord
from app.services.psa.fake import FakePsa

E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"  # Office 365 E3
EXO = "4b9405b0-7788-4568-add1-99614e613b69"  # Exchange Online (Plan 1)
READ_AT = datetime(2026, 11, 16, 5, 0, tzinfo=UTC)


def tenant_id(n: int) -> str:
    return f"7e57a11e-0000-4000-8000-{n:012d}"


def e3(assigned: int = 5) -> License:
    return License(sku_id=E3, part_number="ENTERPRISEPACK", name="Office 365 E3", enabled=assigned, consumed=assigned)


@dataclass
class RulesWorld:
    ctx: object
    psa: FakePsa = field(default_factory=FakePsa)
    connection_id: int = 0
    profile: BillingProfile | None = None
    companies: dict[str, CompanyRecord] = field(default_factory=dict)
    agreements: dict[str, str] = field(default_factory=dict)  # company name -> its "Microsoft 365" agreement

    def setup(self) -> RulesWorld:
        uow = self.ctx.uow  # type: ignore[attr-defined]
        self.connection_id = uow.psa_connections.create(kind="connectwise", name="Main",
                                                        settings={"site": "https://na.example"}).id
        product_id = self.psa.add_product("O365-E3", description="Office 365 E3", price="23.00")
        self.product = Product(id=product_id, identifier="O365-E3", description="Office 365 E3",
                               price=Decimal("23.00"))
        self.profile = uow.profiles.save(self.connection_id, BillingProfile(
            id="", name="E3 retail", product=self.product, price=PricePolicy(),
            allowed_agreement_types=frozenset({"Microsoft 365"})))
        self.ctx.psas.psa = lambda connection_id: self.psa  # type: ignore[attr-defined]
        return self

    def company(self, name: str, *, agreements: tuple[str, ...] = ("Microsoft 365",),
                licenses: tuple[License, ...] | None = None, snapshot: bool = True) -> str:
        """A PSA company with agreements of these types, linked to a new tenant; its tenant id."""
        uow = self.ctx.uow  # type: ignore[attr-defined]
        psa_id = self.psa.add_company(name)
        for n, type_name in enumerate(agreements):
            agreement = self.psa.add_agreement(psa_id, name=f"{name} - {type_name} {n + 1}", type_name=type_name)
            if type_name == "Microsoft 365":
                self.agreements.setdefault(name, agreement)
        stored = {c.psa_id: c for c in uow.companies.replace(self.connection_id, self.psa.list_companies())}
        uow.catalog.replace_agreements(self.connection_id, self.psa.list_agreements())
        uow.catalog.replace_products(self.connection_id, self.psa.list_products())
        self.companies[name] = stored[psa_id]
        tid = tenant_id(len(self.companies))
        uow.tenants.add(TenantRecord(tenant_id=tid, name=name, default_domain=f"t{len(self.companies)}.example",
                                     consent_status=ConsentStatus.GRANTED))
        uow.tenants.link(tid, stored[psa_id].id)
        if snapshot:
            uow.inventory.save(self.inventory(tid, name, licenses))
        return tid

    @staticmethod
    def inventory(tid: str, name: str, licenses: tuple[License, ...] | None = None) -> TenantInventory:
        return TenantInventory(tenant_id=tid, name=name, fetched_at=READ_AT,
                               licenses=licenses if licenses is not None else (e3(),))

    def rule(self, **options: object) -> MappingRuleRecord:
        values: dict[str, object] = {"sku_id": E3, "profile": self.profile, "agreement_type": "Microsoft 365"}
        values.update(options)
        return MappingRuleRecord(**values)  # type: ignore[arg-type]
