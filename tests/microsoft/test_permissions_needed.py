"""The one list of access seatsync needs (permissions.NEEDED), its checks, and docs/permissions.md."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from app.sandbox.microsoft import graph as sandbox_graph
from app.services.microsoft import PermissionsMissing
from app.services.microsoft.permissions import (
    COUNT_PERMISSIONS,
    GRAPH_CALLS,
    GRAPH_PERMISSIONS,
    NEEDED,
    PARTNER_CENTER,
    PARTNER_GRAPH_PERMISSIONS,
    check_token,
    missing_permissions,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
#: graph.py's labels -> the sandbox's route names for the same reads.
SANDBOX_ROUTES = {"subscribedSkus": "subscribedSkus", "directory/subscriptions": "directory/subscriptions",
                  "users": "users", "groups": "groups", "groups/transitiveMembers": "groups",
                  "reports/getMailboxUsageDetail": "mailboxUsage", "admin/reportSettings": "reportSettings",
                  "mailboxSettings/userPurpose": "userPurpose",
                  "delegatedAdminRelationships": "delegatedAdminRelationships"}


def jwt(roles: list[str]) -> str:
    body = base64.urlsafe_b64encode(json.dumps({"roles": roles}).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJSUzI1NiJ9.{body}.c2ln"


def test_the_list_by_feature():
    assert set(GRAPH_PERMISSIONS) == {"Organization.Read.All", "User.Read.All"}
    assert set(COUNT_PERMISSIONS) == {"GroupMember.Read.All", "Reports.Read.All", "ReportSettings.Read.All",
                                      "MailboxSettings.Read"}
    assert set(PARTNER_GRAPH_PERMISSIONS) == {"DelegatedAdminRelationship.Read.All"}
    names = [n.name for n in NEEDED]
    assert len(names) == len(set(names)) and all(n.why for n in NEEDED)
    assert [n.where for n in NEEDED].count(PARTNER_CENTER) == 1


def test_every_graph_read_asks_a_listed_permission_that_is_enough_for_it_and_the_sandbox_agrees():
    listed = {n.name for n in NEEDED}
    for label, (asked, enough) in GRAPH_CALLS.items():
        assert asked in listed and asked in enough, label
        assert asked in sandbox_graph.PERMISSIONS[SANDBOX_ROUTES[label]], label
        assert sandbox_graph.PERMISSIONS[SANDBOX_ROUTES[label]] <= enough | {"Directory.ReadWrite.All"}, label


def test_check_token_names_each_missing_permission_and_what_it_is_for():
    check_token(jwt([*COUNT_PERMISSIONS, "Mail.Send"]), "t1", COUNT_PERMISSIONS)
    with pytest.raises(PermissionsMissing) as caught:
        check_token(jwt(["Reports.Read.All"]), "t1", COUNT_PERMISSIONS)
    assert caught.value.missing == ("GroupMember.Read.All", "MailboxSettings.Read", "ReportSettings.Read.All")
    text = str(caught.value)
    for name in caught.value.missing:
        assert f"{name} for {COUNT_PERMISSIONS[name]}" in text
    assert "Reports.Read.All for" not in text and caught.value.tenant_id == "t1"
    assert missing_permissions(jwt([]), PARTNER_GRAPH_PERMISSIONS) == ("DelegatedAdminRelationship.Read.All",)


def test_the_doc_names_every_graph_permission_of_the_list_and_the_mailbox_decision():
    text = DOC.read_text(encoding="utf-8")
    for need in NEEDED:
        if need.where != PARTNER_CENTER:
            assert f"`{need.name}`" in text, f"docs/permissions.md does not name {need.name}"
    assert "NEEDED" in text
    for call in ("/groups", "transitiveMembers", "getMailboxUsageDetail", "/admin/reportSettings", "userPurpose",
                 "delegatedAdminRelationships", "adminconsent"):
        assert call in text, call
    assert "one request per mailbox" in " ".join(text.split())  # the cost of telling kinds apart
