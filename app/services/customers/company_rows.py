"""The values the Companies area shows: company rows, license rows, and how they are built.

Frozen dataclasses the views hold as they are (each table's row role returns
one). ``license_rows`` turns a tenant's latest snapshot, mappings and
exclusions into the license table of DESIGN §1 step 5; ``with_findings``
puts beside each row what the tenant's latest sync found about it and the
changes of it waiting for approval, each with what to do and where.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Mapping as AnyMapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from app.billing.custom import CustomLicense
from app.billing.foreign import ForeignDecision
from app.billing.operations import Finding, FindingKind
from app.billing.plan import PlanOptions
from app.billing.quantities import allocate_assigned
from app.billing.types import (
    Agreement,
    BillingProfile,
    Exclusion,
    License,
    Line,
    Mapping,
    RowKey,
    Subscription,
    TenantInventory,
    User,
    UserFilter,
)
from app.models.records import CompanyLink, CompanyRecord, HeldRecord

# What a row bills a month is worked out where the Companies list's figures are kept (the models' layer, which
# the services' builds on); the Companies area's values name it from here.
from app.models.repositories.summaries import Monthly, filter_key, is_mapped, monthly_amount, total
from app.services.notify.notices import finding_text, raises_notice

__all__ = ["CompanyDetail", "CompanyRow", "FindingAction", "LastSync", "LicenseRow", "LicenseState", "MappingChoices",
           "MappingInputs", "Monthly", "Pricer", "RowFinding", "SubscriptionRow", "Target", "TenantOutcome",
           "filter_key", "is_mapped", "license_rows", "monthly_amount", "total", "with_findings"]

#: A row's monthly amount from its mapping (None: it cannot be told).
Pricer = Callable[[Mapping], Monthly | None]

MISSING_PROFILE = "Missing billing profile"
HELD_TITLE = "Change waiting for approval"


class FindingAction(StrEnum):
    """Where the window resolves a row's finding."""

    NONE = ""
    MAP = "map"  # the row's mapping dialog
    APPROVALS = "approvals"  # the Approvals view
    PROFILES = "profiles"  # the Billing profiles view


#: The action of each finding kind that has one in the window; any other kind is resolved in the PSA or Microsoft.
ACTIONS = {
    FindingKind.MISSING_AGREEMENT: FindingAction.MAP,
    FindingKind.INACTIVE_AGREEMENT: FindingAction.MAP,
    FindingKind.AGREEMENT_TYPE_NOT_ALLOWED: FindingAction.MAP,
    FindingKind.INACTIVE_PRODUCT: FindingAction.PROFILES,
    FindingKind.LOW_MARGIN: FindingAction.PROFILES,
    FindingKind.PRICE_DRIFT: FindingAction.PROFILES,
    FindingKind.LICENSES_GONE: FindingAction.APPROVALS,
    FindingKind.SUSPICIOUS_DROP: FindingAction.APPROVALS,
}
#: Kinds the row already states from the latest read (its "Missing billing profile", its unassigned seats).
ROW_SAYS = frozenset({FindingKind.UNMAPPED_LICENSE, FindingKind.UNASSIGNED_SEATS})


@dataclass(frozen=True, kw_only=True)
class Target:
    """Where a mapping goes: a company's row of a tenant's license (or one subscription of it)."""

    company_id: int
    tenant_id: str
    sku_id: str
    subscription_id: str = ""
    user_filter: UserFilter | None = None

    @property
    def key(self) -> RowKey:
        return RowKey(tenant_id=self.tenant_id, sku_id=self.sku_id, subscription_id=self.subscription_id,
                      filter_key=self.user_filter.key if self.user_filter else "")


class LicenseState(StrEnum):
    MAPPED = "mapped"
    MISSING = "missing"  # no billing profile
    PARTLY = "partly"  # split, and some subscriptions have no billing profile
    EXCLUDED = "excluded"


@dataclass(frozen=True, kw_only=True)
class SubscriptionRow:
    target: Target
    subscription: Subscription
    #: Seats of the license's assigned count this subscription bills when split (None: not split).
    assigned: int | None = None
    mapping: Mapping | None = None
    #: What its main line bills a month (None: not mapped, or it cannot be told).
    monthly: Monthly | None = None


@dataclass(frozen=True, kw_only=True)
class RowFinding:
    """What the latest sync found about a row (or a change of it held for approval): words and where to act."""

    title: str
    advice: str
    #: The finding's own words (names from the PSA or Microsoft: plain text).
    message: str = ""
    action: FindingAction = FindingAction.NONE
    #: False: for information; billing is right without a person acting.
    attention: bool = True

    def text(self) -> str:
        return "\n".join(part for part in (self.title + (f": {self.message}" if self.message else ""),
                                           self.advice) if part)


