"""Mapping rules and the marks of the mappings they made, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest
from peewee import IntegrityError

from app.billing import types as core
from app.models.records import MappingRuleRecord, RecordInUse
from app.models.repositories import ConfigChanges, Mappings, Profiles, Rules
from app.models.repositories.mappings import mapping_key
from app.models.rules import MappingRule
from tests.models.factories import BP, TENANT, connection, profile, tenant


@pytest.fixture
def bp_profile(database):
    tenant()
    return profile(connection())


def _rule(bp_profile: core.BillingProfile, **options: object) -> MappingRuleRecord:
    values: dict[str, object] = {"sku_id": BP, "profile": bp_profile, "agreement_type": "MSP"}
    values.update(options)
    return MappingRuleRecord(**values)  # type: ignore[arg-type]


def test_a_rule_with_every_option_round_trips_and_its_changes_are_audited(bp_profile):
    rule = _rule(bp_profile, term=core.Term.YEAR, cycle=core.Cycle.MONTHLY, agreement_type="",
                 agreement_name="*Managed 365*", basis=core.QuantityBasis.PURCHASED, included_quantity=1,
                 minimum_quantity=5, negative_proration=True, usernames_in_description=True,
                 description_override="Seats")
    stored = Rules().add(rule, actor="alice")
    assert stored.id > 0 and stored.updated_by == "alice" and stored.created_at is not None
    assert Rules().all() == [stored] and Rules().get(stored.id) == stored
    assert stored == replace(rule, id=stored.id, created_at=stored.created_at, updated_by="alice")
    assert Rules().remove(stored.id, actor="bob") is True and Rules().remove(stored.id) is False
    assert Rules().all() == []
    changes = ConfigChanges().query(kind="rule")
    assert [(c.action, c.actor) for c in changes] == [("removed", "bob"), ("created", "alice")]
    assert changes[1].after is not None and changes[1].after["agreement_name"] == "*Managed 365*"


def test_a_mark_names_the_mapping_until_it_is_saved_again_and_outlives_its_rule(bp_profile):
    rule = Rules().add(_rule(bp_profile))
    mapping = core.Mapping(tenant_id=TENANT, sku_id=BP, profile=bp_profile, agreement_id="A7")
    Mappings().save(mapping)
    Rules().mark(mapping.row, rule.id)
    assert Rules().mapped_by_rule() == {mapping_key(mapping.row): rule.id}
    assert Rules().mapped_by_rule(["someone else"]) == {}
    Rules().remove(rule.id)
    assert Rules().mapped_by_rule([TENANT]) == {mapping_key(mapping.row): None}  # the rule is gone, its work stays
    Mappings().save(replace(mapping, minimum_quantity=3))  # a save by hand
    assert Rules().mapped_by_rule() == {}
    Mappings().delete(mapping.row)  # the mark goes with its mapping


def test_a_profile_a_rule_uses_cannot_be_removed_and_the_table_keeps_its_values(bp_profile):
    Rules().add(_rule(bp_profile))
    with pytest.raises(RecordInUse):
        Profiles().delete(bp_profile.id)
    with pytest.raises(IntegrityError):
        MappingRule.update(term="P2Y").execute()
    with pytest.raises(IntegrityError):
        MappingRule.update(minimum_quantity=-1).execute()
