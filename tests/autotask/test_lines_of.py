"""``list_lines_of`` on Autotask: many contracts' lines in a few ``in`` queries, each contract's
lines exactly what ``list_lines`` reads, and what it costs of the 10,000 requests an hour."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from app.billing.types import LineKind
from app.sandbox.autotask import Exchange
from app.sandbox.server import Response
from app.services.psa.autotask import AutotaskPsa, charges
from app.services.psa.autotask.errors import AutotaskMalformedResponse, AutotaskNotFound
from app.services.psa.port import NewLine
from tests.autotask import spec
from tests.autotask.conftest import TODAY, World, answering

PRICE = Decimal("22.00")
#: The contracts of these tests run one year: twelve unit rows per contract service.
START, END = date(2025, 1, 1), date(2025, 12, 31)


def fresh(world: World) -> AutotaskPsa:
    """An adapter with nothing cached but its zone, whose client never reads ThresholdInformation
    (only the reads under test are counted)."""
    client = world.client(threshold_every=0)
    client.zone_url()
    return AutotaskPsa(client, today=lambda: TODAY)


def seed(world: World, contracts: int) -> list[str]:
    """``contracts`` one-year contracts of one company, each with a seatsync main line; every
    third also with a line added by hand, every fifth with a prorate charge, every seventh none."""
    store = world.app.store
    company = store.add_company("Many tenants")
    code = min(store.tables["BillingCodes"])
    product, other = world.ids["product"], world.ids["product_other"]
    ids = []
    for n in range(contracts):
        contract = store.add_contract(company, f"Microsoft 365 #{n}", start=START, end=END)
        ids.append(str(contract))
        if n % 7 == 6:
            continue
        main = store.add_contract_service(contract, product, units=3 + n % 5, start=date(2025, 3, 1),
                                          invoice_description=f"Business Premium #{n}",
                                          internal_description=f"seatsync:{n:012d}")
        if n % 3 == 0:
            store.add_contract_service(contract, other, units=2, start=START, invoice_description="Added by hand")
        if n % 5 == 0:
            dated = NewLine(agreement_id=str(contract), product_id=str(product), kind=LineKind.PRORATE,
                            quantity=2, unit_price=PRICE, start=date(2025, 3, 10), end=date(2025, 3, 31),
                            description="Prorate", marker=f"seatsync:{n:012d}:p", amount=Decimal("31.23"))
            store.create_charge(contract, charges.charge_body(
                dated, contract_id=contract, contract_service_id=main, billing_code_id=code, charge_type=1,
                status=4, currency="USD") | {"notes": charges.notes(dated)})
    return ids


def unit_rows(world: World, contract_ids: list[str]) -> list[int]:
    """The number of unit rows of each contract's services, contract by contract."""
    store = world.app.store
    asked = {int(c) for c in contract_ids}
    return [len(store.rows(cs_id)) for cs_id, cs in sorted(store.tables["ContractServices"].items())
            if cs["contractID"] in asked]


def by_entity(exchanges: list[Exchange]) -> Counter[str]:
    return Counter(x.path.split("/V1.0/")[1].split("/")[0] for x in exchanges)


def test_many_contracts_read_as_each_contract_s_lines(world: World) -> None:
    ids = seed(world, 30)
    one_by_one = {agreement: fresh(world).list_lines(agreement) for agreement in ids}
    batched = fresh(world).list_lines_of(ids)
    assert list(batched) == ids and batched == one_by_one
    kinds = Counter(line.kind for lines in batched.values() for line in lines)
    assert kinds == {LineKind.MAIN: 26 + 8, LineKind.PRORATE: 5}
    assert sum(1 for lines in batched.values() if not lines) == 4
    assert {line.owned for lines in batched.values() for line in lines} == {True, False}


