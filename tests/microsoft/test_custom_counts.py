"""Counts for custom license rows (counts.py) against the sandbox: users, groups, mailboxes (APIS.md §A4)."""

from __future__ import annotations

import csv
import io

import pytest

from app.sandbox.microsoft import Scenario
from app.services.microsoft import MalformedResponse, PermissionsMissing, counts
from app.services.microsoft.graph import GraphClient
from app.services.microsoft.permissions import COUNT_PERMISSIONS
from tests.microsoft.conftest import bearer, first_consented


@pytest.fixture
def tenant(scenario: Scenario):  # type: ignore[no-untyped-def]
    """A consented tenant, the app holding the count permissions too (before any token is issued)."""
    scenario.add_role(*COUNT_PERMISSIONS)
    return first_consented(scenario, min_users=6)


def graph_get(http, server, scenario, tenant_id, path, headers=None):  # type: ignore[no-untyped-def]
    auth = bearer(http, server, tenant_id, scenario.client_id, scenario.client_secret)
    return http.get(f"{server.url}{path}", headers={**auth, **(headers or {})})


# -- enabled member users -------------------------------------------------------------


def test_enabled_members_leave_out_guests_and_disabled_accounts_in_one_read(clients, server, scenario, tenant):
    guest, disabled = tenant.users[0], tenant.users[1]
    guest.user_type, disabled.enabled = "Guest", False
    expected = {u.id for u in tenant.users if u.enabled and u.user_type == "Member"}
    users = counts.enabled_members(clients.graph, tenant.id)
    assert {u.id for u in users} == expected and guest.id not in expected and disabled.id not in expected
    assert all(u.upn and u.enabled and u.member for u in users)
    assert server.request_count("GET", "graph:users") == 1  # the filter ran on Graph's side


def test_enabled_members_refuse_an_answer_that_ignored_the_filter(clients, sandbox, tenant):
    def unfiltered(route, payload):
        if route == "users":
            payload["value"].append({"id": "x", "userPrincipalName": "x@y", "accountEnabled": False,
                                     "userType": "Member"})
        return payload

    sandbox.tamper = unfiltered
    with pytest.raises(MalformedResponse, match="accountEnabled contradicts the filter"):
        counts.enabled_members(clients.graph, tenant.id)


# -- groups ------------------------------------------------------------------------


def test_groups_are_found_by_display_name_and_more_than_one_can_match(clients, server, scenario, tenant):
    a = scenario.add_group(tenant.id, "Sales")
    b = scenario.add_group(tenant.id, "sales")  # Graph's eq on text ignores case
    scenario.add_group(tenant.id, "Sales Team")
    quoted = scenario.add_group(tenant.id, "O'Brien's staff")
    assert {g.id for g in counts.groups_named(clients.graph, tenant.id, "Sales")} == {a.id, b.id}
    assert counts.groups_named(clients.graph, tenant.id, "O'Brien's staff") == (
        counts.Group(id=quoted.id, display_name="O'Brien's staff"),)
    assert counts.groups_named(clients.graph, tenant.id, "Nobody") == ()


def test_the_group_picker_reads_a_page_at_a_time(clients, server, scenario, tenant):
    made = {scenario.add_group(tenant.id, f"Group {i:03}").id for i in range(250)}
    pages = counts.group_pages(clients.graph, tenant.id, page_size=100)
    first = next(pages)
    assert len(first) == 100 and server.request_count("GET", "graph:groups") == 1  # the rest is not read yet
    rest = [g for page in pages for g in page]
    assert {g.id for g in (*first, *rest)} == made and len(rest) == 150
    assert server.request_count("GET", "graph:groups") == 3


