"""Each customer tenant's access for seatsync at Microsoft: consent, GDAP, and the link to grant consent.

A tenant's consent is what a token request in it answers (granted; or
consent missing, AADSTS700016), with the Graph permissions its token
carries checked against those license sync needs; its GDAP standing is what
the partner's relationships say of it (app/services/microsoft/gdap.py),
read once per partner connection from the partner's own tenant (each
tenant is read through the partner connection it belongs to). ``check`` records
both per tenant; every sync records consent as its reads find it
(SyncService), and the check after each sync (app/services/notify/
after_sync.py) records GDAP. A GDAP read the app may not make
(DelegatedAdminRelationship.Read.All not granted in the partner tenant)
changes nothing and says so.

"Grant consent" opens Microsoft's admin-consent page for the tenant
(``consent_link``, the v1 form: it grants every application permission on
the app registration); after the customer's admin accepts, Microsoft sends
the browser to ``CONSENT_REDIRECT``, which must be registered on the app
(docs/permissions.md). seatsync does not serve that address: it checks the
tenant again when the person comes back to the window.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from app.errors import ConfigurationError, SeatsyncError
from app.models.records import ConsentStatus, TenantAccessCheck, TenantRecord, read_through
from app.services.microsoft.config import GRAPH_SCOPE
from app.services.microsoft.consent import admin_consent_url
from app.services.microsoft.errors import ConsentMissing, PermissionsMissing
from app.services.microsoft.gdap import GdapState, gdap_status, relationships
from app.services.microsoft.permissions import GRAPH_PERMISSIONS, NEEDED, Need, missing_permissions
from app.services.providers import MicrosoftProvider
from app.services.uow import UnitOfWork, connected

#: Where Microsoft sends the admin after consent: register it on the app as a Web redirect URI.
CONSENT_REDIRECT = "https://localhost/seatsync/consent"
#: A GDAP relationship ending within this many days is named in the notices and the digest.
GDAP_WARNING_DAYS = 30
_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True, kw_only=True)
class TenantAccess:
    """A tenant's access as seatsync last found it, in words."""

    tenant: TenantRecord
    consent: str  # "Consented", "Consent missing", ...
    gdap: str  # "Fine until 3 Mar 2027", "Expired or terminated", "Not checked", ...
    problem: str = ""  # what a person must do ("" when nothing)
    partner: str = ""  # the partner connection it is read through

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    @property
    def needs_consent(self) -> bool:
        return self.tenant.consent_status in (ConsentStatus.MISSING, ConsentStatus.REVOKED, ConsentStatus.UNKNOWN)