@pytest.mark.parametrize("contracts", [50, 200])
def test_reading_many_contracts_lines_takes_a_handful_of_requests(world: World, contracts: int) -> None:
    ids = seed(world, contracts)
    psa = fresh(world)
    exchanges = world.app.record_exchanges()
    psa.list_lines_of(ids)
    sent = by_entity(exchanges)
    rows = sum(unit_rows(world, ids))
    # One query each of the contracts, their services and their charges (each under 500 ids and
    # 500 records); the unit rows, one per service and month, come 500 a page.
    assert sent == {"Contracts": 1, "ContractServices": 1, "ContractServiceUnits": math.ceil(rows / 500),
                    "ContractCharges": 1}
    assert all(spec.check(x) == [] for x in exchanges)  # the ``in`` queries follow the vendor's schema

    alone = fresh(world)
    exchanges.clear()
    for agreement in ids:
        alone.list_lines(agreement)
    per_contract = by_entity(exchanges)
    # One by one: each contract read, then its services, their unit rows and its charges.
    assert per_contract["Contracts"] == contracts and per_contract["ContractCharges"] == contracts
    assert per_contract["ContractServices"] == contracts
    assert per_contract["ContractServiceUnits"] == contracts - contracts // 7
    print(f"\n{contracts} contracts, {rows} unit rows: list_lines_of {sum(sent.values())} requests "
          f"{dict(sent)}; list_lines one by one {sum(per_contract.values())} {dict(per_contract)}")


def pages(records: int) -> int:
    """The pages a query of ``records`` records answers (one when it finds none)."""
    return max(1, math.ceil(records / 500))


def test_past_500_contracts_each_query_is_split(world: World) -> None:
    ids = seed(world, 510)
    psa = fresh(world)
    exchanges = world.app.record_exchanges()
    batched = psa.list_lines_of(ids)
    sent = by_entity(exchanges)
    store = world.app.store
    first = {int(c) for c in ids[:500]}  # the first 500 ids asked, the second query the other 10
    services = sorted(cs for cs, record in store.tables["ContractServices"].items()
                      if str(record["contractID"]) in batched)
    assert len(services) > 500
    in_first = sum(1 for cs in services if store.tables["ContractServices"][cs]["contractID"] in first)
    rows = [sum(len(store.rows(cs)) for cs in services[i:i + 500]) for i in range(0, len(services), 500)]
    assert sent == {"Contracts": 2, "ContractServices": pages(in_first) + pages(len(services) - in_first),
                    "ContractServiceUnits": sum(pages(n) for n in rows), "ContractCharges": 2}
    sample = ids[::50] + ids[-3:]
    assert {a: batched[a] for a in sample} == {a: fresh(world).list_lines(a) for a in sample}


def test_contracts_already_read_are_not_read_again(world: World) -> None:
    ids = seed(world, 12)
    psa = fresh(world)
    psa.list_agreements()
    exchanges = world.app.record_exchanges()
    psa.list_lines_of(ids)
    assert "Contracts" not in by_entity(exchanges)
    assert len(exchanges) == 3  # services, unit rows, charges


def test_an_unknown_contract_raises_in_the_order_asked(world: World) -> None:
    ids = seed(world, 3)
    for asked, said in (([ids[0], "987654", "x"], "contract 987654"),
                        ([ids[0], "x", "987654"], "contract 'x'"),
                        ([ids[0], "٣"], "contract '٣'"),  # not Autotask's digits
                        ([ids[0], "9" * 30], f"contract '{'9' * 30}'")):
        with pytest.raises(AutotaskNotFound, match=said):
            fresh(world).list_lines_of(asked)
    assert fresh(world).list_lines_of([]) == {}


def test_the_same_contract_under_two_spellings_gets_a_list_each(world: World) -> None:
    ids = seed(world, 1)
    batched = fresh(world).list_lines_of([ids[0], f" {ids[0]}"])
    assert list(batched) == [ids[0], f" {ids[0]}"] and batched[ids[0]] == batched[f" {ids[0]}"]
    assert batched[ids[0]] is not batched[f" {ids[0]}"]


def test_a_record_of_a_contract_not_asked_for_is_malformed(world: World) -> None:
    ids = seed(world, 2)
    psa = fresh(world)
    psa.list_lines_of(ids)  # the contracts are known from here on
    services = world.app.store.tables["ContractServices"]
    cs_id = min(cs for cs, record in services.items() if record["contractID"] == int(ids[0]))
    # A server answering ``contractID in [...]`` with a service of another contract.
    stray = {"id": cs_id, "contractID": int(ids[1]) + 1000, "serviceID": services[cs_id]["serviceID"],
             "unitPrice": 22, "invoiceDescription": "", "internalDescription": ""}
    with answering(world, "POST", r"/ContractServices/query$",
                   Response.json({"items": [stray], "pageDetails": {"count": 1}})), \
            pytest.raises(AutotaskMalformedResponse, match="which was not asked for"):
        psa.list_lines_of(ids)
