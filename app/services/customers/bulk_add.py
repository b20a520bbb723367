"""Adding Partner Center customers in bulk from the window (DESIGN §1.4).

The matching is ``app.services.customers.onboarding``'s; this module feeds it the
customers of every partner connection's Partner Center (each customer
carries the partner that listed it, and is stored as that partner's
tenant; a customer two partners list is the first connection's) and the
cached PSA companies of every connection (their ``id`` is the database id
as text, so two PSAs' companies never collide), and stores what a person
confirmed: the tenants and their links, all or none. A partner whose
Partner Center cannot be read is named beside the others' customers; only
when none can be read is that an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from app.errors import ConfigurationError, SeatsyncError
from app.models.records import TenantRecord
from app.models.repositories import Companies
from app.services.customers.onboarding import MatchResult, OnboardingService, match_customers
from app.services.microsoft.wire import Customer, customer_from_partner_center
from app.services.providers import MicrosoftProvider
from app.services.psa.port import PsaCompany
from app.services.uow import UnitOfWork

CustomerSource = Callable[[], Sequence[Customer]]


@dataclass(frozen=True, kw_only=True)
class PartnerUnread:
    """A partner connection whose Partner Center could not be read, and why."""

    partner: str
    error: SeatsyncError

    def __str__(self) -> str:
        return f"partner connection '{self.partner}': {self.error}"


class PartnerCenterUnread(SeatsyncError):
    """A partner connection's Partner Center could not be read; the error says which, and why."""


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
    #: Partner connections whose customers could not be read (the others' are proposed).
    unread: tuple[PartnerUnread, ...] = ()


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
                                              verified_domains=customer.domains, partner_id=customer.partner_id))
            for company_id in company_ids:
                self.uow.tenants.link(customer.tenant_id, int(company_id))


def cached_companies(companies: Companies) -> list[PsaCompany]:
    return [PsaCompany(id=str(c.id), name=c.name, identifier=c.identifier, domains=c.domains, active=c.active)
            for c in companies.all()]


def read_partners(microsoft: MicrosoftProvider) -> tuple[list[Customer], tuple[PartnerUnread, ...]]:
    """Every partner connection's customers, each once (the first connection's when two list it), and the
    partners that could not be read; raises when none could (or none is connected)."""
    records = microsoft.connections.all()
    if not records:
        raise ConfigurationError("no Microsoft partner connection: add it in Settings")
    customers: dict[str, Customer] = {}
    unread: list[PartnerUnread] = []
    for record in records:
        try:
            listed = [customer_from_partner_center(item)
                      for item in microsoft.clients(record.id).partner_center.iter_customers()]
        except SeatsyncError as error:
            unread.append(PartnerUnread(partner=record.name, error=error))
            continue
        for customer in listed:
            customers.setdefault(customer.tenant_id, replace(customer, partner_id=record.id, partner=record.name))
    if len(unread) == len(records):
        if len(records) == 1:
            raise unread[0].error
        raise PartnerCenterUnread("; ".join(map(str, unread)))
    return list(customers.values()), tuple(unread)


ReadCustomers = Callable[[], tuple[list[Customer], tuple[PartnerUnread, ...]]]


class BulkAddService:
    def __init__(self, uow: UnitOfWork, *, microsoft: MicrosoftProvider, customers: CustomerSource | None = None,
                 ) -> None:
        self.uow = uow
        self._read: ReadCustomers = ((lambda: (list(customers()), ())) if customers is not None
                                     else (lambda: read_partners(microsoft)))
        self.onboarding = OnboardingService(self._every_partner, lambda: cached_companies(uow.companies),
                                            DatabaseRegistry(uow))

    def _every_partner(self) -> list[Customer]:
        """Every partner's customers; any partner that cannot be read is an error (the command line's)."""
        customers, unread = self._read()
        if unread:
            raise PartnerCenterUnread("; ".join(map(str, unread)))
        return customers

    def propose(self) -> BulkProposal:
        """Customers not yet added, matched to the cached PSA companies."""
        companies = tuple(cached_companies(self.uow.companies))
        if not companies:
            raise NoCompanies()
        pending, unread = self.pending()
        return BulkProposal(result=match_customers(pending, companies), companies=companies, unread=unread)

    def pending(self) -> tuple[list[Customer], tuple[PartnerUnread, ...]]:
        """Customers not yet added, and the partner connections that could not be read."""
        customers, unread = self._read()
        added = self.onboarding.registry.added_tenant_ids()
        return [c for c in customers if c.tenant_id not in added], unread

    def add(self, choices: Sequence[Choice]) -> int:
        """Add every chosen customer with its links, in one transaction; return how many."""
        registry = self.onboarding.registry
        with self.uow:
            for choice in choices:
                if not choice.company_ids:
                    raise CompanyNeeded(f"({choice.customer.name})")
                registry.add_tenant(choice.customer, [str(i) for i in choice.company_ids])
        return len(choices)
