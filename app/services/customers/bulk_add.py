"""Adding Partner Center customers in bulk from the window (DESIGN §1.4).

The matching is ``app.services.customers.onboarding``'s; this module feeds it the
cached PSA companies of every connection (their ``id`` is the database id
as text, so two PSAs' companies never collide) and stores what a person
confirmed: the tenants and their links, all or none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.errors import SeatsyncError
from app.models.records import TenantRecord
from app.models.repositories import Companies
from app.services.customers.onboarding import MatchResult, OnboardingService
from app.services.microsoft.wire import Customer, customer_from_partner_center
from app.services.providers import MicrosoftProvider
from app.services.psa.port import PsaCompany
from app.services.uow import UnitOfWork

CustomerSource = Callable[[], Sequence[Customer]]


class NoCompanies(SeatsyncError):
    """No PSA companies are cached yet: connect the PSA in Settings ("Test and save" reads its companies)."""


class CompanyNeeded(SeatsyncError):
    """Choose a PSA company for every tenant you add."""


@dataclass(frozen=True, kw_only=True)
class Choice:
    """A customer to add, billed to these companies (database ids)."""

    customer: Customer
    company_ids: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class BulkProposal:
    result: MatchResult
    #: Every cached company (ids are database ids as text), to pick another than proposed.
    companies: tuple[PsaCompany, ...]


class DatabaseRegistry:
    """The onboarding service's TenantRegistry on seatsync's database."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def added_tenant_ids(self) -> set[str]:
        return {t.tenant_id.lower() for t in self.uow.tenants.all()}

    def add_tenant(self, customer: Customer, company_ids: Sequence[str]) -> None:
        with self.uow:
            self.uow.tenants.add(TenantRecord(tenant_id=customer.tenant_id, name=customer.name,
                                                  default_domain=customer.default_domain,
                                                  verified_domains=customer.domains))
            for company_id in company_ids:
                self.uow.tenants.link(customer.tenant_id, int(company_id))


def cached_companies(companies: Companies) -> list[PsaCompany]:
    return [PsaCompany(id=str(c.id), name=c.name, identifier=c.identifier, domains=c.domains, active=c.active)
            for c in companies.all()]


def partner_center_customers(microsoft: MicrosoftProvider) -> CustomerSource:
    def read() -> list[Customer]:
        client = microsoft.clients().partner_center
        return [customer_from_partner_center(item) for item in client.iter_customers()]

    return read


class BulkAddService:
    def __init__(self, uow: UnitOfWork, *, microsoft: MicrosoftProvider, customers: CustomerSource | None = None,
                 ) -> None:
        self.uow = uow
        self.onboarding = OnboardingService(customers or partner_center_customers(microsoft),
                                            lambda: cached_companies(uow.companies), DatabaseRegistry(uow))

    def propose(self) -> BulkProposal:
        """Customers not yet added, matched to the cached PSA companies."""
        companies = tuple(cached_companies(self.uow.companies))
        if not companies:
            raise NoCompanies()
        return BulkProposal(result=self.onboarding.propose(), companies=companies)

    def pending(self) -> list[Customer]:
        return self.onboarding.pending()

    def add(self, choices: Sequence[Choice]) -> int:
        """Add every chosen customer with its links, in one transaction; return how many."""
        registry = self.onboarding.registry
        with self.uow:
            for choice in choices:
                if not choice.company_ids:
                    raise CompanyNeeded(f"({choice.customer.name})")
                registry.add_tenant(choice.customer, [str(i) for i in choice.company_ids])
        return len(choices)