@dataclass(frozen=True, kw_only=True)
class LicenseRow:
    target: Target
    tenant_name: str
    license: License
    mapping: Mapping | None = None
    subscriptions: tuple[SubscriptionRow, ...] = ()
    split: bool = False
    excluded: bool = False
    excluded_globally: bool = False
    state: LicenseState = LicenseState.MISSING
    #: What needs a person (empty when excluded: excluded licenses raise no notifications).
    notices: tuple[str, ...] = ()
    in_tenant: bool = True
    #: What the row bills a month: its mapping's main line, or a split row's mapped subscriptions summed, per
    #: currency (empty: not mapped, or it cannot be told).
    monthly: tuple[Monthly, ...] = ()
    #: Mapped lines whose monthly amount cannot be told (they count users seatsync never billed).
    unpriced: int = 0
    #: What the tenant's latest sync found about the row, and its changes waiting for approval.
    findings: tuple[RowFinding, ...] = ()
    #: A custom license's count rule, as a person reads it ("" for Microsoft's licenses).
    custom_rule: str = ""

    @property
    def name(self) -> str:
        return self.license.name or self.license.part_number or self.license.sku_id

    @property
    def purchased(self) -> int:
        return self.license.purchased

    @property
    def assigned(self) -> int:
        return self.license.assigned

    @property
    def unassigned(self) -> int:
        return self.license.unassigned

    @property
    def needs_mapping(self) -> bool:
        return self.state in (LicenseState.MISSING, LicenseState.PARTLY)

    @property
    def can_split(self) -> bool:
        return (not self.split and self.mapping is not None
                and sum(1 for s in self.license.subscriptions if s.status == "active") >= 2)


@dataclass(frozen=True, kw_only=True)
class LastSync:
    at: datetime | None = None
    status: str = "never"  # never | ok | failed | partial
    detail: str = ""
    writes: int | None = None


@dataclass(frozen=True, kw_only=True)
class TenantOutcome:
    """How a tenant's last sync went (as stored by the runs, or seen by the window in this session)."""

    tenant_id: str
    at: datetime
    ok: bool
    writes: int = 0
    error: str = ""
    #: Never synced: every run that reached it stopped before it (``error`` says why).
    not_synced: bool = False


@dataclass(frozen=True, kw_only=True)
class CompanyRow:
    id: int
    psa_id: str
    connection_id: int
    name: str
    identifier: str = ""
    active: bool = True
    psa: str = ""  # the PSA connection's name
    tenant_names: tuple[str, ...] = ()
    licenses: int = 0
    unmapped: int = 0
    held: int = 0
    last_sync: LastSync = LastSync()
    #: What the company's mapped licenses bill a month, per currency (empty: nothing mapped).
    monthly: tuple[Monthly, ...] = ()
    #: Its mapped lines whose monthly amount cannot be told (they count users seatsync never billed).
    unpriced: int = 0
    #: Its tenants seatsync has no Microsoft access to (consent missing, expired or revoked).
    access: int = 0
    #: Kinds of finding needing a person in its tenants' latest syncs (one notice each).
    findings: int = 0
    #: The names of the Microsoft partner connections its tenants are read through.
    partners: tuple[str, ...] = ()

    @property
    def tenants(self) -> int:
        return len(self.tenant_names)

    @property
    def failed(self) -> bool:
        return self.last_sync.status == "failed"

    @property
    def attention(self) -> int:
        """What its notices of the kinds that need attention (``notices.ATTENTION``) count: unmapped licenses,
        held changes, a failed sync, missing Microsoft access, the findings of its latest syncs."""
        return self.unmapped + self.held + (1 if self.failed else 0) + self.access + self.findings


@dataclass(frozen=True, kw_only=True)
class MappingChoices:
    profiles: tuple[BillingProfile, ...] = ()
    agreements: tuple[Agreement, ...] = ()

    def agreements_for(self, profile: BillingProfile | None) -> tuple[Agreement, ...]:
        """The agreements the profile may be used on (only types it allows)."""
        if profile is None:
            return ()
        return tuple(a for a in self.agreements if profile.allows(a))

    def profile(self, profile_id: str) -> BillingProfile | None:
        return next((p for p in self.profiles if p.id == profile_id), None)

    def agreement(self, agreement_id: str) -> Agreement | None:
        return next((a for a in self.agreements if a.id == agreement_id), None)


