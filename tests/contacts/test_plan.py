"""The contact planner's rules, one table row each, and its properties over random worlds."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.billing.types import FilterField, User, UserFilter
from app.services.contacts.plan import Kind, Known, Options, Person, plan_contacts
from app.services.psa.port import CONTACT_FIELDS, PsaContact, contact_changed

CO = "C1"
T = "tenant-1"


def person(uid: str = "u1", upn: str = "ann@a.com", *, enabled: bool = True, member: bool = True,
           licensed: bool = True, office: str = "", tenant: str = T, **kw) -> Person:
    user = User(id=uid, upn=upn, display_name=uid, enabled=enabled, member=member, office=office,
                sku_ids=frozenset({"sku"}) if licensed else frozenset())
    kw.setdefault("first_name", "Ann")
    kw.setdefault("last_name", "Lee")
    return Person(user=user, tenant_id=tenant, **kw)


def contact(cid: str = "k1", email: str = "ann@a.com", **kw) -> PsaContact:
    kw.setdefault("first_name", "Ann")
    kw.setdefault("last_name", "Lee")
    return PsaContact(id=cid, company_id=CO, email=email, **kw)


def plan(people, contacts=(), known=(), options=None, fields=CONTACT_FIELDS, filt=None):
    return plan_contacts(company_id=CO, people=[(p, filt) for p in people], read_tenants=[T], contacts=list(contacts),
                         known=list(known), options=options or Options(), fields=fields)


def summary(result) -> list[tuple[str, str, dict[str, str]]]:
    out = []
    for op in result.ops:
        given = op.new.given() if op.new else op.change.given() if op.change else {}
        out.append((op.kind.value, op.contact.id if op.contact else "", given))
    return out


NEW = {"first_name": "Ann", "last_name": "Lee", "email": "ann@a.com"}

CASES = [
    # (name, people, contacts, known, options, expected)
    ("a user without a contact gets one", [person()], [], [], Options(), [("create", "", NEW)]),
    ("the new contact takes mail over the UPN", [person(mail="ann.lee@a.com")], [], [], Options(),
     [("create", "", {**NEW, "email": "ann.lee@a.com"})]),
    ("title, phone and mobile go with a new contact", [person(title="CEO", phone="+1 555 0100", mobile="")], [], [],
     Options(), [("create", "", {**NEW, "title": "CEO", "phone": "+1 555 0100"})]),
    ("a disabled user gets none", [person(enabled=False)], [], [], Options(), []),
    ("a guest gets none", [person(member=False)], [], [], Options(), []),
    ("only licensed: an unlicensed user gets none", [person(licensed=False)], [], [], Options(licensed_only=True), []),
    ("unlicensed users are synced by default", [person(licensed=False)], [], [], Options(), [("create", "", NEW)]),
    ("a shared mailbox's account gets none", [person(mailbox="shared")], [], [], Options(exclude_shared=True), []),
    ("a room mailbox's account gets none", [person(mailbox="room")], [], [], Options(exclude_shared=True), []),
    ("a user mailbox's account is a person", [person(mailbox="user")], [], [], Options(exclude_shared=True),
     [("create", "", NEW)]),
    ("shared mailboxes are kept by default", [person(mailbox="shared")], [], [], Options(), [("create", "", NEW)]),
    ("another domain is left out", [person(upn="ann@b.com")], [], [], Options(domains=("a.com",)), []),
    ("a domain matches the mail too", [person(upn="ann@b.onmicrosoft.com", mail="ann@a.com")], [], [],
     Options(domains=("@A.com",)), [("create", "", NEW)]),
    ("a user without names gets no contact", [person(first_name="", last_name="Lee")], [], [], Options(), []),
    ("a matching contact with the same fields: nothing", [person()], [contact()], [], Options(), []),
    ("matched by UPN, case ignored", [person(upn="ANN@A.com")], [contact()], [], Options(), []),
    ("matched by an SMTP proxy address against another e-mail",
     [person(upn="x@a.onmicrosoft.com", proxy_addresses=("SMTP:x@a.com", "smtp:ann.alias@a.com", "X500:ann@a.com"))],
     [contact(email="other@z.com", other_emails=("Ann.Alias@a.com",))], [], Options(), []),
    ("a non-SMTP proxy address matches nothing", [person(upn="x@a.com", proxy_addresses=("sip:ann@a.com",))],
     [contact()], [], Options(), [("create", "", {**NEW, "email": "x@a.com"})]),
    ("a changed name and title are written", [person(first_name="Anne", title="CFO")], [contact(title="CEO")], [],
     Options(), [("update", "k1", {"first_name": "Anne", "title": "CFO"})]),
    ("a blank in Microsoft never blanks the PSA", [person(title="", phone="")], [contact(title="CEO", phone="1")], [],
     Options(), []),
    ("phones compare by digits", [person(phone="+1 (555) 010-0100")], [contact(phone="15550100100")], [], Options(),
     []),
    ("a different phone is written", [person(mobile="+1 555 0199")], [contact(mobile="+1 555 0100")], [], Options(),
     [("update", "k1", {"mobile": "+1 555 0199"})]),
    ("fields the PSA does not hold are not written", [person(mobile="+1 555 0199")], [contact()], [], Options(),
     []),  # run with fields without mobile below
    ("an inactive contact of a synced user is reactivated", [person()], [contact(active=False)], [], Options(),
     [("reactivate", "k1", {})]),
    ("a known user disabled: its contact is inactivated", [person(enabled=False)], [contact()],
     [Known(user_id="u1", tenant_id=T, contact_id="k1")], Options(), [("inactivate", "k1", {})]),
    ("a known user deleted: its contact is inactivated", [], [contact()],
     [Known(user_id="u1", tenant_id=T, contact_id="k1")], Options(), [("inactivate", "k1", {})]),
    ("an unknown contact of a disabled user is left alone", [person(enabled=False)], [contact()], [], Options(), []),
    ("a known contact already inactive: nothing", [], [contact(active=False)],
     [Known(user_id="u1", tenant_id=T, contact_id="k1")], Options(), []),
    ("a known user of a tenant not read: nothing", [], [contact()],
     [Known(user_id="u1", tenant_id="other", contact_id="k1")], Options(), []),
    ("a user out of the options is not inactivated", [person(licensed=False)], [contact()],
     [Known(user_id="u1", tenant_id=T, contact_id="k1")], Options(licensed_only=True), []),
    ("the known contact wins over an e-mail match", [person()], [contact("k2"), contact("k1", email="old@a.com")],
     [Known(user_id="u1", tenant_id=T, contact_id="k1")], Options(), []),
    ("two users, one contact: the second is left alone",
     [person("u1", "ann@a.com"), person("u2", "boss@a.com", proxy_addresses=("smtp:ann@a.com",))],
     [contact()], [], Options(), []),
    ("of two matching contacts the own main address wins",
     [person(first_name="Anne")], [contact("k1", email="x@z.com", other_emails=("ann@a.com",)), contact("k2")], [],
     Options(), [("update", "k2", {"first_name": "Anne"})]),
]


@pytest.mark.parametrize(("name", "people", "contacts", "known", "options", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_rule(name, people, contacts, known, options, expected):
    fields = CONTACT_FIELDS - {"mobile"} if name.startswith("fields the PSA") else CONTACT_FIELDS
    assert summary(plan(people, contacts, known, options, fields)) == expected


def test_the_link_filter_selects_users():
    chosen = plan([person("u1", office="Leeds"), person("u2", "bob@a.com", office="York")],
                  filt=UserFilter(field=FilterField.OFFICE, value="york"))
    assert [op.user_id for op in chosen.ops] == ["u2"]


def test_notes_say_what_was_left_alone():
    result = plan([person("u1", "zed@a.com", first_name=""),
                   person("u2", "b@a.com", proxy_addresses=("smtp:ann@a.com",)), person("u3", "ann@a.com")],
                  [contact()])
    assert result.notes == ("u2: the PSA contact with this address is another user's; left alone",
                            "u1: no first and last name in Microsoft 365; no contact created")
    assert [(k.user_id, k.contact_id) for k in result.matched] == [("u3", "k1")]


def test_two_users_of_one_new_address_get_one_contact():
    result = plan([person("u1", "ann@a.com"), person("u2", "boss@a.com", proxy_addresses=("smtp:ann@a.com",))])
    assert [(op.kind, op.user_id) for op in result.ops] == [(Kind.CREATE, "u1")]


def test_keys_are_stable_and_name_what_is_written():
    first = plan([person(title="CFO")], [contact()])
    again = plan([person(title="CFO")], [contact()])
    other = plan([person(title="COO")], [contact()])
    assert [o.key for o in first.ops] == [o.key for o in again.ops]
    assert first.ops[0].key != other.ops[0].key
    assert first.ops[0].differences() == [("title", "", "CFO")]


def test_matched_users_are_reported_for_the_state():
    assert plan([person()], [contact(active=False)]).matched == (Known(user_id="u1", tenant_id=T, contact_id="k1"),)


# -- properties ---------------------------------------------------------------------------------------------

names = st.sampled_from(["", "Ann", "Bob", "Lee"])
phones = st.sampled_from(["", "+1 555 0100", "555-0101", "(555) 0100"])
emails = st.sampled_from(["ann@a.com", "bob@a.com", "cat@b.com", "ANN@a.com"])


@st.composite
def worlds(draw):
    people = []
    for i in range(draw(st.integers(0, 4))):
        people.append(person(f"u{i}", draw(emails), enabled=draw(st.booleans()), member=draw(st.booleans()),
                             licensed=draw(st.booleans()), first_name=draw(names), last_name=draw(names),
                             title=draw(names), phone=draw(phones), mobile=draw(phones),
                             proxy_addresses=tuple(f"smtp:{e}" for e in draw(st.lists(emails, max_size=2))),
                             mailbox=draw(st.sampled_from([None, "user", "shared"]))))
    contacts = [PsaContact(id=f"k{i}", company_id=CO, email=draw(emails), first_name=draw(names),
                           last_name=draw(names), title=draw(names), phone=draw(phones), active=draw(st.booleans()))
                for i in range(draw(st.integers(0, 4)))]
    known = [Known(user_id=f"u{draw(st.integers(0, 5))}", tenant_id=T, contact_id=f"k{draw(st.integers(0, 5))}")
             for _ in range(draw(st.integers(0, 3)))]
    options = Options(licensed_only=draw(st.booleans()), exclude_shared=draw(st.booleans()),
                      domains=draw(st.sampled_from([(), ("a.com",)])))
    return people, contacts, {k.user_id: k for k in known}, options


def applied(result, contacts: list[PsaContact], known: dict[str, Known]) -> tuple[list[PsaContact], dict]:
    """The PSA's contacts and seatsync's state once ``result`` is written (as the service does)."""
    by_id = {c.id: c for c in contacts}
    known = dict(known)
    for entry in result.matched:
        known[entry.user_id] = entry
    for n, op in enumerate(result.ops):
        if op.kind is Kind.CREATE:
            cid = f"new{n}"
            by_id[cid] = PsaContact(id=cid, company_id=CO, **op.new.given())
            known[op.user_id] = Known(user_id=op.user_id, tenant_id=T, contact_id=cid)
        elif op.kind is Kind.UPDATE:
            by_id[op.contact.id] = contact_changed(by_id[op.contact.id], op.change)
        else:
            by_id[op.contact.id] = replace(by_id[op.contact.id], active=op.kind is Kind.REACTIVATE)
    return list(by_id.values()), known


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_a_second_plan_writes_nothing_and_no_write_blanks_or_deletes(world):
    people, contacts, known, options = world
    first = plan(people, contacts, known.values(), options)
    for op in first.ops:
        assert op.kind in set(Kind)  # a delete is no kind of write
        given_fields = op.new.given() if op.new else op.change.given() if op.change else {}
        assert all(value.strip() for value in given_fields.values())
    after, known_after = applied(first, contacts, known)
    assert {c.id for c in contacts} <= {c.id for c in after}
    assert plan(people, after, known_after.values(), options).ops == ()
