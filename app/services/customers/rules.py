"""Mapping rules: map a license across every linked company at once (docs/rules.md).

A rule says: this SKU (optionally only of one term and billing cycle) bills
through this billing profile on the company's agreement of this type, or
whose name matches this pattern, with these options. ``preview`` lists,
for every linked company, the license rows the rules would map (with the
agreement each one chose) and those they cannot, with the reason; those stay
"Missing billing profile". ``apply`` writes exactly the previewed mappings
in one transaction. A row that has a mapping is never touched: a mapping
set by hand always wins.

The agreements are read from the PSA (one read per PSA connection), so a
preview runs off the UI thread. The licenses are the tenants' latest
snapshots, or, for a sync, the inventories it has just read (``map_new``):
new tenants and new SKUs are mapped before that sync plans them.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Collection, Sequence
from collections.abc import Mapping as AnyMapping
from dataclasses import dataclass, replace

from app.billing.excluded import Exclusions
from app.billing.types import (
    Agreement,
    AgreementStatus,
    BillingProfile,
    License,
    Mapping,
    QuantityBasis,
    TenantInventory,
)
from app.errors import ConfigurationError
from app.models.records import CompanyLink, CompanyRecord, MappingRuleRecord
from app.services.customers.company_rows import LicenseState, Target, license_rows
from app.services.providers import PsaProvider
from app.services.uow import UnitOfWork, connected

__all__ = ["MappingRuleRecord", "RuleApplied", "RuleOptions", "RulePreview", "RuleRow", "RuleService", "describe_rule",
           "mapped_by_rule_text"]


@dataclass(frozen=True, kw_only=True)
class RuleRow:
    """A license row of a company that a rule maps (``mapping`` set) or cannot (``reason`` says why)."""

    company_id: int
    company: str
    tenant: str
    license: str
    target: Target
    rule_id: int
    mapping: Mapping | None = None
    agreement: Agreement | None = None
    reason: str = ""

    @property
    def mapped(self) -> bool:
        return self.mapping is not None


@dataclass(frozen=True)
class RulePreview:
    rows: tuple[RuleRow, ...] = ()

    @property
    def mapped(self) -> tuple[RuleRow, ...]:
        return tuple(r for r in self.rows if r.mapped)

    @property
    def not_mapped(self) -> tuple[RuleRow, ...]:
        return tuple(r for r in self.rows if not r.mapped)


@dataclass(frozen=True)
class RuleOptions:
    """What a rule may name: the licenses the tenants have (SKU id, name; most tenants first), the billing
    profiles, and the agreement types of the PSA's cached catalog."""

    licenses: tuple[tuple[str, str], ...] = ()
    profiles: tuple[BillingProfile, ...] = ()
    agreement_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleApplied:
    #: The rows mapped, as previewed.
    written: tuple[RuleRow, ...] = ()
    #: Previewed rows someone mapped since the preview: theirs stays.
    skipped: tuple[RuleRow, ...] = ()


def describe_rule(rule: MappingRuleRecord, sku_name: str = "") -> str:
    """"Microsoft 365 E3 (P1Y, monthly) → E3 retail on agreement type 'Managed'"."""
    terms = ", ".join(v for v in (rule.term.value if rule.term else "", rule.cycle.value if rule.cycle else "") if v)
    where = (f"agreement type {rule.agreement_type!r}" if rule.agreement_type
             else f"agreement named like {rule.agreement_name!r}" if rule.agreement_name
             else "the one agreement the profile may be used on")
    return f"{sku_name or rule.sku_id}{f' ({terms})' if terms else ''} → {rule.profile.name} on {where}"


def _conditions(rule: MappingRuleRecord) -> int:
    return (rule.term is not None) + (rule.cycle is not None)


def in_precedence(rules: Sequence[MappingRuleRecord]) -> list[MappingRuleRecord]:
    """The order rules are tried in: those naming a term and a billing cycle first, then one of them, then
    neither; among equals the oldest first."""
    return sorted(rules, key=lambda r: (-_conditions(r), r.id))


