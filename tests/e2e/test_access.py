"""Microsoft access end to end on each PSA: consent revoked and granted again, and GDAP that ended.

The tenant (Business Premium 10 seats and Exchange 4, mapped) is synced on
1 January. Its admin then removes seatsync's app: the next sync fails for
that tenant, records "consent missing", and the notices say so. The
"Grant consent" link is opened on the Microsoft sandbox's admin-consent page
(standing in for Microsoft's) and accepted there; the page sends the browser
back with the tenant and the state. Checked again, the tenant is consented,
the next sync succeeds and the notice is gone. Separately, a GDAP
relationship that expired is named as such, in the notices and the digest.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from html import unescape
from urllib.parse import urlsplit

import requests

from app.models.records import ConsentStatus
from app.services.connections.access import CONSENT_REDIRECT, AccessService
from app.services.microsoft.consent import read_consent_answer
from app.services.microsoft.permissions import PARTNER_GRAPH_PERMISSIONS
from app.services.notify.delivery import digest_text
from app.services.notify.notices import NoticeKind
from tests.e2e.conftest import MID, Tenant


def access(tenant: Tenant) -> AccessService:
    """The access service on the world's day (GDAP's end dates are the sandbox's)."""
    return AccessService(tenant.context.uow, tenant.context.microsoft,
                         now=lambda: datetime.combine(tenant.clock(), time(12), UTC))


def stored(tenant: Tenant):
    return next(t for t in tenant.context.uow.tenants.all() if t.tenant_id == tenant.tenant_id)


def notices(tenant: Tenant, kind: NoticeKind) -> list[str]:
    return [n.title for n in tenant.context.notifications.compute(today=tenant.clock()) if n.kind is kind]


def accept_in_browser(tenant: Tenant, link: str) -> str:
    """What the customer's admin does in the browser: open the link, accept; where Microsoft sends them."""
    with requests.Session() as browser:
        browser.verify, browser.trust_env = tenant.world.tls.ca, False  # the sandbox CA, whatever the environment says
        page = browser.get(link, allow_redirects=False, timeout=10)
        assert page.status_code == 200 and "Accept" in page.text
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
        answer = browser.post(link.split("?")[0], data={**{k: unescape(v) for k, v in fields.items()},
                                                        "decision": "accept"}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    return answer.headers["Location"]


def test_consent_revoked_is_named_with_its_link_and_granting_it_clears_the_notice(synced: Tenant):
    scenario, tenant_id = synced.scenario, synced.tenant_id
    assert stored(synced).consent_status is ConsentStatus.GRANTED  # recorded by the first sync
    scenario.revoke_consent(tenant_id)
    synced.context.microsoft.forget()  # tokens held from before would still be honoured for their hour
    synced.move_to(MID)
    failed = synced.sync()
    assert [r.tenant_id for r in failed.failed] == [tenant_id]
    assert stored(synced).consent_status is ConsentStatus.MISSING
    assert notices(synced, NoticeKind.ACCESS_FAILED) == [f"{stored(synced).name}: Microsoft access missing"]
    [row] = [r for r in access(synced).tenants() if r.tenant_id == tenant_id]
    assert row.consent == "Consent missing" and row.needs_consent and "Grant consent" in row.problem

    link = access(synced).consent_link(tenant_id)
    parts = urlsplit(link)
    assert parts.path == f"/{tenant_id}/adminconsent" and "client_id=" in parts.query
    back = accept_in_browser(synced, link)
    assert back.startswith(CONSENT_REDIRECT)
    state = dict(p.split("=", 1) for p in parts.query.split("&"))["state"]
    assert read_consent_answer(back, state).tenant_id == tenant_id

    checked = access(synced).check([tenant_id])  # the person is back in the window
    assert [(r.tenant_id, r.consent) for r in checked.tenants] == [(tenant_id, "Consented")]
    assert checked.words().startswith("Checked 1 tenant(s). Each one is consented.")

    scenario.leave_out_role("User.Read.All", tenant_id)  # consented before a permission was added to the app
    lacks = access(synced).check([tenant_id])
    assert lacks.lacking == {tenant_id: ("User.Read.All",)} and stored(synced).consent_status is ConsentStatus.MISSING
    assert f"{stored(synced).name}'s consent lacks User.Read.All: have its admin consent again." in lacks.words()
    accept_in_browser(synced, access(synced).consent_link(tenant_id))  # consenting again grants it
    summary = synced.sync()
    assert not summary.failed and stored(synced).consent_status is ConsentStatus.GRANTED
    assert notices(synced, NoticeKind.ACCESS_FAILED) == []


def test_an_expired_gdap_relationship_is_named_as_such_in_the_notices_and_the_digest(synced: Tenant):
    scenario, tenant_id = synced.scenario, synced.tenant_id
    service = access(synced)
    assert "GDAP was not checked" in service.check_gdap()  # the partner's app may not read relationships yet
    assert stored(synced).gdap_state == ""

    scenario.add_role(*PARTNER_GRAPH_PERMISSIONS)
    synced.context.microsoft.forget()
    assert service.check_gdap() == ""
    assert stored(synced).gdap_state == "FINE" and notices(synced, NoticeKind.GDAP) == []

    scenario.expire_gdap(tenant_id)
    assert service.check_gdap() == ""
    assert stored(synced).gdap_state == "ENDED" and "expired or been terminated" in stored(synced).gdap_detail
    name = stored(synced).name
    assert notices(synced, NoticeKind.GDAP) == [f"{name}: GDAP relationship expired or terminated"]
    [row] = [r for r in service.tenants() if r.tenant_id == tenant_id]
    assert row.gdap == "Expired or terminated" and "Partner Center" in row.problem

    renewed = scenario.renew_gdap(tenant_id, days=20)
    assert renewed.end is not None
    service.check_gdap()
    ending = f"{name}: GDAP relationship ending: access until {renewed.end:%d %b %Y}"
    assert notices(synced, NoticeKind.GDAP) == [ending]
    digest = digest_text(synced.context.notifications.compute(today=synced.clock()))
    assert "GDAP relationships ended, ending within 30 days, or short of roles (1)" in digest and ending in digest
