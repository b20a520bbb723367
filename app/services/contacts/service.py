"""Contact sync of one company: its settings, a preview of every change, and applying it exactly once.

The planner (plan.py) decides; this reads Microsoft 365 and the PSA, keeps
the settings and the state (which user is which contact), and writes. Every
write is journaled (pending) before its request and settled after; a write
whose answer was lost is ``unknown`` until the next apply reads the
company's contacts back and finds it made or not (by the new contact's
e-mail, or the contact's id and fields) before anything is sent again. Each
write done is in the audit log like a billing write (the History view).
Enabling needs a preview first: a person has seen what it will do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from app.billing.types import UserFilter
from app.errors import SeatsyncError
from app.models.records import CompanyRecord
from app.models.repositories.contacts import ContactSyncRecord, ContactWriteRecord
from app.services.contacts.plan import (
    SYNCED_FIELDS,
    ContactOp,
    ContactPlan,
    Kind,
    Known,
    Options,
    Person,
    differs,
    plan_contacts,
)
from app.services.microsoft.counts import mailbox_kind
from app.services.microsoft.fields import Reader
from app.services.microsoft.wire import user_from_graph
from app.services.psa.port import (
    PsaContact,
    PsaError,
    PsaNotFound,
    PsaPermissionError,
    PsaPort,
    PsaUnavailable,
    PsaValidationError,
)
from app.services.uow import UnitOfWork, connected

if TYPE_CHECKING:
    from app.services.providers import MicrosoftProvider

log = logging.getLogger(__name__)

#: What the contact sync reads of a user (beside what license filters read): Graph's user resource names.
CONTACT_USER_FIELDS = ("id", "userPrincipalName", "displayName", "accountEnabled", "userType", "officeLocation",
                       "department", "city", "state", "assignedLicenses", "givenName", "surname", "jobTitle", "mail",
                       "proxyAddresses", "businessPhones", "mobilePhone")

#: A tenant's users as the contact sync needs them; the flag: read each mailbox's kind too.
PeopleReader = Callable[[str, bool], list[Person]]


class PsaSource(Protocol):
    def psa(self, connection_id: int) -> PsaPort: ...


class ContactSyncRefused(SeatsyncError):
    """A contact sync setting that cannot be saved as asked (enabling before a preview)."""


@dataclass(frozen=True, kw_only=True)
class ContactPreview:
    """What applying would write now, and what it leaves alone (``notes``)."""

    company_id: int
    ops: tuple[ContactOp, ...]
    notes: tuple[str, ...] = ()
    users: int = 0  # the users the options select
    contacts: int = 0  # the company's contacts in the PSA

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """(person, change, field, before, after), a row per field written."""
        return [(op.who, op.kind.value, name, before, after) for op in self.ops
                for name, before, after in op.differences()]


@dataclass(frozen=True, kw_only=True)
class ContactResult:
    company_id: int
    done: tuple[ContactOp, ...] = ()
    failed: tuple[tuple[ContactOp, str], ...] = ()
    #: Writes whose answer was lost: the next apply settles them before writing again.
    unknown: tuple[ContactOp, ...] = ()
    #: Writes of earlier applies settled now (done, or found not made).
    settled: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def words(self) -> str:
        """The result as a sentence: what was written, what failed, what waits."""
        counts = {kind: sum(1 for op in self.done if op.kind is kind) for kind in Kind}
        said = [f"{n} {kind.value}d" for kind, n in counts.items() if n]
        parts = [f"contacts: {', '.join(said) if said else 'none written'}"]
        if self.failed:
            parts.append(f"{len(self.failed)} refused ({'; '.join(dict.fromkeys(why for _, why in self.failed))})")
        if self.unknown:
            parts.append(f"{len(self.unknown)} not confirmed (checked at the next sync)")
        if self.notes:
            parts.append(f"{len(self.notes)} left alone")
        return "; ".join(parts)


def options_of(settings: ContactSyncRecord) -> Options:
    return Options(licensed_only=settings.licensed_only, exclude_shared=settings.exclude_shared,
                   domains=settings.domains)


def person_from_graph(item: Reader, tenant_id: str, mailbox: str | None = None) -> Person:
    """A Graph user (``CONTACT_USER_FIELDS``) as the contact sync reads it."""
    user = replace(user_from_graph(item), member=(item.str("userType", "Member") or "Member") == "Member")
    phones = [str(p) for p in item.list("businessPhones", required=False) if isinstance(p, str) and p.strip()]
    addresses = [str(a) for a in item.list("proxyAddresses", required=False) if isinstance(a, str)]
    return Person(user=user, tenant_id=tenant_id, mail=_text(item, "mail"), proxy_addresses=tuple(addresses),
                  first_name=_text(item, "givenName"), last_name=_text(item, "surname"),
                  title=_text(item, "jobTitle"), phone=phones[0] if phones else "",
                  mobile=_text(item, "mobilePhone"), mailbox=mailbox)


def _text(item: Reader, key: str) -> str:
    value = item.obj.get(key)
    return value.strip() if isinstance(value, str) else ""


def graph_people(microsoft: MicrosoftProvider) -> PeopleReader:
    """Reads a tenant's users from Graph; with mailbox kinds, one more request per enabled member with a
    mailbox (its ``userPurpose``), to tell a shared, room or equipment mailbox's account from a person."""

    def read(tenant_id: str, with_mailboxes: bool) -> list[Person]:
        graph = microsoft.clients_of(tenant_id).graph
        people = [person_from_graph(item, tenant_id) for item in graph.users(tenant_id, CONTACT_USER_FIELDS)]
        if not with_mailboxes:
            return people
        return [replace(p, mailbox=mailbox_kind(graph, tenant_id, p.id))
                if p.mail and p.user.enabled and p.user.member else p for p in people]

    return read


