"""Every configuration change is audited in ``config_change``, in the change's own transaction: who (the
technician and the database user), what, before and after (money as text); History lists them."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import time
from decimal import Decimal

import pytest

from app.billing.types import Exclusion, Mapping, PriceKind, PricePolicy
from app.models import close_database, open_database
from app.models.config import ConfigChange
from app.models.records import EditConflict
from app.models.repositories import ConfigChanges, Mappings, Profiles, PsaConnections
from app.services.preferences import PreferencesChange
from app.services.review.approvals import HistoryFilter
from tests.models.factories import TENANT, connection, profile, tenant
from tests.ui.conftest import context, contoso, seed  # noqa: F401  (the fixtures, on both engines)
from tests.ui.seed import EXCHANGE, SPB


def expected_db_user(engine: str) -> str:
    return "" if engine == "sqlite" else "postgres"  # database_target's URL names the superuser


@pytest.fixture
def company(contoso):  # noqa: F811
    """Contoso Dental, its seeding's own changes (it saved two profiles) forgotten: they are not this test's."""
    ConfigChange.delete().execute()
    return contoso


def changes(kind: str | None = None) -> list:
    """The changes (of one kind), oldest first."""
    return list(reversed(ConfigChanges().query(kind=kind)))


def test_a_mappings_life_is_audited_with_who_and_before_and_after(company, database_engine):
    service = company.service
    mapping = Mapping(tenant_id=company.tenant, sku_id=SPB, profile=company.bp, agreement_id=company.m365.id,
                      minimum_quantity=2)
    service.save_mapping(mapping, company_id=company.company.id, expected_version=0, actor="alice")
    service.save_mapping(replace(mapping, minimum_quantity=5), company_id=company.company.id, expected_version=1,
                         actor="bob")
    service.delete_mapping(mapping.row, expected_version=2, actor="carol")

    created, changed, removed = changes("mapping")
    assert [(c.action, c.actor, c.db_user) for c in (created, changed, removed)] == [
        ("created", "alice", expected_db_user(database_engine)), ("changed", "bob", expected_db_user(database_engine)),
        ("removed", "carol", expected_db_user(database_engine))]
    assert created.key == changed.key == removed.key == f"{company.tenant}|{SPB}||"
    assert created.before is None and removed.after is None
    assert created.after == changed.before == {
        "tenant_id": company.tenant, "tenant": "Contoso Dental", "sku_id": SPB, "subscription_id": "",
        "user_filter": "", "profile_id": company.bp.id, "profile": "M365 BP - Monthly",
        "agreement_id": company.m365.id, "basis": "assigned", "basis_param": "", "usernames_in_description": False,
        "start_date_override": None, "negative_proration": False, "included_quantity": 0, "minimum_quantity": 2,
        "description_override": ""}
    assert changed.after == {**changed.before, "minimum_quantity": 5} == removed.before


def test_history_lists_configuration_changes_with_who_what_and_before_and_after(context, company,  # noqa: F811
                                                                                database_engine):
    service = company.service
    mapping = Mapping(tenant_id=company.tenant, sku_id=SPB, profile=company.bp, agreement_id=company.m365.id,
                      minimum_quantity=2)
    service.save_mapping(mapping, company_id=company.company.id, actor="alice")
    service.save_mapping(replace(mapping, minimum_quantity=5), company_id=company.company.id, actor="bob")
    service.exclude(company.tenant, EXCHANGE, "our own", actor="bob")
    state = context.preferences.load()
    context.preferences.save(PreferencesChange(preferences=replace(state.preferences, sync_time=time(5, 30)),
                                               versions=state.versions, actor="alice"))

    rows = context.review.config_history(HistoryFilter())
    assert [(r.kind, r.action, r.change.actor) for r in rows] == [
        ("Setting", "Created", "alice"), ("Exclusion", "Created", "bob"), ("Mapping", "Changed", "bob"),
        ("Mapping", "Created", "alice")]  # newest first
    setting, exclusion, changed, created = rows
    assert (setting.what, setting.before, setting.after) == ("The daily sync time", "", "05:30")
    assert exclusion.what == "Exchange Online (Plan 1) in Contoso Dental"
    assert exclusion.after == "reason: our own"
    assert changed.what == "Contoso Dental / Microsoft 365 Business Premium"
    assert (changed.before, changed.after) == ("minimum quantity: 2", "minimum quantity: 5")
    assert "profile: M365 BP - Monthly" in created.after and "minimum quantity: 2" in created.after
    user = expected_db_user(database_engine)
    assert changed.who == ("bob (database user postgres)" if user else "bob")
    assert [r.kind for r in context.review.config_history(HistoryFilter(), "setting")] == ["Setting"]


def test_a_profile_change_keeps_its_money_as_text(context, company):  # noqa: F811
    row = next(r for r in context.profiles.rows() if r.profile.name == "Exchange P1")
    fixed = replace(row.profile, price=PricePolicy(kind=PriceKind.FIXED, fixed=Decimal("5.10")))
    context.profiles.save(row.connection_id, fixed, expected_version=row.version, actor="alice")
    change = changes("profile")[-1]
    assert (change.action, change.key, change.actor) == ("changed", row.profile.id, "alice")
    assert (change.before["price_kind"], change.before["price_fixed"]) == ("psa", None)
    assert (change.after["price_kind"], change.after["price_fixed"]) == ("fixed", "5.10")
    history = context.review.config_history(HistoryFilter(), "profile")[0]
    assert (history.before, history.after) == ("price: psa; fixed price: —", "price: fixed; fixed price: 5.10")
    assert history.what == "Exchange P1"


def test_a_change_rolled_back_or_refused_leaves_no_audit(context, company):  # noqa: F811
    mapping = Mapping(tenant_id=company.tenant, sku_id=SPB, profile=company.bp, agreement_id=company.m365.id)
    def half_done() -> None:
        with context.uow:
            context.uow.mappings.save(mapping, actor="alice")
            raise RuntimeError("the rest of the change failed")

    with pytest.raises(RuntimeError):
        half_done()
    assert Mappings().get(mapping.row) is None and changes() == []

    context.uow.mappings.save(mapping, expected_version=0, actor="alice")
    with pytest.raises(EditConflict):
        context.uow.mappings.save(replace(mapping, minimum_quantity=1), expected_version=0, actor="bob")
    with pytest.raises(EditConflict):
        context.uow.exclusions.remove(EXCHANGE, company.tenant, expected_version=1, actor="bob")  # none to remove
    assert [(c.kind, c.action, c.actor) for c in changes()] == [("mapping", "created", "alice")]


def test_unchanged_settings_are_neither_written_nor_audited(context):  # noqa: F811
    state = context.preferences.load()
    saved = context.preferences.save(PreferencesChange(preferences=state.preferences, versions=state.versions,
                                                       actor="alice"))
    assert changes() == [] and saved.versions == {}
    context.settings.set_approval_policy("hold_all")  # a caller without a form: audited all the same
    assert [(c.kind, c.key, c.action, c.after) for c in changes()] == [
        ("setting", "approval.policy", "created", {"value": "hold_all"})]


@pytest.mark.postgresql
def test_on_postgresql_the_database_user_the_server_saw_is_recorded(postgres_server):
    url = postgres_server.new_database()
    name = url.rsplit("/", 1)[1]
    role = f"tech_{os.getpid()}_{name}"
    postgres_server.sql(f"CREATE ROLE {role} LOGIN")
    for grant in (f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}",
                  f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"):
        postgres_server.sql(grant, name)
    open_database(postgres_server.url(name, role))
    try:
        tenant()
        bp = profile(connection())
        Mappings().save(Mapping(tenant_id=TENANT, sku_id=SPB, profile=bp, agreement_id="A7"), actor="dana")
        mapping = changes("mapping")[-1]
        assert (mapping.actor, mapping.db_user) == ("dana", role)
        assert changes("profile")[-1].db_user == role
        assert PsaConnections().all()  # the same role read them back
        assert Profiles().get(bp.id).name == "BP retail"
    finally:
        close_database()
    assert postgres_server.sql("SELECT actor, db_user FROM config_change WHERE kind = 'mapping'", name) == [
        ("dana", role)]


def test_exclusions_changes_name_every_tenant_for_a_global_one(context):  # noqa: F811
    context.exclusions.add(Exclusion(sku_id=EXCHANGE, reason="free"), expected_version=0, actor="alice")
    (change,) = changes("exclusion")
    assert (change.key, change.after) == (f"*|{EXCHANGE}", {"tenant_id": None, "tenant": "", "sku_id": EXCHANGE,
                                                           "reason": "free"})
    assert context.review.config_history(HistoryFilter())[0].what == "Exchange Online (Plan 1) in every tenant"
