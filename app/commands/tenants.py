"""``tenants``: Partner Center customers, their match to PSA companies, adding them.

    python main.py tenants list [--new]      every customer, and whether it is added
    python main.py tenants match             links, proposals and unmatched for the new ones
    python main.py tenants add TENANT --company ID [--company ID ...]
    python main.py tenants add --all-links   add every tenant the match linked
    python main.py tenants move TENANT [...] --partner NAME
                                             read tenants through another partner connection

The logic is ``app.services.customers.onboarding``; this module only prints. It gets
its ``OnboardingService`` from ``set_service_factory`` (the application's
wiring registers the real one: Partner Center, the PSA's companies, the
database), or from the Microsoft sandbox with ``--sandbox``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from app.errors import ConfigurationError

if TYPE_CHECKING:  # imported by the runs that use it (Partner Center, the HTTP clients), not by --help
    from app.services.customers.onboarding import MatchResult, OnboardingService

DESCRIPTION = """\
Partner Center customers, their match to PSA companies, and adding them.

A tenant is linked to a PSA company by domain, then by normalised name;
anything ambiguous is listed for you to confirm, never linked silently.

  tenants list [--new]                      every customer (of every partner connection), and
                                            whether it is added
  tenants match                             links, proposals and unmatched for the new ones
  tenants add TENANT --company ID [...]     add a tenant billed to one or more companies
  tenants add --all-links                   add every tenant `tenants match` linked
  tenants move TENANT [...] --partner NAME  read added tenants through another Microsoft
                                            partner connection from now on (the partner
                                            account that serves them now); their consent
                                            is checked through its app at once
"""

ServiceFactory: TypeAlias = Callable[[], AbstractContextManager["OnboardingService"]]
_factory: ServiceFactory | None = None


def set_service_factory(factory: ServiceFactory | None) -> None:
    """Register how to build the onboarding service (done once by the app's wiring)."""
    global _factory
    _factory = factory


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tenants", help="list Partner Center customers, match them to PSA companies, "
                                                   "add them", description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sandbox", action="store_true",
                        help="use the built-in Microsoft sandbox and example PSA companies")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every Partner Center customer, and whether it is added")
    listing.add_argument("--new", action="store_true", help="only customers not yet added")
    listing.add_argument("--json", action="store_true", help="print JSON, for scripts")
    matching = actions.add_parser("match", help="propose a PSA company for each customer not yet added")
    matching.add_argument("--json", action="store_true", help="print JSON, for scripts")
    adding = actions.add_parser("add", help="add a tenant billed to one or more PSA companies")
    adding.add_argument("tenant", nargs="?", help="the customer's tenant ID")
    adding.add_argument("--company", action="append", default=[], metavar="ID",
                        help="a PSA company ID (repeat for a tenant split across companies)")
    adding.add_argument("--all-links", action="store_true", help="add every tenant `tenants match` links")
    moving = actions.add_parser("move", help="read added tenants through another Microsoft partner connection")
    moving.add_argument("tenants", nargs="+", metavar="TENANT", help="an added customer's tenant ID")
    moving.add_argument("--partner", required=True, metavar="NAME",
                        help="the partner connection's name (`connections list` shows them)")
    moving.add_argument("--by", default="headless", help="who moves them (kept in the history)")
    parser.set_defaults(func=run)


@contextlib.contextmanager
def _database_service() -> Iterator[OnboardingService]:
    """Partner Center's customers matched to the cached companies of every PSA connection."""
    from app.commands.common import app_context

    with app_context() as context:
        if not context.uow.psa_connections.all() or not context.uow.microsoft_connections.all():
            raise ConfigurationError("Microsoft and the PSA are not connected yet; connect them in the window's "
                                     "Settings or with `python main.py connections add`, or try "
                                     "`python main.py tenants --sandbox list`")
        yield context.customers.onboarding


def run(args: argparse.Namespace) -> int:
    if args.action == "move":
        return _move(args)
    factory = _sandbox_service if args.sandbox else (_factory or _database_service)
    with factory() as service:
        if args.action == "list":
            return _list(service, args)
        if args.action == "match":
            return _match(service, args)
        return _add(service, args)


