"""Mapping rules: preview and apply across companies, the reasons a row cannot be mapped, a hand mapping wins."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.billing.types import Cycle, Mapping, Subscription, Term
from app.errors import ConfigurationError
from app.models.repositories import ConfigChanges
from app.models.repositories.mappings import mapping_key
from app.services.customers.rules import describe_rule
from tests.rules_world import E3, EXO, RulesWorld, e3


@pytest.fixture
def world(ctx) -> RulesWorld:
    return RulesWorld(ctx).setup()


def test_a_rule_maps_a_sku_across_fifty_companies_in_one_apply_and_lists_those_it_cannot(ctx, world):
    tenants = [world.company(f"Customer {n:02d}") for n in range(50)]
    world.company("No M365 agreement", agreements=("Block time",))
    world.company("Two M365 agreements", agreements=("Microsoft 365", "Microsoft 365"))
    rule = ctx.rules.add(world.rule(minimum_quantity=2), actor="alice")

    preview = ctx.rules.preview()
    assert len(preview.mapped) == 50
    assert sorted((r.company, r.reason) for r in preview.not_mapped) == [
        ("No M365 agreement", "no active agreement of type 'Microsoft 365'"),
        ("Two M365 agreements", "2 agreements of type 'Microsoft 365' (Two M365 agreements - Microsoft 365 1, "
                                "Two M365 agreements - Microsoft 365 2): map it by hand"),
    ]
    assert {r.agreement.id for r in preview.mapped if r.agreement} == {
        world.agreements[f"Customer {n:02d}"] for n in range(50)}

    applied = ctx.rules.apply(preview, actor="alice")
    assert applied.written == preview.mapped and applied.skipped == ()
    stored = {m.tenant_id: m for m in ctx.uow.mappings.all()}
    assert set(stored) == set(tenants)  # exactly the previewed rows, nothing for the two it cannot map
    assert [stored[r.target.tenant_id] for r in preview.mapped] == [
        replace(r.mapping, profile=stored[r.target.tenant_id].profile) for r in preview.mapped if r.mapping]
    assert all(m.minimum_quantity == 2 and m.profile.id == world.profile.id for m in stored.values())
    by_rule = ctx.rules.mapped_by_rule()
    assert set(by_rule) == {mapping_key(m.row) for m in stored.values()} and set(by_rule.values()) == {rule.id}
    assert ctx.rules.preview().mapped == ()  # mapped now: nothing left for the rule


def test_a_mapping_set_by_hand_is_never_overwritten(ctx, world):
    by_hand = world.company("By hand", agreements=("Microsoft 365", "Microsoft 365"))
    later = world.company("Mapped after the preview")
    hand = Mapping(tenant_id=by_hand, sku_id=E3, profile=world.profile,
                   agreement_id=world.agreements["By hand"], minimum_quantity=9)
    ctx.uow.mappings.save(hand, actor="bob")
    ctx.rules.add(world.rule())

    preview = ctx.rules.preview()
    assert [r.target.tenant_id for r in preview.rows] == [later]  # the mapped row is no rule's business
    theirs = replace(preview.rows[0].mapping, minimum_quantity=7)
    ctx.uow.mappings.save(theirs, actor="carol")  # someone maps it between preview and apply
    applied = ctx.rules.apply(preview, actor="alice")
    assert applied.written == () and [r.target.tenant_id for r in applied.skipped] == [later]
    assert ctx.uow.mappings.get(hand.row).minimum_quantity == 9
    assert ctx.uow.mappings.get(theirs.row).minimum_quantity == 7
    assert ctx.rules.mapped_by_rule() == {}


def test_a_hand_edit_of_a_rule_mapping_makes_it_the_persons(ctx, world):
    tid = world.company("Contoso")
    ctx.rules.add(world.rule())
    [row] = ctx.rules.apply(ctx.rules.preview()).written
    assert list(ctx.rules.mapped_by_rule([tid])) == [mapping_key(row.target.key)]
    ctx.uow.mappings.save(replace(row.mapping, included_quantity=1), actor="bob")
    assert ctx.rules.mapped_by_rule([tid]) == {}


def test_a_profile_not_allowed_on_the_agreement_the_rule_finds_is_said(ctx, world):
    world.company("Contoso", agreements=("Block time",))
    preview = ctx.rules.preview([world.rule(agreement_type="", agreement_name="contoso - BLOCK*")])
    assert [r.reason for r in preview.rows] == [
        "billing profile E3 retail may be used on agreements of type Microsoft 365, not 'Block time'"]


def test_rules_naming_a_term_and_cycle_come_first_and_others_only_match_their_sku(ctx, world):
    annual = Subscription(id="s1", sku_id=E3, quantity=5, term=Term.YEAR, billing_cycle=Cycle.MONTHLY)
    world.company("Annual", agreements=("Microsoft 365", "NCE annual"), licenses=(
        replace(e3(), subscriptions=(annual,)), replace(e3(), sku_id=EXO, name="Exchange Online (Plan 1)")))
    world.company("Monthly", licenses=(replace(e3(), subscriptions=(replace(annual, term=Term.MONTH),)),))
    assert world.profile is not None
    nce = ctx.uow.profiles.save(world.connection_id, replace(
        world.profile, id="", name="E3 NCE annual", allowed_agreement_types=frozenset()))
    ctx.rules.add(world.rule())
    ctx.rules.add(world.rule(profile=nce, term=Term.YEAR, cycle=Cycle.MONTHLY, agreement_type="nce ANNUAL"))
    preview = ctx.rules.preview()
    assert sorted((r.company, r.license, r.mapping.profile.name, r.agreement.type_name)
                  for r in preview.rows if r.mapping and r.agreement) == [
        ("Annual", "Office 365 E3", "E3 NCE annual", "NCE annual"),
        ("Monthly", "Office 365 E3", "E3 retail", "Microsoft 365")]


def test_a_rule_needs_a_sku_and_one_way_to_choose_the_agreement_and_changes_are_audited(ctx, world):
    with pytest.raises(ConfigurationError, match="SKU"):
        ctx.rules.add(world.rule(sku_id=" "))
    with pytest.raises(ConfigurationError, match="not both"):
        ctx.rules.add(world.rule(agreement_name="Managed*"))
    rule = ctx.rules.add(world.rule(), actor="alice")
    assert describe_rule(rule, "Office 365 E3") == "Office 365 E3 → E3 retail on agreement type 'Microsoft 365'"
    assert ctx.rules.remove(rule.id, actor="bob") is True and ctx.rules.remove(rule.id) is False
    changes = ConfigChanges().query(kind="rule")
    assert [(c.action, c.actor, c.key) for c in changes] == [("removed", "bob", str(rule.id)),
                                                             ("created", "alice", str(rule.id))]
    assert changes[1].after["agreement_type"] == "Microsoft 365" and changes[0].after is None