class ContactSyncService:
    def __init__(self, uow: UnitOfWork, *, psas: PsaSource, read_people: PeopleReader,
                 now: Callable[[], datetime]) -> None:
        self.uow = uow
        self.psas = psas
        self.read_people = read_people
        self.now = now

    # -- settings -------------------------------------------------------------------------------------------

    def settings(self, company_id: int) -> ContactSyncRecord:
        with connected():
            return self.uow.contact_sync.settings(company_id)

    def save_settings(self, company_id: int, *, enabled: bool, options: Options, actor: str) -> ContactSyncRecord:
        """Save the company's choice; enabling is refused until a preview was shown (``preview``)."""
        with self.uow:
            current = self.uow.contact_sync.settings(company_id)
            if enabled and current.previewed_at is None:
                raise ContactSyncRefused("preview the contact changes before enabling contact sync")
            return self.uow.contact_sync.save(company_id, enabled=enabled, licensed_only=options.licensed_only,
                                              exclude_shared=options.exclude_shared, domains=options.domains,
                                              actor=actor)

    # -- preview and apply ----------------------------------------------------------------------------------

    def preview(self, company_id: int, options: Options | None = None) -> ContactPreview:
        """What applying would write now (with ``options``, else the saved ones); records that a preview was
        shown. Writes nothing to the PSA."""
        with connected():
            company = self.uow.companies.get(company_id)
            chosen = options or options_of(self.uow.contact_sync.settings(company_id))
        psa = self.psas.psa(company.connection_id)
        plan, contacts = self._plan(company, psa, chosen)
        with self.uow:
            self.uow.contact_sync.previewed(company_id, self.now())
        return ContactPreview(company_id=company_id, ops=plan.ops, notes=plan.notes, users=plan.selected,
                              contacts=contacts)

    def apply(self, company_id: int, *, actor: str) -> ContactResult:
        """Settle what earlier applies left unknown, then plan against what the PSA holds now and write it."""
        with connected():
            company = self.uow.companies.get(company_id)
            options = options_of(self.uow.contact_sync.settings(company_id))
        psa = self.psas.psa(company.connection_id)
        settled = self._settle(company, psa, actor)
        plan, _ = self._plan(company, psa, options)
        with self.uow:
            for entry in plan.matched:
                self.uow.contact_sync.match(company_id, entry.tenant_id, entry.user_id, entry.contact_id)
        result = self._write(company, psa, plan, actor, settled)
        with self.uow:
            self.uow.contact_sync.finished(company_id, self.now(), result.words)
        return result

    def after_billing(self, company_ids: Iterable[int] | None, *, actor: str) -> list[str]:
        """The sync's hook: apply each company (of ``company_ids``, or all) whose contact sync is enabled. A
        company that fails is said in words and recorded as its last result; it never stops the others."""
        with connected():
            enabled = self.uow.contact_sync.enabled_companies()
            names = {c.id: c.name for c in self.uow.companies.all()}
        wanted = set(company_ids) if company_ids is not None else None
        said = []
        for company_id in enabled:
            if wanted is not None and company_id not in wanted:
                continue
            name = names.get(company_id, f"company {company_id}")
            try:
                result = self.apply(company_id, actor=actor)
            except Exception as error:  # one company's contacts never fail the run or the others
                log.warning("contact sync of %s failed", name, exc_info=True)
                words = f"contact sync failed: {error}"
                try:
                    with self.uow:
                        self.uow.contact_sync.finished(company_id, self.now(), words)
                except Exception:  # the run's notice still says it
                    log.warning("the contact sync result of %s could not be recorded", name, exc_info=True)
                said.append(f"{name}: {words}")
                continue
            if result.done or result.failed or result.unknown:
                said.append(f"{name}: {result.words}")
        return said

    # -- inside ---------------------------------------------------------------------------------------------

    def _plan(self, company: CompanyRecord, psa: PsaPort, options: Options) -> tuple[ContactPlan, int]:
        """The plan against the company's users (every linked tenant read in full: a tenant that cannot be read
        fails the whole plan, so its users are never taken for deleted) and its contacts now."""
        with connected():
            links = self.uow.tenants.links_of_company(company.id)
            known = [Known(user_id=m.user_id, tenant_id=m.tenant_id, contact_id=m.contact_id)
                     for m in self.uow.contact_sync.matches(company.id)]
        people: list[tuple[Person, UserFilter | None]] = []
        for link in links:
            people += [(p, link.user_filter) for p in self.read_people(link.tenant_id, options.exclude_shared)]
        contacts = psa.list_contacts(company.psa_id)
        plan = plan_contacts(company_id=company.psa_id, people=people, read_tenants=[link.tenant_id for link in links],
                             contacts=contacts, known=known, options=options, fields=psa.capabilities.contact_fields)
        return plan, len(contacts)

    def _settle(self, company: CompanyRecord, psa: PsaPort, actor: str) -> int:
        """Settle the company's pending and unknown writes by reading its contacts back: a create is made when a
        contact holds its e-mail, another write when the contact reads as it would once written. Returns how
        many were settled."""
        with connected():
            open_writes = self.uow.contact_sync.unsettled(company.id)
        if not open_writes:
            return 0
        contacts = psa.list_contacts(company.psa_id)
        by_id = {c.id: c for c in contacts}
        for write in open_writes:
            made = _made(write, contacts, by_id)
            with self.uow:
                if made is None:
                    self.uow.contact_sync.settle(write.op_key, "not_applied")
                    continue
                self.uow.contact_sync.settle(write.op_key, "done", contact_id=made.id)
                if write.kind == Kind.CREATE:
                    self.uow.contact_sync.match(company.id, write.tenant_id, write.user_id, made.id)
                self._audit(company, write, made.id, actor, "found made when its answer had been lost")
        return len(open_writes)

    def _write(self, company: CompanyRecord, psa: PsaPort, plan: ContactPlan, actor: str,
               settled: int) -> ContactResult:
        """Each write journaled before its request and settled after; a PSA that stops answering ends the
        company's writes (the rest wait for the next sync)."""
        done: list[ContactOp] = []
        failed: list[tuple[ContactOp, str]] = []
        unknown: list[ContactOp] = []
        for op in plan.ops:
            write = _journaled(op, company.id, actor)
            with self.uow:
                self.uow.contact_sync.started(write)
            try:
                written = _send(psa, op)
            except PsaUnavailable as error:
                with self.uow:
                    self.uow.contact_sync.settle(op.key, "unknown" if error.maybe_applied else "not_applied",
                                                 error=str(error))
                if error.maybe_applied:
                    unknown.append(op)
                else:
                    failed.append((op, str(error)))
                break
            except (PsaValidationError, PsaNotFound, PsaPermissionError) as error:
                with self.uow:
                    self.uow.contact_sync.settle(op.key, "failed", error=str(error))
                failed.append((op, str(error)))
                if isinstance(error, PsaPermissionError):
                    break
                continue
            except PsaError as error:  # another answer: the write may have been made
                with self.uow:
                    self.uow.contact_sync.settle(op.key, "unknown", error=str(error))
                unknown.append(op)
                break
            with self.uow:
                self.uow.contact_sync.settle(op.key, "done", contact_id=written.id)
                if op.kind is Kind.CREATE:
                    self.uow.contact_sync.match(company.id, op.tenant_id, op.user_id, written.id)
                self._audit(company, write, written.id, actor, _reason(op))
            done.append(op)
        return ContactResult(company_id=company.id, done=tuple(done), failed=tuple(failed), unknown=tuple(unknown),
                             settled=settled, notes=plan.notes)

    def _audit(self, company: CompanyRecord, write: ContactWriteRecord, contact_id: str, actor: str,
               reason: str) -> None:
        """The write in the audit log, as the History view lists billing writes (inside the caller's block)."""
        self.uow.audit.record(actor=actor, at=self.now(), tenant_id=write.tenant_id, company_id=company.psa_id,
                              company_name=company.name, action=f"contact_{write.kind}", reason=reason,
                              psa_record_id=contact_id, op_key=write.op_key, connection_id=company.connection_id)


