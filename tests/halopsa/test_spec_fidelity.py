"""Every body the adapter sends and the sandbox answers validates against
Halo's own schemas (tests/specs/halopsa.subset.json), and every query
parameter the adapter uses is one the spec declares."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from app.billing.types import BillingOption, LineKind
from app.sandbox.halopsa import HaloSandbox
from app.services.psa.halopsa import HaloClient, HaloPsaAdapter
from app.services.psa.port import ContactChange, NewContact, NewLine
from tests.halopsa.spec import SPEC, errors, query_parameters, request_body, schema
from tests.halopsa.test_contract import seed_env

#: (method, spec path pattern) -> (spec path, schema of each answered record, list key)
RESPONSES = {
    ("GET", r"/Client"): ("/Client", "Area", "clients"),
    ("GET", r"/Client/\d+"): ("/Client/{id}", "Area", None),
    ("GET", r"/ClientContract"): ("/ClientContract", "ContractHeader_List", "contracts"),
    ("GET", r"/ClientContract/\d+"): ("/ClientContract/{id}", "ContractHeader", None),
    ("GET", r"/Item"): ("/Item", "Item", "items"),
    ("GET", r"/Item/\d+"): ("/Item/{id}", "Item", None),
    ("GET", r"/RecurringInvoice"): ("/RecurringInvoice", "InvoiceHeader", "invoices"),
    ("GET", r"/RecurringInvoice/\d+"): ("/RecurringInvoice/{id}", "InvoiceHeader", None),
    ("POST", r"/Client"): ("/Client", "Area", None),
    ("POST", r"/ClientContract"): ("/ClientContract", "ContractHeader", None),
    ("POST", r"/Item"): ("/Item", "Item", None),
    ("POST", r"/RecurringInvoice"): ("/RecurringInvoice", "InvoiceHeader", None),
    ("POST", r"/RecurringInvoice/updatelines"): ("/RecurringInvoice/updatelines", "InvoiceDetail", None),
    ("POST", r"/RecurringInvoice/Lines"): ("/RecurringInvoice/Lines", "InvoiceDetail", None),
    ("DELETE", r"/Item/\d+"): ("/Item/{id}", "", None),
    ("GET", r"/Users"): ("/Users", "Users", "users"),
    ("GET", r"/Users/\d+"): ("/Users/{id}", "Users", None),
    ("POST", r"/Users"): ("/Users", "Users", None),
}


def spec_route(method: str, path: str) -> tuple[str, str, str | None]:
    tail = re.sub(r"^/api", "", path, flags=re.I)
    for (m, pattern), found in RESPONSES.items():
        if m == method and re.fullmatch(pattern, tail, flags=re.I):
            return found
    raise AssertionError(f"no spec route for {method} {path}")


def exercise(halo: HaloSandbox, client: HaloClient) -> None:
    """Every read and write the adapter makes, plus the client's own CRUD."""
    adapter = HaloPsaAdapter(client, today=lambda: date(2025, 3, 10))
    env = seed_env(halo, adapter)
    adapter.test_connection()
    adapter.list_companies()
    adapter.list_agreements()
    adapter.list_agreements(env.company_id)
    line = adapter.create_line(NewLine(
        agreement_id=env.agreement_prorating, product_id=env.product_id, kind=LineKind.MAIN, quantity=5,
        unit_price=Decimal("22.00"), start=date(2025, 3, 1), end=None, description="M365 BP\nalice\nbob",
        marker="seatsync:a1b2c3d4e5f6", billing_option=BillingOption.NON_BILLABLE))
    adapter.add_dated_line(NewLine(
        agreement_id=env.agreement_prorating, product_id=env.product_id, kind=LineKind.CREDIT, quantity=-3,
        unit_price=Decimal("22.00"), start=date(2025, 3, 10), end=date(2025, 3, 31), description="credit",
        marker="seatsync:a1b2c3d4e5f6:c", amount=Decimal("-46.84")))
    adapter.set_quantity(line, 8, date(2025, 3, 10))
    adapter.update_description(line, "M365 BP\ncarol")
    adapter.cancel_line(line, date(2025, 3, 1))
    adapter.list_lines(env.agreement_prorating, [env.product_id])
    client.get("/Client", env.company_id)
    client.get("/Item", env.product_id)
    client.get("/ClientContract", env.agreement_flat, {"includedetails": "true"})
    invoice = client.list("/RecurringInvoice", "invoices", {"contract_id": env.agreement_prorating})[0]
    client.get("/RecurringInvoice", invoice["id"], {"includedetails": "true"})
    created = client.post("/Client", [{"name": "Northwind", "domain": "northwind.example"}])[0]
    client.post("/Client", [{"id": created["id"], "inactive": True}, {"name": "Tailspin"}])
    item = client.post("/Item", [{"name": "Exchange Online (Plan 1)", "baseprice": Decimal("4.00"),
                                  "isrecurringitem": True, "recurringprice": Decimal("4.00")}])[0]
    client.delete("/Item", item["id"])
    client.post("/ClientContract", [{"client_id": created["id"], "ref": "New", "billingperiod": 1,
                                     "start_date": "2025-01-01T00:00:00"}])
    halo.add_user(int(env.company_id), "Bob", "Jones", email="bob@contoso.com", other_emails=["robert@contoso.com"],
                  phone="+1 555 0100", inactive=True)
    contact = adapter.create_contact(NewContact(company_id=env.company_id, first_name="Alice", last_name="Smith",
                                                email="alice@contoso.com", title="CFO", mobile="+1 555 0199"))
    adapter.update_contact(contact, ContactChange(last_name="Smith-Jones", email="alice.smith@contoso.com"))
    adapter.set_contact_active(contact, False)
    adapter.list_contacts(env.company_id)
    client.get("/Users", contact.id)


