"""Requests and responses validate against the vendor's Swagger subset
(tests/specs/autotask.subset.json; spec.py says how)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
import requests

from app.billing.types import LineKind
from app.sandbox.autotask import Exchange
from app.services.psa.autotask import AutotaskPsa
from app.services.psa.autotask.errors import AutotaskRequestRejected
from app.services.psa.autotask.query import gte
from app.services.psa.port import ContactChange, NewContact, NewLine, PsaContact, PsaNotFound
from tests.autotask import spec
from tests.autotask.conftest import World


def run_scenario(world: World, psa: AutotaskPsa) -> None:
    ids = world.ids
    psa.test_connection()
    psa.list_companies()
    psa.list_agreements()
    psa.list_agreements(str(ids["company"]))
    psa.list_products()
    main = psa.create_line(NewLine(agreement_id=str(ids["prorating"]), product_id=str(ids["product"]),
                                   kind=LineKind.MAIN, quantity=5, unit_price=Decimal("22.00"),
                                   start=date(2025, 3, 1), end=None, description="Microsoft 365 Business Premium",
                                   marker="seatsync:0123456789ab"))
    psa.set_quantity(main, 8, date(2025, 4, 1))
    psa.add_dated_line(NewLine(agreement_id=str(ids["prorating"]), product_id=str(ids["product"]),
                               kind=LineKind.PRORATE, quantity=3, unit_price=Decimal("22.00"),
                               start=date(2025, 3, 10), end=date(2025, 3, 31), description="Prorate",
                               marker="seatsync:0123456789ab:p20250310:5>8", amount=Decimal("46.84")))
    psa.update_description(main, "Microsoft 365 Business Premium\nalice@contoso.com")
    psa.list_lines(str(ids["prorating"]))
    psa.cancel_line(main, date(2025, 6, 1))
    psa.client.count("Companies")
    psa.client.get("Contracts", ids["prorating"])
    with pytest.raises(AutotaskRequestRejected):
        psa.client.create("V1.0/ContractServiceAdjustments", {"contractID": ids["prorating"],
                                                              "contractServiceID": int(main.id),
                                                              "effectiveDate": "2030-01-01T00:00:00",
                                                              "unitChange": 1}, endpoint="ContractServiceAdjustments")


def test_every_request_and_response_follows_the_vendor_schemas(world: World, psa: AutotaskPsa) -> None:
    for n in range(520):
        world.app.store.add_company(f"Paging company {n:03d}")
    exchanges = world.app.record_exchanges()
    run_scenario(world, psa)
    psa.client.query("Companies", [gte("id", 0)])  # two pages: the paging link is checked too
    problems = {f"{x.method} {x.path}": spec.check(x) for x in exchanges}
    assert {k: v for k, v in problems.items() if v} == {}
    covered = Counter(x.route for x in exchanges)
    for route in ("zoneInformation", "{entity}/query", "{entity}/query/next", "{entity}/{id}",
                  "Contracts/{parentId}/Services", "ContractServiceAdjustments", "Contracts/{parentId}/Charges",
                  "{entity}/entityInformation/fields", "{entity}/query/count", "ThresholdInformation"):
        assert covered[route], f"the scenario never called {route}"
    assert any(x.status == 500 for x in exchanges), "the refused write was not recorded"


def test_the_url_query_form_is_served_and_conforms(world: World) -> None:
    exchanges = world.app.record_exchanges()
    session = requests.Session()
    session.trust_env = False
    session.verify = world.tls.ca
    try:
        headers = {"ApiIntegrationCode": world.account.integration_code, "UserName": world.account.username,
                   "Secret": world.account.secret}
        zone = session.get(f"{world.server.url}/ATServicesRest/V1.0/zoneInformation",
                           params={"user": world.account.username}, headers=headers).json()["url"]
        search = json.dumps({"filter": [{"op": "eq", "field": "companyID", "value": world.ids["company"]}]})
        answer = session.get(f"{zone}V1.0/Contracts/query", params={"search": search}, headers=headers)
    finally:
        session.close()
    assert answer.status_code == 200 and len(answer.json()["items"]) == 3
    assert [spec.check(x) for x in exchanges] == [[], []]


def adjustment_exchange(**changes: object) -> Exchange:
    body = {"contractID": 1, "contractServiceID": 2, "effectiveDate": "2025-03-01T00:00:00", "unitChange": 2}
    body.update(changes)
    return Exchange("POST", "ContractServiceAdjustments",
                    "/webservices5/ATServicesRest/V1.0/ContractServiceAdjustments", {},
                    frozenset({"apiintegrationcode", "username", "secret"}), body, 200, {"itemId": 9})


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, None),
    ({"unitChange": "two"}, "request unitChange"),
    ({"effectiveDate": 20250301}, "request effectiveDate"),
    ({"contractID": "29683001"}, "request contractID"),
    ({"allowRepeatService": "yes"}, "request allowRepeatService"),
])
def test_the_checker_catches_departures(changes: dict[str, object], expected: str | None) -> None:
    found = spec.check(adjustment_exchange(**changes))
    if expected is None:
        assert found == []
    else:
        assert any(p.startswith(expected) for p in found), found


def test_the_checker_catches_a_missing_header_and_a_bad_error_body() -> None:
    bare = Exchange("POST", "{entity}/query", "/z/ATServicesRest/V1.0/Companies/query", {}, frozenset({"username"}),
                    {"filter": [{"op": "gte", "field": "id", "value": 0}]}, 200, {"items": [], "pageDetails": {}})
    assert any("ApiIntegrationCode" in p for p in spec.check(bare))
    wrong = Exchange("POST", "{entity}/query", "/z/ATServicesRest/V1.0/Companies/query", {}, frozenset(), {}, 500,
                     {"message": "nope"})
    assert spec.check(wrong)
    typed = Exchange("POST", "{entity}/query", "/z/ATServicesRest/V1.0/Companies/query", {},
                     frozenset({"apiintegrationcode", "username", "secret"}), {"maxRecords": "ten"}, 200,
                     {"items": [{"id": "x"}]})
    found = spec.check(typed)
    assert any("maxRecords" in p for p in found) and any("items/0/id" in p for p in found)


def test_contact_requests_and_responses_follow_the_vendor_schemas(world: World, psa: AutotaskPsa) -> None:
    company = world.app.store.add_company("Contoso Contacts Ltd")
    world.app.store.add_contact(company, "Bob", "Jones", email="bob@contoso.com",
                                other_emails=("robert@contoso.com",), phone="+1 555 0100", active=False)
    exchanges = world.app.record_exchanges()
    created = psa.create_contact(NewContact(company_id=str(company), first_name="Alice", last_name="Smith",
                                            email="alice@contoso.com", title="CFO", mobile="+1 555 0199"))
    psa.update_contact(created, ContactChange(email="alice.smith@contoso.com"))
    psa.set_contact_active(created, False)
    assert len(psa.list_contacts(str(company))) == 2
    with pytest.raises(PsaNotFound):
        psa.update_contact(PsaContact(id="987654", company_id=str(company)), ContactChange(title="CEO"))
    problems = {f"{x.method} {x.path}": spec.check(x) for x in exchanges}
    assert {k: v for k, v in problems.items() if v} == {}
    assert Counter((x.method, x.route) for x in exchanges if "Contacts" in x.path) == {
        ("POST", "Companies/{parentId}/Contacts"): 1, ("PATCH", "Companies/{parentId}/Contacts"): 3,
        ("GET", "{entity}/{id}"): 3, ("POST", "{entity}/query"): 1}
    assert [x.status for x in exchanges if x.method == "PATCH"] == [200, 200, 404]


@pytest.mark.parametrize(("method", "body", "status", "message"), [
    ("POST", {"firstName": "A", "isActive": 1}, 500, "lastName is required."),
    ("POST", {"firstName": "A", "lastName": "B", "isActive": True}, 500, "not a valid value for isActive"),
    ("POST", {"firstName": "A", "lastName": "B", "isActive": 1, "emailAddress": "nope"}, 500, "e-mail"),
    ("POST", {"firstName": "A" * 51, "lastName": "B", "isActive": 1}, 500, "maximum length of 50"),
    ("PATCH", {"id": 987654, "title": "CEO"}, 404, "Contact 987654 was not found"),
    ("PATCH", {"id": "{contact}", "middleName": "X"}, 500, "middleName is not a field of Contact."),
    ("POST", ["not an object"], 400, "must be a JSON object"),
])
def test_contact_writes_are_refused_as_autotask_refuses_them(world: World, method: str, body: object,
                                                             status: int, message: str) -> None:
    store = world.app.store
    company = store.add_company("Contoso Contacts Ltd")
    contact = store.add_contact(company, "Bob", "Jones", email="bob@contoso.com")
    sent = {k: (contact if v == "{contact}" else v) for k, v in body.items()} if isinstance(body, dict) else body
    exchanges = world.app.record_exchanges()
    with world.client() as client:
        response = client.api.session.request(
            method, f"{client.zone_url()}V1.0/Companies/{company}/Contacts", data=json.dumps(sent),
            headers={"ApiIntegrationCode": world.account.integration_code, "UserName": world.account.username,
                     "Secret": world.account.secret, "Content-Type": "application/json"})
    assert response.status_code == status
    assert any(message in m for m in response.json()["errors"]), response.json()
    assert [spec.check(x) for x in exchanges if "Contacts" in x.path] == [[]]
    assert store.tables["Contacts"][contact]["firstName"] == "Bob" and len(store.tables["Contacts"]) == 1
