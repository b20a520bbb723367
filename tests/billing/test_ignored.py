"""Ignored accounts: the licenses a customer tenant's admin, service or test accounts hold are not billed.

Table-driven first (the rule as docs/billing.md states it), then a property:
planning a tenant with ignored accounts plans exactly what planning the same
tenant would if those accounts and their seats did not exist.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.billing.ignored import IgnoredAccount, apply_ignored, matches, pattern_problem
from app.billing.plan import plan
from app.billing.quantities import row_counts
from app.billing.types import (
    FilterField,
    License,
    QuantityBasis,
    Subscription,
    TenantInventory,
    Term,
    User,
    UserFilter,
)
from tests.billing.builders import SKU, SKU2, TENANT, agreement, inventory, lic, mapping, product, profile, users


@pytest.mark.parametrize(("pattern", "upn", "hit"), [
    ("admin@contoso.com", "admin@contoso.com", True),
    ("admin@contoso.com", "Admin@Contoso.COM", True),  # UPNs compare without case
    ("ADMIN@contoso.com", "admin@contoso.com", True),
    ("admin@*", "admin@fabrikam.onmicrosoft.com", True),  # * stands for any run of characters
    ("admin@*", "sysadmin@contoso.com", False),  # the whole UPN must match
    ("*svc*@contoso.com", "backup-svc01@contoso.com", True),
    ("*svc*@contoso.com", "backup-svc01@fabrikam.com", False),
    ("test?@contoso.com", "test1@contoso.com", False),  # only * is a wildcard: ? [ ] are themselves
    ("test[1]@contoso.com", "test[1]@contoso.com", True),
    (" admin@contoso.com ", "admin@contoso.com", True),  # spaces around a pattern are not part of it
])
def test_a_pattern_matches_whole_upns_without_case(pattern, upn, hit):
    assert matches(pattern, upn) is hit


@pytest.mark.parametrize(("pattern", "why"), [
    ("", "empty"),
    ("   ", "empty"),
    ("*", "every account"),
    ("*@*", "every account"),
    ("**@**", "every account"),
    ("admin @contoso.com", "space"),
    ("admin@contoso.com\n", ""),  # surrounding white space is trimmed
    ("adm\x00in@contoso.com", "control"),
    ("a" * 300 + "@contoso.com", "too long"),
    ("admin", "@"),  # a UPN always has a domain
    ("admin@contoso.com", ""),
    ("*@contoso.com", ""),  # every account of one domain is a choice a person can make
])
def test_a_pattern_is_checked_before_it_is_kept(pattern, why):
    problem = pattern_problem(pattern)
    assert (why in problem and problem != "") if why else problem == ""


def _people(*spec: tuple[str, str]) -> tuple[User, ...]:
    """(upn, sku) pairs, each a user holding that SKU."""
    return tuple(User(id=f"u{i}", upn=upn, sku_ids=frozenset({sku.lower()})) for i, (upn, sku) in enumerate(spec))


ADMIN = IgnoredAccount(pattern="admin@contoso.com")
SERVICE = IgnoredAccount(pattern="*svc*@contoso.com")
STAFF = _people(("ann@contoso.com", SKU), ("bob@contoso.com", SKU), ("admin@contoso.com", SKU),
                ("backup-svc@contoso.com", SKU), ("carl@contoso.com", SKU2), ("sql-svc@contoso.com", SKU2))


@pytest.mark.parametrize(("basis", "accounts", "purchased", "assigned", "base", "ignored"), [
    (QuantityBasis.ASSIGNED, (), 6, 4, 4, 0),
    (QuantityBasis.ASSIGNED, (ADMIN,), 6, 4, 3, 1),  # the admin's seat is not billed
    (QuantityBasis.ASSIGNED, (ADMIN, SERVICE), 6, 4, 2, 2),
    (QuantityBasis.PURCHASED, (ADMIN, SERVICE), 6, 4, 4, 2),  # nor is it billed as a purchased seat
    (QuantityBasis.ASSIGNED, (IgnoredAccount(pattern="carl@contoso.com"),), 6, 4, 4, 0),  # holds another SKU
    (QuantityBasis.ASSIGNED, (IgnoredAccount(pattern="ann@contoso.com", tenant_id="other"),), 6, 4, 4, 0),
    (QuantityBasis.ASSIGNED, (IgnoredAccount(pattern="ann@contoso.com", tenant_id=TENANT),), 6, 4, 3, 1),
])
def test_an_ignored_accounts_seat_is_not_billed(basis, accounts, purchased, assigned, base, ignored):
    inv = apply_ignored(inventory(lic(6, 4), lic(3, 2, sku=SKU2), users=STAFF), accounts)
    counts = row_counts(mapping(basis=basis), inv)
    assert (counts.purchased, counts.assigned, counts.base, counts.ignored) == (purchased, assigned, base, ignored)
    assert counts.unassigned == 2  # Microsoft's unassigned seats stay what they are


def test_an_ignored_account_is_not_named_on_the_invoice_nor_counted_by_a_filter_or_domain():
    people = (*users("ann@contoso.com", "admin@contoso.com", office="Leeds"), *users("bob@fabrikam.com"))
    people = tuple(replace(u, id=f"u{i}") for i, u in enumerate(people))
    inv = apply_ignored(inventory(lic(3, 3), users=people), (ADMIN,))
    named = row_counts(mapping(usernames_in_description=True), inv)
    assert [u.upn for u in named.users or ()] == ["ann@contoso.com", "bob@fabrikam.com"]
    leeds = row_counts(mapping(user_filter=UserFilter(field=FilterField.OFFICE, value="leeds")), inv)
    assert (leeds.base, leeds.ignored, [u.upn for u in leeds.users or ()]) == (1, 1, ["ann@contoso.com"])
    domain = row_counts(mapping(basis=QuantityBasis.UPN_DOMAIN, basis_param="contoso.com", sku="custom:x"), inv)
    assert (domain.base, domain.ignored) == (1, 1)


def test_a_sum_of_licenses_leaves_out_the_seats_ignored_accounts_hold():
    inv = apply_ignored(inventory(lic(6, 4), lic(3, 2, sku=SKU2), users=STAFF), (SERVICE,))
    counts = row_counts(mapping(basis=QuantityBasis.SUM_OF_LICENSES, basis_param=f"{SKU},{SKU2}",
                                sku="custom:sum"), inv)
    assert (counts.base, counts.ignored) == (4, 2)


def _split(assigned: int, holders: int) -> TenantInventory:
    annual = Subscription(id="S-annual", sku_id=SKU, quantity=5, term=Term.YEAR, commitment_end=date(2027, 1, 31))
    monthly = Subscription(id="S-monthly", sku_id=SKU, quantity=4)
    people = _people(*((f"u{i}@contoso.com", SKU) for i in range(assigned - holders)),
                     *((f"admin{i}@contoso.com", SKU) for i in range(holders)))
    return apply_ignored(inventory(lic(9, assigned, subscriptions=(annual, monthly)), users=people),
                         (IgnoredAccount(pattern="admin*@contoso.com"),))


@pytest.mark.parametrize(("assigned", "holders", "basis", "annual", "monthly"), [
    (7, 0, QuantityBasis.ASSIGNED, 5, 2),  # annual commitments fill first
    (7, 2, QuantityBasis.ASSIGNED, 5, 0),  # the ignored seats come off the seats filled last
    (7, 3, QuantityBasis.ASSIGNED, 4, 0),
    (7, 2, QuantityBasis.PURCHASED, 5, 2),  # the monthly subscription gives up the ignored seats
    (7, 6, QuantityBasis.PURCHASED, 3, 0),  # then the annual one
])
def test_a_split_license_takes_the_ignored_seats_off_the_subscriptions_filled_last(
        assigned, holders, basis, annual, monthly):
    inv = _split(assigned, holders)
    bases = [row_counts(mapping(basis=basis, subscription_id=sub), inv).base for sub in ("S-annual", "S-monthly")]
    assert bases == [annual, monthly]
    ignored = [row_counts(mapping(basis=basis, subscription_id=sub), inv).ignored for sub in ("S-annual", "S-monthly")]
    assert sum(ignored) == holders


def test_without_the_users_read_ignored_accounts_cannot_be_applied():
    with pytest.raises(ValueError, match="users"):
        apply_ignored(inventory(lic(6, 4)), (ADMIN,))
    assert apply_ignored(inventory(lic(6, 4)), ()) == inventory(lic(6, 4))  # nothing to apply: no users needed


def test_a_snapshot_keeps_what_ignored_accounts_hold_without_the_users():
    inv = apply_ignored(inventory(lic(6, 4), users=STAFF), (ADMIN, SERVICE))
    snapshot = replace(inv, users=None)  # snapshots keep licenses, not users
    assert row_counts(mapping(), snapshot).base == 2


# -- the property: ignoring accounts plans what a tenant without them would ---------------------------------


@st.composite
def tenants(draw) -> tuple[TenantInventory, tuple[IgnoredAccount, ...]]:
    skus = draw(st.lists(st.sampled_from((SKU, SKU2)), unique=True, min_size=1))
    people: list[User] = []
    licenses = []
    for sku in skus:
        holders = draw(st.integers(0, 8))
        people += [User(id=f"{sku[:4]}{i}", upn=draw(st.sampled_from(("ann", "admin", "svc-a", "svc-b", "bob")))
                        + f"{i}@contoso.com", sku_ids=frozenset({sku})) for i in range(holders)]
        licenses.append(License(sku_id=sku, enabled=holders + draw(st.integers(0, 3)), consumed=holders))
    accounts = tuple(IgnoredAccount(pattern=p) for p in draw(st.lists(
        st.sampled_from(("admin*@contoso.com", "svc-*@contoso.com", "bob1@contoso.com")), unique=True)))
    return TenantInventory(tenant_id=TENANT, licenses=tuple(licenses), users=tuple(people)), accounts


def _without(inv: TenantInventory, accounts: tuple[IgnoredAccount, ...]) -> TenantInventory:
    """The reference: the tenant as if the ignored accounts, and the seats they hold, did not exist."""
    gone = [u for u in inv.users or () if any(matches(a.pattern, u.upn) for a in accounts)]
    licenses = tuple(replace(lic_, enabled=lic_.enabled - held, consumed=lic_.consumed - held)
                     for lic_ in inv.licenses
                     for held in [sum(1 for u in gone if lic_.sku_id in u.sku_ids)])
    return replace(inv, licenses=licenses, users=tuple(u for u in inv.users or () if u not in gone))


@settings(max_examples=200, deadline=None)
@given(tenants(), st.sampled_from(list(QuantityBasis)[:2]), st.booleans(), st.dates(date(2026, 1, 1),
                                                                                     date(2026, 12, 31)))
def test_ignoring_accounts_plans_what_the_tenant_without_them_would(tenant, basis, names, today):
    inv, accounts = tenant
    rows = [mapping(sku=sku, basis=basis, usernames_in_description=names,
                    profile=profile(product_=product(id=f"P{i}"))) for i, sku in enumerate((SKU, SKU2))]
    ignoring = plan(apply_ignored(inv, accounts), rows, (), [agreement()], [], today)
    reference = plan(_without(inv, accounts), rows, (), [agreement()], [], today)
    strip = lambda p: [replace(op, basis=None) for op in p.operations]  # noqa: E731 - the basis says why
    assert strip(ignoring) == strip(reference)


def test_the_basis_of_an_operation_says_how_many_seats_ignored_accounts_hold():
    inv = apply_ignored(inventory(lic(6, 4), users=STAFF), (ADMIN,))
    (create,) = plan(inv, [mapping()], (), [agreement()], [], date(2026, 3, 1)).operations
    assert (create.quantity, create.basis.assigned, create.basis.ignored, create.basis.base) == (3, 4, 1, 3)
    assert create.basis.formula.startswith("1 seat(s) held by ignored accounts not billed; max(max(3 − 0, 0), 0)")
