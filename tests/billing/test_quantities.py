"""Quantity of a mapped row: base, included, minimum (DESIGN §2)."""

from datetime import date
from decimal import Decimal

import pytest

from app.billing.quantities import allocate_assigned, billed_quantity, row_counts
from app.billing.types import (
    FilterField,
    QuantityBasis,
    Subscription,
    Term,
    User,
    UserFilter,
)
from tests.billing.builders import SKU, SKU2, inventory, lic, mapping, users


@pytest.mark.parametrize(
    ("base", "included", "minimum", "quantity"),
    [
        (10, 0, 0, 10),  # default: bill the base
        (10, 3, 0, 7),  # included seats are not billed
        (2, 5, 0, 0),  # included above the base: nothing, never negative
        (2, 0, 5, 5),  # minimum above billable
        (2, 5, 1, 1),  # included above, minimum still applies
        (12, 2, 5, 10),  # billable above the minimum
        (0, 0, 0, 0),
    ],
)
def test_billed_quantity(base, included, minimum, quantity):
    assert billed_quantity(base, included, minimum) == quantity


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_billed_quantity_refuses_what_is_not_a_seat_count(bad):
    with pytest.raises(ValueError, match="must be a whole number of seats"):
        billed_quantity(bad)


@pytest.mark.parametrize(
    ("purchased", "warning", "suspended", "assigned", "basis", "expected_base", "unassigned"),
    [
        (20, 0, 0, 17, QuantityBasis.ASSIGNED, 17, 3),  # default: assigned seats
        (20, 0, 0, 17, QuantityBasis.PURCHASED, 20, 3),  # "bill unassigned seats"
        (20, 5, 0, 18, QuantityBasis.PURCHASED, 20, 2),  # warning units are still purchased
        (15, 0, 5, 15, QuantityBasis.PURCHASED, 15, 0),  # suspended units are never billed
    ],
)
def test_counts_of_a_license_row(purchased, warning, suspended, assigned, basis, expected_base, unassigned):
    inv = inventory(lic(purchased, assigned, warning=warning, suspended=suspended))
    counts = row_counts(mapping(basis=basis), inv)
    assert (counts.purchased, counts.assigned, counts.base, counts.unassigned) == (
        purchased, assigned, expected_base, unassigned)


def test_a_filtered_row_counts_only_matching_users():
    people = (*users("a@contoso.com", "b@contoso.com", office="Leeds"), *users("c@contoso.com", office="York"))
    inv = inventory(lic(5, 3), users=people)
    counts = row_counts(mapping(user_filter=UserFilter(field=FilterField.OFFICE, value="leeds")), inv)
    assert (counts.base, [u.upn for u in counts.users]) == (2, ["a@contoso.com", "b@contoso.com"])


def test_a_filtered_row_needs_the_users():
    with pytest.raises(ValueError, match="needs the tenant's users"):
        row_counts(mapping(user_filter=UserFilter(field=FilterField.CITY, value="x")), inventory(lic(1, 1)))


def test_upn_domain_and_sum_of_licenses_rules():
    people = (*users("a@contoso.com", "b@fabrikam.com"), User(id="x", upn="c@contoso.com"))  # c has no license
    inv = inventory(lic(5, 2), lic(4, 3, sku=SKU2), users=people)
    by_domain = row_counts(mapping(basis=QuantityBasis.UPN_DOMAIN, basis_param="@Contoso.com"), inv)
    summed = row_counts(mapping(basis=QuantityBasis.SUM_OF_LICENSES, basis_param=f"{SKU},{SKU2}"), inv)
    assert (by_domain.base, summed.base) == (1, 5)


def test_split_subscriptions_fill_annual_commitments_first():
    subs = (
        Subscription(id="m", sku_id=SKU, quantity=10, term=Term.MONTH),
        Subscription(id="y2", sku_id=SKU, quantity=5, term=Term.YEAR, commitment_end=date(2027, 3, 1)),
        Subscription(id="y1", sku_id=SKU, quantity=5, term=Term.YEAR, commitment_end=date(2026, 12, 1)),
    )
    assert allocate_assigned(lic(20, 13, subscriptions=subs)) == {"y1": 5, "y2": 5, "m": 3}
    assert allocate_assigned(lic(20, 23, subscriptions=subs)) == {"y1": 5, "y2": 5, "m": 13}
    counts = row_counts(mapping(subscription_id="m", basis=QuantityBasis.PURCHASED),
                        inventory(lic(20, 13, subscriptions=subs)))
    assert (counts.purchased, counts.assigned, counts.base) == (10, 3, 10)


def test_a_missing_license_counts_nothing():
    assert row_counts(mapping(), inventory()).base == 0


def test_percentage_price_follows_the_psa_price_and_rounds_to_the_cent():
    from app.billing.types import PriceKind, PricePolicy

    policy = PricePolicy(kind=PriceKind.PERCENT, percent=Decimal("15"))
    assert policy.unit_price(Decimal("22.00")) == Decimal("25.30")
    assert policy.unit_price(Decimal("19.99")) == Decimal("22.99")  # 22.9885 → 22.99
    assert PricePolicy(kind=PriceKind.PERCENT, percent=Decimal("-10")).unit_price(Decimal("12.50")) == Decimal("11.25")
    assert PricePolicy(kind=PriceKind.FIXED, fixed=Decimal("30")).unit_price(Decimal("22")) == Decimal("30.00")
