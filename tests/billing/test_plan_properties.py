"""Properties of the planner over many generated tenants (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.billing.plan import plan
from app.billing.simulate import apply_plan
from app.billing.types import Anchor, Cycle, Exclusion, License, Mapping, QuantityBasis
from tests.billing.builders import SKU, SKU2, agreement, inventory, mapping, product, profile

SKUS = (SKU, SKU2, "4b9405b0-7788-4568-add1-99614e613b69")


@st.composite
def licenses(draw) -> tuple[License, ...]:
    out = []
    for sku in draw(st.lists(st.sampled_from(SKUS), unique=True, max_size=3)):
        purchased = draw(st.integers(0, 60))
        out.append(License(sku_id=sku, enabled=purchased, consumed=draw(st.integers(0, purchased))))
    return tuple(out)


@st.composite
def mappings(draw) -> list[Mapping]:
    out = []
    for i, sku in enumerate(draw(st.lists(st.sampled_from(SKUS), unique=True, max_size=3))):
        out.append(mapping(
            sku=sku, profile=profile(product_=product(id=f"P{i}", price=draw(st.sampled_from(["9.99", "22.00"])))),
            basis=draw(st.sampled_from([QuantityBasis.ASSIGNED, QuantityBasis.PURCHASED])),
            included_quantity=draw(st.integers(0, 5)), minimum_quantity=draw(st.integers(0, 5)),
            negative_proration=draw(st.booleans()),
            start_date_override=draw(st.none() | st.dates(date(2025, 6, 1), date(2027, 6, 1)))))
    return out


@st.composite
def agreements(draw):
    return agreement(prorates=draw(st.booleans()), cycle=draw(st.sampled_from(list(Cycle))),
                     anchor=draw(st.sampled_from(list(Anchor))),
                     start=draw(st.dates(date(2020, 1, 1), date(2026, 1, 1))))


days = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31))


@settings(max_examples=300, deadline=None)
@given(licenses(), licenses(), mappings(), agreements(), days, st.integers(0, 40))
def test_planning_against_its_own_result_is_empty(before, after, maps, agr, day, gap):
    """Sync at one date, the tenant changes, sync later: each time a second plan is empty."""
    lines: tuple = ()
    for inv, today in ((inventory(*before), day), (inventory(*after), day + timedelta(days=gap))):
        result = plan(inv, maps, [], [agr], lines, today)
        lines = apply_plan(lines, result)
        again = plan(inv, maps, [], [agr], lines, today)
        assert again.operations == (), again.operations


@settings(max_examples=200, deadline=None)
@given(licenses(), mappings(), agreements(), days)
def test_same_inputs_same_plan(lics, maps, agr, today):
    first = plan(inventory(*lics), maps, [], [agr], [], today)
    assert first == plan(inventory(*lics), list(reversed(maps)), [], [agr], [], today)


@settings(max_examples=200, deadline=None)
@given(licenses(), mappings(), agreements(), days)
def test_excluded_skus_produce_neither_operations_nor_findings(lics, maps, agr, today):
    exclusions = [Exclusion(sku_id=sku) for sku in SKUS]
    result = plan(inventory(*lics), maps, exclusions, [agr], [], today)
    assert result.operations == () and result.findings == ()


@settings(max_examples=200, deadline=None)
@given(licenses(), mappings(), agreements(), days)
def test_a_license_that_disappears_is_cancelled_and_nothing_is_left_billing(lics, maps, agr, today):
    lines = apply_plan((), plan(inventory(*lics), maps, [], [agr], [], today))
    later = today + timedelta(days=3)
    gone = apply_plan(lines, plan(inventory(), maps, [], [agr], lines, later))
    for m in maps:
        still = [ln for ln in gone if ln.marker == f"seatsync:{m.row.digest}" and ln.end is None]
        assert still == []


@settings(max_examples=100, deadline=None)
@given(licenses(), licenses(), mappings(), agreements(), days)
def test_a_plan_survives_json_exactly(before, after, maps, agr, today):
    import json

    from app.billing.serialize import plan_from_data, plan_to_data

    lines = apply_plan((), plan(inventory(*before), maps, [], [agr], [], today))
    result = plan(inventory(*after), maps, [], [agr], lines, today + timedelta(days=20))
    assert plan_from_data(json.loads(json.dumps(plan_to_data(result)))) == result
