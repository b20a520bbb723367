"""The sandbox behaves like ConnectWise: amounts, writes, status codes, the HTML page."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
import requests

from app.billing.types import LineKind
from app.sandbox.connectwise import ConnectWiseSandbox
from app.services.psa.connectwise import ConnectWiseClient, ConnectWisePsa
from app.services.psa.port import NewLine, PsaValidationError


@pytest.fixture
def seeded(sandbox: ConnectWiseSandbox):
    return sandbox.scenario([("Contoso Ltd", ["contoso.com"])])


def amounts(sandbox: ConnectWiseSandbox, agreement: int, addition: int) -> tuple[Decimal, ...]:
    a = sandbox.addition(agreement, addition)
    return a["extPrice"], a["proratePrice"], a["extendedProratePrice"]


@pytest.mark.parametrize(("prorate", "flag", "effective", "cancelled", "expected"), [
    # 3 seats at 22.00 = 66.00 a month; March has 31 days, 22 of them from the 10th.
    (True, None, date(2025, 3, 10), None, ("66.00", "15.61", "46.84")),
    (True, None, date(2025, 3, 1), None, ("66.00", "22.00", "66.00")),  # a whole period
    (True, False, date(2025, 3, 10), date(2025, 3, 31), ("66.00", "22.00", "66.00")),  # billed as written
    (True, None, date(2025, 3, 10), date(2025, 3, 20), ("66.00", "7.81", "23.42")),  # one-time, 11 days
    (False, None, date(2025, 3, 10), None, ("66.00", "0.00", "0.00")),  # bills from the next period
    (False, None, date(2025, 3, 10), date(2025, 3, 31), ("66.00", "22.00", "66.00")),  # one-time charge
])
def test_connectwise_amounts(sandbox: ConnectWiseSandbox, seeded, prorate: bool, flag: bool | None,
                             effective: date, cancelled: date | None, expected: tuple[str, ...]) -> None:
    agreement = sandbox.add_agreement(seeded.companies["Contoso Ltd"], prorate=prorate)
    addition = sandbox.add_addition(agreement, seeded.products["M365-BP"], 3, effective=effective,
                                    cancelled=cancelled, prorate_current_period=flag)
    assert amounts(sandbox, agreement, addition) == tuple(Decimal(x) for x in expected)


def test_less_included_and_annual_anniversary_periods(sandbox: ConnectWiseSandbox, seeded) -> None:
    agreement = sandbox.add_agreement(seeded.companies["Contoso Ltd"], billing_cycle="Yearly",
                                      invoicing_cycle="ContractYear", start=date(2024, 7, 1))
    addition = sandbox.add_addition(agreement, seeded.products["M365-BP"], 5, unit_price="120.00",
                                    effective=date(2025, 1, 1))
    sandbox.edit_addition(agreement, addition, lessIncluded=1)
    ext, per_unit, extended = amounts(sandbox, agreement, addition)
    # (5 - 1) × 120.00; the contract year runs 2024-07-01..2025-06-30 (365 days), 181 days remain.
    assert ext == Decimal("480.00")
    assert per_unit == Decimal("59.51") and extended == Decimal("238.03")


@pytest.mark.parametrize(("kind", "seats", "amount", "stored"), [
    (LineKind.PRORATE, 3, "25.55", (1, "25.55")),  # 8.5166... a seat: one charge of the whole amount
    (LineKind.PRORATE, 2, "10.00", (2, "5.00")),  # exact per seat: the seats and the seat's share
    (LineKind.CREDIT, -3, "-25.55", (-1, "25.55")),
    (LineKind.CREDIT, -4, "-30.96", (-4, "7.74")),
])
def test_dated_lines_bill_exactly_their_amount(psa: ConnectWisePsa, sandbox: ConnectWiseSandbox, seeded,
                                               kind: LineKind, seats: int, amount: str,
                                               stored: tuple[int, str]) -> None:
    agreement = seeded.agreements["Contoso Ltd"]
    line = psa.add_dated_line(NewLine(
        agreement_id=str(agreement), product_id=str(seeded.products["M365-BP"]), kind=kind, quantity=seats,
        unit_price=Decimal("12.00"), start=date(2025, 3, 10), end=date(2025, 3, 31), description="Business Premium",
        marker="seatsync:0123456789ab:d", amount=Decimal(amount)))
    record = sandbox.addition(agreement, int(line.id))
    assert (record["quantity"], record["unitPrice"]) == (stored[0], Decimal(stored[1]))
    assert record["extPrice"] == record["extendedProratePrice"] == Decimal(amount)  # not prorated again
    assert record["prorateCurrentPeriodFlag"] is False
    assert record["effectiveDate"] == "2025-03-10T00:00:00Z" and record["cancelledDate"] == "2025-03-31T00:00:00Z"
    label = "Prorated" if kind is LineKind.PRORATE else "Credited"
    assert record["invoiceDescription"] == (f"Business Premium\n{label}: {abs(seats)} seats at 12.00 "
                                            "from 2025-03-10 to 2025-03-31")


def test_a_dated_description_update_keeps_the_explanation(psa: ConnectWisePsa, sandbox, seeded) -> None:
    agreement = seeded.agreements["Contoso Ltd"]
    line = psa.add_dated_line(NewLine(
        agreement_id=str(agreement), product_id=str(seeded.products["M365-BP"]), kind=LineKind.PRORATE, quantity=1,
        unit_price=Decimal("12.00"), start=date(2025, 3, 10), end=date(2025, 3, 31), description="Old",
        marker="seatsync:0123456789ab:d", amount=Decimal("8.52")))
    updated = psa.update_description(line, "New text")
    assert updated.description == "New text" and updated.kind is LineKind.PRORATE and updated.quantity == 1
    assert sandbox.addition(agreement, int(line.id))["invoiceDescription"].endswith(
        "\nProrated: 1 seat at 12.00 from 2025-03-10 to 2025-03-31")


def test_cancelled_before_effective_is_refused(client: ConnectWiseClient, seeded) -> None:
    agreement = seeded.agreements["Contoso Ltd"]
    with pytest.raises(PsaValidationError, match="cancelledDate: The cancelled date cannot be before"):
        client.post(f"/finance/agreements/{agreement}/additions",
                    {"product": {"id": seeded.products["M365-BP"]}, "billCustomer": "Billable",
                     "effectiveDate": "2025-03-10T00:00:00Z", "cancelledDate": "2025-03-09T00:00:00Z"})


def raw(client: ConnectWiseClient, method: str, path: str, body: object = None,
        content_type: str = "application/json") -> requests.Response:
    data = None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
    return client.http.session.request(method, client.url(path), data=data, headers={"Content-Type": content_type})


def test_status_codes_and_patch_operations(client: ConnectWiseClient, seeded) -> None:
    base = f"/finance/agreements/{seeded.agreements['Contoso Ltd']}/additions"
    created = raw(client, "POST", base, {"product": {"identifier": "M365-BP"}, "billCustomer": "Billable",
                                         "quantity": 4, "extPrice": 1, "id": 5})
    assert created.status_code == 201
    record = created.json(parse_float=Decimal)
    assert record["id"] != 5 and record["extPrice"] == Decimal("88.00")  # computed fields are ignored on create
    one = f"{base}/{record['id']}"
    patched = raw(client, "PATCH", one, [{"op": "replace", "path": "/Quantity", "value": 6},
                                         {"op": "add", "path": "serialNumber", "value": "seatsync:x"},
                                         {"op": "remove", "path": "invoiceDescription"}])
    assert patched.status_code == 200
    assert (patched.json()["quantity"], patched.json()["serialNumber"]) == (6, "seatsync:x")
    assert "invoiceDescription" not in patched.json()
    for ops, message in (([{"op": "replace", "path": "extPrice", "value": 1}], "extPrice is read only"),
                         ([{"op": "replace", "path": "colour", "value": 1}], "colour is not a field"),
                         ([{"op": "move", "path": "quantity", "value": 1}], "Unsupported patch op"),
                         ({"op": "replace", "path": "quantity", "value": 1}, "non-empty array"),
                         ([{"op": "replace", "path": "quantity", "value": "six"}], "quantity must be a number")):
        refused = raw(client, "PATCH", one, ops)
        assert refused.status_code == 400 and message in refused.text
    assert raw(client, "PATCH", one, "[{", "application/json").status_code == 400
    assert raw(client, "PATCH", one, "[]", "text/plain").status_code == 415
    replaced = raw(client, "PUT", one, {"product": {"id": seeded.products["M365-E3"]}, "billCustomer": "NoCharge",
                                        "quantity": 1})
    assert replaced.status_code == 200 and replaced.json()["product"]["identifier"] == "M365-E3"
    assert "serialNumber" not in replaced.json()
    assert raw(client, "DELETE", one).status_code == 204
    assert raw(client, "GET", one).status_code == 404


def test_codebase_alias_and_versioned_media_type(client: ConnectWiseClient, server, seeded) -> None:
    path = "/company/companies"
    answer = client.http.session.get(f"{server.url}/v4_6_release/apis/3.0{path}")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/vnd.connectwise.com+json; version=2025.8"
    assert client.http.session.get(f"{server.url}/v2019_1/apis/3.0{path}").status_code == 404


def test_scenario_seeds_companies_agreements_and_products(sandbox: ConnectWiseSandbox, psa: ConnectWisePsa) -> None:
    first = sandbox.scenario([("Contoso Ltd", ["contoso.com", "contoso.co.uk"]), ("Fabrikam", [])])
    again = sandbox.scenario([("Northwind", ["northwind.test"])])
    assert again.products == first.products  # the catalog is shared
    companies = {c.name: c for c in psa.list_companies()}
    assert companies["Contoso Ltd"].domains == ("contoso.com", "contoso.co.uk")
    assert companies["Fabrikam"].domains == ()
    agreements = psa.list_agreements(str(first.companies["Contoso Ltd"]))
    assert [(a.name, a.prorates, a.cycle.value) for a in agreements] == [("Microsoft 365", True, "monthly")]
    assert {p.identifier for p in psa.list_products()} >= {"M365-BP", "M365-E3"}


def test_the_html_page_shows_what_the_psa_holds(psa: ConnectWisePsa, client, server, seeded) -> None:
    agreement = seeded.agreements["Contoso Ltd"]
    psa.add_dated_line(NewLine(
        agreement_id=str(agreement), product_id=str(seeded.products["M365-BP"]), kind=LineKind.PRORATE, quantity=3,
        unit_price=Decimal("12.00"), start=date(2025, 3, 10), end=date(2025, 3, 31), description="BP <prorate>",
        marker="seatsync:0123456789ab:p", amount=Decimal("25.55")))
    page = client.http.session.get(f"{server.url}/sandbox/agreements/{agreement}")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "seatsync:0123456789ab:p" in page.text and "25.55" in page.text
    assert "BP &lt;prorate&gt;" in page.text and "<prorate>" not in page.text
    index = client.http.session.get(f"{server.url}/sandbox")
    assert f"/sandbox/agreements/{agreement}" in index.text
    assert client.http.session.get(f"{server.url}/sandbox/agreements/424242").status_code == 404
