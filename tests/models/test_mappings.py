"""Mappings and exclusions round-trip to the billing core."""

from __future__ import annotations

from datetime import date

import pytest

from app.billing import types as core
from app.models.records import RecordNotFound
from app.models.repositories import Exclusions, Mappings
from tests.models.factories import BP, E3, OTHER_TENANT, TENANT, connection, profile, tenant


@pytest.fixture
def bp_profile(database):
    tenant()
    return profile(connection())


def _every_option(bp_profile: core.BillingProfile) -> core.Mapping:
    return core.Mapping(
        tenant_id=TENANT,
        sku_id=BP,
        profile=bp_profile,
        agreement_id="A7",
        subscription_id="9a1b2c3d-sub",
        user_filter=core.UserFilter(field=core.FilterField.UPN_DOMAIN, value="Contoso.co.uk"),
        basis=core.QuantityBasis.SUM_OF_LICENSES,
        basis_param=f"{BP},{E3}",
        usernames_in_description=True,
        start_date_override=date(2024, 6, 1),
        negative_proration=True,
        included_quantity=3,
        minimum_quantity=10,
        description_override="Microsoft 365 (Contoso UK)",
    )


def test_a_mapping_with_every_option_round_trips(bp_profile):
    mapping = _every_option(bp_profile)
    assert Mappings().save(mapping) == mapping
    assert Mappings().get(mapping.row) == mapping
    assert Mappings().for_tenant(TENANT) == [mapping]
    assert Mappings().for_agreement("A7") == [mapping] and Mappings().all() == [mapping]


def test_a_default_mapping_round_trips(bp_profile):
    mapping = core.Mapping(tenant_id=TENANT, sku_id=BP, profile=bp_profile, agreement_id="A7")
    assert Mappings().save(mapping) == mapping


def test_the_mapped_skus_name_each_tenants_licenses_with_a_row_once_in_lower_case(bp_profile):
    tenant(OTHER_TENANT, name="Fabrikam")
    for tenant_id, sku_id, subscription in ((TENANT, BP.upper(), "S1"), (TENANT, BP, "S2"), (OTHER_TENANT, E3, "")):
        Mappings().save(core.Mapping(tenant_id=tenant_id, sku_id=sku_id, profile=bp_profile, agreement_id="A7",
                                     subscription_id=subscription))
    assert Mappings().mapped_skus() == {(TENANT, BP.lower()), (OTHER_TENANT, E3.lower())}


def test_one_mapping_per_row_saving_again_replaces_it(bp_profile):
    Mappings().save(core.Mapping(tenant_id=TENANT, sku_id=BP, profile=bp_profile, agreement_id="A7"))
    again = core.Mapping(tenant_id=TENANT, sku_id=BP, profile=bp_profile, agreement_id="A9", minimum_quantity=2)
    Mappings().save(again)
    assert Mappings().for_tenant(TENANT) == [again]


def test_a_split_license_keeps_one_mapping_per_subscription_and_filter(bp_profile):
    rows = [
        core.Mapping(tenant_id=TENANT, sku_id=BP, profile=bp_profile, agreement_id="A7", subscription_id="S1"),
        core.Mapping(tenant_id=TENANT, sku_id=BP, profile=bp_profile, agreement_id="A8", subscription_id="S2"),
        core.Mapping(
            tenant_id=TENANT, sku_id=BP, profile=bp_profile, agreement_id="A8", subscription_id="S2",
            user_filter=core.UserFilter(field=core.FilterField.OFFICE, value="Leeds"),
        ),
    ]
    for mapping in rows:
        Mappings().save(mapping)
    assert sorted(Mappings().for_tenant(TENANT), key=lambda m: m.row.digest) == sorted(rows, key=lambda m: m.row.digest)
    # The row key's filter is case-insensitive, as in the billing core.
    key = core.RowKey(tenant_id=TENANT, sku_id=BP, subscription_id="S2", filter_key="office=leeds")
    assert Mappings().get(key) == rows[2]
    assert Mappings().count() == 3
    assert Mappings().delete(key) is True and Mappings().delete(key) is False
    assert len(Mappings().for_tenant(TENANT)) == 2 == Mappings().count()


def test_a_mapping_needs_a_known_tenant_and_a_saved_profile(bp_profile):
    with pytest.raises(RecordNotFound, match=OTHER_TENANT):
        Mappings().save(core.Mapping(tenant_id=OTHER_TENANT, sku_id=BP, profile=bp_profile, agreement_id="A7"))
    unsaved = core.BillingProfile(**{**bp_profile.__dict__, "id": ""})
    with pytest.raises(RecordNotFound, match="save the profile first"):
        Mappings().save(core.Mapping(tenant_id=TENANT, sku_id=BP, profile=unsaved, agreement_id="A7"))


def test_exclusions_round_trip_per_tenant_and_global(database):
    tenant()
    tenant(OTHER_TENANT, "Other")
    flow = core.Exclusion(sku_id="F30DB892-07E9-47E9-837C-80727F46FD3D", reason="Flow Free")
    mine = core.Exclusion(sku_id=E3, tenant_id=TENANT, reason="The MSP's own tenant")
    assert Exclusions().add(flow) == flow and Exclusions().add(mine) == mine
    assert Exclusions().all() == [flow, mine]
    assert Exclusions().for_tenant(OTHER_TENANT) == [flow]
    # Adding again (SKU ids compared case-insensitively) updates, never duplicates.
    Exclusions().add(core.Exclusion(sku_id=flow.sku_id.lower(), reason="free plan"))
    assert [e.reason for e in Exclusions().all()] == ["free plan", "The MSP's own tenant"]
    assert Exclusions().remove(E3) is False  # not global
    assert Exclusions().remove(E3, TENANT) is True
    assert Exclusions().for_tenant(TENANT) == [core.Exclusion(sku_id=flow.sku_id, reason="free plan")]
