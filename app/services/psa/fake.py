"""An in-memory PSA: the reference implementation of ``PsaPort``.

``FakePsa`` behaves as the port promises (dated quantities, dated lines with
exact amounts, cancellation from a date, typed errors) without any HTTP, so
the sync engine's tests run whole use cases against it. It is thread-safe
(one lock around all state) and ships seeding helpers for tests and the
demo, plus hooks that act like a person in the PSA (``edit_line_quantity``,
``add_foreign_line``) and like a flaky network (``fail_next``).

Every line keeps the history of its quantities by effective date
(``quantity_history``) so tests can check that a change was dated, as a PSA
with native dated changes (Autotask) would hold it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from app.billing.money import to_money
from app.billing.types import (
    Agreement,
    AgreementStatus,
    Anchor,
    BillingOption,
    Cycle,
    Line,
    LineKind,
    Product,
)
from app.services.psa.port import (
    Capabilities,
    ContactChange,
    NewContact,
    NewLine,
    PsaCompany,
    PsaContact,
    PsaError,
    PsaNotFound,
    PsaValidationError,
    agreement_ids_asked,
    check_contact_fields,
    check_dated_line,
    contact_changed,
    lines_one_by_one,
)

FAKE_CAPABILITIES = Capabilities(
    dated_quantity_change=True,
    dated_lines=True,
    cancel_from_date=True,
    max_description_length=6000,
    marker_field="marker",
    max_marker_length=50,
)


@dataclass
class _Failure:
    operation: str
    error: PsaError
    apply: bool
    times: int


@dataclass
class _Record:
    """A line as the fake stores it, with the history of its quantities."""

    line: Line
    billing_option: BillingOption = BillingOption.BILLABLE
    quantity_history: list[tuple[date, int]] = field(default_factory=list)


class FakePsa:
    """An in-memory PsaPort. Identifiers are decimal strings, counted from 1 per kind."""

    name = "fake"

    #: As many requests at once as a PSA's HTTP client sends by default.
    concurrency = 8

    def __init__(self, *, capabilities: Capabilities = FAKE_CAPABILITIES) -> None:
        self.capabilities = capabilities
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._companies: dict[str, PsaCompany] = {}
        self._agreements: dict[str, Agreement] = {}
        self._products: dict[str, Product] = {}
        self._lines: dict[str, _Record] = {}
        self._contacts: dict[str, PsaContact] = {}
        self._failures: list[_Failure] = []
        self._short_reads = 0
        self.connection_error: PsaError | None = None
        #: (operation, subject id) of every call, in order: reads and writes.
        self.calls: list[tuple[str, str]] = []

    # -- seeding ----------------------------------------------------------

    def _next_id(self) -> str:
        return str(next(self._ids))

    def add_company(self, name: str, *, domains: Iterable[str] = (), identifier: str = "",
                    active: bool = True) -> str:
        with self._lock:
            cid = self._next_id()
            self._companies[cid] = PsaCompany(
                id=cid, name=name, identifier=identifier or name.replace(" ", "")[:25],
                domains=tuple(d.lower() for d in domains), active=active)
            return cid

    def add_agreement(self, company_id: str, *, name: str = "Managed services", type_name: str = "Managed",
                      cycle: Cycle = Cycle.MONTHLY, anchor: Anchor = Anchor.CALENDAR,
                      start: date = date(2024, 1, 1), prorates: bool = True,
                      status: AgreementStatus = AgreementStatus.ACTIVE, currency: str = "USD") -> str:
        with self._lock:
            if company_id not in self._companies:
                raise PsaNotFound(f"company {company_id}")
            aid = self._next_id()
            self._agreements[aid] = Agreement(
                id=aid, company_id=company_id, name=name, type_name=type_name, cycle=cycle, anchor=anchor,
                start=start, prorates=prorates, status=status, currency=currency)
            return aid

    def add_product(self, identifier: str, *, description: str = "", price: Decimal | str | int = "0",
                    cost: Decimal | str | int = "0", active: bool = True) -> str:
        with self._lock:
            pid = self._next_id()
            self._products[pid] = Product(id=pid, identifier=identifier, description=description or identifier,
                                          price=to_money(price), cost=to_money(cost), active=active)
            return pid

    def add_foreign_line(self, agreement_id: str, product_id: str, quantity: int, *,
                         unit_price: Decimal | str | None = None, description: str = "", marker: str = "",
                         start: date | None = None) -> Line:
        """A line seatsync does not own, as a person or another tool would add it."""
        with self._lock:
            agreement = self._agreement(agreement_id)
            product = self._product(product_id)
            line = Line(id=self._next_id(), agreement_id=agreement_id, product_id=product_id,
                        kind=LineKind.MAIN, quantity=quantity,
                        unit_price=product.price if unit_price is None else to_money(unit_price),
                        start=start or agreement.start, description=description or product.description,
                        marker=marker)
            self._lines[line.id] = _Record(line, quantity_history=[(line.start or agreement.start, quantity)])
            return line

    def edit_line_quantity(self, line_id: str, quantity: int) -> None:
        """Change a line behind seatsync's back, as a person in the PSA would."""
        with self._lock:
            record = self._record(line_id)
            record.line = replace(record.line, quantity=quantity)
            record.quantity_history.append((record.quantity_history[-1][0], quantity))

    def quantity_history(self, line_id: str) -> list[tuple[date, int]]:
        """(effective date, quantity) of every change to the line, oldest first."""
        with self._lock:
            return list(self._record(line_id).quantity_history)

    def line(self, line_id: str) -> Line:
        with self._lock:
            return self._record(line_id).line

    def lines(self) -> list[Line]:
        """Every line of every agreement (for assertions)."""
        with self._lock:
            return [r.line for r in self._lines.values()]

    def add_contact(self, company_id: str, *, first_name: str = "Alex", last_name: str = "Doe", email: str = "",
                    other_emails: Iterable[str] = (), title: str = "", phone: str = "", mobile: str = "",
                    active: bool = True) -> str:
        """A contact as a person would add it in the PSA (no checks beyond the company)."""
        with self._lock:
            if company_id not in self._companies:
                raise PsaNotFound(f"company {company_id}")
            kid = self._next_id()
            self._contacts[kid] = PsaContact(
                id=kid, company_id=company_id, first_name=first_name, last_name=last_name, email=email,
                other_emails=tuple(other_emails), title=title, phone=phone, mobile=mobile, active=active)
            return kid

    def contact(self, contact_id: str) -> PsaContact:
        with self._lock:
            return self._contact(contact_id)

    # -- failure injection --------------------------------------------------

    def fail_next(self, operation: str, error: PsaError, *, apply: bool = False, times: int = 1) -> None:
        """Make the next ``times`` calls of ``operation`` (a port method name) raise ``error``.

        With ``apply=True`` a write is applied first and the error raised after,
        as when the PSA applied a request whose response was lost.
        """
        with self._lock:
            self._failures.append(_Failure(operation, error, apply, times))

    def cut_next_read(self, times: int = 1) -> None:
        """Make the next ``times`` line reads leave out their last line, as a page lost in transit would."""
        with self._lock:
            self._short_reads += times

    def clear_failures(self) -> None:
        """Forget every failure armed and not yet met."""
        with self._lock:
            self._failures.clear()
            self._short_reads = 0

    def _take_failure(self, operation: str) -> _Failure | None:
        for failure in self._failures:
            if failure.operation == operation:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _enter(self, operation: str, subject: str = "") -> _Failure | None:
        self.calls.append((operation, subject))
        failure = self._take_failure(operation)
        if failure is not None and not failure.apply:
            raise failure.error
        return failure

    @staticmethod
    def _leave(failure: _Failure | None) -> None:
        if failure is not None:
            raise failure.error

    @property
    def write_count(self) -> int:
        with self._lock:
            return sum(1 for op, _ in self.calls if op in _WRITES)

    # -- lookups ----------------------------------------------------------

    def _agreement(self, agreement_id: str) -> Agreement:
        try:
            return self._agreements[agreement_id]
        except KeyError:
            raise PsaNotFound(f"agreement {agreement_id!r}: it may have been deleted in the PSA") from None

    def _product(self, product_id: str) -> Product:
        try:
            return self._products[product_id]
        except KeyError:
            raise PsaNotFound(f"product {product_id!r}: it may have been removed from the catalog") from None

    def _record(self, line_id: str) -> _Record:
        try:
            return self._lines[line_id]
        except KeyError:
            raise PsaNotFound(f"line {line_id!r}: it may have been deleted in the PSA") from None

    def _contact(self, contact_id: str) -> PsaContact:
        try:
            return self._contacts[contact_id]
        except KeyError:
            raise PsaNotFound(f"contact {contact_id!r}: it may have been deleted in the PSA") from None

    # -- the port ---------------------------------------------------------

    def test_connection(self) -> None:
        with self._lock:
            self._leave(self._enter("test_connection"))
            if self.connection_error is not None:
                raise self.connection_error

    def list_companies(self) -> list[PsaCompany]:
        with self._lock:
            self._leave(self._enter("list_companies"))
            return sorted(self._companies.values(), key=lambda c: int(c.id))

    def list_agreements(self, company_id: str | None = None) -> list[Agreement]:
        with self._lock:
            self._leave(self._enter("list_agreements", company_id or ""))
            return [a for a in sorted(self._agreements.values(), key=lambda a: int(a.id))
                    if company_id is None or a.company_id == company_id]

    def list_products(self) -> list[Product]:
        with self._lock:
            self._leave(self._enter("list_products"))
            return sorted(self._products.values(), key=lambda p: int(p.id))

    def list_lines(self, agreement_id: str, product_ids: Iterable[str] | None = None) -> list[Line]:
        with self._lock:
            self._leave(self._enter("list_lines", agreement_id))
            self._agreement(agreement_id)
            wanted = None if product_ids is None else set(product_ids)
            found = [r.line for r in sorted(self._lines.values(), key=lambda r: int(r.line.id))
                     if r.line.agreement_id == agreement_id and (wanted is None or r.line.product_id in wanted)]
            if self._short_reads and found:
                self._short_reads -= 1
                return found[:-1]
            return found

    def list_lines_of(self, agreement_ids: Sequence[str]) -> dict[str, list[Line]]:
        """One ``list_lines`` per agreement (recorded, and failing, as each of them would), after
        the batch itself is recorded as ("list_lines_of", the ids joined by commas)."""
        asked = agreement_ids_asked(agreement_ids)
        with self._lock:
            self._leave(self._enter("list_lines_of", ",".join(asked)))
            return lines_one_by_one(self, asked)

    def _check_new(self, line: NewLine) -> Product:
        self._agreement(line.agreement_id)
        product = self._product(line.product_id)
        if not product.active:
            raise PsaValidationError(
                f"product {product.identifier!r} (id {product.id}) is inactive in the catalog: "
                "reactivate it or choose another product")
        self._check_text(line.description, line.marker)
        return product

    def _check_text(self, description: str, marker: str | None = None) -> None:
        if len(description) > self.capabilities.max_description_length:
            raise PsaValidationError(
                f"description is {len(description)} characters; at most "
                f"{self.capabilities.max_description_length} are allowed")
        if marker is not None and len(marker) > self.capabilities.max_marker_length:
            raise PsaValidationError(
                f"marker {marker!r} is longer than {self.capabilities.max_marker_length} characters")

    def create_line(self, line: NewLine) -> Line:
        if line.kind is not LineKind.MAIN:
            raise ValueError("create_line writes main lines; use add_dated_line for prorate and credit lines")
        if line.quantity < 0:
            raise ValueError(f"a main line cannot have a negative quantity ({line.quantity})")
        with self._lock:
            failure = self._enter("create_line", line.agreement_id)
            self._check_new(line)
            created = Line(id=self._next_id(), agreement_id=line.agreement_id, product_id=line.product_id,
                           kind=LineKind.MAIN, quantity=line.quantity, unit_price=line.unit_price,
                           start=line.start, end=line.end, description=line.description, marker=line.marker)
            self._lines[created.id] = _Record(created, line.billing_option, [(line.start, line.quantity)])
            self._leave(failure)
            return created

    def set_quantity(self, line: Line, quantity: int, effective: date) -> Line:
        if quantity < 0:
            raise ValueError(f"a line's quantity cannot be negative ({quantity})")
        with self._lock:
            failure = self._enter("set_quantity", line.id)
            record = self._record(line.id)
            record.line = replace(record.line, quantity=quantity)
            record.quantity_history.append((effective, quantity))
            self._leave(failure)
            return record.line

    def add_dated_line(self, line: NewLine) -> Line:
        check_dated_line(line)
        with self._lock:
            failure = self._enter("add_dated_line", line.agreement_id)
            self._check_new(line)
            created = Line(id=self._next_id(), agreement_id=line.agreement_id, product_id=line.product_id,
                           kind=line.kind, quantity=line.quantity, unit_price=line.unit_price,
                           start=line.start, end=line.end, description=line.description, marker=line.marker,
                           amount=line.amount)
            self._lines[created.id] = _Record(created, line.billing_option, [(line.start, line.quantity)])
            self._leave(failure)
            return created

    def cancel_line(self, line: Line, effective: date) -> Line:
        with self._lock:
            failure = self._enter("cancel_line", line.id)
            record = self._record(line.id)
            last = effective - timedelta(days=1)
            if record.line.start is not None and effective <= record.line.start:
                del self._lines[line.id]  # never billed: the PSA removes it
                self._leave(failure)
                return replace(record.line, end=last)
            record.line = replace(record.line, end=last)
            self._leave(failure)
            return record.line

    def update_description(self, line: Line, description: str) -> Line:
        with self._lock:
            failure = self._enter("update_description", line.id)
            record = self._record(line.id)
            self._check_text(description)
            record.line = replace(record.line, description=description)
            self._leave(failure)
            return record.line

    def set_marker(self, line: Line, marker: str) -> Line:
        with self._lock:
            failure = self._enter("set_marker", line.id)
            record = self._record(line.id)
            record.line = replace(record.line, marker=marker)
            self._leave(failure)
            return record.line

    def list_contacts(self, company_id: str) -> list[PsaContact]:
        with self._lock:
            self._leave(self._enter("list_contacts", company_id))
            return [c for c in sorted(self._contacts.values(), key=lambda c: int(c.id)) if c.company_id == company_id]

    def create_contact(self, contact: NewContact) -> PsaContact:
        check_contact_fields(self.capabilities, contact.given())
        with self._lock:
            failure = self._enter("create_contact", contact.company_id)
            if contact.company_id not in self._companies:
                raise PsaNotFound(f"company {contact.company_id!r}: it may have been deleted in the PSA")
            kid = self._next_id()
            created = PsaContact(id=kid, company_id=contact.company_id, first_name=contact.first_name,
                                 last_name=contact.last_name, email=contact.email, title=contact.title,
                                 phone=contact.phone, mobile=contact.mobile)
            self._contacts[kid] = created
            self._leave(failure)
            return created

    def update_contact(self, contact: PsaContact, change: ContactChange) -> PsaContact:
        check_contact_fields(self.capabilities, change.given())
        with self._lock:
            failure = self._enter("update_contact", contact.id)
            updated = contact_changed(self._contact(contact.id), change)
            self._contacts[contact.id] = updated
            self._leave(failure)
            return updated

    def set_contact_active(self, contact: PsaContact, active: bool) -> PsaContact:
        with self._lock:
            failure = self._enter("set_contact_active", contact.id)
            updated = replace(self._contact(contact.id), active=active)
            self._contacts[contact.id] = updated
            self._leave(failure)
            return updated


_WRITES = frozenset({"create_line", "set_quantity", "add_dated_line", "cancel_line", "update_description",
                     "set_marker", "create_contact", "update_contact", "set_contact_active"})
