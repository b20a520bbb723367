"""The contact sync's planner: from a company's Microsoft 365 users and its PSA contacts, the writes.

Pure (no I/O): the service reads the users and the contacts, this decides.
The rules (docs/contacts.md):

- Which users: enabled members (never guests) of each linked tenant, within
  the link's user filter, and within the company's options (only licensed
  users, no shared/room/equipment mailbox accounts, only some domains).
- A user is matched to a contact by what seatsync matched before (its
  state), else by e-mail: the user's UPN, ``mail`` and SMTP
  ``proxyAddresses`` against the contact's main and other addresses, case
  ignored. A contact is one user's: a second user finding it is left alone
  and said (a note), never given a duplicate.
- A user without a contact gets one (it needs a first and a last name). A
  matched contact gets the names, title, phone and mobile Microsoft holds
  where they differ, never a blank over a PSA value (a blank in Microsoft
  leaves the PSA's). Phone numbers compare by their digits, so a PSA that
  formats them does not make a write every run.
- A contact seatsync matched before whose user was disabled or deleted is
  made inactive; an inactive contact of a synced user is made active. A
  contact seatsync never matched is never made inactive, and nothing is
  ever deleted.

Each operation has a key derived from what it does, so a retry of the same
write (after a lost answer) is recognised as the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.billing.types import User, UserFilter
from app.services.psa.port import CONTACT_FIELDS, ContactChange, NewContact, PsaContact

#: The fields a matched contact is kept in step with, in the order they are shown.
SYNCED_FIELDS = ("first_name", "last_name", "title", "phone", "mobile")
#: Mailbox kinds (Exchange's userPurpose) whose accounts are not people.
NOT_PEOPLE = frozenset({"shared", "room", "equipment"})
FIELD_NAMES = {"first_name": "first name", "last_name": "last name", "title": "title", "phone": "phone",
               "mobile": "mobile", "email": "e-mail"}


@dataclass(frozen=True, kw_only=True)
class Person:
    """A Microsoft 365 user as the contact sync needs it; ``user`` carries what filters read (office, UPN,
    licenses, enabled, member). ``mailbox`` is the mailbox's kind when it was read (None: not read, or none)."""

    user: User
    tenant_id: str
    mail: str = ""
    proxy_addresses: tuple[str, ...] = ()
    first_name: str = ""
    last_name: str = ""
    title: str = ""
    phone: str = ""
    mobile: str = ""
    mailbox: str | None = None

    @property
    def id(self) -> str:
        return self.user.id

    @property
    def email(self) -> str:
        """The address a new contact gets: Exchange's primary address, else the UPN."""
        return (self.mail or self.user.upn).strip()

    def addresses(self) -> frozenset[str]:
        """Every address the user receives mail at, case folded: the UPN, ``mail`` and SMTP proxy addresses."""
        smtp = [a.partition(":")[2] for a in self.proxy_addresses if a.partition(":")[0].casefold() == "smtp"]
        return frozenset(a.strip().casefold() for a in (self.user.upn, self.mail, *smtp) if a.strip())


@dataclass(frozen=True, kw_only=True)
class Options:
    """A company's choices of which users become contacts."""

    licensed_only: bool = False
    #: Leave out the accounts of shared, room and equipment mailboxes that are enabled (Exchange makes them
    #: disabled, and disabled accounts are left out anyway): each enabled mailbox's kind is read (one Graph
    #: request each, MailboxSettings.Read).
    exclude_shared: bool = False
    #: Only users with a UPN or ``mail`` in one of these domains; empty: every domain.
    domains: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        cleaned = tuple(sorted({d.strip().lstrip("@").casefold() for d in self.domains if d.strip().lstrip("@")}))
        object.__setattr__(self, "domains", cleaned)


@dataclass(frozen=True, kw_only=True)
class Known:
    """A user seatsync matched to a contact before (its state): whose contact it may later make inactive."""

    user_id: str
    tenant_id: str
    contact_id: str


