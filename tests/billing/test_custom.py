"""Custom licenses: rows of their own, counted from a tenant's users, groups and mailboxes (docs/billing.md,
"Custom licenses"). Each rule has worked examples; the counted row then bills like any license."""

from datetime import date

import pytest

from app.billing.custom import (
    CountRule,
    CustomCountError,
    CustomLicense,
    MailboxKind,
    TenantFacts,
    with_custom_licenses,
)
from app.billing.operations import OpKind
from app.billing.plan import plan
from app.billing.types import FilterField, User, UserFilter
from tests.billing.builders import SKU, SKU2, TENANT, agreement, inventory, lic, main_line, mapping

ALICE = User(id="u1", upn="alice@contoso.com", sku_ids=frozenset({SKU}))
BOB = User(id="u2", upn="bob@fabrikam.com", sku_ids=frozenset({SKU2}), office="Leeds")
CAROL = User(id="u3", upn="carol@contoso.com", office="Leeds")  # enabled member, no license
DAVE = User(id="u4", upn="dave@contoso.com", enabled=False, sku_ids=frozenset({SKU}))  # disabled, still licensed
GUEST = User(id="u5", upn="guest_x.com#EXT#@contoso.com", member=False)
SHARED = User(id="u6", upn="info@contoso.com", enabled=False)  # a shared mailbox's account is disabled
PEOPLE = (ALICE, BOB, CAROL, DAVE, GUEST, SHARED)

FACTS = TenantFacts(
    groups={"g-sales": ("u1", "u3", "u4"), "g-empty": ()},
    mailboxes={MailboxKind.USER: ("alice@contoso.com", "bob@fabrikam.com", "carol@contoso.com"),
               MailboxKind.SHARED: ("info@contoso.com",)},
)


def custom(rule: CountRule, param: str = "", terms: tuple[tuple[int, str], ...] = (), id: str = "a" * 32,
           name: str = "Custom") -> CustomLicense:
    return CustomLicense(id=id, tenant_id=TENANT, name=name, rule=rule, param=param, terms=terms)


def counted(definition: CustomLicense, facts: TenantFacts = FACTS, users=PEOPLE):
    result = with_custom_licenses(inventory(lic(10, 3), lic(5, 1, sku=SKU2), users=users), (definition,), facts)
    row = result.license(definition.sku_id)
    assert row is not None
    holders = {u.id for u in result.users or () if definition.sku_id in u.sku_ids}
    return row.consumed, holders


@pytest.mark.parametrize(("definition", "count", "holders"), [
    # all enabled member users: not disabled accounts, not guests
    (custom(CountRule.ENABLED_MEMBERS), 3, {"u1", "u2", "u3"}),
    # licensed users: enabled users holding at least one license
    (custom(CountRule.LICENSED_USERS), 2, {"u1", "u2"}),
    # users with a UPN domain (licensed, enabled), the domain typed with or without "@" and in any case
    (custom(CountRule.UPN_DOMAIN, "@Contoso.com"), 1, {"u1"}),
    (custom(CountRule.UPN_DOMAIN, "fabrikam.com"), 1, {"u2"}),
    # the enabled members of a group, transitive (the facts hold the group's users, nested ones included)
    (custom(CountRule.GROUP_MEMBERS, "g-sales"), 2, {"u1", "u3"}),
    (custom(CountRule.GROUP_MEMBERS, "g-empty"), 0, set()),
    # mailboxes by kind, matched to their users by UPN
    (custom(CountRule.USER_MAILBOXES), 3, {"u1", "u2", "u3"}),
    (custom(CountRule.SHARED_MAILBOXES), 1, {"u6"}),
    # the sum or difference of other rows' assigned seats, never below zero
    (custom(CountRule.SUM, terms=((1, SKU), (1, SKU2))), 4, set()),
    (custom(CountRule.SUM, terms=((1, SKU), (-1, SKU2))), 2, set()),
    (custom(CountRule.SUM, terms=((1, SKU2), (-1, SKU))), 0, set()),
    # a fixed number
    (custom(CountRule.FIXED, "7"), 7, set()),
])
def test_each_rule_counts_its_worked_example(definition, count, holders):
    assert counted(definition) == (count, holders)


def test_a_custom_row_is_a_license_of_its_own_beside_the_microsoft_rows():
    definition = custom(CountRule.SHARED_MAILBOXES, name="Shared mailboxes")
    result = with_custom_licenses(inventory(lic(10, 3), users=PEOPLE), (definition,), FACTS)
    assert [x.sku_id for x in result.licenses] == [SKU, definition.sku_id]
    assert result.license(SKU) == lic(10, 3)  # the Microsoft row is untouched
    row = result.license(definition.sku_id)
    assert (row.name, row.purchased, row.assigned, row.unassigned) == ("Shared mailboxes", 1, 1, 0)
    assert definition.sku_id == "custom:" + "a" * 32