@dataclass(frozen=True, kw_only=True)
class CompanyDetail:
    company: CompanyRecord
    links: tuple[CompanyLink, ...] = ()
    tenant_names: tuple[str, ...] = ()
    #: The company's tenants: (tenant id, name), by name.
    tenants: tuple[tuple[str, str], ...] = ()
    licenses: tuple[LicenseRow, ...] = ()
    choices: MappingChoices = MappingChoices()
    held: int = 0
    last_sync: LastSync = LastSync()
    read_at: datetime | None = None  # the oldest of the tenants' latest reads
    #: The partner connections its tenants are read through, when seatsync has several.
    partners: tuple[str, ...] = ()

    @property
    def unmapped(self) -> int:
        return sum(1 for row in self.licenses if row.needs_mapping)


@dataclass(frozen=True, kw_only=True)
class MappingInputs:
    """What the mapping dialog computes its preview from."""

    target: Target
    licenses: tuple[License, ...]
    users: tuple[User, ...] | None
    users_note: str
    lines: tuple[Line, ...]
    choices: MappingChoices
    existing: Mapping | None
    today: date
    #: The tenant's other mappings (the edited one excluded): they say which written lines stay billed.
    others: tuple[Mapping, ...] = ()
    #: The version of ``existing`` read with it (0: the row had no mapping; None: not read), handed back on
    #: save so a mapping someone saved meanwhile is refused, not overwritten (EditConflict).
    version: int | None = None
    #: What the dialog says above its fields: why it shows someone else's change (a refused save).
    notice: str = ""
    #: Why ``lines`` are what seatsync wrote, not the PSA's own ("" when the PSA's lines were read).
    lines_note: str = ""
    #: What people decided about other tools' lines on the PSA's agreements, by line id.
    decisions: AnyMapping[str, ForeignDecision] = field(default_factory=dict)
    #: What the sync tells the planner for this company's PSA connection (its limits, the minimum margin).
    options: PlanOptions = field(default_factory=PlanOptions)
    #: Every agreement of the company, inactive ones too: a line moved from one bills on its calendar.
    agreements: tuple[Agreement, ...] = ()

    @property
    def license(self) -> License | None:
        return next((lic for lic in self.licenses if lic.sku_id.lower() == self.target.sku_id.lower()), None)


def _pick(mappings: Sequence[Mapping], sku: str, subscription_id: str, link_key: str) -> Mapping | None:
    candidates = [m for m in mappings if m.sku_id.lower() == sku and m.subscription_id == subscription_id
                  and (m.row.filter_key == link_key or not link_key)]
    exact = [m for m in candidates if m.row.filter_key == link_key]
    chosen = exact or candidates
    return chosen[0] if chosen else None


def license_rows(company: CompanyRecord, link: CompanyLink, tenant_name: str, inventory: TenantInventory | None,
                 mappings: Sequence[Mapping], exclusions: Sequence[Exclusion],
                 price: Pricer | None = None, custom: Sequence[CustomLicense] = (),
                 group_names: AnyMapping[str, str] | None = None) -> list[LicenseRow]:
    """The company's rows for one linked tenant, in the snapshot's order; then the tenant's custom licenses not
    counted yet, and mapped licenses no longer there.

    ``price`` tells what a mapping's main line bills a month (``monthly_amount``); without it rows show none.
    ``group_names``: by custom license id, the name of the group it counts.
    """
    def priced(mapping: Mapping | None) -> Monthly | None:
        return None if mapping is None or price is None else price(mapping)

    key = link.user_filter.key if link.user_filter else ""
    base = Target(company_id=company.id, tenant_id=link.tenant_id, sku_id="", user_filter=link.user_filter)
    licenses = list(inventory.licenses) if inventory else []
    present = {lic.sku_id.lower() for lic in licenses}
    rules = {c.sku_id: c.describe((group_names or {}).get(c.id, "")) for c in custom}
    uncounted = {c.sku_id for c in custom if c.sku_id not in present}
    licenses.extend(License(sku_id=c.sku_id, name=c.name) for c in custom if c.sku_id in uncounted)
    present |= uncounted
    for m in mappings:
        if m.sku_id.lower() not in present and (m.row.filter_key == key or not key):
            present.add(m.sku_id.lower())
            licenses.append(License(sku_id=m.sku_id, name=f"{m.profile.product.description or m.sku_id}"))
    rows = []
    for lic in licenses:
        sku = lic.sku_id.lower()
        in_tenant = sku in uncounted or (inventory is not None and inventory.license(lic.sku_id) is not None)
        whole = _pick(mappings, sku, "", key)
        by_sub = {s.id: _pick(mappings, sku, s.id, key) for s in lic.subscriptions}
        split = any(by_sub.values())
        custom_rule = rules.get(sku, "")
        if not (lic.purchased or lic.assigned or whole or split or custom_rule):
            continue  # an expired SKU Graph still lists: nothing to bill, nothing to say
        excluded = [e for e in exclusions if e.covers(link.tenant_id, lic.sku_id)]
        shares = allocate_assigned(lic) if split else {}
        target = replace(base, sku_id=lic.sku_id)
        subs = tuple(SubscriptionRow(target=replace(target, subscription_id=s.id), subscription=s,
                                     assigned=shares.get(s.id) if split else None, mapping=by_sub.get(s.id),
                                     monthly=priced(by_sub.get(s.id)) if split else None)
                     for s in lic.subscriptions)
        active_unmapped = [s for s in subs if s.subscription.status == "active" and s.mapping is None]
        if excluded:
            state = LicenseState.EXCLUDED
        elif split:
            state = LicenseState.PARTLY if active_unmapped and whole is None else LicenseState.MAPPED
        else:
            state = LicenseState.MAPPED if whole else LicenseState.MISSING
        amounts = [priced(m) for m in ([s.mapping for s in subs if s.mapping] if split else [whole]) if m]
        if excluded or price is None:
            amounts = []
        rows.append(LicenseRow(
            target=target, tenant_name=tenant_name, license=lic, mapping=whole, subscriptions=subs, split=split,
            excluded=bool(excluded), excluded_globally=any(e.tenant_id is None for e in excluded), state=state,
            notices=() if excluded else _notices(lic, state, len(active_unmapped), in_tenant, sku in uncounted),
            in_tenant=in_tenant, monthly=total(amounts) if split else tuple(a for a in amounts if a is not None),
            unpriced=sum(1 for amount in amounts if amount is None), custom_rule=custom_rule))
    return rows


