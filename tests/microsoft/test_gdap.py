"""GDAP relationships read from the partner tenant, and a customer's status from them (gdap.py, APIS.md §A4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.sandbox.microsoft import Scenario
from app.services.microsoft import MalformedResponse, PermissionsMissing, gdap
from app.services.microsoft.gdap import (
    DIRECTORY_READERS,
    GLOBAL_READER,
    LICENSE_ADMINISTRATOR,
    REPORTS_READER,
    GdapState,
    Relationship,
    gdap_status,
)
from app.services.microsoft.permissions import PARTNER_GRAPH_PERMISSIONS
from tests.microsoft.conftest import bearer, first_consented

NOW = datetime(2026, 3, 15, 12, tzinfo=UTC)
TENANT = "11111111-2222-4333-8444-555555555555"


@pytest.fixture
def partner_reads(scenario: Scenario) -> Scenario:
    scenario.add_role(*PARTNER_GRAPH_PERMISSIONS)
    return scenario


def test_relationships_are_read_typed_from_the_partner_tenant(clients, partner_reads):
    scenario = partner_reads
    found = gdap.relationships(clients.graph, scenario.partner_tenant_id)
    assert {r.customer_tenant_id for r in found} == set(scenario.tenants)
    for r in found:
        tenant = scenario.tenants[r.customer_tenant_id]
        assert r.customer_name == tenant.name and r.status == "active"
        assert r.role_ids == {DIRECTORY_READERS, GLOBAL_READER}
        assert r.end is not None and r.end.date() == tenant.gdap_until + timedelta(days=1)
        assert gdap_status(found, tenant.id, NOW).state in (GdapState.FINE, GdapState.ENDING)


def test_relationships_page_at_300(clients, server, partner_reads):
    scenario = partner_reads
    tenant = first_consented(scenario)
    for _ in range(320):
        scenario.add_relationship(tenant.id, end=scenario.today + timedelta(days=10))
    found = gdap.relationships(clients.graph, scenario.partner_tenant_id)
    assert len(found) == len(scenario.tenants) + 320 and len({r.id for r in found}) == len(found)
    assert server.request_count("GET", "graph:delegatedAdminRelationships") == 2


def test_top_above_300_is_refused(http, server, partner_reads):
    scenario = partner_reads
    auth = bearer(http, server, scenario.partner_tenant_id, scenario.client_id, scenario.client_secret)
    answer = http.get(f"{server.url}/v1.0/tenantRelationships/delegatedAdminRelationships?$top=301", headers=auth)
    assert answer.status_code == 400 and "between 1 and 300" in answer.json()["error"]["message"]


def test_a_customer_tenant_holds_no_relationships_as_a_partner(clients, partner_reads):
    tenant = first_consented(partner_reads)
    assert gdap.relationships(clients.graph, tenant.id) == ()


def test_reading_relationships_without_the_permission_names_it(clients, scenario):
    with pytest.raises(PermissionsMissing) as caught:
        gdap.relationships(clients.graph, scenario.partner_tenant_id)
    assert caught.value.missing == ("DelegatedAdminRelationship.Read.All",)


def test_states_follow_the_sandbox_world(clients, partner_reads):
    scenario = partner_reads
    consented = [t for t in scenario.tenants.values() if t.consent]
    expired, terminated, pending, short, ending = consented[:5]
    scenario.expire_gdap(expired.id)
    scenario.end_relationships(terminated.id)
    scenario.end_relationships(pending.id)
    scenario.add_relationship(pending.id, status="approvalPending")
    scenario.end_relationships(short.id)
    scenario.add_relationship(short.id, end=scenario.today + timedelta(days=300), role_ids=(REPORTS_READER,))
    scenario.end_relationships(ending.id)
    scenario.add_relationship(ending.id, end=scenario.today + timedelta(days=5))
    found = gdap.relationships(clients.graph, scenario.partner_tenant_id)
    now = datetime.combine(scenario.today, datetime.min.time(), UTC) + timedelta(hours=12)
    states = {t.id: gdap_status(found, t.id, now) for t in (expired, terminated, pending, short, ending)}
    assert states[expired.id].state is GdapState.ENDED
    assert states[terminated.id].state is GdapState.ENDED
    assert states[pending.id].state is GdapState.PENDING
    assert states[short.id].state is GdapState.ROLES_INSUFFICIENT
    # Access lasts to the end of its last day, 5 days after today: 5 whole days and a half from noon.
    assert states[ending.id].state is GdapState.ENDING and states[ending.id].days_left == 5
    assert gdap_status(found, "00000000-0000-4000-8000-000000000000", now).state is GdapState.MISSING


def relationship(**changes) -> Relationship:  # type: ignore[no-untyped-def]
    values = dict(id="r1", customer_tenant_id=TENANT, customer_name="Contoso", status="active",
                  end=NOW + timedelta(days=200), role_ids=frozenset({DIRECTORY_READERS}), auto_extends=False)
    values.update(changes)
    return Relationship(**values)


@pytest.mark.parametrize(("relationships", "state"), [
    ((), GdapState.MISSING),
    ((relationship(status="approvalPending", end=None),), GdapState.PENDING),
    ((relationship(status="expired", end=NOW - timedelta(days=1)),), GdapState.ENDED),
    ((relationship(end=NOW - timedelta(seconds=1)),), GdapState.ENDED),  # active on paper, past its end
    ((relationship(status="terminated"),), GdapState.ENDED),
    ((relationship(status="expiring"),), GdapState.ENDED),
    ((relationship(end=NOW + timedelta(days=29)),), GdapState.ENDING),
    ((relationship(end=NOW + timedelta(days=29), auto_extends=True),), GdapState.FINE),
    ((relationship(end=NOW + timedelta(days=30)),), GdapState.FINE),
    ((relationship(role_ids=frozenset({REPORTS_READER})),), GdapState.ROLES_INSUFFICIENT),
    ((relationship(role_ids=frozenset({GLOBAL_READER})),), GdapState.ROLES_INSUFFICIENT),  # not a user's licenses
    ((relationship(role_ids=frozenset({LICENSE_ADMINISTRATOR})),), GdapState.ROLES_INSUFFICIENT),  # nor users
    ((relationship(role_ids=frozenset({GLOBAL_READER})),
      relationship(id="r2", role_ids=frozenset({LICENSE_ADMINISTRATOR}))), GdapState.FINE),  # roles add up
    ((relationship(status="terminated"), relationship(id="r2")), GdapState.FINE),
])
def test_status_of_a_customer(relationships, state):
    assert gdap_status(relationships, TENANT.upper(), NOW).state is state


def test_insufficient_roles_name_each_read_and_the_roles_that_allow_it():
    status = gdap_status((relationship(role_ids=frozenset({GLOBAL_READER})),), TENANT, NOW)
    assert status.missing == ("a user's licenses (GetAssignedLicensesAsync) needs one of Directory Readers, "
                              "Directory Writers, License Administrator, User Administrator",)
    assert "lacks roles license reads need" in status.message and "GetAssignedLicensesAsync" in status.message


def test_ending_and_other_messages_say_what_to_do():
    assert "ends in 3 day(s)" in gdap_status((relationship(end=NOW + timedelta(days=3, hours=1)),), TENANT,
                                             NOW).message
    assert "request one in Partner Center" in gdap_status((), TENANT, NOW).message
    assert gdap_status((relationship(end=NOW + timedelta(days=10)),), TENANT, NOW, within_days=7).state \
        is GdapState.FINE


@pytest.mark.parametrize(("change", "field"), [
    (lambda i: {**i, "status": "paused"}, "status"),
    (lambda i: {**i, "customer": {"tenantId": "contoso.com"}}, "tenantId"),
    (lambda i: {k: v for k, v in i.items() if k != "customer"}, "customer"),
    (lambda i: {**i, "endDateTime": "next year"}, "endDateTime"),
    (lambda i: {**i, "accessDetails": {"unifiedRoles": [{"roleDefinitionId": 7}]}}, "roleDefinitionId"),
    (lambda i: {**i, "accessDetails": {"unifiedRoles": "Global Reader"}}, "unifiedRoles"),
])
def test_malformed_relationships_are_typed_errors(clients, sandbox, partner_reads, change, field):
    sandbox.tamper = lambda route, p: {**p, "value": [change(i) for i in p["value"]]} \
        if route == "delegatedAdminRelationships" else p
    with pytest.raises(MalformedResponse, match=field):
        gdap.relationships(clients.graph, partner_reads.partner_tenant_id)


def test_the_sandbox_answers_in_the_documented_shape(http, server, partner_reads):
    scenario = partner_reads
    tenant = first_consented(scenario)
    scenario.end_relationships(tenant.id)
    scenario.add_relationship(tenant.id, status="approvalPending")
    auth = bearer(http, server, scenario.partner_tenant_id, scenario.client_id, scenario.client_secret)
    body = http.get(f"{server.url}/v1.0/tenantRelationships/delegatedAdminRelationships", headers=auth).json()
    assert body["@odata.context"].endswith("/tenantRelationships/$metadata#delegatedAdminRelationships")
    item = next(i for i in body["value"] if i["status"] == "approvalPending")
    assert set(item) == {"@odata.type", "@odata.etag", "id", "displayName", "duration", "customer", "accessDetails",
                         "status", "autoExtendDuration", "createdDateTime", "lastModifiedDateTime",
                         "activatedDateTime", "endDateTime"}
    assert item["@odata.type"] == "#microsoft.graph.delegatedAdminRelationship"
    assert item["activatedDateTime"] is None and item["endDateTime"] is None  # before approval
    assert item["customer"] == {"tenantId": tenant.id, "displayName": tenant.name}
    assert item["duration"] == "P730D" and item["autoExtendDuration"] == "PT0S"
    active = next(i for i in body["value"] if i["status"] == "active")
    assert active["endDateTime"].endswith("T00:00:00Z") and active["activatedDateTime"] < active["endDateTime"]
