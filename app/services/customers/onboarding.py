"""Adding customers: Partner Center tenants not yet in seatsync, matched to PSA companies.

Matching (DESIGN §1.4), strongest evidence first:

1. a domain: a PSA company's domain equals one of the tenant's domains
   (verified custom domains or its onmicrosoft domain); public mail domains
   (gmail.com, outlook.com, ...) prove nothing and are ignored;
2. the normalised name: case, accents and punctuation folded, "&" read as
   "and", legal suffixes (Inc, LLC, Ltd, GmbH, BV, Pty Ltd, ...) dropped.

A tenant is linked only when the evidence points at exactly one active
company and nothing contradicts it. Everything else a person decides: a
proposal (several companies share the domain or name, the domain and the
name point at different companies, the only match is inactive, or the
names are merely similar) lists the candidates and the reason; a tenant
with no candidate at all is unmatched. Nothing is linked silently.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.errors import SeatsyncError
from app.services.microsoft.partner_center import PartnerCenterClient
from app.services.microsoft.wire import Customer, customer_from_partner_center
from app.services.psa.port import PsaCompany

LEGAL_SUFFIXES = frozenset({
    "inc", "incorporated", "llc", "llp", "lp", "ltd", "limited", "gmbh", "mbh", "bv", "bvba", "nv", "plc", "corp",
    "corporation", "co", "company", "pty", "ag", "sa", "sarl", "srl", "spa", "sas", "oy", "ab", "as", "aps", "kg",
    "pc", "pllc", "lda", "kft", "sro", "ug", "se",
})
PUBLIC_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com", "icloud.com",
    "me.com", "aol.com", "protonmail.com", "proton.me", "gmx.com", "gmx.de", "web.de",
})
SIMILAR = 0.88  # difflib ratio above which two normalised names are "similar"


class UnknownCustomer(SeatsyncError):
    """Partner Center lists no such customer: run "tenants list" to see the customers and their tenant IDs."""


class UnknownCompany(SeatsyncError):
    """The PSA has no such company: check the company ID in the PSA."""


@dataclass(frozen=True, kw_only=True)
class Link:
    customer: Customer
    company: PsaCompany
    basis: str  # "domain" | "name"
    evidence: str  # the domain or the normalised name that matched


@dataclass(frozen=True, kw_only=True)
class Proposal:
    customer: Customer
    candidates: tuple[PsaCompany, ...]  # most likely first
    reason: str


@dataclass(frozen=True, kw_only=True)
class MatchResult:
    links: tuple[Link, ...] = ()
    proposals: tuple[Proposal, ...] = ()
    unmatched: tuple[Customer, ...] = ()


def normalise_name(name: str) -> str:
    """A company name reduced to what identifies it: "Smith & Sons, Ltd." -> "smith and sons"."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ")
    text = re.sub(r"(?<=\w)[.'’](?=\w)", "", text)  # B.V. -> bv, O'Brien -> obrien
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    while len(words) > 1 and (words[-1] in LEGAL_SUFFIXES or words[-1] == "and"):
        words.pop()
    if len(words) > 1 and words[0] == "the":
        words.pop(0)
    return " ".join(words)


def normalise_domain(value: str) -> str:
    """"https://www.Contoso.com/about" -> "contoso.com"; "" when it is no domain."""
    text = value.strip().lower()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text).split("/")[0].split("@")[-1].rstrip(".")
    if text.startswith("www."):
        text = text[4:]
    return text if "." in text and " " not in text else ""


def match_customers(customers: Iterable[Customer], companies: Iterable[PsaCompany]) -> MatchResult:
    """Links, proposals and unmatched tenants, in the customers' order."""
    companies = list(companies)
    by_domain: dict[str, list[PsaCompany]] = {}
    by_name: dict[str, list[PsaCompany]] = {}
    by_word: dict[str, list[PsaCompany]] = {}
    names: dict[str, str] = {}
    for company in companies:
        for domain in {normalise_domain(d) for d in company.domains} - {""} - PUBLIC_MAIL_DOMAINS:
            by_domain.setdefault(domain, []).append(company)
        key = names[company.id] = normalise_name(company.name)
        if key:
            by_name.setdefault(key, []).append(company)
            for word in set(key.split()):
                by_word.setdefault(word, []).append(company)

    links: list[Link] = []
    proposals: list[Proposal] = []
    unmatched: list[Customer] = []
    for customer in customers:
        outcome = _match_one(customer, by_domain, by_name, by_word, names)
        if isinstance(outcome, Link):
            links.append(outcome)
        elif isinstance(outcome, Proposal):
            proposals.append(outcome)
        else:
            unmatched.append(customer)
    return MatchResult(links=tuple(links), proposals=tuple(proposals), unmatched=tuple(unmatched))