def test_a_sum_may_count_an_earlier_custom_row():
    first = custom(CountRule.SHARED_MAILBOXES, id="1" * 32)
    total = custom(CountRule.SUM, terms=((1, SKU), (1, first.sku_id)), id="2" * 32)
    result = with_custom_licenses(inventory(lic(10, 3), users=PEOPLE), (first, total), FACTS)
    assert result.license(total.sku_id).consumed == 4


def test_concealed_mailbox_names_bill_the_count_and_name_nobody():
    facts = TenantFacts(mailboxes={MailboxKind.SHARED: ("5F1C...", "9A0B...")}, names_concealed=True)
    assert counted(custom(CountRule.SHARED_MAILBOXES), facts) == (2, set())


@pytest.mark.parametrize(("definition", "facts", "users", "message"), [
    (custom(CountRule.GROUP_MEMBERS, "g-gone"), FACTS, PEOPLE, "group g-gone was not read"),
    (custom(CountRule.GROUP_MEMBERS, "g-sales"), FACTS, (ALICE,), "lists 1 of the group's 3 members"),
    (custom(CountRule.SHARED_MAILBOXES), TenantFacts(), PEOPLE, "mailboxes were not read"),
    (custom(CountRule.SHARED_MAILBOXES), FACTS, (ALICE,), "info@contoso.com has no user"),
    (custom(CountRule.ENABLED_MEMBERS), FACTS, None, "users were not read"),
    (custom(CountRule.SUM, terms=((1, "not-there"),)), FACTS, PEOPLE, "not-there"),
])
def test_a_count_that_cannot_be_trusted_stops_the_tenant(definition, facts, users, message):
    """A group or mailbox the users read does not hold means one of the reads is partial: nothing is counted."""
    with pytest.raises(CustomCountError, match=message):
        counted(definition, facts, users)


@pytest.mark.parametrize(("rule", "param", "terms", "message"), [
    (CountRule.UPN_DOMAIN, " ", (), "a UPN domain"),
    (CountRule.GROUP_MEMBERS, "", (), "a group"),
    (CountRule.FIXED, "-1", (), "a whole number"),
    (CountRule.FIXED, "two", (), "a whole number"),
    (CountRule.SUM, "", (), "at least one license"),
    (CountRule.SUM, "", ((2, SKU),), "is added"),
])
def test_a_rule_missing_what_it_counts_is_refused(rule, param, terms, message):
    with pytest.raises(ValueError, match=message):
        custom(rule, param, terms)


def test_a_custom_row_bills_with_the_ledger_on_the_same_agreement_as_a_microsoft_row():
    """Two shared mailboxes more mid-period: the custom row's line changes from the next period and a prorate
    line covers the rest of this one, exactly as a Microsoft row would."""
    definition = custom(CountRule.SHARED_MAILBOXES)
    row = mapping(sku=definition.sku_id)
    microsoft = mapping()
    facts = TenantFacts(mailboxes={MailboxKind.SHARED: ("info@contoso.com", "sales@contoso.com", "hr@contoso.com")})
    people = (*PEOPLE, User(id="u7", upn="sales@contoso.com", enabled=False),
              User(id="u8", upn="hr@contoso.com", enabled=False))
    counted_inventory = with_custom_licenses(inventory(lic(3, 3), users=people), (definition,), facts)
    lines = [main_line(3, microsoft, id="L1"), main_line(1, row, id="L2")]
    result = plan(counted_inventory, [microsoft, row], [], [agreement()], lines, date(2026, 3, 17))
    kinds = sorted((op.kind, op.line_id, op.quantity) for op in result.operations)
    assert kinds == sorted([(OpKind.ADD_PRORATE, "", 2), (OpKind.SET_QUANTITY, "L2", 3)])


def test_a_row_on_a_filtered_link_counts_only_that_links_users():
    definition = custom(CountRule.ENABLED_MEMBERS)
    leeds = mapping(sku=definition.sku_id, user_filter=UserFilter(field=FilterField.OFFICE, value="leeds"))
    result = plan(with_custom_licenses(inventory(users=PEOPLE), (definition,), FACTS), [leeds], [], [agreement()],
                  [], date(2026, 3, 1))
    assert [op.quantity for op in result.operations] == [2]  # Bob and Carol
