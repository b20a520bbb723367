"""Contact sync end to end on each PSA (docs/contacts.md).

The tenant's licensed users become the company's PSA contacts once a person
has previewed and enabled it: a sync bills, then creates the contacts; a
change in Microsoft 365 (a new title, a new surname) is written, a blank
there never blanks the PSA; a disabled or deleted user's contact is made
inactive and made active again when the user returns; a sync with nothing
new writes nothing. A create whose answer is lost is settled by reading the
contacts back: no contact is ever made twice. What the PSA holds is read
from its sandbox.
"""

from __future__ import annotations

from collections import Counter

import pytest

from app.sandbox.microsoft.model import SandboxUser
from app.sandbox.server import Fault
from app.services.contacts.plan import Options
from app.services.contacts.service import ContactSyncRefused
from tests.e2e.conftest import Tenant

#: The contact create request of each PSA (Halo's users are created and updated by one POST).
CREATE = {"connectwise": r"/company/contacts$", "autotask": r"/Companies/\d+/Contacts$", "halopsa": r"/api/Users$"}
#: The request reading a company's contacts on each PSA (Autotask queries by POST).
LIST = {"connectwise": ("GET", r"/company/contacts$"), "autotask": ("POST", r"/Contacts/query$"),
        "halopsa": ("GET", r"/api/Users$")}
LICENSED = Options(licensed_only=True)


def company(tenant: Tenant) -> tuple[int, str]:
    link = tenant.context.uow.tenants.links_of_tenant(tenant.tenant_id)[0]
    return link.company_id, link.company_psa_id


def people(tenant: Tenant) -> list[SandboxUser]:
    """The tenant's users the options select: enabled, licensed members."""
    return [u for u in tenant.scenario.tenant(tenant.tenant_id).users
            if u.enabled and u.sku_ids and u.user_type == "Member"]


def held(tenant: Tenant) -> dict[str, dict[str, object]]:
    """The company's contacts as the PSA sandbox holds them, by e-mail (case folded)."""
    return {str(c["email"]).casefold(): c for c in tenant.world.psa_side.contacts(company(tenant)[1])}


def read(tenant: Tenant, user: SandboxUser):
    """The user's contact through the adapter (title, phone and mobile, which the sandbox's summary lacks)."""
    return next(c for c in tenant.psa().list_contacts(company(tenant)[1]) if c.has_email(user.upn))


def enable(tenant: Tenant) -> None:
    contacts = tenant.context.contacts
    company_id, _ = company(tenant)
    with pytest.raises(ContactSyncRefused, match="preview"):
        contacts.save_settings(company_id, enabled=True, options=LICENSED, actor="amy")
    preview = contacts.preview(company_id, LICENSED)
    assert [op.kind.value for op in preview.ops] == ["create"] * len(people(tenant))
    assert preview.users == len(people(tenant)) and not preview.notes
    contacts.save_settings(company_id, enabled=True, options=LICENSED, actor="amy")


def test_contacts_follow_the_users_and_a_second_sync_writes_nothing(tenant: Tenant):
    scenario = tenant.scenario
    before = {k: v["id"] for k, v in held(tenant).items()}  # ConnectWise's agreement contact, seatsync's never
    ann, bob, cat, dan = people(tenant)[:4]
    with scenario.lock:
        ann.business_phone, ann.mobile_phone, ann.job_title = "+1 555 0100", "+1 555 0199", "Office manager"
        bob.job_title = "Accountant"
    enable(tenant)

    first = tenant.sync()
    assert not first.failed and first.contacts and "created" in first.contacts[0], first.contacts
    contacts = held(tenant)
    assert {u.upn.casefold() for u in people(tenant)} | set(before) == set(contacts)
    assert Counter(str(c["email"]).casefold() for c in contacts.values()).most_common(1)[0][1] == 1
    made = read(tenant, ann)
    assert (made.first_name, made.last_name, made.title, made.phone, made.mobile) == (
        ann.given_name, ann.surname, "Office manager", "+1 555 0100", "+1 555 0199")
    history = [e for e in tenant.context.uow.audit.query(company=company(tenant)[1]) if e.action == "contact_create"]
    assert len(history) == len(people(tenant)) and {e.actor for e in history} == {"e2e"}

    writes = tenant.writes()
    again = tenant.sync()
    assert again.contacts == () and tenant.writes() == writes

    with scenario.lock:
        ann.job_title, ann.surname = "Finance director", "Marsh"
        bob.job_title = ""  # blank in Microsoft: the PSA keeps its title
    assert "updated" in tenant.sync().contacts[0]
    assert (read(tenant, ann).title, read(tenant, ann).last_name) == ("Finance director", "Marsh")
    assert read(tenant, bob).title == "Accountant"

    with scenario.lock:
        cat.enabled = False
        scenario.tenant(tenant.tenant_id).users.remove(dan)
    assert "inactivated" in tenant.sync().contacts[0]
    contacts = held(tenant)
    assert (contacts[cat.upn.casefold()]["active"], contacts[dan.upn.casefold()]["active"]) == (False, False)
    assert all(contacts[email]["active"] for email in before)  # a contact it never matched stays as it was

    with scenario.lock:
        cat.enabled = True
    assert "reactivated" in tenant.sync().contacts[0]
    assert held(tenant)[cat.upn.casefold()]["active"] is True
    company_id, _ = company(tenant)
    assert tenant.context.contacts.settings(company_id).last_result == "contacts: 1 reactivated"
    writes = tenant.writes()
    assert tenant.sync().contacts == () and tenant.writes() == writes
    assert tenant.context.contacts.settings(company_id).last_result == "contacts: none written"


def test_a_create_whose_answer_is_lost_is_settled_without_a_duplicate(tenant: Tenant):
    enable(tenant)
    tenant.world.psa_server.chaos.inject(Fault("drop_after", method="POST", path=CREATE[tenant.kind], skip=1))
    first = tenant.sync()
    assert not first.failed, [r.error for r in first.results]  # billing is not failed by contacts
    assert "not confirmed" in first.contacts[0], first.contacts

    second = tenant.sync()
    assert not second.failed and "created" in second.contacts[0], second.contacts
    emails = Counter(str(c["email"]).casefold() for c in tenant.world.psa_side.contacts(company(tenant)[1]))
    assert {u.upn.casefold() for u in people(tenant)} <= set(emails)
    assert max(emails.values()) == 1, emails
    company_id, _ = company(tenant)
    states = Counter(w.state for w in tenant.context.uow.contact_sync.writes(company_id))
    assert states == {"done": len(people(tenant))}
    writes = tenant.writes()
    assert tenant.sync().contacts == () and tenant.writes() == writes


def test_one_company_failing_its_contacts_fails_neither_billing_nor_its_run(tenant: Tenant):
    enable(tenant)
    method, path = LIST[tenant.kind]
    tenant.world.psa_server.chaos.inject(Fault("status", method=method, path=path, status=403, times=20))
    summary = tenant.sync()
    assert not summary.failed and summary.writes == 2  # billed
    assert summary.contacts and "contact sync failed" in summary.contacts[0], summary.contacts
    company_id, _ = company(tenant)
    assert tenant.context.contacts.settings(company_id).last_result.startswith("contact sync failed")
