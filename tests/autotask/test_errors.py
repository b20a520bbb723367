"""Typed errors, the zone lookup and its one re-lookup on 401 (or on a 500 that refuses the user name
or the tracking identifier)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from app.sandbox.server import Fault, Response
from app.services.psa.autotask import AutotaskClient, AutotaskPsa
from app.services.psa.autotask.errors import (
    AutotaskBadCredentials,
    AutotaskMalformedResponse,
    AutotaskNotFound,
    AutotaskPermissionError,
    AutotaskRequestRejected,
    AutotaskUnavailable,
    AutotaskUnknownUser,
    AutotaskUserOrCodeRejected,
)
from app.services.psa.autotask.query import eq
from app.services.psa.port import PsaAuthError, PsaPermissionError, PsaUnavailable, PsaValidationError
from tests.autotask import spec
from tests.autotask.conftest import FakeClock, World, answering


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


def test_a_wrong_secret_is_a_typed_error_after_one_re_lookup(world: World) -> None:
    with AutotaskClient(world.credentials(secret="wrong-secret"), verify=world.tls.ca,
                        sleep=FakeClock().sleep) as client, pytest.raises(AutotaskBadCredentials) as caught:
        AutotaskPsa(client).list_companies()
    assert isinstance(caught.value, PsaAuthError)
    assert zone_lookups(world) == 2
    assert "wrong-secret" not in str(caught.value)
    assert "secret" in str(caught.value) and "HTTP 401" in str(caught.value)


def test_an_unknown_tracking_identifier_is_its_own_typed_error(world: World) -> None:
    """The zone answers 500 with an errors body, not 401: seatsync names the two settings to check,
    after one re-lookup of the zone (the database may have moved where the user is not known)."""
    exchanges = world.app.record_exchanges()
    with (AutotaskClient(world.credentials(integration_code="NOT-OURS"), verify=world.tls.ca) as client,
          pytest.raises(AutotaskUserOrCodeRejected) as caught):
        AutotaskPsa(client).list_companies()
    error = caught.value
    assert isinstance(error, PsaAuthError) and not isinstance(error, AutotaskBadCredentials)
    assert str(error).startswith("Autotask did not accept the API user name or the tracking identifier "
                                 "(ApiIntegrationCode): check")
    assert "IntegrationCode is invalid." in str(error) and "NOT-OURS" not in str(error)
    assert zone_lookups(world) == 2
    assert [x.status for x in exchanges if x.route == "{entity}/query"] == [500, 500]
    assert all(spec.check(x) == [] for x in exchanges)


def test_an_unknown_user_in_a_saved_zone_is_named(world: World) -> None:
    """A zone saved with the connection is used without a lookup: the zone answers 500 for a user name
    it does not know, and the re-lookup then finds no zone for it."""
    saved = f"{world.server.url}/webservices5/ATServicesRest"
    exchanges = world.app.record_exchanges()
    with AutotaskClient(world.credentials(username="gone@example.com"), verify=world.tls.ca,
                        zone_url=saved) as client, pytest.raises(AutotaskUnknownUser) as caught:
        client.count("Companies")
    assert "gone@example.com" in str(caught.value) and "Zone information could not be determined" in str(caught.value)
    assert [(x.route, x.status) for x in exchanges if x.route != "ThresholdInformation"] == [
        ("{entity}/query/count", 500), ("zoneInformation", 500)]
    assert exchanges[-2].response == {"errors": ["UserName is invalid."]}


def test_a_credentials_500_after_a_zone_move_is_retried_in_the_new_zone(world: World) -> None:
    """A saved zone where the user name is no longer known answers 500; the re-lookup finds the new zone."""
    world.app.move_user(world.account.username, "webservices14")
    saved = f"{world.server.url}/webservices5/ATServicesRest"
    unknown = Response(500, json.dumps({"errors": ["UserName is invalid."]}).encode(),
                       {"Content-Type": "application/json"})
    with AutotaskClient(world.credentials(), verify=world.tls.ca, zone_url=saved, threshold_every=0) as client:
        with answering(world, "POST", r"^/webservices5/.*/query/count$", unknown):
            assert client.count("Companies") == 3
        assert client.zone_url().endswith("/webservices14/ATServicesRest/")
    assert zone_lookups(world) == 1 and world.server.request_count("POST", "{entity}/query/count") == 2


@pytest.mark.parametrize(("status", "body", "expected", "sent"), [
    (500, {"errors": ["Service 5 was not found."]}, AutotaskRequestRejected, 1),
    (500, {"errors": ["The logged in Resource does not have the adequate permissions to query this entity type "
                      "(user name api@x)."]}, AutotaskPermissionError, 1),
    (500, None, AutotaskUnavailable, 1),
    (500, {"message": "An error has occurred."}, AutotaskUnavailable, 1),
    (503, {"errors": ["IntegrationCode is invalid."]}, AutotaskUnavailable, 4),
])
def test_other_500s_keep_their_meaning(world: World, client: AutotaskClient, status: int, body: object,
                                       expected: type, sent: int) -> None:
    """Only a 500 whose errors speak of the user name or tracking identifier is a credentials error:
    a refusal stays a refusal, a 500 without an errors body a server error (not sent again, since
    Autotask answers refusals with 500), and a 503 is read again as any read is."""
    client.zone_url()
    answer = Response(status, b"" if body is None else json.dumps(body).encode(), {"Content-Type": "application/json"})
    with answering(world, "POST", "/Companies/query/count$", answer), pytest.raises(expected) as caught:
        client.count("Companies")
    assert not isinstance(caught.value, PsaAuthError)
    assert zone_lookups(world) == 1 and world.server.request_count("POST", "{entity}/query/count") == sent


@pytest.mark.parametrize("user", ["nobody@example.com", " "])
def test_an_unknown_user_has_no_zone(world: World, user: str) -> None:
    with (AutotaskClient(world.credentials(username=user), verify=world.tls.ca) as client,
          pytest.raises(AutotaskUnknownUser) as caught):
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
    assert str(error).startswith("Autotask rejected the API credentials: the user name and secret do not match")
    assert str(error).endswith("and that the API user is active. (HTTP 401 on POST Companies)")
    error = AutotaskUserOrCodeRejected("(POST Companies answered HTTP 500: IntegrationCode is invalid.)")
    assert "> API Tracking Identifier. (POST Companies answered HTTP 500" in str(error)


def test_messages_from_autotask_are_quoted_as_plain_text(world: World, client: AutotaskClient) -> None:
    client.zone_url()
    said = "No\x07 \u202eway\u202c \U0001f600" + "x" * 400
    answer = Response(500, json.dumps({"errors": [said, {"nested": 1}]}).encode(),
                      {"Content-Type": "application/json"})
    with answering(world, "POST", "/Companies/query$", answer), pytest.raises(AutotaskRequestRejected) as caught:
        client.query("Companies")
    text = str(caught.value)
    assert "No\\x07 \\u202eway\\u202c \U0001f600" in text and "\u202e" not in text and "\x07" not in text
    assert "x" * 301 not in text and "{'nested': 1}" in text
