"""What is HaloPSA-specific in the adapter: where each port value lives in
Halo, how prorate and credit lines bill exactly, and how reads fail."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.billing.types import AgreementStatus, Anchor, BillingOption, Cycle, LineKind
from app.sandbox.server import Fault, Response, SandboxApp, SandboxServer
from app.services.psa.halopsa import HaloPsaAdapter
from app.services.psa.halopsa.errors import HaloInactiveItem, HaloMalformedResponse
from app.services.psa.halopsa.wire import MARKER_FIELD, QUARTERLY, per_seat_price
from app.services.psa.port import NewLine, PsaUnavailable, PsaValidationError

TODAY = date(2025, 3, 10)


@pytest.fixture
def seeded(halo):
    client = halo.add_client("Contoso", domains=["contoso.com"])
    contract = halo.add_contract(client, ref="M365", start=date(2024, 1, 15))
    item = halo.add_item("Microsoft 365 E3", price="36.00")
    return client, contract, item


def main(contract: int, item: int, **changes) -> NewLine:
    values = dict(agreement_id=str(contract), product_id=str(item), kind=LineKind.MAIN, quantity=5,
                  unit_price=Decimal("36.00"), start=date(2025, 3, 1), end=None, description="Microsoft 365 E3",
                  marker="seatsync:0123456789ab")
    return NewLine(**{**values, **changes})


def dated(contract: int, item: int, seats: int, amount: str) -> NewLine:
    kind = LineKind.PRORATE if seats > 0 else LineKind.CREDIT
    return NewLine(agreement_id=str(contract), product_id=str(item), kind=kind, quantity=seats,
                   unit_price=Decimal("36.00"), start=date(2025, 3, 10), end=date(2025, 3, 31),
                   description=f"Microsoft 365 E3 ({kind.value})", marker="seatsync:0123456789ab:p",
                   amount=Decimal(amount))


# -- companies, agreements, products ---------------------------------------------------


def test_domains_come_from_the_domain_field_azure_tenants_and_website(adapter, halo):
    halo.add_client("Contoso", domains=["contoso.com", "Contoso.co.uk"], website="https://www.contoso.net/",
                    azure_tenants=[("tid", "contoso.onmicrosoft.com")], ref="CONT01")
    halo.add_client("Fabrikam", inactive=True)
    contoso, fabrikam = adapter.list_companies()
    assert contoso.domains == ("contoso.com", "contoso.co.uk", "contoso.onmicrosoft.com", "contoso.net")
    assert contoso.identifier == "CONT01" and contoso.active
    assert fabrikam.domains == () and not fabrikam.active


def test_agreement_cycle_anchor_status_and_prorate_setting(adapter, halo):
    client = halo.add_client("Contoso")
    monthly = halo.add_contract(client, ref="Monthly", start=date(2024, 1, 15), prorates=None)
    annual = halo.add_contract(client, ref="Annual", start=date(2024, 7, 1), cycle=Cycle.ANNUAL, prorates=False)
    quarterly = halo.add_contract(client, ref="Quarterly", start=date(2024, 1, 1), cycle=QUARTERLY)
    ended = halo.add_contract(client, ref="Ended", start=date(2023, 1, 1), end=date(2025, 2, 28))
    got = {a.id: a for a in adapter.list_agreements(str(client))}
    assert got[str(monthly)].cycle is Cycle.MONTHLY and got[str(monthly)].prorates is True  # field unset
    assert got[str(monthly)].anchor is Anchor.ANNIVERSARY and got[str(monthly)].start == date(2024, 1, 15)
    assert got[str(annual)].cycle is Cycle.ANNUAL and got[str(annual)].prorates is False
    assert got[str(quarterly)].status is AgreementStatus.INACTIVE  # a period seatsync cannot bill
    assert got[str(ended)].status is AgreementStatus.EXPIRED
    assert got[str(monthly)].type_name == "Microsoft 365" and got[str(monthly)].currency == "USD"


def test_products_use_the_recurring_price_of_recurring_items(adapter, halo):
    halo.add_item("E3", price="36.00", cost="30.60")
    one_off = halo.add_item("Setup", price="150.00", recurring=False)
    products = {p.identifier: p for p in adapter.list_products()}
    assert products["E3"].price == Decimal("36.00") and products["E3"].cost == Decimal("30.60")
    assert products["Setup"].price == Decimal("150.00") and products["Setup"].id == str(one_off)


# -- lines -------------------------------------------------------------------------------


def test_the_first_line_creates_the_contracts_recurring_invoice_once(adapter, halo, server, seeded):
    client, contract, item = seeded
    adapter.create_line(main(contract, item))
    adapter.create_line(main(contract, item, marker="seatsync:bbbbbbbbbbbb"))
    assert server.request_count("POST", "/api/RecurringInvoice") == 1
    (invoice,) = halo.invoices.values()
    assert invoice["client_id"] == client and invoice["contract_id"] == contract and invoice["period"] == 1
    assert len(halo.lines(contract)) == 2


def test_an_existing_recurring_invoice_is_reused(adapter, halo, server, seeded):
    _, contract, item = seeded
    foreign = halo.add_line(contract, item, 3)
    created = adapter.create_line(main(contract, item))
    assert server.request_count("POST", "/api/RecurringInvoice") == 0
    assert halo.line(int(created.id))["ihid"] == halo.line(foreign)["ihid"]


def test_what_a_main_line_writes(adapter, halo, seeded):
    _, contract, item = seeded
    text = "Microsoft 365 E3\nalice@contoso.com\nbob@contoso.com"
    line = adapter.create_line(main(contract, item, description=text))
    stored = halo.line(int(line.id))
    assert stored[MARKER_FIELD] == "seatsync:0123456789ab" and stored["onetimecharge"] is False
    assert stored["item_shortdescription"] == "Microsoft 365 E3"
    assert stored["item_longdescription"] == "alice@contoso.com\nbob@contoso.com"
    assert stored["qty_order"] == 5 and stored["unit_price"] == Decimal("36.00")
    assert stored["startdate"] == "2025-03-01T00:00:00" and stored.get("enddate") is None
    posted = [x.request[0] for x in halo.exchanges if x.method == "POST" and x.path.endswith("/Lines")]
    assert posted[0]["_updateprorata"] is False  # Halo must not prorate on top of seatsync


def test_every_line_update_tells_halo_not_to_prorate(adapter, halo, seeded):
    _, contract, item = seeded
    line = adapter.create_line(main(contract, item))
    adapter.set_quantity(line, 9, date(2025, 3, 10))
    adapter.update_description(line, "E3")
    adapter.cancel_line(line, date(2025, 4, 1))
    updates = [x.request[0] for x in halo.exchanges if x.path.endswith("/updatelines")]
    assert len(updates) == 3 and all(u["_updateprorata"] is False and u["id"] == int(line.id) for u in updates)
    assert all(u["ihid"] == halo.line(int(line.id))["ihid"] for u in updates)


@pytest.mark.parametrize(("option", "price", "hidden"), [(BillingOption.NO_CHARGE, Decimal(0), None),
                                                         (BillingOption.NON_BILLABLE, Decimal(0), True)])
def test_billing_options_without_charge(adapter, halo, seeded, option, price, hidden):
    _, contract, item = seeded
    line = adapter.create_line(main(contract, item, billing_option=option))
    stored = halo.line(int(line.id))
    assert stored["unit_price"] == price and stored.get("hide_on_pdf") is hidden


@pytest.mark.parametrize(("seats", "amount"), [(3, "25.55"), (7, "54.19"), (1, "0.01"), (-4, "-30.96"),
                                              (12, "100.00"), (999, "12345.67")])
def test_a_dated_line_is_a_one_time_charge_halo_totals_to_the_amount(adapter, halo, seeded, seats, amount):
    _, contract, item = seeded
    line = adapter.add_dated_line(dated(contract, item, seats, amount))
    stored = halo.line(int(line.id))
    assert stored["onetimecharge"] is True and stored["qty_order"] == seats
    assert stored["net_amount"] == Decimal(amount)  # Halo's own total of the line
    assert stored["baseprice"] == Decimal("36.00") and line.unit_price == Decimal("36.00")
    assert stored["startdate"] == "2025-03-10T00:00:00" and stored["enddate"] == "2025-03-31T00:00:00"


@given(cents=st.integers(min_value=-10**9, max_value=10**9), seats=st.integers(min_value=1, max_value=100_000))
def test_the_per_seat_price_always_totals_exactly(cents, seats):
    amount = Decimal(cents).scaleb(-2)
    signed = seats if cents >= 0 else -seats
    unit = per_seat_price(amount, signed, "USD")
    assert (unit * signed).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP") == amount


def test_per_seat_price_in_a_currency_without_minor_units():
    assert (per_seat_price(Decimal("1000"), 3, "JPY") * 3).quantize(Decimal(1), rounding="ROUND_HALF_UP") == 1000


def test_cancelling_in_the_past_also_marks_the_line_inactive(adapter, halo, seeded):
    _, contract, item = seeded
    past = adapter.create_line(main(contract, item))
    future = adapter.create_line(main(contract, item, marker="seatsync:bbbbbbbbbbbb"))
    adapter.cancel_line(past, date(2025, 3, 1))  # last billed day 28 Feb, before today (10 Mar)
    adapter.cancel_line(future, date(2025, 4, 1))  # last billed day 31 Mar, still to come
    assert halo.line(int(past.id))["isinactive"] is True
    assert halo.line(int(future.id))["isinactive"] is False
    assert halo.line(int(future.id))["enddate"] == "2025-03-31T00:00:00"


def test_a_line_ticked_inactive_in_halo_reads_as_ended_yesterday(adapter, halo, seeded):
    _, contract, item = seeded
    line = adapter.create_line(main(contract, item))
    halo.edit_line(int(line.id), isinactive=True)
    (listed,) = adapter.list_lines(str(contract))
    assert listed.end == date(2025, 3, 9) and listed.ended_before(TODAY)


def test_an_inactive_item_is_refused_by_name(adapter, halo, seeded):
    _, contract, _ = seeded
    retired = halo.add_item("Office 365 E1 (retired)", price="8.00", inactive=True)
    with pytest.raises(HaloInactiveItem) as caught:
        adapter.create_line(main(contract, retired))
    assert isinstance(caught.value, PsaValidationError) and "Office 365 E1 (retired)" in str(caught.value)


def test_an_item_reactivated_since_the_catalog_was_read_is_accepted(adapter, halo, seeded):
    _, contract, _ = seeded
    item = halo.add_item("Visio Plan 2", price="15.00", inactive=True)
    adapter.list_products()
    halo.set_item_inactive(item, False)
    assert adapter.create_line(main(contract, item)).product_id == str(item)


def test_a_lost_answer_to_a_new_line_may_have_been_applied(adapter, halo, server, seeded):
    _, contract, item = seeded
    adapter.list_lines(str(contract))
    adapter.list_products()
    server.chaos.inject(Fault("drop_after", method="POST", path="/RecurringInvoice/Lines"))
    with pytest.raises(PsaUnavailable) as caught:
        adapter.create_line(main(contract, item))
    assert caught.value.maybe_applied is True
    (found,) = adapter.list_lines(str(contract))  # what the journal reads before any retry
    assert found.marker == "seatsync:0123456789ab" and found.quantity == 5


def test_a_lost_answer_to_a_quantity_change_may_have_been_applied(adapter, halo, server, seeded):
    _, contract, item = seeded
    line = adapter.create_line(main(contract, item))
    server.chaos.inject(Fault("drop_after", method="POST", path="/updatelines"))
    with pytest.raises(PsaUnavailable) as caught:
        adapter.set_quantity(line, 8, TODAY)
    assert caught.value.maybe_applied is True and halo.line(int(line.id))["qty_order"] == 8


def test_a_malformed_line_is_named(adapter, halo, seeded):
    _, contract, item = seeded
    line_id = halo.add_line(contract, item, 3)
    halo.lines_by_id[line_id]["qty_order"] = "three"
    with pytest.raises(HaloMalformedResponse) as caught:
        adapter.list_lines(str(contract))
    assert str(line_id) in str(caught.value) and "qty_order" in str(caught.value)


# -- a Halo that answers nonsense ------------------------------------------------------------


class BrokenHalo(SandboxApp):
    """Signs in, then answers each API call with ``body``."""

    def __init__(self, token_body: bytes, body: bytes) -> None:
        super().__init__()
        self.route("POST", "/auth/token", lambda r: Response(200, token_body, {"Content-Type": "application/json"}))
        self.route("GET", "/api/Client", lambda r: Response(200, body, {"Content-Type": "application/json"}))


@pytest.mark.parametrize(("token_body", "body", "says"), [
    (b'{"access_token": "t", "expires_in": 3600}', b"<html>login</html>", "not JSON"),
    (b'{"access_token": "t", "expires_in": 3600}', b'{"clients": []}', "record_count"),
    (b'{"access_token": "t", "expires_in": 3600}', b'[{"id": 1}]', "'clients' list"),
    (b'{"access_token": "t", "expires_in": 3600}', b'{"record_count": 1, "clients": [{"name": "no id"}]}',
     "numeric id"),
    (b'{"token": "t"}', b"{}", "access_token"),
])
def test_nonsense_is_a_typed_error(make_client, tls, token_body, body, says):
    with SandboxServer(BrokenHalo(token_body, body), tls=tls) as broken:
        adapter = HaloPsaAdapter(make_client(api_url=broken.url, auth_url=f"{broken.url}/auth"))
        with pytest.raises(HaloMalformedResponse) as caught:
            adapter.list_companies()
    assert says in str(caught.value)


def test_a_recurring_invoice_deleted_in_halo_is_created_again(adapter, halo, client, seeded):
    _, contract, item = seeded
    first = adapter.create_line(main(contract, item))
    client.delete("/RecurringInvoice", halo.line(int(first.id))["ihid"])
    assert adapter.list_lines(str(contract)) == []
    again = adapter.create_line(main(contract, item))
    assert halo.invoice_for(contract)["id"] == halo.line(int(again.id))["ihid"]