def test_group_users_follow_nesting_once_each_and_survive_a_cycle(clients, scenario, tenant):
    u = tenant.users
    inner = scenario.add_group(tenant.id, "Inner", [u[1], u[2]])
    innermost = scenario.add_group(tenant.id, "Innermost", [u[3], u[1]])
    outer = scenario.add_group(tenant.id, "Outer", [u[0], inner])
    scenario.add_members(tenant.id, inner.id, [innermost, outer])  # a cycle back to the top
    found = counts.group_users(clients.graph, tenant.id, outer.id)
    assert {x.id for x in found.users} == {u[0].id, u[1].id, u[2].id, u[3].id}
    assert found.count == found.reported_count == 4 and not found.names_hidden
    assert {x.upn for x in found.users} == {u[i].upn for i in range(4)}


def test_group_users_page_and_count(clients, scenario, tenant):
    scenario.add_users(tenant.id, 5)
    group = scenario.add_group(tenant.id, "All", tenant.users)
    small = GraphClient(clients.graph_api, clients.tokens, page_size=2)
    found = counts.group_users(small, tenant.id, group.id)
    assert found.count == found.reported_count == len(tenant.users)
    assert len({u.id for u in found.users}) == len(tenant.users)


def test_group_users_without_user_read_come_back_as_ids_only(clients, scenario, tenant):
    group = scenario.add_group(tenant.id, "Staff", tenant.users[:3])
    scenario.leave_out_role("User.Read.All")
    found = counts.group_users(clients.graph, tenant.id, group.id)
    assert found.count == 3 and found.names_hidden and all(not u.upn for u in found.users)


