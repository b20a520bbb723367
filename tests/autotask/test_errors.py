"""Typed errors, the zone lookup and its one re-lookup on 401."""

from __future__ import annotations

from datetime import date

import pytest

from app.sandbox.server import Fault
from app.services.psa.autotask import AutotaskClient, AutotaskPsa
from app.services.psa.autotask.errors import (
    AutotaskBadCredentials,
    AutotaskMalformedResponse,
    AutotaskNotFound,
    AutotaskPermissionError,
    AutotaskRequestRejected,
    AutotaskUnavailable,
    AutotaskUnknownUser,
)
from app.services.psa.autotask.query import eq
from app.services.psa.port import PsaAuthError, PsaPermissionError, PsaUnavailable, PsaValidationError
from tests.autotask.conftest import FakeClock, World


def zone_lookups(world: World) -> int:
    return world.server.request_count("GET", "zoneInformation")


def test_the_zone_is_looked_up_once_and_cached(world: World, client: AutotaskClient) -> None:
    for _ in range(3):
        client.query("Companies", [eq("id", world.ids["company"])])
    assert zone_lookups(world) == 1
    assert client.zone_url() == f"{world.server.url}/webservices5/ATServicesRest/"


def test_a_401_looks_the_zone_up_once_more_and_retries(world: World, client: AutotaskClient) -> None:
    client.query("Companies", [eq("id", world.ids["company"])])
    world.app.move_user(world.account.username, "webservices14")  # the database moved zones
    found = client.query("Companies", [eq("id", world.ids["company"])])
    assert [r["id"] for r in found] == [world.ids["company"]]
    assert zone_lookups(world) == 2
    assert client.zone_url().endswith("/webservices14/ATServicesRest/")