@pytest.fixture
def exchanges(halo, client):
    exercise(halo, client)
    return halo.exchanges


def test_every_endpoint_was_exercised(exchanges):
    seen = {spec_route(x.method, x.path)[0] + " " + x.method for x in exchanges if x.status < 400}
    expected = {f"{path} {method}" for (method, _), (path, _, _) in RESPONSES.items()}
    assert seen == expected
    for spec_path, method in (s.rsplit(" ", 1) for s in seen):
        assert method.lower() in SPEC["paths"][spec_path], (spec_path, method)


def test_request_bodies_validate_against_the_spec(exchanges):
    posts = [x for x in exchanges if x.method == "POST"]
    assert len(posts) >= 12
    for x in posts:
        path, _, _ = spec_route(x.method, x.path)
        assert errors(request_body(path), x.request) == [], (x.path, x.request)


def test_response_bodies_validate_against_the_spec(exchanges):
    checked = 0
    for x in exchanges:
        if x.status >= 400 or x.method == "DELETE":
            continue
        _, name, key = spec_route(x.method, x.path)
        if key is not None:
            assert isinstance(x.response["record_count"], int) and isinstance(x.response[key], list)
            records = x.response[key]
        else:
            records = x.response if isinstance(x.response, list) else [x.response]
        for record in records:
            assert errors(schema(name), record) == [], (x.method, x.path, record)
            checked += 1
    assert checked > 30


def test_query_parameters_are_the_specs(exchanges):
    for x in exchanges:
        if x.method != "GET":
            continue
        path, _, _ = spec_route(x.method, x.path)
        unknown = {k.lower() for k in x.query} - query_parameters(path, "get")
        assert not unknown, (x.path, unknown)


def test_the_validators_do_reject_what_the_spec_forbids():
    assert errors(request_body("/RecurringInvoice/Lines"), [{"ihid": 1, "quantity": 2}])  # not a Halo field
    assert errors(request_body("/RecurringInvoice/updatelines"), [{"id": 1, "qty_order": "8"}])  # not a number
    assert errors(request_body("/Client"), {"name": "x"})  # not an array
    assert errors(schema("InvoiceHeader"), {"id": 1, "lines": [{"id": 2, "unit_price": "1.00"}]})
    assert errors(schema("ContractHeader_List"), {"id": 1, "billingplans": []})  # detail-only field
    assert errors(request_body("/Users"), [{"client_id": 1, "isActive": 1}])  # Autotask's name, not Halo's
    assert errors(schema("Users"), {"id": 1, "inactive": 0})  # a number where Halo has a boolean