def _list(service: OnboardingService, args: argparse.Namespace) -> int:
    rows = [(c, added) for c, added in service.customers() if not (args.new and added)]
    if args.json:
        json.dump([{"tenant_id": c.tenant_id, "name": c.name, "domains": list(c.all_domains), "added": added,
                    "partner": c.partner} for c, added in rows], sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    several = len({c.partner for c, _ in rows}) > 1  # name the partner connection when there are several
    for c, added in rows:
        print(f"{'added' if added else 'new  '}  {c.tenant_id}  {c.name}  ({', '.join(c.all_domains)})"
              + (f"  partner connection {c.partner!r}" if several else ""))
    print(f"\n{len(rows)} customer(s), {sum(1 for _, a in rows if not a)} not yet added")
    return 0


def _match(service: OnboardingService, args: argparse.Namespace) -> int:
    result = service.propose()
    if args.json:
        json.dump(result_to_data(result), sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    print(f"Linked ({len(result.links)}):")
    for link in result.links:
        print(f"  {link.customer.name}  ->  {link.company.name} [{link.company.id}]  by {link.basis} "
              f"({link.evidence})")
    print(f"\nTo confirm ({len(result.proposals)}):")
    for proposal in result.proposals:
        names = "; ".join(f"{c.name} [{c.id}]" for c in proposal.candidates)
        print(f"  {proposal.customer.name} ({proposal.customer.tenant_id}): {proposal.reason}\n      {names}")
    print(f"\nNo match ({len(result.unmatched)}):")
    for customer in result.unmatched:
        print(f"  {customer.name} ({customer.tenant_id})")
    return 0


def _add(service: OnboardingService, args: argparse.Namespace) -> int:
    if args.all_links:
        if args.tenant or args.company:
            raise ConfigurationError("give either --all-links, or a tenant and its --company, not both")
        for link in service.add_links(service.propose()):
            print(f"added {link.customer.name} -> {link.company.name} [{link.company.id}]")
        return 0
    if not args.tenant or not args.company:
        raise ConfigurationError("name the tenant and at least one --company (or use --all-links)")
    customer = service.add(args.tenant, args.company)
    print(f"added {customer.name} -> company {', '.join(args.company)}")
    return 0


def _move(args: argparse.Namespace) -> int:
    from app.commands.common import BadArguments, app_context

    if args.sandbox:
        raise BadArguments("--sandbox: tenants are moved in seatsync's own data only")
    with app_context() as context:
        partners = context.access.partners()
        wanted = args.partner.strip().casefold()
        partner_id = next((p for p, name in partners if name.casefold() == wanted), None)
        if partner_id is None:
            names = ", ".join(repr(name) for _, name in partners) or "none is stored"
            raise BadArguments(f"--partner: no partner connection is named {args.partner!r} ({names})")
        print(context.access.move(args.tenants, partner_id, actor=args.by).words())
    return 0


def result_to_data(result: MatchResult) -> dict[str, list[dict[str, object]]]:
    return {
        "links": [{"tenant_id": x.customer.tenant_id, "tenant": x.customer.name, "company_id": x.company.id,
                   "company": x.company.name, "basis": x.basis, "evidence": x.evidence} for x in result.links],
        "proposals": [{"tenant_id": x.customer.tenant_id, "tenant": x.customer.name, "reason": x.reason,
                       "candidates": [{"id": c.id, "name": c.name} for c in x.candidates]}
                      for x in result.proposals],
        "unmatched": [{"tenant_id": c.tenant_id, "tenant": c.name} for c in result.unmatched],
    }


@contextlib.contextmanager
def _sandbox_service() -> Iterator[OnboardingService]:
    """The Microsoft sandbox's customers, matched to example PSA companies; adds are kept in memory."""
    from app.sandbox.microsoft import MicrosoftSandbox, generate
    from app.sandbox.microsoft.companies import companies_for
    from app.sandbox.server import SandboxServer, make_tls
    from app.services.customers.onboarding import MemoryTenantRegistry, OnboardingService
    from app.services.microsoft import MicrosoftClients

    scenario = generate(20, seed=7)
    companies = companies_for(scenario.profiles()).companies
    sandbox = MicrosoftSandbox(scenario)
    with (tempfile.TemporaryDirectory(prefix="seatsync-sandbox-") as tmp,
          SandboxServer(sandbox, tls=make_tls(Path(tmp))) as server,
          MicrosoftClients.create(sandbox.settings(server)) as clients):
        yield OnboardingService(clients.partner_center, lambda: companies, MemoryTenantRegistry())