def _notices(lic: License, state: LicenseState, unmapped_subs: int, in_tenant: bool,
             uncounted: bool = False) -> tuple[str, ...]:
    notices = ["Not counted yet: the next sync counts it"] if uncounted else []
    if not in_tenant:
        notices.append("No longer in the tenant: its line is cancelled at the next sync")
    if state is LicenseState.MISSING and in_tenant:
        notices.append(MISSING_PROFILE)
    if state is LicenseState.PARTLY:
        notices.append(f"{unmapped_subs} subscription(s) without a billing profile")
    if lic.unassigned:
        notices.append(f"{lic.unassigned} of {lic.purchased} seats unassigned")
    if lic.ignored:
        notices.append(f"{lic.ignored} of {lic.assigned} assigned seats held by ignored accounts: not billed")
    committed = sum(s.quantity for s in lic.subscriptions if s.is_annual_commitment and s.status == "active")
    if committed > lic.assigned:
        notices.append(f"{committed} seats committed annually, {lic.assigned} assigned")
    return tuple(notices)


def attention_findings(findings: Sequence[Finding]) -> int:
    """The kinds of finding needing a person among a tenant's: as many as its finding notices."""
    return len({f.kind for f in findings if raises_notice(f)})


def with_findings(rows: Sequence[LicenseRow], findings: Sequence[Finding], held: Sequence[HeldRecord],
                  ) -> list[LicenseRow]:
    """The rows, each with the findings about it (same tenant and license, and its agreement when the finding
    names one and the row is mapped) and its changes waiting for approval. Excluded rows take none."""
    out = []
    for row in rows:
        if row.excluded:
            out.append(row)
            continue
        agreements = {m.agreement_id for m in [row.mapping, *(s.mapping for s in row.subscriptions)] if m}
        said = []
        for finding in findings:
            if (finding.kind not in ROW_SAYS and _same_license(row, finding.tenant_id, finding.sku_id)
                    and not (finding.agreement_id and agreements and finding.agreement_id not in agreements)):
                text = finding_text(finding.kind)
                said.append(RowFinding(title=text.title, advice=text.advice, message=finding.message,
                                       action=ACTIONS.get(finding.kind, FindingAction.NONE),
                                       attention=text.attention))
        reasons = [h.reason for h in held if _same_license(row, h.tenant_id, h.operation().row.sku_id)]
        for reason, count in {r: reasons.count(r) for r in reasons}.items():
            title = HELD_TITLE if count == 1 else f"{count} changes waiting for approval"
            said.append(RowFinding(title=title, advice="Approve or reject it under Approvals.",
                                   message=reason, action=FindingAction.APPROVALS))
        out.append(replace(row, findings=tuple(dict.fromkeys(said))) if said else row)
    return out


def _same_license(row: LicenseRow, tenant_id: str, sku_id: str) -> bool:
    return tenant_id == row.target.tenant_id and sku_id.lower() == row.license.sku_id.lower()
