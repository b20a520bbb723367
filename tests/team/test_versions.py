"""Edits that never overwrite each other: each save names the version its editor read, and a save
begun before someone else's is refused with their name (on SQLite and on PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time
from decimal import Decimal

import pytest

from app.billing.types import Exclusion, Mapping, PriceKind, PricePolicy, RowKey
from app.models.records import EditConflict
from app.models.repositories import Exclusions, Mappings, Profiles
from app.services.customers.companies import CompanyService
from app.services.customers.exclusions import ExclusionService
from app.services.preferences import PreferencesChange
from app.services.settings import ApprovalPolicy
from tests.ui.conftest import context, contoso, seed  # noqa: F401  (the fixtures, on both engines)
from tests.ui.seed import EXCHANGE, SPB, TODAY

AT = datetime(2026, 3, 2, 14, 2, tzinfo=UTC)


@pytest.fixture
def mapped(contoso):  # noqa: F811
    """Contoso's Business Premium mapped (version 1), as two editors would both read it."""
    contoso.service.save_mapping(Mapping(tenant_id=contoso.tenant, sku_id=SPB, profile=contoso.bp,
                                         agreement_id=contoso.m365.id, minimum_quantity=2),
                                 company_id=contoso.company.id, actor="carol")
    return contoso


def business_premium(company):
    """Business Premium's row as the company page shows it."""
    return next(row for row in company.service.company(company.company.id).licenses if row.license.sku_id == SPB)


def key(company) -> RowKey:
    return RowKey(tenant_id=company.tenant, sku_id=SPB)


def test_a_save_from_an_older_version_is_refused_with_who_saved_first(mapped):
    first, version = Mappings().versioned(key(mapped))
    assert version == 1
    alice = Mappings(now=lambda: AT).save(replace(first, minimum_quantity=5), expected_version=version,
                                          actor="alice")
    assert Mappings().versioned(key(mapped)) == (alice, 2)

    with pytest.raises(EditConflict) as refused:
        Mappings().save(replace(first, minimum_quantity=9), expected_version=version, actor="bob")
    error = refused.value
    assert (error.by, error.at, error.verb) == ("alice", AT, "changed")
    local = AT.astimezone()
    assert str(error).startswith(f"Mapping for Contoso Dental / {SPB} was changed by alice")
    assert f"at {local:%H:%M} after you opened it; your change was not saved." in str(error)
    stored, now = Mappings().versioned(key(mapped))
    assert (stored.minimum_quantity, now) == (5, 2)  # alice's, untouched

    # Saving from the version alice left is accepted, and raises it again.
    Mappings().save(replace(first, minimum_quantity=9), expected_version=2, actor="bob")
    assert Mappings().versioned(key(mapped))[1] == 3


def test_the_company_service_names_the_company_and_the_license(mapped):
    inputs = mapped.service.mapping_inputs(business_premium(mapped).target)
    assert (inputs.existing.minimum_quantity, inputs.version) == (2, 1)
    Mappings().save(replace(inputs.existing, included_quantity=1), expected_version=1, actor="alice")
    with pytest.raises(EditConflict, match=r"^Mapping for Contoso Dental / Microsoft 365 Business Premium was "
                                           r"changed by alice .*your change was not saved\.$") as refused:
        mapped.service.save_mapping(replace(inputs.existing, minimum_quantity=7), company_id=mapped.company.id,
                                    expected_version=inputs.version, actor="bob")
    assert refused.value.shown().endswith("The dialog shows theirs now.")
    stored = Mappings().get(key(mapped))
    assert (stored.included_quantity, stored.minimum_quantity) == (1, 2)


def test_a_stale_removal_is_refused_and_a_removal_refuses_a_later_save(mapped):
    first, version = Mappings().versioned(key(mapped))
    Mappings().save(replace(first, minimum_quantity=4), expected_version=version, actor="alice")
    with pytest.raises(EditConflict, match="changed by alice"):
        Mappings().delete(key(mapped), expected_version=version, actor="bob")
    assert Mappings().get(key(mapped)) is not None

    assert Mappings().delete(key(mapped), expected_version=2, actor="alice")
    with pytest.raises(EditConflict, match="was removed by alice") as refused:
        Mappings().save(first, expected_version=2, actor="bob")
    assert refused.value.verb == "removed"
    assert Mappings().get(key(mapped)) is None


def test_a_new_mapping_is_refused_when_someone_created_it_meanwhile(contoso):  # noqa: F811
    row = RowKey(tenant_id=contoso.tenant, sku_id=EXCHANGE)
    assert Mappings().versioned(row) == (None, 0)  # what the dialog of an unmapped license reads
    mine = Mapping(tenant_id=contoso.tenant, sku_id=EXCHANGE, profile=contoso.exo, agreement_id=contoso.m365.id)
    Mappings().save(replace(mine, minimum_quantity=3), expected_version=0, actor="alice")
    with pytest.raises(EditConflict, match="was created by alice"):
        Mappings().save(mine, expected_version=0, actor="bob")
    assert Mappings().get(row).minimum_quantity == 3


def test_a_caller_that_names_no_version_saves_over_whatever_is_stored(mapped):
    first, _ = Mappings().versioned(key(mapped))
    Mappings().save(replace(first, minimum_quantity=4), expected_version=1, actor="alice")
    Mappings().save(replace(first, minimum_quantity=6))  # e.g. a split: no editor's version
    assert Mappings().versioned(key(mapped))[0].minimum_quantity == 6


def test_a_save_that_changes_nothing_writes_nothing(mapped):
    first, version = Mappings().versioned(key(mapped))
    Mappings().save(first, expected_version=version, actor="bob")
    assert Mappings().versioned(key(mapped)) == (first, version)


