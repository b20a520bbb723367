"""A whole world to try seatsync in: Microsoft and a PSA on loopback, seeded to match.

``SandboxWorld.start`` serves the Microsoft sandbox (tokens, Graph, Partner
Center) and one PSA sandbox (ConnectWise by default, or Autotask or HaloPSA:
``psa=``) over one throw-away TLS authority, seeded from one scenario: N
tenants, and PSA companies as an MSP's PSA really holds them (some match by
domain, some by name, some need a person, some are missing), each active
company with one monthly agreement, and a catalog of four products
(``PRODUCT_FOR_PART``). ``configure`` points a seatsync data directory at
them the way a user would: connections and secrets, the PSA's catalog,
tenants added (the links onboarding found, and the proposals a person would
confirm), one billing profile per product, and most licenses mapped.

The demo's world (``demo=True``) is richer: a second partner account, an
indirect reseller's, has three customers of its own (each partner with its
own app, connected side by side); the PSA holds a product for
every common Microsoft 365 license (``DEMO_PRODUCT_FOR_PART``), a few
customers have bought add-ons (Visio, Project, Entra ID), and ``configure``
maps every license that has a product and an agreement but the add-ons
bought today, which it leaves for a person to map; one customer's agreement
holds a Business Premium line "another tool" (CloudConsole) added, which
holds that row until a person decides about it under Migrate.

The demo, the end-to-end tests and the benchmark all start from here. The
PSA half (app/sandbox/world_psas.py) seeds and inspects each vendor's
sandbox the same way: ``psa_side.holdings(agreement)`` is what the PSA
itself holds, ``writes()`` how many write requests it has answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from app.billing.types import BillingProfile, Exclusion, Mapping
from app.models.records import MicrosoftConnectionRecord
from app.sandbox.microsoft import MicrosoftSandbox, Scenario, generate
from app.sandbox.microsoft.companies import Case, companies_for
from app.sandbox.server import SandboxApp, SandboxServer, TlsFiles, make_tls
from app.sandbox.world_psas import CATALOG, DEMO_CATALOG, PsaSide, make_side, write_requests
from app.services.container import Services
from app.services.customers.bulk_add import Choice
from app.services.secrets import microsoft_secret_key, psa_secret_key

#: Which catalog product bills which Microsoft part number in the sandbox PSA.
PRODUCT_FOR_PART = {
    "SPB": "M365-BP",
    "O365_BUSINESS_PREMIUM": "M365-BS",
    "SPE_E3": "M365-E3",
    "EXCHANGESTANDARD": "EXO-P1",
}
FREE_PARTS = ("FLOW_FREE", "POWER_BI_STANDARD", "TEAMS_EXPLORATORY")
#: The demo's catalog products (world_psas.DEMO_CATALOG) for Microsoft part numbers.
DEMO_PRODUCT_FOR_PART = {
    **PRODUCT_FOR_PART,
    "O365_BUSINESS_ESSENTIALS": "M365-BB",
    "O365_BUSINESS": "M365-APPS-B",
    "SPE_E5": "M365-E5",
    "SPE_F1": "M365-F3",
    "STANDARDPACK": "O365-E1",
    "ENTERPRISEPACK": "O365-E3",
    "EXCHANGEENTERPRISE": "EXO-P2",
    "EXCHANGEDESKLESS": "EXO-KIOSK",
    "Teams_Ess": "TEAMS-ESS",
    "TEAMS_ESSENTIALS_AAD": "TEAMS-ESS",
    "MCOEV": "TEAMS-PHONE",
    "VISIOCLIENT": "VISIO-P2",
    "PROJECTPROFESSIONAL": "PROJECT-P3",
    "POWER_BI_PRO": "PBI-PRO",
    "MDE_SMB": "MDB",
    "ATP_ENTERPRISE": "MDO-P1",
    "INTUNE_A": "INTUNE-P1",
    "AAD_PREMIUM": "ENTRA-P1",
}
#: Add-ons the demo's customers bought: (the customer, an index into the billed ones by name; part number;
#: seats; term; bought how many days ago). One bought today is left unmapped by ``configure``, for a person.
DEMO_ADD_ONS = (
    (0, "VISIOCLIENT", 2, "P1Y", 200),
    (1, "PROJECTPROFESSIONAL", 3, "P1M", 90),
    (2, "AAD_PREMIUM", 12, "P1Y", 300),
    (3, "VISIOCLIENT", 1, "P1M", 0),
    (5, "PROJECTPROFESSIONAL", 2, "P1M", 0),
)
#: The demo's second partner account (an indirect reseller's), and how many customers it has beside the home
#: partner's.
DEMO_INDIRECT_PARTNER = "Fabrikam Indirect (EU)"
DEMO_INDIRECT_CUSTOMERS = 3
#: The day every world's agreements start.
AGREEMENT_START = date(2024, 1, 1)


@dataclass
class SandboxWorld:
    tls: TlsFiles
    scenario: Scenario
    microsoft: MicrosoftSandbox
    microsoft_server: SandboxServer
    psa: SandboxApp  # the PSA sandbox itself (ConnectWiseSandbox, AutotaskSandbox or HaloSandbox)
    psa_server: SandboxServer
    psa_side: PsaSide
    cases: dict[str, Case] = field(default_factory=dict)
    intended: dict[str, str] = field(default_factory=dict)  # tenant id -> PSA company id a person would pick
    agreements: dict[str, str] = field(default_factory=dict)  # PSA company id -> its agreement's id
    demo: bool = False
    #: (tenant id, part number) of licenses ``configure`` leaves for a person to map (the demo's).
    unmapped: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def start(cls, directory: Path, *, tenants: int = 25, seed: int = 7, today: Callable[[], date] = date.today,
              latency: float = 0.0, psa: str = "connectwise", tls: TlsFiles | None = None,
              demo: bool = False) -> SandboxWorld:
        """Seed and serve the world; ``tls``: reuse a certificate authority made earlier (tests);
        ``demo``: the demo's richer world (the module's docstring)."""
        side = make_side(psa, today)
        tls = tls or make_tls(directory / "tls")
        scenario = generate(tenants, seed=seed, today=today())
        if demo:
            scenario.add_partner(DEMO_INDIRECT_PARTNER, customers=DEMO_INDIRECT_CUSTOMERS)
        microsoft = MicrosoftSandbox(scenario)
        company_set = companies_for(scenario.profiles())
        side.add_catalog(DEMO_CATALOG if demo else CATALOG)
        psa_ids: dict[str, str] = {}
        agreements: dict[str, str] = {}
        for company in company_set.companies:
            cid = side.add_company(company.name, domains=[d.split("//")[-1].strip("/").removeprefix("www.")
                                                          for d in company.domains], active=company.active)
            psa_ids[company.id] = cid
            if company.active:
                agreements[cid] = side.add_agreement(cid, start=AGREEMENT_START)
        intended = {t: psa_ids[c] for t, c in company_set.intended.items() if c}
        billed = [t for t, c in intended.items() if c in agreements]
        unmapped = _buy_add_ons(scenario, billed) if demo else set()
        if demo:
            _switching_from_another_tool(scenario, side, billed, {t: agreements[intended[t]] for t in billed})
        ms_server = SandboxServer(microsoft, tls=tls).start()
        try:
            psa_server = side.serve(tls)
        except BaseException:
            ms_server.stop()
            raise
        for server in (ms_server, psa_server):
            server.chaos.latency = latency
        return cls(tls=tls, scenario=scenario, microsoft=microsoft, microsoft_server=ms_server, psa=side.app,
                   psa_server=psa_server, psa_side=side, cases=dict(company_set.cases), intended=intended,
                   agreements=agreements, demo=demo, unmapped=unmapped)

    def stop(self) -> None:
        self.microsoft_server.stop()
        self.psa_server.stop()

    def __enter__(self) -> SandboxWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the PSA, whichever it is ---------------------------------------------------

    @property
    def psa_kind(self) -> str:
        return self.psa_side.kind

    def agreement_of(self, tenant_id: str) -> str:
        """The agreement of the PSA company a person would link ``tenant_id`` to."""
        company = self.intended.get(tenant_id.lower())
        if company is None or company not in self.agreements:
            raise LookupError(f"tenant {tenant_id} has no active PSA company with an agreement in this world")
        return self.agreements[company]

    def set_prorates(self, agreement_id: str, prorates: bool) -> None:
        """Make an agreement prorate mid-period changes, or not (each PSA's own switch)."""
        self.psa_side.set_prorates(agreement_id, prorates)

    def writes(self) -> int:
        """Write requests the PSA sandbox has answered so far."""
        return write_requests(self.psa_side)

    # -- seatsync's side -----------------------------------------------------------

    def connect(self, context: Services) -> int:
        """Store the Microsoft connection of each partner account (the home one first) and the PSA connection
        (secrets in the keyring); return the PSA's id."""
        home = self.scenario.home
        for partner in (home, *(p for p in self.scenario.partners.values() if p is not home)):
            settings = self.microsoft.settings(self.microsoft_server, partner.tenant_id)
            ms = context.uow.microsoft_connections.save(MicrosoftConnectionRecord(
                id=0, name="Sandbox partner" if partner is home else partner.name,
                kind="direct" if partner is home else "indirect_reseller",
                partner_tenant_id=settings.partner_tenant_id, client_id=settings.client_id,
                authority_url=f"https://{settings.authority_host}", graph_url=settings.graph_url,
                partner_center_url=settings.partner_center_url))
            context.secrets.set(microsoft_secret_key(ms.id, ms.name), settings.client_secret)
        values, secrets = self.psa_side.settings()
        record = context.uow.psa_connections.create(kind=self.psa_kind, name=self.psa_side.label, settings=values)
        for name, secret in secrets.items():
            context.secrets.set(psa_secret_key(record.id, name, record.name), secret)
        context.admin.refresh_catalog(record.id)
        return record.id

    def onboard(self, context: Services, connection_id: int, *, confirm_proposals: bool = True) -> None:
        """Add the tenants onboarding links, and (as a person would) its proposals' intended companies."""
        service = context.customers
        result = service.propose().result
        choices = [Choice(customer=link.customer, company_ids=(int(link.company.id),)) for link in result.links]
        if confirm_proposals:
            for proposal in result.proposals:
                intended = self.intended.get(proposal.customer.tenant_id, "")
                company = context.uow.companies.by_psa_id(connection_id, intended)
                if company is not None:
                    choices.append(Choice(customer=proposal.customer, company_ids=(company.id,)))
        service.add(choices)

    def map_licenses(self, context: Services, connection_id: int, *, share: float = 0.8) -> int:
        """One billing profile per product, the first ``share`` of tenants mapped; free SKUs excluded.

        Licenses in ``unmapped`` are left for a person; a tenant whose company has no agreement cannot be mapped.
        """
        product_for_part = DEMO_PRODUCT_FOR_PART if self.demo else PRODUCT_FOR_PART
        profiles = {}
        for product in context.uow.catalog.products(connection_id, active_only=True):
            profiles[product.identifier] = context.uow.profiles.save(connection_id, BillingProfile(
                id="", name=f"{product.description} - Monthly", product=product))
        for part in FREE_PARTS:
            context.uow.exclusions.add(Exclusion(sku_id=self.scenario.sku_id(part), reason="free"))
        tenants = sorted(context.uow.tenants.all(), key=lambda t: t.name)
        mapped = 0
        for tenant in tenants[: round(len(tenants) * share)]:
            links = context.uow.tenants.links_of_tenant(tenant.tenant_id)
            agreements = context.uow.catalog.agreements(connection_id, links[0].company_psa_id) if links else []
            if not agreements:
                continue
            sandbox_tenant = self.scenario.tenant(tenant.tenant_id)
            assert sandbox_tenant is not None  # every tenant of the world is in its scenario
            for part in sorted({s.part_number for s in sandbox_tenant.subscriptions}):
                identifier = product_for_part.get(part)
                if identifier in profiles and (tenant.tenant_id, part) not in self.unmapped:
                    context.uow.mappings.save(Mapping(tenant_id=tenant.tenant_id, sku_id=self.scenario.sku_id(part),
                                                  profile=profiles[identifier], agreement_id=agreements[0].id))
                    mapped += 1
        return mapped

    def configure(self, context: Services, *, share: float | None = None) -> int:
        """Everything a user does before the first sync; returns the PSA connection's id.

        ``share``: of tenants mapped (default: 0.8, and all in the demo's world).
        """
        connection_id = self.connect(context)
        self.onboard(context, connection_id)
        self.map_licenses(context, connection_id, share=(1.0 if self.demo else 0.8) if share is None else share)
        return connection_id


def _switching_from_another_tool(scenario: Scenario, side: PsaSide, billed: list[str],
                                 agreement_of: dict[str, str]) -> None:
    """The demo's MSP is moving from another tool: CloudConsole bills one customer's Business Premium on its
    agreement already, so seatsync holds that row until a person adopts, cancels or ignores the line (Migrate)."""
    customers = sorted((t for t in (scenario.tenant(i) for i in billed) if t is not None and t.consent),
                       key=lambda t: t.name)
    for tenant in customers:
        if any(s.part_number == "SPB" for s in tenant.subscriptions):
            side.add_foreign_line(agreement_of[tenant.id], DEMO_PRODUCT_FOR_PART["SPB"], 5, reference="Cloudconsole",
                                  start=AGREEMENT_START)
            return


def _buy_add_ons(scenario: Scenario, billed: list[str]) -> set[tuple[str, str]]:
    """The demo's add-ons (``DEMO_ADD_ONS``) bought by consented ``billed`` tenants; returns those bought today."""
    customers = sorted((t for t in (scenario.tenant(i) for i in billed) if t is not None and t.consent),
                       key=lambda t: t.name)
    bought_today: set[tuple[str, str]] = set()
    if not customers:
        return bought_today
    for index, part, seats, term, days in DEMO_ADD_ONS:
        tenant = customers[index % len(customers)]
        if any(s.part_number == part for s in tenant.subscriptions):
            continue
        seats = min(seats, len(tenant.users))
        scenario.add_sku(tenant.id, part, seats, assigned=seats, term=term,
                         bought=scenario.today - timedelta(days=days))
        if days == 0:
            bought_today.add((tenant.id, part))
    return bought_today