class Kind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    INACTIVATE = "inactivate"
    REACTIVATE = "reactivate"


@dataclass(frozen=True, kw_only=True)
class ContactOp:
    """One write: ``new`` for a create, ``change`` for an update, ``contact`` the contact written (None for a
    create). ``key`` names the write (see the module's doc)."""

    key: str
    kind: Kind
    user_id: str
    tenant_id: str
    who: str
    contact: PsaContact | None = None
    new: NewContact | None = None
    change: ContactChange | None = None

    def differences(self) -> list[tuple[str, str, str]]:
        """(field, before, after) of each field the write sets, as a person reads them."""
        if self.new is not None:
            return [(FIELD_NAMES[name], "", value) for name, value in self.new.given().items()]
        if self.change is not None and self.contact is not None:
            return [(FIELD_NAMES[name], getattr(self.contact, name), value)
                    for name, value in self.change.given().items()]
        return [("active", "yes" if self.kind is Kind.INACTIVATE else "no",
                 "no" if self.kind is Kind.INACTIVATE else "yes")]


@dataclass(frozen=True, kw_only=True)
class ContactPlan:
    ops: tuple[ContactOp, ...]
    #: The users matched to a contact, what the state keeps after an apply.
    matched: tuple[Known, ...] = ()
    #: How many users the link filters and the options select.
    selected: int = 0
    #: What was left alone and why, in words (a user without names, a contact two users find).
    notes: tuple[str, ...] = ()


def selected(person: Person, options: Options, user_filter: UserFilter | None) -> bool:
    """Whether ``person`` is one of the company's contacts under its link's filter and its options."""
    user = person.user
    if not (user.enabled and user.member):
        return False
    if user_filter is not None and not user_filter.matches(user):
        return False
    if options.licensed_only and not user.sku_ids:
        return False
    if options.exclude_shared and person.mailbox in NOT_PEOPLE:
        return False
    if options.domains:
        domains = {a.strip().rpartition("@")[2].casefold() for a in (user.upn, person.mail) if a.strip()}
        if not domains & set(options.domains):
            return False
    return True


def op_key(kind: Kind, company_id: str, user_id: str, *parts: str) -> str:
    """A write's key: its kind, company and user, and a digest of what it writes."""
    digest = hashlib.sha256("|".join(("contact-v1", kind.value, company_id, user_id, *parts)).encode()).hexdigest()
    return f"contact:{kind.value}:{digest[:24]}"


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def differs(name: str, microsoft: str, psa: str) -> bool:
    """Whether Microsoft's ``microsoft`` differs from the PSA's ``psa`` (phones by their digits)."""
    if name in ("phone", "mobile"):
        return _digits(microsoft) != _digits(psa) if _digits(microsoft) else microsoft != psa.strip()
    return microsoft != psa.strip()


