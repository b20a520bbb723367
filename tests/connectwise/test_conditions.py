"""The conditions grammar, table-driven: what matches, and what is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.sandbox.connectwise.conditions import ConditionError, parse
from app.sandbox.connectwise.query import lookup
from app.services.psa.connectwise import ConnectWiseClient
from app.services.psa.port import PsaValidationError

RECORDS = [
    {"id": 1, "name": "Contoso Ltd", "identifier": "Contoso", "deletedFlag": False, "price": Decimal("22.00"),
     "company": {"id": 250, "name": "Contoso"}, "startDate": "2024-01-01T00:00:00Z", "website": None},
    {"id": 2, "name": "Fabrikam, Inc.", "identifier": "Fabrikam", "deletedFlag": True, "price": Decimal("8.5"),
     "company": {"id": 251, "name": "Fabrikam"}, "startDate": "2025-03-10T00:00:00Z", "website": "fabrikam.com"},
    {"id": 3, "name": 'The "Quoted" Co', "identifier": "Quoted", "deletedFlag": False, "price": Decimal("0"),
     "company": {"id": 250, "name": "Contoso"}, "startDate": "2025-12-31T00:00:00Z"},
]


def matching(text: str) -> list[int]:
    test = parse(text)
    return [r["id"] for r in RECORDS if test(lambda path, r=r: lookup(r, path))]


CASES = [
    ('name = "Contoso Ltd"', [1]),
    ('name="contoso ltd"', [1]),  # SQL Server compares text case-insensitively
    ('name != "Contoso Ltd"', [2, 3]),
    ("id = 2", [2]),
    ("id > 1", [2, 3]),
    ("id >= 2", [2, 3]),
    ("id < 2", [1]),
    ("id <= 2", [1, 2]),
    ("id <> 2", [1, 3]),
    ("price > 8.49", [1, 2]),
    ("price = 22", [1]),
    ("deletedFlag = false", [1, 3]),
    ("deletedFlag=true", [2]),
    ("company/id = 250", [1, 3]),
    ('company/name = "Fabrikam"', [2]),
    ("COMPANY/ID = 251", [2]),  # field names are case-insensitive too
    ('name like "Con*"', [1]),
    ('name like "%Inc."', [2]),
    ('name not like "Con*"', [2, 3]),
    ('name contains "quoted"', [3]),
    ('name not contains "A"', [1, 3]),
    ('name = "The \\"Quoted\\" Co"', [3]),
    ("id in (1, 3)", [1, 3]),
    ("id not in (1,3)", [2]),
    ('identifier in ("contoso", "Quoted")', [1, 3]),
    ("website = null", [1, 3]),
    ("website != null", [2]),
    ("startDate > [2025-01-01T00:00:00Z]", [2, 3]),
    ("startDate < [2025-03-10]", [1]),
    ("startDate = [2025-03-10T00:00:00Z]", [2]),
    ("company/id = 250 and deletedFlag = false", [1, 3]),
    ("id = 1 or id = 2 and deletedFlag = false", [1]),  # and binds tighter than or
    ("(id = 1 or id = 2) and deletedFlag = true", [2]),
    ("not (id = 1)", [2, 3]),
    ("not id = 1 and not id = 3", [2]),
    ("((id=1))", [1]),
    ("id = 1 OR id = 3 AND name LIKE \"The*\"", [1, 3]),
    ("price > 5", [1, 2]),
    ("website = \"fabrikam.com\"", [2]),
    ("website != \"x\"", [2]),  # null compares as false, as in SQL
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_conditions_select_the_right_records(text: str, expected: list[int]) -> None:
    assert matching(text) == expected


BAD = [
    ("", "empty"),
    ("name =", "expected a value"),
    ("= 5", "expected a field name"),
    ("name == 5", "expected a value"),
    ('name = "unterminated', "unexpected character"),
    ("id in 1, 2", "'\\(' after in"),
    ("id in (1, 2", "'\\)' after the in list"),
    ("(id = 1", "expected '\\)'"),
    ("id = 1 and", "expected a field name"),
    ("id = 1 id = 2", "unexpected 'id'"),
    ("startDate > [yesterday]", "invalid date"),
    ("name like 5", "quoted string after like"),
    ("website > null", "null can only be compared"),
    ("name not = 1", "expected in, like or contains"),
    ("id = 1 & id = 2", "unexpected character '&'"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_malformed_conditions_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        parse(text)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ConditionError, match="unknown field 'colour'"):
        parse('colour = "red"', known=lambda field: field.split("/")[0] in {"name", "id"})


def test_conditions_over_http(client: ConnectWiseClient, sandbox) -> None:
    sandbox.scenario([("Contoso Ltd", ["contoso.com"]), ("Fabrikam Inc", []), ("Contoso Labs", [])])
    names = [c["name"] for c in client.list("/company/companies", conditions='name like "Contoso*"',
                                              order_by="name desc")]
    assert names == ["Contoso Ltd", "Contoso Labs"]
    assert client.count("/company/companies", 'name contains "inc" or name = "Contoso Labs"') == 2
    with pytest.raises(PsaValidationError, match="colour is not a recognized name"):
        client.list("/company/companies", conditions='colour = "red"')
    with pytest.raises(PsaValidationError, match="Invalid conditions: expected a value"):
        client.count("/company/companies", "name =")


def test_an_unknown_field_answers_as_connectwise_does(client: ConnectWiseClient, sandbox) -> None:
    """ConnectWise's answer to a condition on a field it does not have (code ApiFindCondition)."""
    sandbox.scenario([("Contoso Ltd", ["contoso.com"])])
    response = client.request("GET", "/company/companies", params={"conditions": 'typeids="1"'}, expect=(400,))
    assert response.json() == {"code": "ApiFindCondition", "message": "typeids is not a recognized name."}
    response = client.request("GET", "/company/companies", params={"conditions": "name ="}, expect=(400,))
    assert response.json()["code"] == "InvalidObject"  # a condition that does not parse


@pytest.mark.parametrize("path", ["/company/companies", "/finance/agreements", "/procurement/catalog"])
def test_last_updated_is_the_info_field(client: ConnectWiseClient, sandbox, path: str) -> None:
    """``lastUpdated > [date]`` (ConnectWise's incremental-sync idiom) filters on _info/lastUpdated."""
    sandbox.scenario([("Contoso Ltd", ["contoso.com"]), ("Fabrikam Inc", [])])
    table = {"/company/companies": sandbox.companies, "/finance/agreements": sandbox.agreements,
             "/procurement/catalog": sandbox.catalog}[path]
    newest = max(table)
    for record_id, record in table.items():
        record["_info"]["lastUpdated"] = "2026-02-01T08:00:00Z" if record_id == newest else "2025-06-30T00:00:00Z"
    assert [r["id"] for r in client.list(path, conditions="lastUpdated > [2026-01-01T00:00:00Z]")] == [newest]
    assert client.count(path, "_info/lastUpdated > [2026-01-01T00:00:00Z]") == 1
    assert client.count(path, "lastupdated <= [2026-01-01T00:00:00Z]") == len(table) - 1
    ordered = client.list(path, order_by="lastUpdated desc", fields="id")
    assert ordered[0]["id"] == newest