def test_threads_hitting_a_401_together_look_the_zone_up_once(world: World, client: AutotaskClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client.count("Companies")
    world.app.move_user(world.account.username, "webservices14")
    with ThreadPoolExecutor(max_workers=10) as pool:
        counts = list(pool.map(lambda _: client.count("Companies"), range(20)))
    assert counts == [3] * 20 and zone_lookups(world) == 2


def test_a_401_during_paging_follows_the_new_zone(world: World, client: AutotaskClient) -> None:
    for n in range(520):
        world.app.store.add_company(f"Paged {n}")
    first = client.call("POST", "V1.0/Companies/query", endpoint="Companies", read=True,
                        body={"filter": [{"op": "gte", "field": "id", "value": 0}]})
    world.app.move_user(world.account.username, "webservices2")
    rest = client.call("GET", first["pageDetails"]["nextPageUrl"], endpoint="Companies")
    assert len(first["items"]) + len(rest["items"]) == 520 + 3 and zone_lookups(world) == 2


def test_a_saved_zone_skips_the_lookup_until_it_fails(world: World) -> None:
    saved = f"{world.server.url}/webservices9/ATServicesRest"  # the database has moved since
    with AutotaskClient(world.credentials(), verify=world.tls.ca, zone_url=saved) as client:
        assert client.zone_url() == saved + "/"
        assert zone_lookups(world) == 0
        client.count("Companies")
        assert zone_lookups(world) == 1 and client.zone_url().endswith("/webservices5/ATServicesRest/")


@pytest.mark.parametrize("change", [{"secret": "wrong-secret"}, {"integration_code": "NOT-OURS"}])
def test_bad_credentials_are_a_typed_error_after_one_re_lookup(world: World, change: dict[str, str]) -> None:
    with AutotaskClient(world.credentials(**change), verify=world.tls.ca, sleep=FakeClock().sleep) as client:
        with pytest.raises(AutotaskBadCredentials) as caught:
            AutotaskPsa(client).list_companies()
    assert isinstance(caught.value, PsaAuthError)
    assert zone_lookups(world) == 2
    assert "wrong-secret" not in str(caught.value) and "NOT-OURS" not in str(caught.value)
    assert "API Tracking Identifier" in str(caught.value)


@pytest.mark.parametrize("user", ["nobody@example.com", " "])
def test_an_unknown_user_has_no_zone(world: World, user: str) -> None:
    with AutotaskClient(world.credentials(username=user), verify=world.tls.ca) as client:
        with pytest.raises(AutotaskUnknownUser) as caught:
            AutotaskPsa(client).test_connection()
    assert isinstance(caught.value, PsaAuthError) and "user name" in str(caught.value)


def test_a_zone_lookup_without_an_address_is_a_malformed_answer(world: World, client: AutotaskClient,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(world.app, "_zone_base", lambda request, zone: "ftp://nowhere/")
    with pytest.raises(AutotaskMalformedResponse, match="no API address"):
        client.zone_url()


def test_the_secret_never_shows(world: World) -> None:
    credentials = world.credentials()
    assert world.account.secret not in repr(credentials)
    with AutotaskClient(credentials, verify=world.tls.ca) as client:
        assert world.account.secret not in repr(client.credentials)


@pytest.mark.parametrize(("entity", "action", "call"), [
    ("Companies", "query", lambda psa, ids: psa.list_companies()),
    ("ContractServices", "create", lambda psa, ids: psa.client.create(
        f"V1.0/Contracts/{ids['prorating']}/Services", {"contractID": ids["prorating"], "serviceID": ids["product"]},
        endpoint="ContractServices")),
])
def test_the_500_that_means_no_permission(world: World, psa: AutotaskPsa, entity: str, action: str,
                                          call: object) -> None:
    world.app.deny(world.account.username, entity, action)
    with pytest.raises(AutotaskPermissionError) as caught:
        call(psa, world.ids)  # type: ignore[operator]
    assert isinstance(caught.value, PsaPermissionError)
    assert "adequate permissions" in str(caught.value)


def test_a_refused_write_says_why_and_was_not_applied(world: World, psa: AutotaskPsa) -> None:
    ids = world.ids
    with pytest.raises(AutotaskRequestRejected) as caught:
        psa.client.create(f"V1.0/Contracts/{ids['hours']}/Services",
                          {"contractID": ids["hours"], "serviceID": ids["product"]}, endpoint="ContractServices")
    assert isinstance(caught.value, PsaValidationError)
    assert "Recurring Service" in str(caught.value)
    assert world.app.store.tables["ContractServices"] == {}


def test_missing_records(world: World, psa: AutotaskPsa) -> None:
    assert psa.client.get("Contracts", 987654) is None
    with pytest.raises(AutotaskNotFound):
        psa.list_lines("987654")
    with pytest.raises(AutotaskNotFound):
        psa.list_lines("not-a-number")
    with pytest.raises(AutotaskNotFound):
        psa.client.delete(f"V1.0/Contracts/{world.ids['prorating']}/Charges/5", endpoint="ContractCharges")


def test_server_failures_are_unavailable_and_say_if_a_write_may_have_landed(world: World,
                                                                            psa: AutotaskPsa) -> None:
    world.server.chaos.inject(Fault("status", method="POST", path="/query$", status=503, times=10))
    with pytest.raises(AutotaskUnavailable) as caught:
        psa.list_companies()
    assert isinstance(caught.value, PsaUnavailable) and not caught.value.maybe_applied
    world.server.chaos.clear()
    world.server.chaos.inject(Fault("status_after", method="POST", path="ContractServiceAdjustments", status=502))
    cs = world.app.store.add_contract_service(world.ids["prorating"], world.ids["product"], units=1,
                                              start=date(2025, 3, 1), internal_description="seatsync:aaaaaaaaaaaa")
    with pytest.raises(AutotaskUnavailable) as caught:
        psa.client.create("V1.0/ContractServiceAdjustments",
                          {"contractID": world.ids["prorating"], "contractServiceID": cs,
                           "effectiveDate": "2025-04-01T00:00:00", "unitChange": 1},
                          endpoint="ContractServiceAdjustments")
    assert caught.value.maybe_applied


def test_an_answer_that_is_not_json_is_malformed(world: World, client: AutotaskClient) -> None:
    client.zone_url()
    # The sandbox answers 200 with an empty text/html body, as a proxy or maintenance page would.
    world.server.chaos.inject(Fault("status_after", method="POST", path="query/count$", status=200))
    with pytest.raises(AutotaskMalformedResponse, match="text/html"):
        client.count("Companies")


def test_every_message_carries_its_whole_advice() -> None:
    error = AutotaskBadCredentials("(HTTP 401 on POST Companies)")
    assert str(error).startswith("Autotask rejected the API credentials: check the API user's user name and secret")
    assert str(error).endswith("API Tracking Identifier. (HTTP 401 on POST Companies)")
