"""What the sandbox answers and what the client sends fit the vendor's schemas."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
import requests
from jsonschema import ValidationError

from app.billing.types import LineKind
from app.sandbox.connectwise import ConnectWiseSandbox
from app.services.psa.connectwise import ConnectWiseClient, ConnectWisePsa
from app.services.psa.port import ContactChange, NewContact, NewLine, PsaError
from tests.connectwise.spec import errors, validate


@pytest.fixture
def seeded(sandbox: ConnectWiseSandbox):
    scenario = sandbox.scenario([("Contoso Ltd", ["contoso.com", "contoso.co.uk"]), ("Fabrikam", [])])
    agreement = scenario.agreements["Contoso Ltd"]
    sandbox.add_agreement(scenario.companies["Fabrikam"], billing_cycle="Yearly", invoicing_cycle="ContractYear",
                          end=date(2026, 12, 31))
    sandbox.add_addition(agreement, scenario.products["M365-BP"], 5, serial_number="Cloudconsole",
                         effective=date(2025, 1, 1))
    sandbox.add_addition(agreement, scenario.products["M365-E3"], 2, effective=date(2025, 3, 10),
                         cancelled=date(2025, 3, 31), prorate_current_period=False)
    return scenario


LISTS = [
    ("/company/companies", "Company"),
    ("/finance/agreements", "Agreement"),
    ("/finance/agreements/types", "AgreementType"),
    ("/procurement/catalog", "CatalogItem"),
]


@pytest.mark.parametrize(("path", "schema"), LISTS)
def test_lists_fit_the_schema(client: ConnectWiseClient, seeded, path: str, schema: str) -> None:
    records = client.list(path)
    assert records
    validate(schema, records, array=True)
    validate(schema, client.get(f"{path}/{records[0]['id']}"))


def test_additions_fit_the_schema(client: ConnectWiseClient, seeded) -> None:
    agreement = seeded.agreements["Contoso Ltd"]
    records = client.list(f"/finance/agreements/{agreement}/additions")
    assert len(records) == 2
    validate("Addition", records, array=True)
    validate("Addition", client.get(f"/finance/agreements/{agreement}/additions/{records[0]['id']}"))


def test_partial_responses_fit_the_schema(client: ConnectWiseClient, seeded) -> None:
    records = client.list("/finance/agreements", fields="id,name,company/name,billingCycle")
    assert len(records) == 3
    assert all(set(r) == {"id", "name", "company", "billingCycle"} and set(r["company"]) == {"name"}
               for r in records)
    # A partial response leaves out required fields, nothing else may differ.
    assert [e for e in errors("Agreement", records, array=True) if "required property" not in e] == []


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_errors_fit_the_error_schema(server, sandbox: ConnectWiseSandbox, seeded, client: ConnectWiseClient,
                                     status: int) -> None:
    sandbox.add_member("limited", "secret", denied=[("Finance > Agreements", "inquire")])
    base = f"{server.url}/{sandbox.codebase}/apis/3.0"
    headers = dict(client.http.session.headers)
    if status == 401:
        headers["Authorization"] = "Basic bm9wZTpub3Bl"
    if status == 403:
        from base64 import b64encode
        headers["Authorization"] = "Basic " + b64encode(b"seatsync+limited:secret").decode()
    url = {400: f"{base}/company/companies?conditions=name%20%3D", 401: f"{base}/company/companies",
           403: f"{base}/finance/agreements", 404: f"{base}/finance/agreements/999999"}[status]
    response = client.http.session.get(url, headers=headers)
    assert response.status_code == status
    body = response.json()
    validate("ErrorResponseMessage", body)
    assert body["code"] and body["message"]


def test_validation_errors_name_resource_and_field(client: ConnectWiseClient, seeded) -> None:
    agreement = seeded.agreements["Contoso Ltd"]
    response = client.http.session.post(client.url(f"/finance/agreements/{agreement}/additions"),
                                        json={"quantity": 1}, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    validate("ErrorResponseMessage", body)
    assert body["errors"] == [{"code": "MissingRequiredField", "message": "product is required.",
                               "resource": "addition", "field": "product"}]


def test_what_the_client_sends_fits_the_schema(client: ConnectWiseClient, seeded) -> None:
    sent: list[requests.PreparedRequest] = []
    client.http.session.hooks["response"].append(lambda response, *a, **k: sent.append(response.request))
    psa = ConnectWisePsa(client)
    agreement = str(seeded.agreements["Contoso Ltd"])
    product = str(seeded.products["M365-BP"])
    main = psa.create_line(NewLine(agreement_id=agreement, product_id=product, kind=LineKind.MAIN, quantity=4,
                                   unit_price=Decimal("22.00"), start=date(2025, 4, 1), end=None,
                                   description="Microsoft 365 Business Premium", marker="seatsync:0123456789ab"))
    for kind, seats, amount in ((LineKind.PRORATE, 3, "46.84"), (LineKind.CREDIT, -2, "-30.00")):
        psa.add_dated_line(NewLine(agreement_id=agreement, product_id=product, kind=kind, quantity=seats,
                                   unit_price=Decimal("22.00"), start=date(2025, 3, 10), end=date(2025, 3, 31),
                                   description="Business Premium", marker="seatsync:0123456789ab:d",
                                   amount=Decimal(amount)))
    psa.set_quantity(main, 6, date(2025, 4, 1))
    psa.update_description(main, "Business Premium\nalice@contoso.com")
    psa.cancel_line(main, date(2025, 6, 1))
    posts = [json.loads(r.body) for r in sent if r.method == "POST"]
    patches = [json.loads(r.body) for r in sent if r.method == "PATCH"]
    assert len(posts) == 3 and len(patches) == 3
    for body in posts:
        validate("Addition", body)
    for body in patches:
        validate("PatchOperation", body, array=True)
    assert all(r.headers["Accept"] == "application/vnd.connectwise.com+json; version=2025.8" for r in sent)
    assert all(r.headers["clientId"] == "seatsync-tests" for r in sent)


def test_the_schema_check_can_fail() -> None:
    with pytest.raises(ValidationError):
        validate("Addition", {"product": {"id": 1}, "billCustomer": "Sometimes"})
    with pytest.raises(ValidationError):
        validate("Addition", {"product": {"id": 1}, "billCustomer": "Billable", "marker": "seatsync:x"})
    with pytest.raises(ValidationError):
        validate("Agreement", {"name": "x", "type": {"id": 1}, "company": {"id": 1}})


def test_a_malformed_answer_is_a_clear_error(client: ConnectWiseClient, sandbox, seeded) -> None:
    agreement = seeded.agreements["Contoso Ltd"]
    sandbox.set_agreement(agreement, startDate="someday")
    with pytest.raises(PsaError, match=f"start date of agreement {agreement}.*'someday'"):
        ConnectWisePsa(client).list_agreements()
    sandbox.set_agreement(agreement, startDate="2024-01-01T00:00:00Z", company=None)
    with pytest.raises(PsaError, match=f"agreement {agreement} without its company"):
        ConnectWisePsa(client).list_agreements()


def test_contacts_fit_the_schema(client: ConnectWiseClient, sandbox: ConnectWiseSandbox) -> None:
    company = sandbox.add_company("Contoso Ltd", domains=["contoso.com"])
    sandbox.add_contact(company, "Bob", "Jones", emails=("bob@contoso.com", "robert@contoso.com"),
                        title="CFO", phone="+1 555 0100", mobile="+1 555 0199")
    sandbox.add_contact(company, "Carol", "White", inactive=True)
    records = client.list("/company/contacts", conditions=f"company/id={company}")
    assert len(records) == 2 and records[0]["communicationItems"]
    validate("Contact", records, array=True)
    validate("Contact", client.get(f"/company/contacts/{records[0]['id']}"))


def test_what_the_client_sends_for_contacts_fits_the_schema(client: ConnectWiseClient,
                                                            sandbox: ConnectWiseSandbox) -> None:
    company = sandbox.add_company("Contoso Ltd", domains=["contoso.com"])
    sent: list[requests.PreparedRequest] = []
    client.http.session.hooks["response"].append(lambda response, *a, **k: sent.append(response.request))
    psa = ConnectWisePsa(client)
    created = psa.create_contact(NewContact(company_id=str(company), first_name="Alice", last_name="Smith",
                                            email="alice@contoso.com", title="CFO", phone="+1 555 0100",
                                            mobile="+1 555 0199"))
    validate("Contact", client.get(f"/company/contacts/{created.id}"))
    psa.update_contact(created, ContactChange(email="alice.smith@contoso.com", last_name="Smith-Jones"))
    psa.set_contact_active(created, False)
    posts = [json.loads(r.body) for r in sent if r.method == "POST"]
    patches = [json.loads(r.body) for r in sent if r.method == "PATCH"]
    assert len(posts) == 1 and len(patches) == 2
    validate("Contact", posts[0])
    for body in patches:
        validate("PatchOperation", body, array=True)


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("GET", "/company/contacts/999999", None, 404),
    ("PATCH", "/company/contacts/999999", [{"op": "replace", "path": "title", "value": "CEO"}], 404),
    ("POST", "/company/contacts", {"lastName": "Nobody"}, 400),
    ("POST", "/company/contacts", {"firstName": "A", "company": {"id": 1}}, 400),
    ("PATCH", "/company/contacts/{id}", {"op": "replace"}, 400),
    ("PATCH", "/company/contacts/{id}", [{"op": "replace", "path": "communicationItems",
                                          "value": [{"type": {"name": "Email"}, "value": "not an address"}]}], 400),
])
def test_contact_errors_fit_the_error_schema(client: ConnectWiseClient, sandbox: ConnectWiseSandbox, method: str,
                                             path: str, body: object, status: int) -> None:
    company = sandbox.add_company("Contoso Ltd")
    contact = sandbox.add_contact(company, "Bob", "Jones", emails=("bob@contoso.com",))
    response = client.http.session.request(method, client.url(path.format(id=contact)), json=body)
    assert response.status_code == status
    validate("ErrorResponseMessage", response.json())
    assert sandbox.contacts[contact]["firstName"] == "Bob"