def plan_contacts(*, company_id: str, people: Iterable[tuple[Person, UserFilter | None]],
                  read_tenants: Iterable[str], contacts: Sequence[PsaContact], known: Iterable[Known],
                  options: Options, fields: frozenset[str] = CONTACT_FIELDS) -> ContactPlan:
    """The writes that bring ``contacts`` (the company's, active and inactive) in step with ``people`` (each
    with its link's user filter) read from ``read_tenants``; ``known``: what seatsync matched before;
    ``fields``: the contact fields the PSA holds."""
    read = set(read_tenants)
    everyone = {p.id: p for p, _ in people}
    by_id = {c.id: c for c in contacts}
    known_by_user = {k.user_id: k for k in known}
    # Users whose known contact the PSA still has claim first: who holds a contact stays the same from run to run.
    chosen = sorted({p.id: p for p, f in people if selected(p, options, f)}.values(),
                    key=lambda p: (p.id not in known_by_user or known_by_user[p.id].contact_id not in by_id,
                                   p.user.upn.casefold(), p.id))
    claimed: set[str] = set()
    creating: set[str] = set()  # the addresses of the contacts this plan creates
    ops: list[ContactOp] = []
    matched: list[Known] = []
    notes: list[str] = []
    wanted = [name for name in SYNCED_FIELDS if name in fields]

    for person in chosen:
        who = person.user.display_name or person.user.upn
        contact = _match(person, by_id, known_by_user.get(person.id), claimed, contacts)
        if contact is None and (person.addresses() & creating
                                or any(c.id in claimed for c in contacts if _found(c, person))):
            notes.append(f"{who}: the PSA contact with this address is another user's; left alone")
            continue
        if contact is None:
            if not (person.first_name.strip() and person.last_name.strip()):
                notes.append(f"{who}: no first and last name in Microsoft 365; no contact created")
                continue
            given = {name: getattr(person, name).strip() for name in ("title", "phone", "mobile") if name in fields}
            creating.add(person.email.casefold())
            new = NewContact(company_id=company_id, first_name=person.first_name.strip(),
                             last_name=person.last_name.strip(), email=person.email, **given)
            ops.append(ContactOp(key=op_key(Kind.CREATE, company_id, person.id, person.email.casefold()),
                                 kind=Kind.CREATE, user_id=person.id, tenant_id=person.tenant_id, who=who, new=new))
            continue
        claimed.add(contact.id)
        matched.append(Known(user_id=person.id, tenant_id=person.tenant_id, contact_id=contact.id))
        if not contact.active:
            ops.append(ContactOp(key=op_key(Kind.REACTIVATE, company_id, person.id, contact.id), who=who,
                                 kind=Kind.REACTIVATE, user_id=person.id, tenant_id=person.tenant_id, contact=contact))
        changes = {name: value for name in wanted if (value := getattr(person, name).strip())
                   and differs(name, value, getattr(contact, name))}
        if changes:
            parts = [f"{name}={value}" for name, value in sorted(changes.items())]
            ops.append(ContactOp(key=op_key(Kind.UPDATE, company_id, person.id, contact.id, *parts), who=who,
                                 kind=Kind.UPDATE, user_id=person.id, tenant_id=person.tenant_id, contact=contact,
                                 change=ContactChange(**changes)))

    for entry in sorted(known_by_user.values(), key=lambda k: (k.tenant_id, k.user_id)):
        now = everyone.get(entry.user_id)
        gone = now is None or not now.user.enabled
        contact = by_id.get(entry.contact_id)
        if entry.tenant_id not in read or not gone or contact is None or contact.id in claimed:
            continue
        if contact.active:
            who = (now.user.display_name or now.user.upn) if now else (
                f"{contact.first_name} {contact.last_name}".strip() or contact.email)
            ops.append(ContactOp(key=op_key(Kind.INACTIVATE, company_id, entry.user_id, contact.id), who=who,
                                 kind=Kind.INACTIVATE, user_id=entry.user_id, tenant_id=entry.tenant_id,
                                 contact=contact))
    return ContactPlan(ops=tuple(ops), matched=tuple(matched), notes=tuple(notes), selected=len(chosen))


def _found(contact: PsaContact, person: Person) -> bool:
    return any(contact.has_email(address) for address in person.addresses())


def _match(person: Person, by_id: Mapping[str, PsaContact], known: Known | None, claimed: set[str],
           contacts: Sequence[PsaContact]) -> PsaContact | None:
    """The contact of ``person``: the one seatsync matched before if the PSA still has it, else one holding
    one of the user's addresses (its main address the user's own first, then an active one, then the lowest
    id), never one another user has."""
    if known is not None and known.contact_id in by_id and known.contact_id not in claimed:
        return by_id[known.contact_id]
    own = person.email.casefold()
    found = [c for c in contacts if c.id not in claimed and _found(c, person)]
    found.sort(key=lambda c: (c.email.strip().casefold() != own, not c.active, len(c.id), c.id))
    return found[0] if found else None
