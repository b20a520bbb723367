"""What exclusions and ignored accounts share: an entry per tenant or for every tenant, one per name however
it is spelt, its versions checked and every change in the configuration history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from app.billing.ignored import IgnoredAccount
from app.billing.types import Exclusion
from app.models.records import EditConflict
from app.models.repositories import ConfigChanges, Exclusions, IgnoredAccounts
from tests.models.factories import BP, TENANT, tenant


@dataclass(frozen=True)
class Kind:
    repository: Any
    entry: Any  # (name, tenant id, reason) -> the billing core's entry
    field: str  # the name's field, in the entry and in the history
    name: str  # as a person typed it
    kept: str  # as it is kept
    other_spelling: str  # the same entry, spelt otherwise
    compared: str  # the form in which two spellings are the same (and the history names the entry)
    title: str
    history: str  # the kind of change in the configuration history


KINDS = [
    Kind(Exclusions, lambda name, tenant_id, reason: Exclusion(sku_id=name, tenant_id=tenant_id, reason=reason),
         "sku_id", BP.upper(), BP.upper(), BP, BP.lower(), "Exclusion of", "exclusion"),
    Kind(IgnoredAccounts,
         lambda name, tenant_id, reason: IgnoredAccount(pattern=name, tenant_id=tenant_id, reason=reason),
         "pattern", " Admin@Contoso.com ", "admin@contoso.com", "ADMIN@contoso.COM", "admin@contoso.com",
         "Ignored accounts", "ignored_account"),
]


@pytest.fixture(params=KINDS, ids=["exclusion", "ignored account"])
def kind(request, database) -> Kind:
    tenant(name="Contoso Ltd")
    return request.param


def _name(entry: Any, kind: Kind) -> str:
    return getattr(entry, kind.field)


def test_an_entry_is_kept_once_per_tenant_and_once_for_every_tenant(kind):
    repo = kind.repository()
    repo.add(kind.entry(kind.name, TENANT, "ours"), expected_version=0, actor="alice")
    repo.add(kind.entry(kind.name, None, "everywhere"), expected_version=0, actor="alice")
    repo.add(kind.entry(kind.other_spelling, TENANT, "still ours"), expected_version=1, actor="bob")
    assert [(_name(e, kind), e.tenant_id, e.reason) for e in repo.all()] == [
        (kind.kept, TENANT, "still ours"), (kind.kept, None, "everywhere")]
    assert repo.versions() == {(TENANT, kind.compared): 2, (None, kind.compared): 1}


def test_every_change_is_in_the_configuration_history_under_the_entrys_key(kind):
    repo = kind.repository()
    repo.add(kind.entry(kind.name, TENANT, "ours"), actor="alice")
    repo.add(kind.entry(kind.name, TENANT, "ours"), actor="alice")  # nothing changed: nothing recorded
    repo.add(kind.entry(kind.name, TENANT, "trial"), actor="bob")
    assert repo.remove(kind.other_spelling, TENANT, actor="carol")
    assert not repo.remove(kind.name, TENANT, actor="carol")
    key = f"{TENANT}|{kind.compared}"
    changes = ConfigChanges().query(kind=kind.history)
    assert [(c.action, c.actor, c.key) for c in changes] == [
        ("removed", "carol", key), ("changed", "bob", key), ("created", "alice", key)]
    removed, changed, created = changes
    assert created.before is None and removed.after is None
    assert created.after == {"tenant_id": TENANT, "tenant": "Contoso Ltd", kind.field: kind.kept, "reason": "ours"}
    assert (changed.before["reason"], changed.after["reason"]) == ("ours", "trial")
    assert removed.before == changed.after
    assert repo.all() == []


def test_a_change_from_a_stale_version_is_refused_with_who_saved_first(kind):
    repo = kind.repository()
    repo.add(kind.entry(kind.name, TENANT, "ours"), expected_version=0, actor="alice")
    repo.add(kind.entry(kind.name, TENANT, "trial"), expected_version=1, actor="carol")
    said = rf"^{kind.title} .* in Contoso Ltd was changed by carol"
    with pytest.raises(EditConflict, match=said):
        repo.add(kind.entry(kind.other_spelling, TENANT, "free"), expected_version=1, actor="bob")
    with pytest.raises(EditConflict, match=said):
        repo.remove(kind.name, TENANT, expected_version=1, actor="bob")
    with pytest.raises(EditConflict, match=said):  # bob's list had none: it was added since
        repo.add(kind.entry(kind.name, TENANT, "free"), expected_version=0, actor="bob")
    assert [e.reason for e in repo.all()] == ["trial"]
