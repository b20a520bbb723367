"""The exclusions of many tenants, indexed: the same answers as asking each exclusion."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.billing.excluded import Exclusions
from app.billing.types import Exclusion

TENANTS = st.sampled_from(["t1", "t2", "t3"])
SKUS = st.sampled_from(["sku-a", "SKU-A", "sku-b", "Sku-C"])
EXCLUSIONS = st.lists(st.builds(Exclusion, sku_id=SKUS, tenant_id=st.none() | TENANTS), max_size=8)


@given(EXCLUSIONS, TENANTS, SKUS)
def test_the_index_answers_as_every_exclusion_asked_in_turn(exclusions, tenant, sku):
    index = Exclusions(exclusions)
    assert index.covers(tenant, sku) == any(e.covers(tenant, sku) for e in exclusions)
    applying = index.applying_to(tenant)
    assert sorted(applying, key=repr) == sorted((e for e in exclusions if e.tenant_id in (None, tenant)), key=repr)
    assert [e for e in applying if e.tenant_id is None] == [e for e in exclusions if e.tenant_id is None]
