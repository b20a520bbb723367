"""The PSA port: what seatsync needs of any PSA, in PSA-neutral terms.

Designed against ConnectWise PSA (agreement additions), Datto Autotask
(contract services with dated adjustments) and HaloPSA (recurring-invoice
lines). Identifiers are strings. Dates are the billing core's: ``effective``
is the first day a change applies, ``end`` the last day a line bills.

Each adapter says in ``capabilities`` which operations its PSA has natively
and which it builds from others (e.g. a dated quantity change is native in
Autotask and emulated in ConnectWise by a quantity change plus a prorate
addition written by seatsync).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Protocol, runtime_checkable

from app.billing.types import Agreement, BillingOption, Line, LineKind, Product
from app.errors import SeatsyncError


@dataclass(frozen=True, kw_only=True)
class PsaCompany:
    id: str
    name: str
    identifier: str = ""
    domains: tuple[str, ...] = ()
    active: bool = True


#: The contact fields seatsync writes (``NewContact`` and ``ContactChange``), by their port names.
CONTACT_FIELDS = frozenset({"first_name", "last_name", "email", "title", "phone", "mobile"})


@dataclass(frozen=True, kw_only=True)
class PsaContact:
    """A person of a PSA company (ConnectWise contact, Autotask contact, Halo user).

    ``email`` is the PSA's main address; ``other_emails`` the further addresses
    it holds (ConnectWise's other e-mail communication items, Autotask's
    ``emailAddress2``/``3``, Halo's ``email2``/``3``), so a person is found by
    any of them. Inactive contacts are listed too: a sync reactivates rather
    than duplicates.
    """

    id: str
    company_id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    other_emails: tuple[str, ...] = ()
    title: str = ""
    phone: str = ""
    mobile: str = ""
    active: bool = True

    def has_email(self, address: str) -> bool:
        """True when ``address`` is one of the contact's addresses (e-mail addresses ignore case)."""
        wanted = address.strip().casefold()
        return bool(wanted) and any(a.strip().casefold() == wanted for a in (self.email, *self.other_emails))


@dataclass(frozen=True, kw_only=True)
class NewContact:
    """A contact to create, active. ``email`` is required: it is how a sync finds the contact again
    (after a lost answer it reads the company's contacts back before creating anything twice). Both
    names are required, as Autotask requires them."""

    company_id: str
    first_name: str
    last_name: str
    email: str
    title: str = ""
    phone: str = ""
    mobile: str = ""

    def __post_init__(self) -> None:
        if not self.email.strip():
            raise ValueError("a new contact needs an e-mail address")
        if not (self.first_name.strip() and self.last_name.strip()):
            raise ValueError("a new contact needs a first and a last name")

    def given(self) -> dict[str, str]:
        """The contact's fields to write, by port name (empty optional ones left out)."""
        return {f.name: value for f in fields(self) if f.name != "company_id" and (value := getattr(self, f.name))}


@dataclass(frozen=True, kw_only=True)
class ContactChange:
    """The fields of a contact to change: None leaves a field as the PSA holds it.

    The caller sends only what changed and never a blank (a blank would erase
    what a person typed in the PSA): an empty string is refused, and so is a
    change naming no field (it would send a request that changes nothing).
    """

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    title: str | None = None
    phone: str | None = None
    mobile: str | None = None

    def __post_init__(self) -> None:
        blank = [name for name, value in self.given().items() if not value.strip()]
        if blank:
            raise ValueError(f"a contact change never blanks a field ({', '.join(blank)})")
        if not self.given():
            raise ValueError("a contact change names at least one field")

    def given(self) -> dict[str, str]:
        """The fields to write, by port name, in declaration order."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not None}


def check_contact_fields(capabilities: Capabilities, given: Mapping[str, str]) -> None:
    """Refuse a contact write naming a field the PSA does not hold (a programming error)."""
    unknown = sorted(set(given) - capabilities.contact_fields)
    if unknown:
        raise ValueError(f"this PSA holds no contact field {', '.join(unknown)}")


def contact_changed(contact: PsaContact, change: ContactChange) -> PsaContact:
    """``contact`` as it reads once ``change`` is applied."""
    given: Mapping[str, str] = change.given()
    return PsaContact(**{**{f.name: getattr(contact, f.name) for f in fields(contact)}, **given})


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """Which port operations the PSA maps natively (True) or emulates (False)."""

    dated_quantity_change: bool
    dated_lines: bool
    cancel_from_date: bool
    max_description_length: int
    marker_field: str
    max_marker_length: int = 50
    #: ``list_lines_of`` reads many agreements' lines in a few requests (not one agreement's a request), so
    #: a sync reads them for many tenants at once.
    reads_lines_in_batches: bool = False
    #: Writes to different lines of one agreement may be in flight at once (each is a record of its own in
    #: the PSA, and no write reads another's); when False a tenant's writes go one after another.
    concurrent_line_writes: bool = False
    #: The marker field of an existing line can be written (``set_marker``); when False (Autotask), a line
    #: seatsync adopts keeps its text in the PSA and seatsync's journal names it the row's.
    writes_markers: bool = True
    #: The contact fields (``CONTACT_FIELDS``) the PSA holds; a ``ContactChange`` or ``NewContact`` naming
    #: another is refused before anything is sent.
    contact_fields: frozenset[str] = CONTACT_FIELDS


@dataclass(frozen=True, kw_only=True)
class NewLine:
    """A line to create: the main line of a row, or a dated prorate/credit line."""

    agreement_id: str
    product_id: str
    kind: LineKind
    quantity: int
    unit_price: Decimal
    start: date
    end: date | None
    description: str
    marker: str
    billing_option: BillingOption = BillingOption.BILLABLE
    # Dated lines: the exact amount seatsync computed, signed like ``quantity``
    # (a credit is negative). The PSA must bill exactly this and not prorate again.
    amount: Decimal | None = None


def check_dated_line(line: NewLine) -> None:
    """Refuse a malformed dated line before anything is sent (a programming error)."""
    if line.kind not in (LineKind.PRORATE, LineKind.CREDIT):
        raise ValueError(f"a dated line is a prorate or credit line, not {line.kind.value}")
    if line.amount is None or line.end is None:
        raise ValueError("a dated line needs its exact amount and its last day")
    if line.end < line.start:
        raise ValueError(f"a dated line cannot end ({line.end}) before it starts ({line.start})")
    if line.kind is LineKind.PRORATE and line.quantity <= 0:
        raise ValueError(f"a prorate line has a positive quantity, not {line.quantity}")
    if line.kind is LineKind.CREDIT and line.quantity >= 0:
        raise ValueError(f"a credit line has a negative quantity, not {line.quantity}")
    if line.amount and (line.amount > 0) != (line.quantity > 0):
        raise ValueError(f"a dated line's amount ({line.amount}) has the sign of its quantity ({line.quantity})")


class PsaError(SeatsyncError):
    """The PSA refused or failed a request."""


class PsaAuthError(PsaError):
    """The PSA did not accept the credentials."""
    advice = "Check the PSA credentials in Settings."


class PsaPermissionError(PsaError):
    """The PSA's API user lacks a permission seatsync needs."""
    advice = "Give the PSA's API member the permission named above, then try again."


class PsaNotFound(PsaError):
    """The PSA has no such record."""


class PsaValidationError(PsaError):
    """The PSA refused the record as invalid."""


class PsaMalformedResponse(PsaError):
    """The PSA answered with something seatsync cannot read."""


class PsaUnavailable(PsaError):
    """The PSA did not answer in time, or answered with a server error."""
    advice = "The PSA did not answer; try again in a minute."

    #: True when a write may have been applied although no answer came back.
    maybe_applied: bool = False

    def __init__(self, detail: str = "", *, maybe_applied: bool = False, **context: object) -> None:
        self.maybe_applied = maybe_applied
        super().__init__(detail, **context)


class PsaUntrustedCertificate(PsaError):
    """The PSA's server could not be trusted, so nothing was sent to it."""
    advice = "Nothing was sent. Check the PSA's address in Settings: its certificate must be one this computer trusts."


class PsaAddressRefused(PsaError):
    """The PSA pointed seatsync at another address (a redirect or a link), which seatsync does not follow."""
    advice = "Nothing was sent there: seatsync sends credentials only to the connection's own address."


class PsaUnreadableAnswer(PsaUnavailable):
    """The PSA's answer to a change could not be read, so the change may or may not
    have been made; the next sync reads the PSA to find out before writing anything again."""

    def __init__(self, detail: str = "", **context: object) -> None:
        # Whatever was wrong with the answer, the request reached the PSA: the journal must
        # settle it by reading the PSA, never send it again blindly (DESIGN §3).
        super().__init__(detail, maybe_applied=True, **context)


class ReadsLines(Protocol):
    def list_lines(self, agreement_id: str, product_ids: Iterable[str] | None = None) -> list[Line]: ...


def agreement_ids_asked(agreement_ids: Sequence[str]) -> list[str]:
    """The ids of a ``list_lines_of`` call, each once, in the order asked (a lone string is refused:
    it is a sequence of characters, never meant as ids)."""
    if isinstance(agreement_ids, str):
        raise TypeError("list_lines_of takes a sequence of agreement ids, not one id")
    return list(dict.fromkeys(agreement_ids))


def lines_one_by_one(psa: ReadsLines, agreement_ids: Sequence[str]) -> dict[str, list[Line]]:
    """``list_lines_of`` for a PSA that reads one agreement's lines a request: each agreement's
    ``list_lines``, in the order asked; the first that fails raises."""
    return {agreement_id: psa.list_lines(agreement_id) for agreement_id in agreement_ids_asked(agreement_ids)}


@runtime_checkable
class PsaPort(Protocol):
    name: str
    capabilities: Capabilities

    @property
    def concurrency(self) -> int:
        """How many requests of one kind the adapter sends the PSA at once at most (its cap; for Autotask, its
        threads per endpoint): a run keeps as many tenants in flight as keep the PSA at this cap."""

    def test_connection(self) -> None:
        """Raise a PsaError naming exactly what is wrong, or return."""

    def list_companies(self) -> list[PsaCompany]: ...

    def list_agreements(self, company_id: str | None = None) -> list[Agreement]: ...

    def list_products(self) -> list[Product]: ...

    def list_lines(self, agreement_id: str, product_ids: Iterable[str] | None = None) -> list[Line]:
        """Every line of the agreement (owned or not), optionally only these products."""

    def list_lines_of(self, agreement_ids: Sequence[str]) -> dict[str, list[Line]]:
        """Every line of each agreement, exactly as ``list_lines(agreement_id)`` gives it, keyed by
        agreement id: one entry per id asked, in the order asked (an id asked twice once); an
        agreement with no lines maps to []. An agreement the PSA does not have raises what
        ``list_lines`` raises for it. A PSA whose API reads many agreements' lines at once does
        so in a few requests (Autotask); the others read them one by one (``lines_one_by_one``)."""

    def create_line(self, line: NewLine) -> Line: ...

    def set_quantity(self, line: Line, quantity: int, effective: date) -> Line: ...

    def add_dated_line(self, line: NewLine) -> Line:
        """A prorate (kind PRORATE) or credit (kind CREDIT, negative quantity) line."""

    def cancel_line(self, line: Line, effective: date) -> Line:
        """Stop billing ``line`` from ``effective`` (its last billed day is the day before).

        When ``effective`` is on or before the line's start the line never
        bills: the PSA may remove it; the returned line's ``end`` is then
        ``effective`` minus one day all the same.
        """

    def update_description(self, line: Line, description: str) -> Line: ...

    def set_marker(self, line: Line, marker: str) -> Line:
        """Write ``marker`` into ``line``'s marker field (its reference: ConnectWise serialNumber, ...),
        changing nothing else: how seatsync adopts a line another tool wrote."""

    def list_contacts(self, company_id: str) -> list[PsaContact]:
        """Every contact of the company, active and inactive, read page after page; a company the
        PSA does not have has none."""

    def create_contact(self, contact: NewContact) -> PsaContact:
        """Create an active contact. After a lost answer the caller finds it by e-mail in
        ``list_contacts`` (``PsaContact.has_email``) before creating it again."""

    def update_contact(self, contact: PsaContact, change: ContactChange) -> PsaContact:
        """Write only the fields ``change`` gives, leaving every other field as the PSA holds it;
        an unknown contact raises ``PsaNotFound``."""

    def set_contact_active(self, contact: PsaContact, active: bool) -> PsaContact:
        """Mark the contact active or inactive (there is no delete: a person's history in the PSA
        stays); an unknown contact raises ``PsaNotFound``."""


def lines_at_once(psa: PsaPort, agreement_ids: Sequence[str]) -> dict[str, list[Line]]:
    """``psa.list_lines_of(agreement_ids)``, with as many agreements in flight as the PSA takes when it reads one
    agreement a request: reading every mapped agreement one after another would take minutes."""
    ids = agreement_ids_asked(agreement_ids)
    width = min(max(psa.concurrency, 1), len(ids))
    if psa.capabilities.reads_lines_in_batches or width < 2:
        return psa.list_lines_of(ids)
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="psa-read") as pool:
        parts = list(pool.map(psa.list_lines_of, [ids[i::width] for i in range(width)]))
    read = {agreement_id: lines for part in parts for agreement_id, lines in part.items()}
    return {agreement_id: read[agreement_id] for agreement_id in ids}