def test_the_quick_map_refuses_a_row_changed_since_the_page_showed_it(mapped):
    shown = business_premium(mapped)
    Mappings().save(replace(shown.mapping, minimum_quantity=8), expected_version=1, actor="alice")
    with pytest.raises(EditConflict, match="Mapping for Contoso Dental / Microsoft 365 Business Premium was changed "
                                           "by alice"):
        mapped.service.quick_map(shown.target, mapped.bp.id, mapped.block.id, shown.mapping, actor="bob")
    assert Mappings().get(key(mapped)).agreement_id == mapped.m365.id


def test_profiles_refuse_a_stale_save_and_a_stale_delete(context, contoso):  # noqa: F811
    rows = {row.profile.name: row for row in context.profiles.rows()}
    exo = rows["Exchange P1"]
    assert exo.version == 1
    fixed = replace(exo.profile, price=PricePolicy(kind=PriceKind.FIXED, fixed=Decimal("5.00")))
    context.profiles.save(exo.connection_id, fixed, expected_version=exo.version, actor="alice")
    assert context.profiles.saved(exo.profile.id)[1] == 2
    with pytest.raises(EditConflict, match=r"^Billing profile 'Exchange P1' was changed by alice"):
        context.profiles.save(exo.connection_id, replace(exo.profile, name="Exchange (bob)"),
                              expected_version=exo.version, actor="bob")
    with pytest.raises(EditConflict, match="changed by alice"):
        context.profiles.delete(exo.profile.id, expected_version=exo.version, actor="bob")
    stored = Profiles().get(exo.profile.id)
    assert (stored.name, stored.price.fixed) == ("Exchange P1", Decimal("5.00"))
    context.profiles.delete(exo.profile.id, expected_version=2, actor="alice")
    assert exo.profile.id not in {p.id for p in Profiles().all()}


def test_exclusions_refuse_a_stale_change_and_a_stale_removal(context, contoso):  # noqa: F811
    service: ExclusionService = context.exclusions
    service.add(Exclusion(sku_id=EXCHANGE, tenant_id=contoso.tenant, reason="ours"), expected_version=0,
                actor="alice")
    (row,) = service.rows()
    assert row.version == 1
    Exclusions().add(Exclusion(sku_id=EXCHANGE, tenant_id=contoso.tenant, reason="trial"), expected_version=1,
                     actor="carol")
    with pytest.raises(EditConflict, match=r"^Exclusion of .* in Contoso Dental was changed by carol"):
        service.add(Exclusion(sku_id=EXCHANGE, tenant_id=contoso.tenant, reason="free"),
                    expected_version=row.version, actor="bob")
    with pytest.raises(EditConflict, match="changed by carol"):
        service.remove(EXCHANGE, contoso.tenant, expected_version=row.version, actor="bob")
    with pytest.raises(EditConflict, match="changed by carol"):  # bob's list had none: it was added since
        service.add(Exclusion(sku_id=EXCHANGE, tenant_id=contoso.tenant, reason="free"), expected_version=0,
                    actor="bob")
    assert [r.exclusion.reason for r in service.rows()] == ["trial"]
    assert service.remove(EXCHANGE, contoso.tenant, expected_version=2, actor="carol")
    assert service.rows() == []


def test_settings_saved_from_an_older_form_are_refused_with_who_saved_first(context):  # noqa: F811
    prefs = context.preferences
    alice_form, bob_form = prefs.load(), prefs.load()
    prefs.save(PreferencesChange(preferences=replace(alice_form.preferences, sync_time=time(5, 30)),
                                 versions=alice_form.versions, actor="alice"))
    with pytest.raises(EditConflict, match=r"^The daily sync time was created by alice .*not saved\.$"):
        # bob's form still says 06:00: saving it would undo alice's 05:30
        prefs.save(PreferencesChange(preferences=replace(bob_form.preferences,
                                                         approval_policy=ApprovalPolicy.HOLD_ALL),
                                     versions=bob_form.versions, actor="bob"))
    state = prefs.load()
    assert (state.preferences.sync_time, state.preferences.approval_policy) == (time(5, 30), ApprovalPolicy.APPLY_ALL)
    # From the form as alice left it, bob's change is saved; what he did not change is not written.
    saved = prefs.save(PreferencesChange(preferences=replace(state.preferences,
                                                             approval_policy=ApprovalPolicy.HOLD_ALL),
                                         versions=state.versions, actor="bob"))
    assert saved.preferences.approval_policy is ApprovalPolicy.HOLD_ALL
    assert saved.versions["sync.time"] == state.versions["sync.time"] == 1


def test_an_approval_override_someone_added_is_not_removed_by_an_older_form(context, contoso):  # noqa: F811
    prefs = context.preferences
    bob_form = prefs.load()
    alice_form = prefs.load()
    overrides = {str(contoso.company.id): ApprovalPolicy.HOLD_ALL}
    prefs.save(PreferencesChange(preferences=replace(alice_form.preferences, overrides=overrides),
                                 versions=alice_form.versions, actor="alice"))
    with pytest.raises(EditConflict, match=r"approval policy of company .* was created by alice"):
        prefs.save(PreferencesChange(preferences=replace(bob_form.preferences, max_operations_per_run=20),
                                     versions=bob_form.versions, actor="bob"))
    assert prefs.load().preferences.overrides == overrides


def test_the_mapping_dialogs_inputs_read_the_stored_mapping_and_its_version(mapped):
    shown = business_premium(mapped)
    Mappings().save(replace(shown.mapping, minimum_quantity=11), expected_version=1, actor="alice")
    inputs = CompanyService(mapped.service.uow, today=lambda: TODAY).mapping_inputs(shown.target, shown.mapping)
    assert (inputs.existing.minimum_quantity, inputs.version) == (11, 2)  # not what the list read earlier