@dataclass(frozen=True, kw_only=True)
class AccessChecked:
    tenants: tuple[TenantAccess, ...]
    #: Why GDAP was not read ("" when it was): e.g. the partner tenant's app lacks its permission.
    gdap_unread: str = ""
    #: By tenant id, the license permissions its token lacks (its admin consented before they were added).
    lacking: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: By tenant id, why Microsoft could not be asked (an outage, its partner connection's secret): it keeps
    #: the consent it had.
    unchecked: dict[str, str] = field(default_factory=dict)

    def words(self) -> str:
        """What the check found, in a sentence or two."""
        names = {t.tenant_id: t.tenant.name for t in self.tenants}
        checked = [t for t in self.tenants if t.tenant_id not in self.unchecked]
        missing = [t.tenant.name for t in checked if t.needs_consent and t.tenant_id not in self.lacking]
        parts = [f"Checked {len(checked)} tenant(s)."]
        if missing:
            parts.append(f"Without consent: {', '.join(missing)}.")
        parts += [f"{names.get(t, t)}'s consent lacks {', '.join(p)}: have its admin consent again."
                  for t, p in self.lacking.items()]
        if checked and not missing and not self.lacking:
            parts.append("Each one is consented.")
        parts += [f"Not checked: {names.get(t, t)} ({why})." for t, why in self.unchecked.items()]
        if self.gdap_unread:
            parts.append(self.gdap_unread)
        return " ".join(parts)


@dataclass(frozen=True, kw_only=True)
class Moved:
    """Tenants moved to another partner connection, and their access checked through it."""

    partner: str  # the partner connection's name
    tenants: int  # how many moved (those already read through it are not counted)
    checked: AccessChecked | None = None

    def words(self) -> str:
        if self.checked is None:
            return f"Each of them is read through partner connection '{self.partner}' already."
        return (f"{self.tenants} tenant(s) are read through partner connection '{self.partner}' from now on. "
                + self.checked.words())


CONSENT_WORDS = {ConsentStatus.GRANTED: "Consented", ConsentStatus.MISSING: "Consent missing",
                 ConsentStatus.REVOKED: "Consent revoked", ConsentStatus.EXPIRED: "No access (GDAP)",
                 ConsentStatus.UNKNOWN: "Not checked yet"}
GDAP_WORDS = {state.name: state.value.capitalize() for state in GdapState}


def access_of(tenant: TenantRecord, partner: str = "") -> TenantAccess:
    """A tenant's access in words, from what is stored; ``partner``: its partner connection's name."""
    gdap = GDAP_WORDS.get(tenant.gdap_state, "Not checked") if tenant.gdap_state else "Not checked"
    if tenant.gdap_state == GdapState.FINE.name and tenant.gdap_ends:
        gdap = f"Fine until {tenant.gdap_ends:%d %b %Y}"
    problem = ""
    if tenant.consent_status in (ConsentStatus.MISSING, ConsentStatus.REVOKED):
        problem = "Have the customer's admin grant consent (Grant consent), then check again."
    elif tenant.consent_status is ConsentStatus.EXPIRED:
        problem = "seatsync's access through GDAP or the reseller relationship is gone: renew it in Partner Center."
    if tenant.gdap_state in (GdapState.ENDED.name, GdapState.ENDING.name, GdapState.ROLES_INSUFFICIENT.name):
        problem = " ".join(p for p in (problem, tenant.gdap_detail) if p)
    return TenantAccess(tenant=tenant, consent=CONSENT_WORDS[tenant.consent_status], gdap=gdap, problem=problem,
                        partner=partner)


class AccessService:
    def __init__(self, uow: UnitOfWork, microsoft: MicrosoftProvider,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.uow = uow
        self.microsoft = microsoft
        self.now = now

    def tenants(self) -> list[TenantAccess]:
        with connected():
            return self._described(sorted(self.uow.tenants.all(), key=lambda t: t.name.casefold()))

    def _described(self, tenants: Iterable[TenantRecord]) -> list[TenantAccess]:
        """Each tenant's access in words, with the name of the partner connection it is read through."""
        records = self.uow.microsoft_connections.all()
        names: dict[int | None, str] = {r.id: r.name for r in records}
        return [access_of(t, names.get(read_through(records, t.partner_id), "")) for t in tenants]

    def partners(self) -> list[tuple[int, str]]:
        """The partner connections a tenant can be read through: (id, name), by name."""
        with connected():
            return sorted(((r.id, r.name) for r in self.uow.microsoft_connections.all()),
                          key=lambda p: (p[1].casefold(), p[0]))

    @staticmethod
    def permissions() -> tuple[Need, ...]:
        """Exactly what seatsync asks of Microsoft, and why (the page lists it beside the tenants)."""
        return NEEDED

    def consent_link(self, tenant_id: str) -> str:
        """The admin-consent page, for the tenant, of the app of the partner connection it is read through (to
        open in the browser)."""
        with connected():
            tenant = self.uow.tenants.find(tenant_id)
        record = self.microsoft.partner_of(tenant.partner_id if tenant is not None else None)
        host = urlsplit(record.authority_url).netloc or "login.microsoftonline.com"
        return admin_consent_url(tenant_id, record.client_id, CONSENT_REDIRECT, secrets.token_urlsafe(16),
                                 authority_host=host)

    def check(self, tenant_ids: Iterable[str] | None = None) -> AccessChecked:
        """Ask Microsoft, for each tenant (every one when None), whether its partner's app may read it, and read
        GDAP once per partner; record both (network: for a worker thread)."""
        with connected():
            known = {t.tenant_id: t for t in self.uow.tenants.all()}
            if not self.uow.microsoft_connections.all():
                raise ConfigurationError("no Microsoft partner connection: add it in Settings")
        wanted = [known[t] for t in (list(known) if tenant_ids is None else tenant_ids) if t in known]
        checked: dict[str, TenantAccessCheck] = {}
        lacking: dict[str, tuple[str, ...]] = {}
        unchecked: dict[str, str] = {}
        for tenant in wanted:
            try:
                tokens = self.microsoft.clients(tenant.partner_id).tokens
                tokens.invalidate(tenant.tenant_id, GRAPH_SCOPE)  # a cached token answers for the consent of before
                token = tokens.token(tenant.tenant_id, GRAPH_SCOPE)
                missing = missing_permissions(token, GRAPH_PERMISSIONS, tenant.tenant_id)
                consent = ConsentStatus.MISSING if missing else ConsentStatus.GRANTED
                if missing:
                    lacking[tenant.tenant_id] = missing
            except ConsentMissing:
                consent = ConsentStatus.MISSING
            except SeatsyncError as error:  # an outage, or its partner's app refused, says nothing of consent
                unchecked[tenant.tenant_id] = str(error)
                continue
            checked[tenant.tenant_id] = TenantAccessCheck(consent=consent)
        gdap, unread = self._gdap(wanted)
        for tenant_id, found in gdap.items():
            before = checked.get(tenant_id, TenantAccessCheck())
            checked[tenant_id] = TenantAccessCheck(consent=before.consent, gdap_state=found.gdap_state,
                                                   gdap_ends=found.gdap_ends, gdap_detail=found.gdap_detail)
        with self.uow:
            self.uow.tenants.set_access(checked, self.now())
            stored = {t.tenant_id: t for t in self.uow.tenants.all()}
            described = self._described(stored[t.tenant_id] for t in wanted if t.tenant_id in stored)
        return AccessChecked(tenants=tuple(described), gdap_unread=unread, lacking=lacking, unchecked=unchecked)

    def move(self, tenant_ids: Sequence[str], partner_id: int, *, actor: str = "") -> Moved:
        """Read the tenants through partner connection ``partner_id`` from now on (the partner account that
        serves them now, or the right one of two that list them), then check their access through its app at
        once: consent and GDAP belong to a partner's app, not to the tenant (network: for a worker thread)."""
        with self.uow:
            moved = self.uow.tenants.move(tenant_ids, partner_id, actor=actor)
            partner = next(r.name for r in self.uow.microsoft_connections.all() if r.id == partner_id)
        return Moved(partner=partner, tenants=len(moved), checked=self.check(moved) if moved else None)

    def check_gdap(self) -> str:
        """Read GDAP for every tenant and record it; why it could not be read ("" when it was)."""
        with connected():
            tenants = self.uow.tenants.all()
        found, unread = self._gdap(tenants)
        if found:
            with self.uow:
                self.uow.tenants.set_access(found, self.now())
        return unread

    def _gdap(self, tenants: list[TenantRecord]) -> tuple[dict[str, TenantAccessCheck], str]:
        """Each tenant's GDAP standing, from its partner's relationships (one read per partner connection); and
        why a partner's could not be read."""
        by_partner: dict[int | None, list[str]] = {}
        for tenant in tenants:
            by_partner.setdefault(tenant.partner_id, []).append(tenant.tenant_id)
        now = self.now()
        out: dict[str, TenantAccessCheck] = {}
        unread: list[str] = []
        for partner_id, tenant_ids in by_partner.items():
            try:
                record = self.microsoft.partner_of(partner_id)
                clients = self.microsoft.clients(record.id)
                found = relationships(clients.graph, clients.settings.partner_tenant_id)
            except PermissionsMissing as error:
                unread.append(self._unread(partner_id, error.detail.strip("()") or str(error)))
                continue
            except SeatsyncError as error:
                unread.append(self._unread(partner_id, str(error)))
                continue
            for tenant_id in tenant_ids:
                status = gdap_status(found, tenant_id, now, within_days=GDAP_WARNING_DAYS)
                end = status.relationship.end if status.relationship else None
                ends = (end - _INSTANT).date() if end else None  # endDateTime: the moment access stops
                out[tenant_id] = TenantAccessCheck(gdap_state=status.state.name, gdap_ends=ends,
                                                   gdap_detail=status.message)
        return out, " ".join(unread)

    def _unread(self, partner_id: int | None, why: str) -> str:
        """Why GDAP was not checked, naming the partner connection when there are several."""
        records = self.microsoft.connections.all()
        name = next((r.name for r in records if r.id == partner_id), "")
        return (f"GDAP was not checked for partner connection '{name}': {why}" if len(records) > 1 and name
                else f"GDAP was not checked: {why}")
