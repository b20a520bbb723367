"""Custom licenses kept per tenant, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from peewee import IntegrityError

from app.billing.custom import CountRule, CustomLicense
from app.models.custom import CustomLicense as CustomLicenseRow
from app.models.records import RecordNotFound
from app.models.repositories import ConfigChanges, CustomLicenses, Tenants
from tests.models.factories import BP, TENANT, tenant


def _custom(n: int, rule: CountRule, **values: object) -> CustomLicense:
    return CustomLicense(id=f"{n:032x}", tenant_id=TENANT, name=f"Custom {n}", rule=rule, **values)  # type: ignore[arg-type]


def test_custom_licenses_round_trip_per_tenant_oldest_first_and_are_audited(database):
    tenant()
    shared, sales = _custom(3, CountRule.SHARED_MAILBOXES), _custom(2, CountRule.GROUP_MEMBERS, param="g-1")
    total = _custom(1, CountRule.SUM, terms=((1, BP), (-1, shared.sku_id)))
    CustomLicenses().add(shared, actor="alice")
    CustomLicenses().add(sales, group_name="Sales team")
    CustomLicenses().add(total)
    assert CustomLicenses().of_tenants() == {TENANT: [shared, sales, total]}
    assert CustomLicenses().of_tenants(["another"]) == {}
    assert CustomLicenses().group_names(TENANT) == {sales.id: "Sales team"}
    assert CustomLicenses().remove(sales.id, actor="bob") is True and CustomLicenses().remove(sales.id) is False
    assert CustomLicenses().of_tenants([TENANT]) == {TENANT: [shared, total]}
    changes = ConfigChanges().query(kind="custom_license")
    assert [(c.action, c.actor) for c in changes] == [("removed", "bob"), ("created", ""), ("created", ""),
                                                      ("created", "alice")]
    assert changes[0].before is not None and changes[0].before["group_name"] == "Sales team"


def test_a_custom_license_of_an_unknown_tenant_stores_nothing(database):
    tenant()
    with pytest.raises(RecordNotFound):
        CustomLicenses().add(CustomLicense(id="f" * 32, tenant_id="not-a-tenant", name="Fixed", rule=CountRule.FIXED,
                                           param="3"))
    assert CustomLicenses().of_tenants() == {} and ConfigChanges().query(kind="custom_license") == []


def test_the_database_refuses_a_rule_it_does_not_know(database):
    tenant()
    CustomLicenses().add(_custom(1, CountRule.FIXED, param="3"))
    with pytest.raises(IntegrityError):
        CustomLicenseRow.update(rule="everyone").execute()


def test_removing_the_tenant_removes_its_custom_licenses(database):
    tenant()
    CustomLicenses().add(_custom(1, CountRule.FIXED, param="3"))
    Tenants().remove(TENANT)
    assert CustomLicenses().of_tenants() == {}
