"""The one contract every PSA adapter passes (DESIGN §7), against its sandbox.

Use: subclass ``PsaContract`` in a ``test_*.py`` module and give the class a
pytest fixture ``psa_env`` that returns a fresh ``PsaEnv`` per test::

    class TestMyPsaContract(PsaContract):
        @pytest.fixture
        def psa_env(self, tmp_path):
            ...start the sandbox, seed it, build the adapter...
            yield PsaEnv(psa=adapter, company_id=..., ...)
            ...stop the sandbox, close the client...

What the environment must hold (seed it; the tests only read these ids):

- ``psa``: the ``PsaPort`` under test, connected to a fresh PSA (sandbox).
- ``company_id``: an active company owning the three agreements below.
- ``agreement_prorating``: active, monthly, prorating, started on or before
  2025-01-01 with no end in 2025, with no lines.
- ``agreement_flat``: like the one above but not prorating.
- ``agreement_inactive``: a status other than active (inactive, cancelled, expired).
- ``product_id``, ``product_other``: two active catalog products with a price above zero.
- ``inactive_product_id``: a catalog product marked inactive.
- ``edit_line_quantity(line_id, quantity)``: changes a line's quantity in the
  PSA behind seatsync's back, as a person would (not through ``psa``).
- ``add_foreign_line(agreement_id, product_id, quantity) -> str``: adds a
  line seatsync does not own (no marker), as a person or another tool would,
  and returns its id.

Dates: the tests write lines dated in March 2025 (period 2025-03-01..31).

Contacts are a contract of their own, ``ContactContract``, with a fixture
``contact_env`` that returns a fresh ``ContactEnv``:

- ``psa``: the ``PsaPort`` under test;
- ``company_id``, ``other_company_id``: two companies without contacts;
- ``page_size``: how many contacts ``psa`` reads a page (small, so a test
  reads past one page);
- ``add_contact(company_id, *, first_name, last_name, email, other_emails,
  active) -> str``: adds a contact in the PSA directly, as a person would,
  and returns its id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.billing.types import Agreement, AgreementStatus, Anchor, Cycle, Line, LineKind, Product
from app.services.psa.port import (
    ContactChange,
    NewContact,
    NewLine,
    PsaCompany,
    PsaContact,
    PsaError,
    PsaNotFound,
    PsaPort,
)


@dataclass(frozen=True, kw_only=True)
class PsaEnv:
    psa: PsaPort
    company_id: str
    agreement_prorating: str
    agreement_flat: str
    agreement_inactive: str
    product_id: str
    product_other: str
    inactive_product_id: str
    edit_line_quantity: Callable[[str, int], None]
    add_foreign_line: Callable[[str, str, int], str]


START = date(2025, 3, 1)
CHANGE = date(2025, 3, 10)
PERIOD_END = date(2025, 3, 31)
PRICE = Decimal("12.00")


def main_line(env: PsaEnv, *, agreement: str | None = None, product: str | None = None, quantity: int = 5,
              marker: str = "seatsync:a1b2c3d4e5f6", description: str = "Microsoft 365 Business Premium",
              start: date = START) -> NewLine:
    return NewLine(agreement_id=agreement or env.agreement_prorating, product_id=product or env.product_id,
                   kind=LineKind.MAIN, quantity=quantity, unit_price=PRICE, start=start, end=None,
                   description=description, marker=marker)


def dated_line(env: PsaEnv, *, kind: LineKind, seats: int, amount: str,
               marker: str = "seatsync:a1b2c3d4e5f6:p") -> NewLine:
    return NewLine(agreement_id=env.agreement_prorating, product_id=env.product_id, kind=kind, quantity=seats,
                   unit_price=PRICE, start=CHANGE, end=PERIOD_END,
                   description=f"Microsoft 365 Business Premium ({kind.value})", marker=marker,
                   amount=Decimal(amount))


def only(lines: list[Line], line_id: str) -> Line:
    found = [line for line in lines if line.id == line_id]
    assert len(found) == 1, f"line {line_id} listed {len(found)} times in {lines}"
    return found[0]


class PsaContract:
    """The tests every PsaPort implementation must pass (see the module docstring)."""

    # -- reference data ---------------------------------------------------

    def test_connection_succeeds(self, psa_env: PsaEnv) -> None:
        assert psa_env.psa.test_connection() is None

    def test_capabilities_are_declared(self, psa_env: PsaEnv) -> None:
        caps = psa_env.psa.capabilities
        assert caps.max_description_length > 0 and caps.max_marker_length >= 21
        assert caps.marker_field and isinstance(psa_env.psa.name, str) and psa_env.psa.name

    def test_companies_are_listed_with_their_fields(self, psa_env: PsaEnv) -> None:
        companies = psa_env.psa.list_companies()
        assert all(isinstance(c, PsaCompany) for c in companies)
        assert all(isinstance(c.id, str) and isinstance(c.name, str) for c in companies)
        assert all(isinstance(c.domains, tuple) and all(isinstance(d, str) for d in c.domains) for c in companies)
        mine = [c for c in companies if c.id == psa_env.company_id]
        assert len(mine) == 1 and mine[0].name and mine[0].active
        assert len({c.id for c in companies}) == len(companies)

    def test_agreements_carry_cycle_anchor_prorates_status_and_type(self, psa_env: PsaEnv) -> None:
        agreements = {a.id: a for a in psa_env.psa.list_agreements()}
        assert all(isinstance(a, Agreement) for a in agreements.values())
        prorating = agreements[psa_env.agreement_prorating]
        flat = agreements[psa_env.agreement_flat]
        inactive = agreements[psa_env.agreement_inactive]
        assert prorating.company_id == flat.company_id == psa_env.company_id
        assert prorating.prorates is True and flat.prorates is False
        assert prorating.status is AgreementStatus.ACTIVE and flat.status is AgreementStatus.ACTIVE
        assert inactive.status is not AgreementStatus.ACTIVE and isinstance(inactive.status, AgreementStatus)
        assert prorating.cycle is Cycle.MONTHLY and isinstance(prorating.anchor, Anchor)
        assert isinstance(prorating.start, date) and prorating.start <= date(2025, 1, 1)
        assert isinstance(prorating.type_name, str) and prorating.type_name
        assert isinstance(prorating.currency, str) and len(prorating.currency) == 3

    def test_agreements_filter_by_company(self, psa_env: PsaEnv) -> None:
        everything = psa_env.psa.list_agreements()
        mine = psa_env.psa.list_agreements(psa_env.company_id)
        assert {psa_env.agreement_prorating, psa_env.agreement_flat} <= {a.id for a in mine}
        assert all(a.company_id == psa_env.company_id for a in mine)
        assert {a.id for a in mine} <= {a.id for a in everything}

    def test_products_carry_decimal_prices_and_active_flag(self, psa_env: PsaEnv) -> None:
        products = {p.id: p for p in psa_env.psa.list_products()}
        assert all(isinstance(p, Product) and isinstance(p.price, Decimal) for p in products.values())
        for pid in (psa_env.product_id, psa_env.product_other):
            assert products[pid].active is True and products[pid].price > 0
            assert products[pid].identifier or products[pid].description
        assert products[psa_env.inactive_product_id].active is False

    # -- main lines --------------------------------------------------------

    def test_create_main_line_and_read_it_back(self, psa_env: PsaEnv) -> None:
        created = psa_env.psa.create_line(main_line(psa_env))
        assert isinstance(created.id, str) and created.id
        listed = only(psa_env.psa.list_lines(psa_env.agreement_prorating), created.id)
        for line in (created, listed):
            assert line.agreement_id == psa_env.agreement_prorating and line.product_id == psa_env.product_id
            assert line.kind is LineKind.MAIN and line.quantity == 5 and line.unit_price == PRICE
            assert line.marker == "seatsync:a1b2c3d4e5f6" and line.owned
            assert line.description == "Microsoft 365 Business Premium"
            assert line.start == START and line.end is None

    def test_main_line_on_a_flat_agreement(self, psa_env: PsaEnv) -> None:
        created = psa_env.psa.create_line(main_line(psa_env, agreement=psa_env.agreement_flat, quantity=2))
        listed = only(psa_env.psa.list_lines(psa_env.agreement_flat), created.id)
        assert listed.quantity == 2 and listed.kind is LineKind.MAIN and listed.owned

    def test_marker_at_the_longest_allowed_round_trips(self, psa_env: PsaEnv) -> None:
        marker = ("seatsync:" + "x" * 100)[: psa_env.psa.capabilities.max_marker_length]
        created = psa_env.psa.create_line(main_line(psa_env, marker=marker))
        assert only(psa_env.psa.list_lines(psa_env.agreement_prorating), created.id).marker == marker

    def test_set_quantity_from_a_date(self, psa_env: PsaEnv) -> None:
        created = psa_env.psa.create_line(main_line(psa_env))
        changed = psa_env.psa.set_quantity(created, 8, CHANGE)
        assert changed.id == created.id and changed.quantity == 8
        listed = only(psa_env.psa.list_lines(psa_env.agreement_prorating), created.id)
        assert listed.quantity == 8 and listed.unit_price == PRICE and listed.marker == created.marker
        assert listed.end is None

    def test_set_quantity_down_to_zero(self, psa_env: PsaEnv) -> None:
        created = psa_env.psa.create_line(main_line(psa_env))
        psa_env.psa.set_quantity(created, 0, CHANGE)
        assert only(psa_env.psa.list_lines(psa_env.agreement_prorating), created.id).quantity == 0

    def test_cancel_from_a_date_ends_the_day_before(self, psa_env: PsaEnv) -> None:
        created = psa_env.psa.create_line(main_line(psa_env))
        effective = date(2025, 4, 1)
        cancelled = psa_env.psa.cancel_line(created, effective)
        assert cancelled.end == effective - timedelta(days=1)
        listed = only(psa_env.psa.list_lines(psa_env.agreement_prorating), created.id)
        assert listed.end == date(2025, 3, 31) and listed.ended_before(effective)
        assert not listed.ended_before(date(2025, 3, 31))

    def test_cancel_on_the_start_day_means_never_billed(self, psa_env: PsaEnv) -> None:
        created = psa_env.psa.create_line(main_line(psa_env))
        cancelled = psa_env.psa.cancel_line(created, START)
        assert cancelled.end == START - timedelta(days=1)
        remaining = [line for line in psa_env.psa.list_lines(psa_env.agreement_prorating) if line.id == created.id]
        assert all(line.end is not None and line.end < START for line in remaining)

    def test_update_description(self, psa_env: PsaEnv) -> None:
        created = psa_env.psa.create_line(main_line(psa_env))
        text = "Microsoft 365 Business Premium\nalice@contoso.com\nbob@contoso.com\n2 unassigned"
        updated = psa_env.psa.update_description(created, text)
        assert updated.description == text
        listed = only(psa_env.psa.list_lines(psa_env.agreement_prorating), created.id)
        assert listed.description == text and listed.quantity == 5 and listed.marker == created.marker

    def test_update_description_at_the_psa_maximum(self, psa_env: PsaEnv) -> None:
        created = psa_env.psa.create_line(main_line(psa_env))
        longest = ("Seat list " * 1000)[: psa_env.psa.capabilities.max_description_length]
        psa_env.psa.update_description(created, longest)
        assert only(psa_env.psa.list_lines(psa_env.agreement_prorating), created.id).description == longest

    # -- dated lines -------------------------------------------------------

    @pytest.mark.parametrize(("seats", "amount"), [(3, "25.55"), (2, "10.00"), (1, "0.39"), (7, "54.19")])
    def test_prorate_line_bills_exactly_its_amount(self, psa_env: PsaEnv, seats: int, amount: str) -> None:
        written = psa_env.psa.add_dated_line(dated_line(psa_env, kind=LineKind.PRORATE, seats=seats, amount=amount))
        listed = only(psa_env.psa.list_lines(psa_env.agreement_prorating), written.id)
        for line in (written, listed):
            assert line.kind is LineKind.PRORATE and line.quantity == seats
            assert line.amount == Decimal(amount) and line.amount.as_tuple().exponent == -2
            assert line.start == CHANGE and line.end == PERIOD_END
            assert line.marker == "seatsync:a1b2c3d4e5f6:p" and line.owned
            assert line.description == "Microsoft 365 Business Premium (prorate)"

    @pytest.mark.parametrize(("seats", "amount"), [(-3, "-25.55"), (-4, "-30.96")])
    def test_credit_line_bills_exactly_its_negative_amount(self, psa_env: PsaEnv, seats: int, amount: str) -> None:
        written = psa_env.psa.add_dated_line(dated_line(psa_env, kind=LineKind.CREDIT, seats=seats, amount=amount))
        listed = only(psa_env.psa.list_lines(psa_env.agreement_prorating), written.id)
        assert listed.kind is LineKind.CREDIT and listed.quantity == seats
        assert listed.amount == Decimal(amount) and listed.start == CHANGE and listed.end == PERIOD_END

    def test_main_and_dated_lines_are_listed_together(self, psa_env: PsaEnv) -> None:
        main = psa_env.psa.create_line(main_line(psa_env))
        prorate = psa_env.psa.add_dated_line(dated_line(psa_env, kind=LineKind.PRORATE, seats=3, amount="25.55"))
        kinds = {line.id: line.kind for line in psa_env.psa.list_lines(psa_env.agreement_prorating)}
        assert kinds == {main.id: LineKind.MAIN, prorate.id: LineKind.PRORATE}
        assert only(psa_env.psa.list_lines(psa_env.agreement_prorating), main.id).amount is None

    def test_a_malformed_dated_line_is_refused_before_sending(self, psa_env: PsaEnv) -> None:
        with pytest.raises(ValueError, match="a credit line has a negative quantity"):
            psa_env.psa.add_dated_line(dated_line(psa_env, kind=LineKind.CREDIT, seats=3, amount="25.55"))
        with pytest.raises(ValueError, match="a dated line is a prorate or credit line"):
            psa_env.psa.add_dated_line(main_line(psa_env))
        assert psa_env.psa.list_lines(psa_env.agreement_prorating) == []

    # -- ownership -----------------------------------------------------------

    def test_list_lines_filters_by_product(self, psa_env: PsaEnv) -> None:
        a = psa_env.psa.create_line(main_line(psa_env))
        b = psa_env.psa.create_line(main_line(psa_env, product=psa_env.product_other, marker="seatsync:bbbbbbbbbbbb"))
        psa = psa_env.psa
        assert {line.id for line in psa.list_lines(psa_env.agreement_prorating, [psa_env.product_id])} == {a.id}
        assert {line.id for line in psa.list_lines(psa_env.agreement_prorating, [psa_env.product_other])} == {b.id}
        both = [psa_env.product_id, psa_env.product_other]
        assert {line.id for line in psa.list_lines(psa_env.agreement_prorating, both)} == {a.id, b.id}
        assert {line.id for line in psa.list_lines(psa_env.agreement_prorating)} == {a.id, b.id}
        assert psa.list_lines(psa_env.agreement_prorating, []) == []

    def test_foreign_lines_are_listed_but_not_owned(self, psa_env: PsaEnv) -> None:
        mine = psa_env.psa.create_line(main_line(psa_env))
        foreign_id = psa_env.add_foreign_line(psa_env.agreement_prorating, psa_env.product_id, 4)
        lines = psa_env.psa.list_lines(psa_env.agreement_prorating, [psa_env.product_id])
        foreign = only(lines, foreign_id)
        assert not foreign.owned and foreign.quantity == 4 and foreign.product_id == psa_env.product_id
        assert foreign.kind is LineKind.MAIN
        assert only(lines, mine.id).owned

    def test_a_manual_quantity_edit_is_seen(self, psa_env: PsaEnv) -> None:
        created = psa_env.psa.create_line(main_line(psa_env))
        psa_env.edit_line_quantity(created.id, 11)
        listed = only(psa_env.psa.list_lines(psa_env.agreement_prorating), created.id)
        assert listed.quantity == 11 and listed.owned

    def test_lines_stay_on_their_own_agreement(self, psa_env: PsaEnv) -> None:
        created = psa_env.psa.create_line(main_line(psa_env))
        assert psa_env.psa.list_lines(psa_env.agreement_flat) == []
        assert [line.id for line in psa_env.psa.list_lines(psa_env.agreement_prorating)] == [created.id]

    # -- many agreements at once ---------------------------------------------

    def test_lines_of_many_agreements_are_each_agreement_s_lines(self, psa_env: PsaEnv) -> None:
        psa = psa_env.psa
        psa.create_line(main_line(psa_env))
        psa.add_dated_line(dated_line(psa_env, kind=LineKind.PRORATE, seats=3, amount="25.55"))
        psa.add_dated_line(dated_line(psa_env, kind=LineKind.CREDIT, seats=-2, amount="-17.03",
                                      marker="seatsync:a1b2c3d4e5f6:c"))
        psa_env.add_foreign_line(psa_env.agreement_prorating, psa_env.product_other, 4)
        psa.create_line(main_line(psa_env, agreement=psa_env.agreement_flat, product=psa_env.product_other,
                                  quantity=2, marker="seatsync:bbbbbbbbbbbb"))
        psa_env.add_foreign_line(psa_env.agreement_flat, psa_env.product_id, 6)
        asked = [psa_env.agreement_flat, psa_env.agreement_inactive, psa_env.agreement_prorating]
        one_by_one = {agreement: psa.list_lines(agreement) for agreement in asked}
        batched = psa.list_lines_of(asked)
        assert list(batched) == asked
        assert batched == one_by_one
        assert batched[psa_env.agreement_inactive] == []
        every = [line for lines in batched.values() for line in lines]
        assert {line.kind for line in every} == {LineKind.MAIN, LineKind.PRORATE, LineKind.CREDIT}
        assert {line.owned for line in every} == {True, False}
        assert all(line.agreement_id == agreement for agreement, lines in batched.items() for line in lines)
        assert [len(batched[a]) for a in asked] == [2, 0, 4]

    def test_lines_of_take_each_agreement_once_in_the_order_asked(self, psa_env: PsaEnv) -> None:
        psa = psa_env.psa
        created = psa.create_line(main_line(psa_env))
        asked = [psa_env.agreement_prorating, psa_env.agreement_flat, psa_env.agreement_prorating]
        batched = psa.list_lines_of(asked)
        assert list(batched) == [psa_env.agreement_prorating, psa_env.agreement_flat]
        assert [line.id for line in batched[psa_env.agreement_prorating]] == [created.id]
        assert batched[psa_env.agreement_flat] == []
        assert psa.list_lines_of([]) == {}
        flat_first = (psa_env.agreement_flat, psa_env.agreement_prorating)
        assert list(psa.list_lines_of(flat_first)) == list(flat_first)

    def test_lines_of_an_unknown_agreement_raise_as_list_lines_does(self, psa_env: PsaEnv) -> None:
        psa = psa_env.psa
        psa.create_line(main_line(psa_env))
        for unknown in ("987654", "not-an-id"):
            with pytest.raises(PsaNotFound) as alone:
                psa.list_lines(unknown)
            with pytest.raises(PsaNotFound) as batched:
                psa.list_lines_of([psa_env.agreement_prorating, unknown, psa_env.agreement_flat])
            assert type(batched.value) is type(alone.value)
            assert str(batched.value) == str(alone.value)
        with pytest.raises(TypeError):
            psa.list_lines_of(psa_env.agreement_prorating)

    # -- errors ------------------------------------------------------------

    def test_unknown_agreement_is_not_found(self, psa_env: PsaEnv) -> None:
        with pytest.raises(PsaNotFound):
            psa_env.psa.list_lines("987654")
        with pytest.raises(PsaNotFound):
            psa_env.psa.create_line(main_line(psa_env, agreement="987654"))

    def test_unknown_line_is_not_found(self, psa_env: PsaEnv) -> None:
        created = psa_env.psa.create_line(main_line(psa_env))
        ghost = Line(id="987654", agreement_id=created.agreement_id, product_id=created.product_id,
                     quantity=1, marker=created.marker)
        with pytest.raises(PsaNotFound):
            psa_env.psa.set_quantity(ghost, 2, CHANGE)
        with pytest.raises(PsaNotFound):
            psa_env.psa.cancel_line(ghost, date(2025, 4, 1))

    def test_inactive_product_is_refused_by_name(self, psa_env: PsaEnv) -> None:
        product = {p.id: p for p in psa_env.psa.list_products()}[psa_env.inactive_product_id]
        with pytest.raises(PsaError) as caught:
            psa_env.psa.create_line(main_line(psa_env, product=psa_env.inactive_product_id))
        assert not isinstance(caught.value, PsaNotFound)
        text = str(caught.value)
        assert product.id in text or (product.identifier and product.identifier in text), text
        assert psa_env.psa.list_lines(psa_env.agreement_prorating) == []

    # -- reads are reads ---------------------------------------------------

    def test_reads_are_idempotent(self, psa_env: PsaEnv) -> None:
        psa = psa_env.psa
        psa.create_line(main_line(psa_env))
        psa.add_dated_line(dated_line(psa_env, kind=LineKind.PRORATE, seats=3, amount="25.55"))
        first = (psa.list_companies(), psa.list_agreements(), psa.list_products(),
                 psa.list_lines(psa_env.agreement_prorating))
        second = (psa.list_companies(), psa.list_agreements(), psa.list_products(),
                  psa.list_lines(psa_env.agreement_prorating))
        assert first == second
        assert len(first[3]) == 2


@dataclass(frozen=True, kw_only=True)
class ContactEnv:
    psa: PsaPort
    company_id: str
    other_company_id: str
    page_size: int
    add_contact: Callable[..., str]


def new_contact(env: ContactEnv, *, email: str = "Alice.Smith@Contoso.com") -> NewContact:
    return NewContact(company_id=env.company_id, first_name="Alice", last_name="Smith", email=email,
                      title="Office manager", phone="+1 555 0100", mobile="+1 555 0199")


def one_with_email(contacts: list[PsaContact], email: str) -> PsaContact:
    found = [c for c in contacts if c.has_email(email)]
    assert len(found) == 1, f"{email} is on {len(found)} contacts of {contacts}"
    return found[0]


class ContactContract:
    """What every PsaPort does with contacts (see the module docstring)."""

    def test_contacts_are_listed_active_and_inactive_with_their_fields(self, contact_env: ContactEnv) -> None:
        env = contact_env
        active = env.add_contact(env.company_id, first_name="Bob", last_name="Jones", email="bob@contoso.com",
                                 other_emails=("robert@contoso.com",), active=True)
        inactive = env.add_contact(env.company_id, first_name="Carol", last_name="White",
                                   email="carol@contoso.com", other_emails=(), active=False)
        env.add_contact(env.other_company_id, first_name="Dan", last_name="Brown", email="dan@fabrikam.com",
                        other_emails=(), active=True)
        contacts = {c.id: c for c in env.psa.list_contacts(env.company_id)}
        assert set(contacts) == {active, inactive}
        bob, carol = contacts[active], contacts[inactive]
        assert all(isinstance(c, PsaContact) and c.company_id == env.company_id for c in contacts.values())
        assert (bob.first_name, bob.last_name, bob.email, bob.active) == ("Bob", "Jones", "bob@contoso.com", True)
        assert bob.other_emails == ("robert@contoso.com",) and bob.has_email("Robert@Contoso.com")
        assert (carol.first_name, carol.email, carol.active, carol.other_emails) == (
            "Carol", "carol@contoso.com", False, ())

    def test_contacts_are_read_past_one_page(self, contact_env: ContactEnv) -> None:
        env = contact_env
        count = 2 * env.page_size + 1
        ids = {env.add_contact(env.company_id, first_name=f"User{n}", last_name="Paged", email=f"u{n}@contoso.com",
                               other_emails=(), active=n % 3 != 0) for n in range(count)}
        contacts = env.psa.list_contacts(env.company_id)
        assert len(contacts) == count and {c.id for c in contacts} == ids
        assert {c.active for c in contacts} == {True, False}

    def test_a_company_without_contacts_has_none(self, contact_env: ContactEnv) -> None:
        assert contact_env.psa.list_contacts(contact_env.other_company_id) == []
        assert contact_env.psa.list_contacts("987654") == []

    def test_a_created_contact_is_found_by_its_email(self, contact_env: ContactEnv) -> None:
        env = contact_env
        created = env.psa.create_contact(new_contact(env))
        found = one_with_email(env.psa.list_contacts(env.company_id), "alice.smith@contoso.com")
        for contact in (created, found):
            assert contact.id == created.id and contact.company_id == env.company_id
            assert (contact.first_name, contact.last_name, contact.email) == ("Alice", "Smith",
                                                                               "Alice.Smith@Contoso.com")
            assert (contact.title, contact.phone, contact.mobile) == ("Office manager", "+1 555 0100",
                                                                      "+1 555 0199")
            assert contact.active and contact.other_emails == ()
        assert env.psa.list_contacts(env.other_company_id) == []

    def test_a_contact_with_only_the_required_fields(self, contact_env: ContactEnv) -> None:
        env = contact_env
        env.psa.create_contact(NewContact(company_id=env.company_id, first_name="Eve", last_name="Black",
                                          email="eve@contoso.com"))
        eve = one_with_email(env.psa.list_contacts(env.company_id), "eve@contoso.com")
        assert (eve.title, eve.phone, eve.mobile, eve.active) == ("", "", "", True)

    def test_an_update_writes_only_the_given_fields(self, contact_env: ContactEnv) -> None:
        env = contact_env
        kept = env.add_contact(env.company_id, first_name="Bob", last_name="Jones", email="bob@contoso.com",
                               other_emails=("robert@contoso.com",), active=True)
        bob = one_with_email(env.psa.list_contacts(env.company_id), "bob@contoso.com")
        assert bob.id == kept
        created = env.psa.create_contact(new_contact(env))
        updated = env.psa.update_contact(created, ContactChange(title="Finance director"))
        listed = one_with_email(env.psa.list_contacts(env.company_id), "alice.smith@contoso.com")
        for contact in (updated, listed):
            assert contact.title == "Finance director"
            assert (contact.first_name, contact.last_name, contact.phone, contact.mobile, contact.active) == (
                "Alice", "Smith", "+1 555 0100", "+1 555 0199", True)
        env.psa.update_contact(listed, ContactChange(email="alice@contoso.com", mobile="+1 555 0142"))
        after = env.psa.list_contacts(env.company_id)
        moved = one_with_email(after, "alice@contoso.com")
        assert moved.id == created.id and not moved.has_email("alice.smith@contoso.com")
        assert (moved.mobile, moved.phone, moved.title) == ("+1 555 0142", "+1 555 0100", "Finance director")
        assert one_with_email(after, "robert@contoso.com") == bob

    def test_an_update_keeps_the_other_addresses(self, contact_env: ContactEnv) -> None:
        env = contact_env
        env.add_contact(env.company_id, first_name="Bob", last_name="Jones", email="bob@contoso.com",
                        other_emails=("robert@contoso.com",), active=True)
        bob = one_with_email(env.psa.list_contacts(env.company_id), "bob@contoso.com")
        env.psa.update_contact(bob, ContactChange(email="bob.jones@contoso.com", last_name="Jones-Smith"))
        listed = one_with_email(env.psa.list_contacts(env.company_id), "bob.jones@contoso.com")
        assert listed.id == bob.id and listed.other_emails == ("robert@contoso.com",)
        assert (listed.first_name, listed.last_name) == ("Bob", "Jones-Smith")

    def test_inactivate_and_reactivate(self, contact_env: ContactEnv) -> None:
        env = contact_env
        created = env.psa.create_contact(new_contact(env))
        inactive = env.psa.set_contact_active(created, False)
        assert inactive.active is False and inactive.id == created.id
        listed = one_with_email(env.psa.list_contacts(env.company_id), "alice.smith@contoso.com")
        assert listed.active is False and listed == inactive
        assert listed == PsaContact(**{**vars(created), "active": False})
        again = env.psa.set_contact_active(listed, True)
        assert again.active is True
        assert one_with_email(env.psa.list_contacts(env.company_id), "alice.smith@contoso.com") == created

    def test_an_unknown_contact_is_not_found(self, contact_env: ContactEnv) -> None:
        env = contact_env
        env.psa.create_contact(new_contact(env))
        for ghost_id in ("987654", "not-an-id"):
            ghost = PsaContact(id=ghost_id, company_id=env.company_id, first_name="Nobody", last_name="Here",
                               email="nobody@contoso.com")
            with pytest.raises(PsaNotFound):
                env.psa.update_contact(ghost, ContactChange(title="CEO"))
            with pytest.raises(PsaNotFound):
                env.psa.set_contact_active(ghost, False)
        assert len(env.psa.list_contacts(env.company_id)) == 1

    def test_blanks_and_missing_addresses_are_refused_before_sending(self, contact_env: ContactEnv) -> None:
        with pytest.raises(ValueError, match="never blanks"):
            ContactChange(title=" ")
        with pytest.raises(ValueError, match="at least one field"):
            ContactChange()
        with pytest.raises(ValueError, match="e-mail"):
            NewContact(company_id=contact_env.company_id, first_name="A", last_name="B", email="")
        assert set(contact_env.psa.capabilities.contact_fields) <= {
            "first_name", "last_name", "email", "title", "phone", "mobile"}
        assert contact_env.psa.list_contacts(contact_env.company_id) == []