def _journaled(op: ContactOp, company_id: int, actor: str) -> ContactWriteRecord:
    given = (op.new.given() if op.new else op.change.given() if op.change
             else {"active": str(op.kind is Kind.REACTIVATE)})
    return ContactWriteRecord(op_key=op.key, company_id=company_id, kind=op.kind.value, state="pending",
                              tenant_id=op.tenant_id, user_id=op.user_id,
                              contact_id=op.contact.id if op.contact else "", email=op.new.email if op.new else "",
                              fields=dict(given), actor=actor)


def _send(psa: PsaPort, op: ContactOp) -> PsaContact:
    if op.new is not None:
        return psa.create_contact(op.new)
    assert op.contact is not None
    if op.change is not None:
        return psa.update_contact(op.contact, op.change)
    return psa.set_contact_active(op.contact, op.kind is Kind.REACTIVATE)


def _reason(op: ContactOp) -> str:
    """The audit's reason: whose contact, and each field before and after."""
    changes = ", ".join(f"{name} {before or '(none)'} → {after}" for name, before, after in op.differences())
    return f"contact of {op.who}: {op.kind.value} ({changes})"


def _made(write: ContactWriteRecord, contacts: list[PsaContact], by_id: dict[str, PsaContact]) -> PsaContact | None:
    """The contact showing ``write`` made, or None when the PSA shows it was not."""
    if write.kind == Kind.CREATE:
        return next((c for c in sorted(contacts, key=lambda c: (len(c.id), c.id)) if c.has_email(write.email)), None)
    contact = by_id.get(write.contact_id)
    if contact is None:
        return None
    if write.kind in (Kind.INACTIVATE, Kind.REACTIVATE):
        return contact if contact.active == (write.kind == Kind.REACTIVATE) else None
    same = all(not differs(name, str(value), getattr(contact, name)) for name, value in write.fields.items()
               if name in SYNCED_FIELDS)
    return contact if same else None
