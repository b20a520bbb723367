"""The ConnectWise adapter's own decisions: domains, cycles, products, requests made."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.billing.types import AgreementStatus, Anchor, Cycle, LineKind
from app.sandbox.connectwise import ConnectWiseSandbox
from app.services.psa.connectwise import CAPABILITIES, ConnectWisePsa
from app.services.psa.connectwise.wire import encode
from app.services.psa.port import PsaPort


def test_it_is_a_psa_port_with_honest_capabilities(psa: ConnectWisePsa) -> None:
    assert isinstance(psa, PsaPort)
    assert CAPABILITIES.dated_quantity_change is False and CAPABILITIES.dated_lines is True
    assert CAPABILITIES.marker_field == "serialNumber" and CAPABILITIES.max_marker_length == 50
    assert CAPABILITIES.max_description_length == 6000


def test_company_domains_status_and_deleted(psa: ConnectWisePsa, sandbox: ConnectWiseSandbox) -> None:
    sandbox.add_company("Contoso Ltd", domains=["Contoso.com", "contoso.co.uk"], website="http://www.contoso.com/")
    sandbox.add_company("Only Web", website="https://onlyweb.example:8443/home")
    sandbox.add_company("Gone", domains=["gone.example"], deleted=True)
    sandbox.add_company("Dormant", status="Inactive")
    companies = {c.name: c for c in psa.list_companies()}
    assert set(companies) == {"Contoso Ltd", "Only Web", "Dormant"}
    assert companies["Contoso Ltd"].domains == ("contoso.com", "contoso.co.uk")
    assert companies["Only Web"].domains == ("onlyweb.example",)
    assert companies["Dormant"].active is False and companies["Contoso Ltd"].identifier == "ContosoLtd"


def test_agreement_cycles_anchors_and_statuses(psa: ConnectWisePsa, sandbox: ConnectWiseSandbox) -> None:
    company = sandbox.add_company("Contoso Ltd")
    monthly = sandbox.add_agreement(company, start=date(2023, 5, 17), currency="EUR")
    yearly = sandbox.add_agreement(company, billing_cycle="Yearly", invoicing_cycle="ContractYear",
                                   start=date(2024, 7, 1), type_name="Microsoft NCE")
    calendar_year = sandbox.add_agreement(company, billing_cycle="Yearly")
    sandbox.add_agreement(company, billing_cycle="Quarterly")
    expired = sandbox.add_agreement(company, status="Expired", prorate=False)
    found = {a.id: a for a in psa.list_agreements()}
    assert set(found) == {str(monthly), str(yearly), str(calendar_year), str(expired)}  # quarterly left out
    assert (found[str(monthly)].cycle, found[str(monthly)].anchor, found[str(monthly)].start,
            found[str(monthly)].currency) == (Cycle.MONTHLY, Anchor.CALENDAR, date(2023, 5, 17), "EUR")
    assert (found[str(yearly)].cycle, found[str(yearly)].anchor, found[str(yearly)].type_name) == (
        Cycle.ANNUAL, Anchor.ANNIVERSARY, "Microsoft NCE")
    assert found[str(calendar_year)].anchor is Anchor.CALENDAR
    assert found[str(expired)].status is AgreementStatus.EXPIRED and found[str(expired)].prorates is False
    assert psa.list_agreements("not-a-number") == []


def test_products_take_the_invoice_description(psa: ConnectWisePsa, sandbox: ConnectWiseSandbox) -> None:
    sandbox.add_product("M365-BP", description="M365 BP", customer_description="Microsoft 365 Business Premium",
                        price="22.00", cost="18.70")
    (product,) = psa.list_products()
    assert product.description == "Microsoft 365 Business Premium"
    assert (product.price, product.cost) == (Decimal("22.00"), Decimal("18.70"))
    assert isinstance(product.price, Decimal)


def test_list_lines_is_one_request_per_agreement(psa: ConnectWisePsa, sandbox: ConnectWiseSandbox, server) -> None:
    scenario = sandbox.scenario([("Contoso Ltd", [])])
    agreement = scenario.agreements["Contoso Ltd"]
    for n in range(30):
        sandbox.add_addition(agreement, scenario.products["M365-BP"], n + 1, serial_number=f"seatsync:{n:012d}")
    sandbox.add_addition(agreement, scenario.products["M365-E3"], 2)
    assert psa.client.codebase  # discovered once, before counting
    server.reset_counts()
    lines = psa.list_lines(str(agreement), [str(scenario.products["M365-BP"])])
    assert len(lines) == 30 and all(line.owned for line in lines)
    assert server.request_count() == 1
    server.reset_counts()
    assert psa.list_lines(str(agreement), [str(scenario.products["EXO-P1"])]) == []
    assert server.request_count() == 2  # an empty answer is checked against the agreement
    server.reset_counts()
    assert psa.list_lines(str(agreement), []) == [] and server.request_count() == 0


def test_foreign_and_hand_edited_additions_read_sensibly(psa: ConnectWisePsa, sandbox: ConnectWiseSandbox) -> None:
    scenario = sandbox.scenario([("Contoso Ltd", [])])
    agreement = scenario.agreements["Contoso Ltd"]
    product = scenario.products["M365-BP"]
    odd = sandbox.add_addition(agreement, product, Decimal("2.5"), serial_number="Unite")
    edited = sandbox.add_addition(agreement, product, 1, serial_number="seatsync:0123456789ab:p",
                                  invoice_description="Someone rewrote this", effective=date(2025, 3, 10),
                                  cancelled=date(2025, 3, 31))
    lines = {line.id: line for line in psa.list_lines(str(agreement))}
    assert lines[str(odd)].quantity == 3 and not lines[str(odd)].owned and lines[str(odd)].marker == "Unite"
    assert lines[str(edited)].kind is LineKind.MAIN and lines[str(edited)].owned
    assert lines[str(edited)].end == date(2025, 3, 31)


def test_money_is_never_sent_as_float() -> None:
    assert encode({"unitPrice": Decimal("8.515"), "quantity": 3}) == b'{"unitPrice": 8.515, "quantity": 3}'
    with pytest.raises(TypeError, match="float"):
        encode({"unitPrice": 8.5})