def test_the_cast_to_users_needs_the_advanced_query_header_and_count(http, server, scenario, tenant):
    group = scenario.add_group(tenant.id, "Staff", tenant.users[:2])
    path = f"/v1.0/groups/{group.id}/transitiveMembers/microsoft.graph.user"
    for query, headers in ((("?$count=true", {})), ("", {"ConsistencyLevel": "eventual"})):
        refused = graph_get(http, server, scenario, tenant.id, path + query, headers)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "Request_UnsupportedQuery"
    ok = graph_get(http, server, scenario, tenant.id, path + "?$count=true&$select=id,displayName",
                   {"ConsistencyLevel": "eventual"})
    body = ok.json()
    assert ok.status_code == 200 and body["@odata.count"] == 2
    assert all(set(item) == {"id", "displayName"} for item in body["value"])
    missing = graph_get(http, server, scenario, tenant.id,
                        "/v1.0/groups/00000000-0000-4000-8000-000000000000/transitiveMembers/microsoft.graph.user"
                        "?$count=true", {"ConsistencyLevel": "eventual"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "Request_ResourceNotFound"


def test_groups_count_only_with_the_header(http, server, scenario, tenant):
    scenario.add_group(tenant.id, "One")
    plain = graph_get(http, server, scenario, tenant.id, "/v1.0/groups?$count=true").json()
    counted = graph_get(http, server, scenario, tenant.id, "/v1.0/groups?$count=true",
                        {"ConsistencyLevel": "eventual"}).json()
    assert "@odata.count" not in plain and counted["@odata.count"] == 1


def test_group_reads_without_the_permission_name_it(clients, scenario, tenant):
    group = scenario.add_group(tenant.id, "Staff", tenant.users[:2])
    scenario.leave_out_role("GroupMember.Read.All")
    with pytest.raises(PermissionsMissing) as caught:
        counts.group_users(clients.graph, tenant.id, group.id)
    assert caught.value.missing == ("GroupMember.Read.All",) and caught.value.code == "Authorization_RequestDenied"
    assert "GroupMember.Read.All" in str(caught.value)


@pytest.mark.parametrize("change", [
    lambda p: {**p, "@odata.count": "three"},
    lambda p: {k: v for k, v in p.items() if k != "@odata.count"},
    lambda p: {**p, "value": {"id": "x"}},
    lambda p: {**p, "value": [{"displayName": "no id"}]},
    lambda p: {**p, "value": [{"id": "x", "accountEnabled": "yes"}]},
])
def test_malformed_member_answers_are_typed_errors(clients, sandbox, scenario, tenant, change):
    group = scenario.add_group(tenant.id, "Staff", tenant.users[:2])
    sandbox.tamper = lambda route, payload: change(payload) if route == "transitiveMembers" else payload
    with pytest.raises(MalformedResponse):
        counts.group_users(clients.graph, tenant.id, group.id)


# -- mailboxes ---------------------------------------------------------------------------


def seed_mailboxes(scenario: Scenario, tenant, *, concealed: bool) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    scenario.add_shared_mailboxes(tenant.id, 3)
    scenario.add_shared_mailboxes(tenant.id, 2, kind="room")  # not in the usage report
    scenario.conceal_report_names(tenant.id, concealed)
    users = sum(1 for u in tenant.users if u.mailbox == "user")
    return users, 3


def test_mailboxes_by_kind_ask_user_purpose_when_the_report_has_no_type(clients, server, scenario, tenant):
    users, shared = seed_mailboxes(scenario, tenant, concealed=False)
    found = counts.mailboxes(clients.graph, tenant.id)
    assert not found.concealed and found.note == ""
    assert users > 0 and found.by_kind() == {"user": users, "shared": shared}
    assert found.count("shared") == shared and found.count() == users + shared
    assert server.request_count("GET", "graph:userPurpose") == users + shared  # one per row: the stated cost
    assert {m.upn for m in found.mailboxes} >= {u.upn for u in tenant.users if u.mailbox == "shared"}


def test_a_recipient_type_in_the_report_saves_the_per_mailbox_reads(clients, server, sandbox, scenario, tenant):
    users, shared = seed_mailboxes(scenario, tenant, concealed=False)
    sandbox.report_recipient_type = True
    found = counts.mailboxes(clients.graph, tenant.id)
    assert found.count("shared") == shared and found.count("user") == users
    assert server.request_count("GET", "graph:userPurpose") == 0


def test_concealed_names_still_count_but_say_names_and_kinds_are_unknown(clients, server, scenario, tenant):
    users, shared = seed_mailboxes(scenario, tenant, concealed=True)
    found = counts.mailboxes(clients.graph, tenant.id)
    assert found.concealed and found.count() == users + shared and found.by_kind() == {"unknown": users + shared}
    assert "conceals user names" in found.note
    upns = {u.upn for u in tenant.users}
    assert not any(m.upn in upns for m in found.mailboxes)  # concealed values match no user
    assert server.request_count("GET", "graph:userPurpose") == 0


def test_the_report_pages_200_rows_at_a_time(clients, server, scenario, tenant):
    scenario.add_shared_mailboxes(tenant.id, 450)
    scenario.conceal_report_names(tenant.id, True)
    found = counts.mailboxes(clients.graph, tenant.id)
    total = sum(1 for u in tenant.users if u.mailbox in ("user", "shared"))
    assert found.count() == total and len({m.upn for m in found.mailboxes}) == total
    assert server.request_count("GET", "graph:mailboxUsage") == -(-total // 200)


def test_user_purpose_is_read_in_either_documented_shape(clients, sandbox, scenario, tenant):
    shared = scenario.add_shared_mailboxes(tenant.id, 1)[0]
    assert counts.mailbox_kind(clients.graph, tenant.id, shared.id) == "shared"
    sandbox.tamper = lambda route, p: {**p, "value": {"value": p["value"]}} if route == "userPurpose" else p
    assert counts.mailbox_kind(clients.graph, tenant.id, shared.upn) == "shared"
    no_mailbox = scenario.add_users(tenant.id, 1)[0]
    assert counts.mailbox_kind(clients.graph, tenant.id, no_mailbox.id) is None


@pytest.mark.parametrize("value", ["Shared", 3, None, {"value": "cupboard"}])
def test_a_user_purpose_that_is_not_a_kind_is_a_typed_error(clients, sandbox, scenario, tenant, value):
    shared = scenario.add_shared_mailboxes(tenant.id, 1)[0]
    sandbox.tamper = lambda route, p: {**p, "value": value} if route == "userPurpose" else p
    with pytest.raises(MalformedResponse):
        counts.mailbox_kind(clients.graph, tenant.id, shared.id)


def test_report_settings_are_read_plain_or_wrapped_in_value(clients, sandbox, scenario, tenant):
    scenario.conceal_report_names(tenant.id, False)
    assert counts.concealed_names(clients.graph, tenant.id) is False
    sandbox.tamper = lambda route, p: {"value": {"displayConcealedNames": True}} if route == "reportSettings" else p
    assert counts.concealed_names(clients.graph, tenant.id) is True
    sandbox.tamper = lambda route, p: {"displayConcealedNames": "no"} if route == "reportSettings" else p
    with pytest.raises(MalformedResponse, match="displayConcealedNames"):
        counts.concealed_names(clients.graph, tenant.id)


@pytest.mark.parametrize("change", [
    lambda row: {k: v for k, v in row.items() if k != "userPrincipalName"},
    lambda row: {**row, "isDeleted": "false"},
    lambda row: {**row, "recipientType": "Room"},
])
def test_malformed_report_rows_are_typed_errors(clients, sandbox, scenario, tenant, change):
    scenario.conceal_report_names(tenant.id, True)
    scenario.add_shared_mailboxes(tenant.id, 1)
    sandbox.tamper = lambda route, p: {**p, "value": [change(r) for r in p["value"]]} if route == "mailboxUsage" \
        else p
    with pytest.raises(MalformedResponse):
        counts.mailboxes(clients.graph, tenant.id)


def test_deleted_mailboxes_are_not_counted(clients, sandbox, scenario, tenant):
    scenario.conceal_report_names(tenant.id, True)
    scenario.add_shared_mailboxes(tenant.id, 2)
    total = sum(1 for u in tenant.users if u.mailbox in ("user", "shared"))
    sandbox.tamper = lambda route, p: {**p, "value": [{**p["value"][0], "isDeleted": True}, *p["value"][1:]]} \
        if route == "mailboxUsage" else p
    found = counts.mailboxes(clients.graph, tenant.id)
    assert found.count() == total - 1 and len(found.mailboxes) == total


def test_mailbox_reads_without_reports_permission_name_it(clients, scenario, tenant):
    scenario.leave_out_role("Reports.Read.All")
    with pytest.raises(PermissionsMissing) as caught:
        counts.mailboxes(clients.graph, tenant.id)
    assert caught.value.missing == ("Reports.Read.All",)


def test_the_report_is_csv_without_format_and_refuses_a_bad_period(http, server, scenario, tenant):
    scenario.conceal_report_names(tenant.id, False)
    scenario.add_shared_mailboxes(tenant.id, 1)
    plain = graph_get(http, server, scenario, tenant.id, "/beta/reports/getMailboxUsageDetail(period='D30')")
    rows = list(csv.reader(io.StringIO(plain.content.decode("utf-8-sig"))))
    assert plain.status_code == 200 and rows[0][:3] == ["Report Refresh Date", "User Principal Name", "Display Name"]
    assert len(rows) - 1 == sum(1 for u in tenant.users if u.mailbox in ("user", "shared"))
    assert all(r[-1] == "30" for r in rows[1:])
    bad = graph_get(http, server, scenario, tenant.id, "/beta/reports/getMailboxUsageDetail(period='D8')")
    assert bad.status_code == 400
    with pytest.raises(ValueError, match="D7"):
        counts.mailboxes(None, tenant.id, "D8")  # type: ignore[arg-type]


@pytest.mark.parametrize("change", [
    lambda p: {**p, "value": [{"displayName": "no id"}]},
    lambda p: {**p, "value": [{"id": 7, "displayName": "x"}]},
    lambda p: {k: v for k, v in p.items() if k != "value"},
])
def test_malformed_group_answers_are_typed_errors(clients, sandbox, scenario, tenant, change):
    scenario.add_group(tenant.id, "Sales")
    sandbox.tamper = lambda route, payload: change(payload) if route == "groups" else payload
    with pytest.raises(MalformedResponse):
        counts.groups_named(clients.graph, tenant.id, "Sales")
    with pytest.raises(MalformedResponse):
        next(counts.group_pages(clients.graph, tenant.id))
