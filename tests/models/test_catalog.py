"""Cached agreements and products, and billing profiles, round-trip to the billing core."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.billing import types as core
from app.models.records import RecordInUse, RecordNotFound
from app.models.repositories import Catalog, Mappings, Profiles
from tests.models.factories import BP, TENANT, agreement, connection, product, profile, tenant


def test_agreements_round_trip(database):
    cid = connection()
    items = [agreement("A7"), agreement("A8", company_id="20", cycle=core.Cycle.MONTHLY, prorates=True,
                                        status=core.AgreementStatus.CANCELLED, start=date(2024, 2, 29))]
    Catalog().replace_agreements(cid, items)
    assert sorted(Catalog().agreements(cid), key=lambda a: a.id) == items
    assert Catalog().agreements(cid, company_psa_id="20") == [items[1]]
    assert Catalog().agreement(cid, "A8") == items[1]
    assert Catalog().agreement(cid, "nope") is None
    assert Catalog().agreement_types(cid) == ["MSP"]


def test_replacing_agreements_drops_the_ones_gone_from_the_psa(database):
    cid = connection()
    Catalog().replace_agreements(cid, [agreement("A7"), agreement("A8"), agreement("B1", company_id="20")])
    Catalog().replace_agreements(cid, [agreement("A7", name="Renamed")], company_psa_id="19")
    assert [(a.id, a.name) for a in Catalog().agreements(cid)] == [("B1", "Managed 365"), ("A7", "Renamed")]


def test_a_scoped_replace_refuses_another_companys_agreement(database):
    cid = connection()
    with pytest.raises(ValueError, match="belongs to company 20, not 19"):
        Catalog().replace_agreements(cid, [agreement("B1", company_id="20")], company_psa_id="19")


def test_products_round_trip_with_exact_money_and_vanished_ones_inactive(database):
    cid = connection()
    items = [product("P1", "18.10"), product("P2", "0.005"), core.Product(id="P3", price=Decimal("1E+3"))]
    Catalog().replace_products(cid, items)
    got = {p.id: p for p in Catalog().products(cid)}
    assert [got[p.id] for p in items] == items
    assert got["P1"].price.as_tuple() == Decimal("18.10").as_tuple()
    Catalog().replace_products(cid, items[:1])
    assert {p.id: p.active for p in Catalog().products(cid)} == {"P1": True, "P2": False, "P3": False}
    assert [p.id for p in Catalog().products(cid, active_only=True)] == ["P1"]


@pytest.mark.parametrize(
    "price",
    [
        core.PricePolicy(),
        core.PricePolicy(kind=core.PriceKind.FIXED, fixed=Decimal("21.00")),
        core.PricePolicy(kind=core.PriceKind.PERCENT, percent=Decimal("-7.5")),
    ],
)
@pytest.mark.parametrize("option", list(core.BillingOption))
def test_billing_profiles_round_trip(database, price, option):
    cid = connection()
    draft = core.BillingProfile(
        id="", name="E3", product=product("P9", "32.00"), price=price, billing_option=option,
        allowed_agreement_types=frozenset({"MSP"}) if option is core.BillingOption.BILLABLE else frozenset(),
    )
    saved = Profiles().save(cid, draft)
    assert saved.id and saved == core.BillingProfile(**{**draft.__dict__, "id": saved.id})
    assert Profiles().get(saved.id) == saved
    assert Catalog().product(cid, "P9") == draft.product  # cached from the profile


def test_a_profile_uses_the_cached_product_when_there_is_one(database):
    cid = connection()
    Catalog().replace_products(cid, [product("P1", "19.99")])
    saved = profile(cid)  # carries a stale copy priced 18.10
    assert saved.product.price == Decimal("19.99")


def test_updating_a_profile_keeps_its_id(database):
    cid = connection()
    saved = profile(cid)
    renamed = Profiles().save(cid, core.BillingProfile(**{**saved.__dict__, "name": "BP special"}))
    assert renamed.id == saved.id and [p.name for p in Profiles().all(cid)] == ["BP special"]


def test_bulk_creation_is_all_or_nothing(database):
    cid = connection()
    good = core.BillingProfile(id="", name="ok", product=product("P1"))
    bad = core.BillingProfile(id="999", name="stale", product=product("P2"))
    with pytest.raises(RecordNotFound, match="billing profile 999"):
        Profiles().save_many(cid, [good, bad])
    assert Profiles().all() == []
    assert [p.name for p in Profiles().save_many(cid, [good, good])] == ["ok", "ok"]


def test_a_profile_in_use_cannot_be_deleted(database):
    cid = connection()
    tenant()
    saved = profile(cid)
    Mappings().save(core.Mapping(tenant_id=TENANT, sku_id=BP, profile=saved, agreement_id="A7"))
    with pytest.raises(RecordInUse, match="used by 1 mapping"):
        Profiles().delete(saved.id)
    Mappings().delete(core.RowKey(tenant_id=TENANT, sku_id=BP))
    Profiles().delete(saved.id)
    with pytest.raises(RecordNotFound):
        Profiles().get(saved.id)


def test_an_unsaved_profile_id_is_a_typed_error(database):
    with pytest.raises(RecordNotFound, match="save the profile first"):
        Profiles().get("")
