"""Tenants added to seatsync and the PSA companies they bill to, in the database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.errors import SeatsyncError
from app.models.records import TenantRecord
from app.services.microsoft.mapping import Customer

if TYPE_CHECKING:
    from app.bootstrap import Context


class CompanyNotCached(SeatsyncError):
    """The PSA company is not in seatsync's copy of the PSA: refresh the PSA connection first."""


class DbTenantRegistry:
    """The onboarding service's registry: tenants and their company links in the database."""

    def __init__(self, context: Context, connection_id: int) -> None:
        self.context = context
        self.connection_id = connection_id

    def added_tenant_ids(self) -> set[str]:
        return {t.tenant_id.lower() for t in self.context.tenants.all()}

    def add_tenant(self, customer: Customer, company_ids: Sequence[str]) -> None:
        companies = []
        for psa_id in company_ids:
            company = self.context.companies.by_psa_id(self.connection_id, str(psa_id))
            if company is None:
                raise CompanyNotCached(f"(company {psa_id})")
            companies.append(company)
        self.context.tenants.add(TenantRecord(tenant_id=customer.tenant_id.lower(), name=customer.name,
                                              default_domain=customer.default_domain,
                                              verified_domains=customer.domains))
        for company in companies:
            self.context.tenants.link(customer.tenant_id.lower(), company.id)