def matches_license(rule: MappingRuleRecord, lic: License) -> bool:
    """The rule's SKU, and (when the rule names them) every active subscription of that term and cycle."""
    if rule.sku_id.lower() != lic.sku_id.lower():
        return False
    if rule.term is None and rule.cycle is None:
        return True
    active = [s for s in lic.subscriptions if s.status == "active"]
    return bool(active) and all((rule.term is None or s.term is rule.term)
                                and (rule.cycle is None or s.billing_cycle is rule.cycle) for s in active)


def choose_agreement(rule: MappingRuleRecord, agreements: Sequence[Agreement]) -> tuple[Agreement | None, str]:
    """The company's one agreement for the rule, or None and why not (no agreement, two or more, the profile
    not allowed on it). Only active agreements count."""
    active = [a for a in agreements if a.status is AgreementStatus.ACTIVE]
    if rule.agreement_type:
        found = [a for a in active if a.type_name.casefold() == rule.agreement_type.casefold()]
        what = f"of type {rule.agreement_type!r}"
    elif rule.agreement_name:
        found = [a for a in active if fnmatch.fnmatchcase(a.name.casefold(), rule.agreement_name.casefold())]
        what = f"named like {rule.agreement_name!r}"
    else:
        found = [a for a in active if rule.profile.allows(a)]
        what = f"that billing profile {rule.profile.name} may be used on"
    if not found:
        return None, f"no active agreement {what}"
    if len(found) > 1:
        names = ", ".join(a.name or a.id for a in found[:3]) + (", …" if len(found) > 3 else "")
        return None, f"{len(found)} agreements {what} ({names}): map it by hand"
    agreement = found[0]
    if not rule.profile.allows(agreement):
        allowed = ", ".join(sorted(rule.profile.allowed_agreement_types))
        return None, (f"billing profile {rule.profile.name} may be used on agreements of type {allowed}, "
                      f"not {agreement.type_name!r}")
    return agreement, ""


def rule_mapping(rule: MappingRuleRecord, target: Target, agreement: Agreement) -> Mapping:
    """The mapping the rule makes of the row: the rule's profile and options on the chosen agreement."""
    return Mapping(tenant_id=target.tenant_id, sku_id=target.sku_id, profile=rule.profile,
                   agreement_id=agreement.id, user_filter=target.user_filter, basis=rule.basis,
                   usernames_in_description=rule.usernames_in_description,
                   negative_proration=rule.negative_proration, included_quantity=rule.included_quantity,
                   minimum_quantity=rule.minimum_quantity, description_override=rule.description_override)


