"""Matching Partner Center tenants to PSA companies, and the tenants command."""

from __future__ import annotations

import argparse
import contextlib
import json

import pytest

from app.commands import tenants as tenants_command
from app.errors import ConfigurationError
from app.sandbox.microsoft import generate
from app.sandbox.microsoft.companies import Case, companies_for
from app.services.customers.onboarding import (
    MemoryTenantRegistry,
    OnboardingService,
    UnknownCompany,
    UnknownCustomer,
    match_customers,
    normalise_domain,
    normalise_name,
)
from app.services.microsoft.wire import Customer
from app.services.psa.port import PsaCompany


@pytest.mark.parametrize(("raw", "normal"), [
    ("Contoso, Inc.", "contoso"),
    ("CONTOSO INC", "contoso"),
    ("Contoso LLC", "contoso"),
    ("Smith & Sons Ltd", "smith and sons"),
    ("Smith and Sons Limited", "smith and sons"),
    ("Fabrikam B.V.", "fabrikam"),
    ("Fabrikam BV", "fabrikam"),
    ("Müller GmbH", "muller"),
    ("Northwind Traders Pty Ltd", "northwind traders"),
    ("Copperforge Construction & Co", "copperforge construction"),
    ("The Blue Harbor Group", "blue harbor group"),
    ("O'Brien Accounting", "obrien accounting"),
    ("Inc", "inc"),  # a name that is only a suffix keeps it
    ("", ""),
])
def test_normalise_name(raw, normal):
    assert normalise_name(raw) == normal


@pytest.mark.parametrize(("raw", "normal"), [
    ("Contoso.com", "contoso.com"), ("https://www.contoso.com/about", "contoso.com"),
    ("www.contoso.co.uk.", "contoso.co.uk"), ("billing@contoso.com", "contoso.com"), ("not a domain", ""), ("", ""),
])
def test_normalise_domain(raw, normal):
    assert normalise_domain(raw) == normal


def customers_of(scenario) -> list[Customer]:  # type: ignore[no-untyped-def]
    return [Customer(tenant_id=p.id, name=p.name, default_domain=p.default_domain, domains=p.domains)
            for p in scenario.profiles()]


def test_fifty_seeded_tenants_against_fifty_companies():
    scenario = generate(50, seed=11)
    expected = companies_for(scenario.profiles())
    assert len(expected.companies) == 50
    result = match_customers(customers_of(scenario), expected.companies)

    def ids(kind: str) -> set[str]:
        return {t for t, case in expected.cases.items() if case.expected == kind}

    assert {link.customer.tenant_id for link in result.links} == ids("link")
    assert {p.customer.tenant_id for p in result.proposals} == ids("proposal")
    assert {c.tenant_id for c in result.unmatched} == ids("unmatched")
    assert (len(result.links), len(result.proposals), len(result.unmatched)) == (20, 20, 10)
    for link in result.links:  # every link is the company a person would have chosen, for the right reason
        assert link.company.id == expected.intended[link.customer.tenant_id]
        case = expected.cases[link.customer.tenant_id]
        assert link.basis == ("domain" if case in (Case.DOMAIN, Case.WEBSITE) else "name")
    reasons = {Case.DUPLICATE: "2 PSA companies have this name", Case.SHORTENED: "a PSA company has a similar name",
               Case.CONFLICT: "the domain matches", Case.INACTIVE: "the only matching PSA company is inactive"}
    for proposal in result.proposals:
        case = expected.cases[proposal.customer.tenant_id]
        assert proposal.reason.startswith(reasons[case])
        assert expected.intended[proposal.customer.tenant_id] in {c.id for c in proposal.candidates}
        assert len(proposal.candidates) == (2 if case in (Case.DUPLICATE, Case.CONFLICT) else 1)


def test_ambiguity_is_never_a_silent_link():
    customer = Customer(tenant_id="t1", name="Contoso Ltd", default_domain="contoso.onmicrosoft.com",
                        domains=("contoso.com",))
    two_domains = [PsaCompany(id="1", name="Contoso East", domains=("contoso.com",)),
                   PsaCompany(id="2", name="Contoso Ltd", domains=("contoso.com",))]
    result = match_customers([customer], two_domains)
    assert not result.links and result.proposals[0].candidates[0].id == "2"  # the name breaks the tie, for a person
    public = [PsaCompany(id="3", name="Someone Else", domains=("gmail.com",))]
    gmail_customer = Customer(tenant_id="t2", name="Tiny Shop", domains=("gmail.com",))
    assert match_customers([gmail_customer], public).unmatched == (gmail_customer,)


def test_onboarding_service_against_partner_center(clients, scenario):
    companies = companies_for(scenario.profiles())
    registry = MemoryTenantRegistry()
    service = OnboardingService(clients.partner_center, lambda: companies.companies, registry)
    assert len(service.pending()) == len(scenario.tenants)
    result = service.propose()
    added = service.add_links(result)
    assert {link.customer.tenant_id for link in added} == set(registry.added)
    assert {c.tenant_id for c in service.pending()} == set(scenario.tenants) - set(registry.added)
    other = next(c for c in service.pending())
    service.add(other.tenant_id, [companies.companies[0].id, companies.companies[1].id])  # one tenant, two companies
    assert registry.added[other.tenant_id] == [companies.companies[0].id, companies.companies[1].id]
    with pytest.raises(UnknownCustomer):
        service.add("00000000-0000-4000-8000-000000000000", [companies.companies[0].id])
    with pytest.raises(UnknownCompany):
        service.add(other.tenant_id, ["nope"])


def run_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    tenants_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_tenants_command(clients, scenario, capsys, data_dir):
    companies = companies_for(scenario.profiles()).companies
    registry = MemoryTenantRegistry()

    @contextlib.contextmanager
    def factory():  # type: ignore[no-untyped-def]
        yield OnboardingService(clients.partner_center, lambda: companies, registry)

    tenants_command.set_service_factory(None)
    with pytest.raises(ConfigurationError):
        run_command(["tenants", "list"])
    tenants_command.set_service_factory(factory)
    try:
        assert run_command(["tenants", "match", "--json"]) == 0
        matched = json.loads(capsys.readouterr().out)
        assert {x["tenant_id"] for x in matched["links"]} and matched["proposals"] and matched["unmatched"]
        assert run_command(["tenants", "add", "--all-links"]) == 0
        assert set(registry.added) == {x["tenant_id"] for x in matched["links"]}
        target = matched["unmatched"][0]["tenant_id"]
        assert run_command(["tenants", "add", target, "--company", companies[0].id]) == 0
        capsys.readouterr()
        assert run_command(["tenants", "list", "--new", "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert {x["tenant_id"] for x in listed} == set(scenario.tenants) - set(registry.added)
        with pytest.raises(ConfigurationError):
            run_command(["tenants", "add", target])
    finally:
        tenants_command.set_service_factory(None)


def test_tenants_command_on_the_sandbox(capsys):
    assert run_command(["tenants", "--sandbox", "match", "--json"]) == 0
    matched = json.loads(capsys.readouterr().out)
    assert (len(matched["links"]), len(matched["proposals"]), len(matched["unmatched"])) == (8, 8, 4)