def _match_one(customer: Customer, by_domain: dict[str, list[PsaCompany]], by_name: dict[str, list[PsaCompany]],
               by_word: dict[str, list[PsaCompany]], names: dict[str, str]) -> Link | Proposal | None:
    domains = [d for d in (normalise_domain(x) for x in customer.all_domains) if d and d not in PUBLIC_MAIL_DOMAINS]
    domain_hits = _unique(c for d in domains for c in by_domain.get(d, ()))
    name = normalise_name(customer.name)
    name_hits = _unique(by_name.get(name, ())) if name else []
    active_domain = [c for c in domain_hits if c.active]
    active_name = [c for c in name_hits if c.active]

    def propose(candidates: Iterable[PsaCompany], reason: str) -> Proposal:
        return Proposal(customer=customer, candidates=tuple(_unique(candidates)), reason=reason)

    if len(active_domain) == 1:
        company = active_domain[0]
        others = [c for c in active_name if c.id != company.id]
        if others:
            return propose([company, *others], f"the domain matches {company.name}, but the name matches "
                                               f"{', '.join(c.name for c in others)}")
        evidence = next(d for d in domains if company in by_domain.get(d, ()))
        return Link(customer=customer, company=company, basis="domain", evidence=evidence)
    if len(active_domain) > 1:
        first = [c for c in active_domain if c in active_name]
        return propose([*first, *active_domain], f"{len(active_domain)} PSA companies share a domain of this tenant")
    if len(active_name) == 1:
        return Link(customer=customer, company=active_name[0], basis="name", evidence=name)
    if len(active_name) > 1:
        return propose(active_name, f"{len(active_name)} PSA companies have this name")
    if domain_hits or name_hits:
        return propose([*domain_hits, *name_hits], "the only matching PSA company is inactive")
    similar = _similar(name, by_word, names)
    if similar:
        return propose(similar, "a PSA company has a similar name")
    return None


def _similar(name: str, by_word: dict[str, list[PsaCompany]], names: dict[str, str]) -> list[PsaCompany]:
    """Active companies whose names contain this one, are contained in it, or nearly equal it.

    Only companies sharing at least two words (or the one word of a one-word
    name) are compared, which keeps thousands of tenants fast.
    """
    if not name:
        return []
    words = set(name.split())
    shared: dict[str, int] = {}
    pool: dict[str, PsaCompany] = {}
    for word in words:
        for company in by_word.get(word, ()):
            shared[company.id] = shared.get(company.id, 0) + 1
            pool[company.id] = company
    scored: list[tuple[float, str, PsaCompany]] = []
    for company_id, count in shared.items():
        company = pool[company_id]
        if not company.active or count < min(2, len(words)):
            continue
        other = names[company_id]
        other_words = set(other.split())
        contained = min(len(words), len(other_words)) >= 2 and (words <= other_words or other_words <= words)
        ratio = difflib.SequenceMatcher(None, name, other).ratio()
        if contained or ratio >= SIMILAR:
            scored.append((max(ratio, 0.9 if contained else 0.0), company.name, company))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [company for *_, company in scored[:3]]


def _unique(companies: Iterable[PsaCompany]) -> list[PsaCompany]:
    seen: dict[str, PsaCompany] = {}
    for company in companies:
        seen.setdefault(company.id, company)
    return list(seen.values())


# -- the use case -------------------------------------------------------------


class TenantRegistry(Protocol):
    """Where seatsync keeps the tenants it has added (the database implements it)."""

    def added_tenant_ids(self) -> set[str]: ...

    def add_tenant(self, customer: Customer, company_ids: Sequence[str]) -> None: ...


class MemoryTenantRegistry:
    """Added tenants kept in memory: the sandbox and tests."""

    def __init__(self) -> None:
        self.added: dict[str, list[str]] = {}

    def added_tenant_ids(self) -> set[str]:
        return set(self.added)

    def add_tenant(self, customer: Customer, company_ids: Sequence[str]) -> None:
        self.added[customer.tenant_id] = list(company_ids)


class OnboardingService:
    """List Partner Center customers, propose PSA companies for the new ones, add them."""

    def __init__(self, customers: PartnerCenterClient | Callable[[], Sequence[Customer]],
                 companies: Callable[[], Sequence[PsaCompany]], registry: TenantRegistry) -> None:
        if isinstance(customers, PartnerCenterClient):
            client = customers
            self._customers: Callable[[], Sequence[Customer]] = lambda: [
                customer_from_partner_center(item) for item in client.iter_customers()]
        else:
            self._customers = customers
        self._companies = companies
        self.registry = registry

    def customers(self) -> list[tuple[Customer, bool]]:
        """Every Partner Center customer, and whether it is already added."""
        added = {t.lower() for t in self.registry.added_tenant_ids()}
        return [(c, c.tenant_id in added) for c in self._customers()]

    def pending(self) -> list[Customer]:
        """Customers in Partner Center not yet added (DESIGN §1.9 notifies about them)."""
        return [c for c, added in self.customers() if not added]

    def propose(self) -> MatchResult:
        return match_customers(self.pending(), self._companies())

    def add(self, tenant_id: str, company_ids: Sequence[str]) -> Customer:
        """Add one tenant billed to one or more PSA companies (a person confirmed it)."""
        customer = next((c for c, _ in self.customers() if c.tenant_id == tenant_id.lower()), None)
        if customer is None:
            raise UnknownCustomer(f"({tenant_id})")
        known = {c.id for c in self._companies()}
        missing = [i for i in company_ids if i not in known]
        if missing or not company_ids:
            raise UnknownCompany(f"({', '.join(missing) or 'no company given'})")
        self.registry.add_tenant(customer, list(company_ids))
        return customer

    def add_links(self, result: MatchResult) -> list[Link]:
        """Add every tenant the match linked (the user confirmed the list)."""
        for link in result.links:
            self.registry.add_tenant(link.customer, [link.company.id])
        return list(result.links)