class RuleService:
    def __init__(self, uow: UnitOfWork, *, psas: PsaProvider) -> None:
        self.uow = uow
        self.psas = psas

    # -- the rules ----------------------------------------------------------------------

    def rules(self) -> list[MappingRuleRecord]:
        with connected():
            return self.uow.rules.all()

    def add(self, rule: MappingRuleRecord, *, actor: str = "") -> MappingRuleRecord:
        """Store a rule; ``ConfigurationError`` when it names no SKU, or both an agreement type and a name."""
        if not rule.sku_id.strip():
            raise ConfigurationError("a mapping rule needs the license (SKU id) it maps")
        if rule.agreement_type.strip() and rule.agreement_name.strip():
            raise ConfigurationError("a mapping rule chooses the agreement by its type or by its name, not both")
        if rule.basis not in (QuantityBasis.ASSIGNED, QuantityBasis.PURCHASED):
            raise ConfigurationError("a mapping rule bills assigned or purchased seats")
        rule = replace(rule, sku_id=rule.sku_id.strip(), agreement_type=rule.agreement_type.strip(),
                       agreement_name=rule.agreement_name.strip())
        with self.uow:
            return self.uow.rules.add(rule, actor=actor)

    def remove(self, rule_id: int, *, actor: str = "") -> bool:
        """Remove a rule; the mappings it made stay."""
        with self.uow:
            return self.uow.rules.remove(rule_id, actor=actor)

    def options(self, company_ids: Collection[int] | None = None) -> RuleOptions:
        """The licenses (of the tenants of ``company_ids`` only, when given), profiles and agreement types a
        rule or a bulk mapping may name."""
        with connected():
            tenant_ids = None if company_ids is None else {
                link.tenant_id for link in self.uow.tenants.all_links() if link.company_id in company_ids}
            seen: dict[str, tuple[str, int]] = {}
            for inventory in self.uow.inventory.latest_all().values():
                if tenant_ids is not None and inventory.tenant_id not in tenant_ids:
                    continue
                for lic in inventory.licenses:
                    name, count = seen.get(lic.sku_id.lower(), (lic.name or lic.part_number or lic.sku_id, 0))
                    seen[lic.sku_id.lower()] = (name, count + 1)
            connections = [c.id for c in self.uow.psa_connections.all()]
            types = sorted({t for c in connections for t in self.uow.catalog.agreement_types(c)}, key=str.casefold)
            return RuleOptions(
                licenses=tuple((sku, name) for sku, (name, _) in sorted(seen.items(),
                                                                          key=lambda i: (-i[1][1], i[1][0]))),
                profiles=tuple(self.uow.profiles.all()), agreement_types=tuple(types))

    # -- preview and apply --------------------------------------------------------------------

    def preview(self, rules: Sequence[MappingRuleRecord] | None = None, *,
                company_ids: Collection[int] | None = None) -> RulePreview:
        """What ``rules`` (default: every stored rule) would map in every linked company (or those of
        ``company_ids``), from the tenants' latest snapshots and the PSA's agreements."""
        with connected():
            rules = self.uow.rules.all() if rules is None else list(rules)
            if not rules:
                return RulePreview()
            links = [link for link in self.uow.tenants.all_links()
                     if company_ids is None or link.company_id in company_ids]
            inventories = self.uow.inventory.latest_of(link.tenant_id for link in links)
            return self._preview(rules, links, inventories)

    def apply(self, preview: RulePreview, *, actor: str = "", mark: bool = True) -> RuleApplied:
        """Write the previewed mappings, all in one transaction. A row someone mapped since is left as they
        mapped it (``skipped``). ``mark``: the mappings are the rules' (False: a person's bulk mapping)."""
        written, skipped = [], []
        with self.uow:
            for row in preview.mapped:
                assert row.mapping is not None
                stored, _ = self.uow.mappings.versioned(row.target.key)
                if stored is not None:
                    skipped.append(row)
                    continue
                self.uow.mappings.save(row.mapping, expected_version=0, actor=actor)
                if mark and row.rule_id:
                    self.uow.rules.mark(row.target.key, row.rule_id)
                written.append(row)
        return RuleApplied(written=tuple(written), skipped=tuple(skipped))

    def map_new(self, inventories: AnyMapping[str, TenantInventory], *, actor: str) -> RuleApplied:
        """Map by the stored rules what the tenants' fresh ``inventories`` show unmapped (a sync's first read of
        a new tenant or SKU), before that sync plans them; nothing is read from the PSA without a rule."""
        with connected():
            rules = self.uow.rules.all()
            if not rules or not inventories:
                return RuleApplied()
            links = self.uow.tenants.links_of_tenants(list(inventories))
            preview = self._preview(rules, links, dict(inventories))
        if not preview.mapped:
            return RuleApplied()
        return self.apply(preview, actor=actor)

    def bulk_map(self, company_ids: Collection[int], sku_id: str, profile_id: str, *, agreement_type: str = "",
                 agreement_name: str = "") -> RulePreview:
        """The preview of mapping one license of the selected companies through a profile (a person's bulk
        mapping: apply it with ``mark=False``)."""
        with connected():
            profile = self.uow.profiles.get(profile_id)
        rule = MappingRuleRecord(sku_id=sku_id, profile=profile, agreement_type=agreement_type,
                                 agreement_name=agreement_name)
        return self.preview([rule], company_ids=company_ids)

    def mapped_by_rule(self, tenant_ids: list[str] | None = None) -> dict[str, int | None]:
        """The rows whose mapping a rule made and nobody saved since (``mapping_key`` -> rule id)."""
        with connected():
            return self.uow.rules.mapped_by_rule(tenant_ids)

    def _preview(self, rules: Sequence[MappingRuleRecord], links: Sequence[CompanyLink],
                 inventories: AnyMapping[str, TenantInventory | None]) -> RulePreview:
        ordered = in_precedence(rules)
        if not ordered or not links:
            return RulePreview()
        companies = {c.id: c for c in self.uow.companies.all()}
        linked = sorted({link.tenant_id for link in links})
        tenants = self.uow.tenants.found(linked)
        mappings_of: dict[str, list[Mapping]] = defaultdict(list)
        for mapping in self.uow.mappings.for_tenants(linked):
            mappings_of[mapping.tenant_id].append(mapping)
        exclusions = Exclusions(self.uow.exclusions.all())
        profiles_of: dict[int, set[str]] = {}
        agreements_of: dict[tuple[int, str], list[Agreement]] = {}
        rows: list[RuleRow] = []
        for link in links:
            company = companies[link.company_id]
            inventory = inventories.get(link.tenant_id)
            if inventory is None:
                continue
            if company.connection_id not in profiles_of:
                profiles_of[company.connection_id] = {p.id for p in self.uow.profiles.all(company.connection_id)}
                self._read_agreements(company.connection_id, agreements_of)
            tenant = tenants.get(link.tenant_id)
            for row in license_rows(company, link, tenant.name if tenant else link.tenant_id, inventory,
                                    mappings_of[link.tenant_id],
                                    exclusions.applying_to(link.tenant_id)):
                if row.state is not LicenseState.MISSING or not row.in_tenant:
                    continue
                found = self._decide(ordered, row.license, row.target, company, profiles_of[company.connection_id],
                                     agreements_of.get((company.connection_id, company.psa_id), []))
                if found is not None:
                    rows.append(replace(found, tenant=row.tenant_name, license=row.name))
        return RulePreview(rows=tuple(rows))

    def _read_agreements(self, connection_id: int, into: dict[tuple[int, str], list[Agreement]]) -> None:
        """The PSA's agreements of every company of the connection, in one read."""
        grouped: dict[str, list[Agreement]] = defaultdict(list)
        for agreement in self.psas.psa(connection_id).list_agreements():
            grouped[agreement.company_id].append(agreement)
        for company_psa_id, agreements in grouped.items():
            into[connection_id, company_psa_id] = agreements

    @staticmethod
    def _decide(rules: Sequence[MappingRuleRecord], lic: License, target: Target, company: CompanyRecord,
                own_profiles: set[str], agreements: Sequence[Agreement]) -> RuleRow | None:
        """The first rule (in precedence) that maps the row; else why the first that names it cannot; None when
        no rule names it."""
        first: RuleRow | None = None
        for rule in rules:
            if not matches_license(rule, lic):
                continue
            base = RuleRow(company_id=company.id, company=company.name, tenant="", license="", target=target,
                           rule_id=rule.id)
            if rule.profile.id not in own_profiles:
                found = replace(base, reason=f"billing profile {rule.profile.name} bills a product of another "
                                             "PSA connection")
            else:
                agreement, why = choose_agreement(rule, agreements)
                found = replace(base, agreement=agreement, reason=why,
                                mapping=rule_mapping(rule, target, agreement) if agreement else None)
            if found.mapped:
                return found
            first = first or found
        return first


def mapped_by_rule_text(rows: Sequence[RuleRow], *, named: int = 3) -> str:
    """"2 license(s) mapped by rule (Contoso: Office 365 E3, Fabrikam: Office 365 E3)": what a sync's result
    says of the rows the rules mapped at its start ('' for none)."""
    if not rows:
        return ""
    names = [f"{r.company}: {r.license}" for r in rows[:named]]
    more = f" and {len(rows) - named} more" if len(rows) > named else ""
    return f"{len(rows)} license(s) mapped by rule ({', '.join(names)}{more})"
