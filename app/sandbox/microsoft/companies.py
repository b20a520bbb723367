"""PSA companies for the scenario's tenants, as an MSP's PSA really holds them.

Real PSAs rarely hold a tenant's exact name and domains: the company may
carry only a website, another legal suffix, "and" for "&", a duplicate
record, a shortened name, an inactive old record, or nothing at all. Each
tenant gets one of those cases (``Case``), cycling in a fixed order, so the
demo and the tests know which match to expect. PSA sandboxes can seed their
companies from this list.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.sandbox.microsoft.model import TenantProfile
from app.services.customers.onboarding import normalise_name
from app.services.psa.port import PsaCompany


class Case(StrEnum):
    DOMAIN = "domain"  # the company holds the tenant's domain (its name differs)
    WEBSITE = "website"  # the company holds the tenant's last verified domain as a URL
    NAME = "name"  # same name, written differently (case, punctuation)
    NAME_VARIANT = "name_variant"  # another legal suffix and "and" for "&"
    DUPLICATE = "duplicate"  # two company records with the same name
    SHORTENED = "shortened"  # the company is known by a shorter name
    CONFLICT = "conflict"  # the domain is on one company, the exact name on another
    INACTIVE = "inactive"  # the only matching record is inactive
    MISSING = "missing"  # the PSA has no such company
    MISSING_TOO = "missing_too"

    @property
    def expected(self) -> str:
        """"link", "proposal" or "unmatched": what onboarding should make of it."""
        if self in (Case.DOMAIN, Case.WEBSITE, Case.NAME, Case.NAME_VARIANT):
            return "link"
        if self in (Case.MISSING, Case.MISSING_TOO):
            return "unmatched"
        return "proposal"


@dataclass(frozen=True, kw_only=True)
class CompanySet:
    companies: tuple[PsaCompany, ...]
    cases: dict[str, Case]  # tenant id -> its case
    intended: dict[str, str]  # tenant id -> the company id a person would choose ("" when none)


def companies_for(profiles: tuple[TenantProfile, ...], *, first_id: int = 1000) -> CompanySet:
    cases = list(Case)
    companies: list[PsaCompany] = []
    assigned: dict[str, Case] = {}
    intended: dict[str, str] = {}
    next_id = first_id

    def add(name: str, domains: tuple[str, ...] = (), active: bool = True) -> str:
        nonlocal next_id
        next_id += 1
        companies.append(PsaCompany(id=str(next_id), name=name, identifier=_identifier(name, next_id),
                                    domains=domains, active=active))
        return str(next_id)

    for index, p in enumerate(profiles):
        case = cases[index % len(cases)]
        assigned[p.id] = case
        words = p.name.split()
        first_two = " ".join(words[:2])
        if case is Case.DOMAIN:
            intended[p.id] = add(f"{first_two} Group", (p.domains[0] if p.domains else p.default_domain,))
        elif case is Case.WEBSITE:
            intended[p.id] = add(f"{first_two} (billing)", (f"https://www.{(p.domains or (p.default_domain,))[-1]}/",))
        elif case is Case.NAME:
            intended[p.id] = add(p.name.upper().replace(" ", "  ") + ".")
        elif case is Case.NAME_VARIANT:
            intended[p.id] = add(_swap_suffix(p.name))
        elif case is Case.DUPLICATE:
            intended[p.id] = add(p.name)
            add(p.name.replace(" ", ", ", 1) if len(words) > 2 else p.name + ".")
        elif case is Case.SHORTENED:
            core = normalise_name(p.name).split()
            intended[p.id] = add(" ".join(core[:2]).title() if len(core) > 2 else f"{p.name} Holdings")
        elif case is Case.CONFLICT:
            intended[p.id] = add(f"{first_two} Subsidiary", (p.domains[0] if p.domains else p.default_domain,))
            add(p.name)
        elif case is Case.INACTIVE:
            intended[p.id] = add(p.name, active=False)
        else:
            intended[p.id] = ""
    return CompanySet(companies=tuple(companies), cases=assigned, intended=intended)


_SUFFIX_SWAP = {"Inc": "LLC", "Inc.": "LLC", "LLC": "Inc.", "Ltd": "Limited", "Limited": "Ltd.", "GmbH": "G.m.b.H.",
                "BV": "B.V.", "B.V.": "BV", "Corp.": "Corporation", "Co": "Company"}


def _swap_suffix(name: str) -> str:
    name = name.replace(" & ", " and ") if " & " in name else name.replace(" and ", " & ")
    head, _, last = name.rpartition(" ")
    if last in _SUFFIX_SWAP:
        return f"{head} {_SUFFIX_SWAP[last]}"
    return f"{name}, Inc."


def _identifier(name: str, number: int) -> str:
    letters = "".join(ch for ch in name.upper() if ch.isalnum())[:12]
    return f"{letters}{number}"
