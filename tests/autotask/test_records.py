"""Sandbox records carry every field of the vendor's model, null when empty, as the live API
writes them; ``includeFields`` narrows a query's records to those fields and id."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.billing.types import LineKind
from app.sandbox.autotask import fields as meta
from app.services.psa.autotask import AutotaskClient, AutotaskPsa
from app.services.psa.autotask.query import eq, gte
from app.services.psa.port import NewLine
from tests.autotask import spec
from tests.autotask.conftest import World

MODELS = {"Companies": "CompanyModel", "Contracts": "ContractModel", "Services": "ServiceModel",
          "ContractServices": "ContractServiceModel", "ContractServiceUnits": "ContractServiceUnitModel",
          "ContractCharges": "ContractChargeModel", "BillingCodes": "BillingCodeModel"}


def model_fields(entity: str) -> list[str]:
    """The model's properties in the vendor's order, less the SOAP expression the API never writes."""
    _, definitions = spec.documents()
    return [name for name in definitions[MODELS[entity]]["properties"] if name != "soapParentPropertyId"]


@pytest.fixture
def written(world: World, psa: AutotaskPsa) -> AutotaskPsa:
    """A contract service with units and a contract charge, so every queryable entity has a record."""
    ids = world.ids
    psa.create_line(NewLine(agreement_id=str(ids["prorating"]), product_id=str(ids["product"]), kind=LineKind.MAIN,
                            quantity=5, unit_price=Decimal("22.00"), start=date(2025, 3, 1), end=None,
                            description="Microsoft 365 Business Premium", marker="seatsync:0123456789ab"))
    psa.add_dated_line(NewLine(agreement_id=str(ids["prorating"]), product_id=str(ids["product"]),
                               kind=LineKind.PRORATE, quantity=2, unit_price=Decimal("22.00"),
                               start=date(2025, 3, 10), end=date(2025, 3, 31), description="Prorate",
                               marker="seatsync:0123456789ab:p", amount=Decimal("31.23")))
    return psa


@pytest.mark.parametrize("entity", sorted(MODELS))
def test_every_record_carries_every_field_of_the_model(world: World, written: AutotaskPsa, entity: str) -> None:
    exchanges = world.app.record_exchanges()
    client = written.client
    found = client.query(entity, [gte("id", 0)])
    assert found, f"no {entity} to look at"
    for record in found:
        assert list(record) == model_fields(entity), entity
    if spec.operation("GET", f"/V1.0/{entity}/1") is not None:  # seatsync reads billing codes by query only
        item = client.get(entity, found[0]["id"])
        assert item is not None and list(item) == model_fields(entity)
    # Fields the sandbox has no value for are there, null.
    assert any(value is None for value in found[0].values())
    assert [p for x in exchanges for p in spec.check(x)] == []


def test_the_company_the_vendor_documents_reads_like_the_sandbox_s(world: World, client: AutotaskClient) -> None:
    """Company 13 of 61 fields before: now all of them, the ones nobody set null."""
    company = client.get("Companies", world.ids["company"])
    assert company is not None and len(company) == 61
    assert company["address1"] is None and company["taxRegionID"] is None and company["isTaxExempt"] is None
    assert company["companyName"] == "Contoso Ltd" and company["userDefinedFields"] == [
        {"name": "Domains", "value": "contoso.com, contoso.co.uk"}]
    contract = client.get("Contracts", world.ids["prorating"])
    assert contract is not None and len(contract) == 36 and contract["billingPreference"] is None


def test_the_child_collection_answers_full_records(world: World, written: AutotaskPsa) -> None:
    answer = written.client.call("GET", f"V1.0/Contracts/{world.ids['prorating']}/Services",
                                 endpoint="ContractServices")
    assert [list(r) for r in answer["items"]] == [model_fields("ContractServices")]


def test_field_information_lists_every_field_of_the_model(client: AutotaskClient) -> None:
    for entity in MODELS:
        answer = client.call("GET", f"V1.0/{entity}/entityInformation/fields", endpoint=entity)
        names = [f["name"] for f in answer["fields"]]
        assert names == [n for n in model_fields(entity) if n != "userDefinedFields"]


@pytest.mark.parametrize(("include", "expected"), [
    (["companyName"], ["id", "companyName", "userDefinedFields"]),
    (["WEBADDRESS", "city", "id"], ["id", "city", "webAddress", "userDefinedFields"]),
])
def test_include_fields_answers_those_fields_and_id(world: World, client: AutotaskClient, include: list[str],
                                                    expected: list[str]) -> None:
    """In the model's order, names matched whatever their case; the user-defined fields come along
    (as the vendor's own example answer shows). id is there even when not asked for."""
    exchanges = world.app.record_exchanges()
    answer = client.call("POST", "V1.0/Companies/query", endpoint="Companies", read=True,
                         body={"includeFields": include, "filter": [{"op": "eq", "field": "id",
                                                                     "value": world.ids["company"]}]})
    assert [list(r) for r in answer["items"]] == [expected]
    assert [p for x in exchanges for p in spec.check(x)] == []


def test_include_fields_on_an_entity_without_user_defined_fields(world: World, written: AutotaskPsa) -> None:
    found = written.client.query("ContractServiceUnits", [eq("contractID", world.ids["prorating"])],
                                 include_fields=["units"])
    assert found and all(list(r) == ["id", "units"] for r in found)


def test_the_sandbox_s_descriptions_name_only_model_fields() -> None:
    for entity in MODELS:
        assert [f.name for f in meta.fields_of(entity)] == [n for n in model_fields(entity)
                                                            if n != "userDefinedFields"]
