"""Each customer tenant's access for seatsync at Microsoft: consent, GDAP, and the link to grant consent.

A tenant's consent is what a token request in it answers (granted; or
consent missing, AADSTS700016), with the Graph permissions its token
carries checked against those license sync needs; its GDAP standing is what
the partner's relationships say of it (app/services/microsoft/gdap.py),
read once for all tenants from the partner's own tenant. ``check`` records
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from app.errors import ConfigurationError
from app.models.records import ConsentStatus, TenantAccessCheck, TenantRecord
from app.services.microsoft.config import GRAPH_SCOPE
from app.services.microsoft.consent import admin_consent_url
from app.services.microsoft.errors import ConsentMissing, MicrosoftError, PermissionsMissing
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

    def words(self) -> str:
        """What the check found, in a sentence or two."""
        names = {t.tenant_id: t.tenant.name for t in self.tenants}
        missing = [t.tenant.name for t in self.tenants if t.needs_consent and t.tenant_id not in self.lacking]
        parts = [f"Checked {len(self.tenants)} tenant(s)."]
        if missing:
            parts.append(f"Without consent: {', '.join(missing)}.")
        parts += [f"{names.get(t, t)}'s consent lacks {', '.join(p)}: have its admin consent again."
                  for t, p in self.lacking.items()]
        if not missing and not self.lacking:
            parts.append("Each one is consented.")
        if self.gdap_unread:
            parts.append(self.gdap_unread)
        return " ".join(parts)


CONSENT_WORDS = {ConsentStatus.GRANTED: "Consented", ConsentStatus.MISSING: "Consent missing",
                 ConsentStatus.REVOKED: "Consent revoked", ConsentStatus.EXPIRED: "No access (GDAP)",
                 ConsentStatus.UNKNOWN: "Not checked yet"}
GDAP_WORDS = {state.name: state.value.capitalize() for state in GdapState}


def access_of(tenant: TenantRecord) -> TenantAccess:
    """A tenant's access in words, from what is stored."""
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
    return TenantAccess(tenant=tenant, consent=CONSENT_WORDS[tenant.consent_status], gdap=gdap, problem=problem)


class AccessService:
    def __init__(self, uow: UnitOfWork, microsoft: MicrosoftProvider,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.uow = uow
        self.microsoft = microsoft
        self.now = now

    def tenants(self) -> list[TenantAccess]:
        with connected():
            return [access_of(t) for t in sorted(self.uow.tenants.all(), key=lambda t: t.name.casefold())]

    @staticmethod
    def permissions() -> tuple[Need, ...]:
        """Exactly what seatsync asks of Microsoft, and why (the page lists it beside the tenants)."""
        return NEEDED

    def consent_link(self, tenant_id: str) -> str:
        """The admin-consent page of seatsync's app for the tenant, to open in the browser."""
        with connected():
            records = self.uow.microsoft_connections.all()
        if not records:
            raise ConfigurationError("no Microsoft partner connection: add it in Settings")
        record = records[0]
        host = urlsplit(record.authority_url).netloc or "login.microsoftonline.com"
        return admin_consent_url(tenant_id, record.client_id, CONSENT_REDIRECT, secrets.token_urlsafe(16),
                                 authority_host=host)

    def check(self, tenant_ids: Iterable[str] | None = None) -> AccessChecked:
        """Ask Microsoft, for each tenant (every one when None), whether seatsync's app may read it, and read
        GDAP once; record both (network: for a worker thread)."""
        with connected():
            known = {t.tenant_id: t for t in self.uow.tenants.all()}
        wanted = list(known) if tenant_ids is None else [t for t in tenant_ids if t in known]
        tokens = self.microsoft.clients().tokens
        checked: dict[str, TenantAccessCheck] = {}
        lacking: dict[str, tuple[str, ...]] = {}
        for tenant_id in wanted:
            tokens.invalidate(tenant_id, GRAPH_SCOPE)  # a cached token would answer for the consent of before
            try:
                token = tokens.token(tenant_id, GRAPH_SCOPE)
                missing = missing_permissions(token, GRAPH_PERMISSIONS, tenant_id)
                consent = ConsentStatus.MISSING if missing else ConsentStatus.GRANTED
                if missing:
                    lacking[tenant_id] = missing
            except ConsentMissing:
                consent = ConsentStatus.MISSING
            except MicrosoftError:
                continue  # an outage says nothing of consent: the tenant keeps what it had
            checked[tenant_id] = TenantAccessCheck(consent=consent)
        gdap, unread = self._gdap(wanted)
        for tenant_id, found in gdap.items():
            before = checked.get(tenant_id, TenantAccessCheck())
            checked[tenant_id] = TenantAccessCheck(consent=before.consent, gdap_state=found.gdap_state,
                                                   gdap_ends=found.gdap_ends, gdap_detail=found.gdap_detail)
        with self.uow:
            self.uow.tenants.set_access(checked, self.now())
            stored = {t.tenant_id: t for t in self.uow.tenants.all()}
        return AccessChecked(tenants=tuple(access_of(stored[t]) for t in wanted if t in stored), gdap_unread=unread,
                             lacking=lacking)

    def check_gdap(self) -> str:
        """Read GDAP for every tenant and record it; why it could not be read ("" when it was)."""
        with connected():
            tenant_ids = [t.tenant_id for t in self.uow.tenants.all()]
        found, unread = self._gdap(tenant_ids)
        if found:
            with self.uow:
                self.uow.tenants.set_access(found, self.now())
        return unread

    def _gdap(self, tenant_ids: list[str]) -> tuple[dict[str, TenantAccessCheck], str]:
        clients = self.microsoft.clients()
        try:
            found = relationships(clients.graph, clients.settings.partner_tenant_id)
        except PermissionsMissing as error:
            return {}, f"GDAP was not checked: {error.detail.strip('()') or error}"
        except MicrosoftError as error:
            return {}, f"GDAP was not checked: {error}"
        now = self.now()
        out = {}
        for tenant_id in tenant_ids:
            status = gdap_status(found, tenant_id, now, within_days=GDAP_WARNING_DAYS)
            end = status.relationship.end if status.relationship else None
            ends = (end - _INSTANT).date() if end else None  # endDateTime is the moment access stops: its last day
            out[tenant_id] = TenantAccessCheck(gdap_state=status.state.name, gdap_ends=ends,
                                               gdap_detail=status.message)
        return out, ""
