"""The scenario generator: realistic, deterministic, fast, and able to change."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from app.sandbox.microsoft import generate
from app.sandbox.microsoft.offers import OFFERS


def snapshot(scenario):  # type: ignore[no-untyped-def]
    return [(t.id, t.name, t.default_domain, tuple(t.domains), t.consent, len(t.users),
             tuple((s.id, s.part_number, s.quantity, s.term, s.billing_cycle, s.commitment_end)
                   for s in t.subscriptions),
             tuple((u.upn, u.office, u.department, tuple(u.sku_ids)) for u in t.users[:5]))
            for t in scenario.tenants.values()]


def test_same_seed_same_world_other_seed_other_world(catalogue):
    assert snapshot(generate(30, seed=5, catalogue=catalogue)) == snapshot(generate(30, seed=5, catalogue=catalogue))
    assert snapshot(generate(30, seed=5, catalogue=catalogue)) != snapshot(generate(30, seed=6, catalogue=catalogue))


def test_a_thousand_tenants_are_realistic_and_quick(catalogue, capsys):
    started = time.perf_counter()
    scenario = generate(1000, seed=1, catalogue=catalogue)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n1,000 tenants, {sum(len(t.users) for t in scenario.tenants.values())} users "
              f"generated in {elapsed:.2f} s")
    tenants = list(scenario.tenants.values())
    assert len({t.id for t in tenants}) == 1000 and len({t.name.lower() for t in tenants}) == 1000
    domains = [d for t in tenants for d in (t.default_domain, *t.domains)]
    assert len(domains) == len(set(domains))  # a verified domain belongs to one tenant
    assert len(scenario.unconsented) == 1
    parts = {s.part_number for t in tenants for s in t.subscriptions}
    assert {"O365_BUSINESS_ESSENTIALS", "O365_BUSINESS_PREMIUM", "SPB", "ENTERPRISEPACK", "SPE_E3", "SPE_E5",
            "EXCHANGESTANDARD", "MCOEV", "POWER_BI_PRO", "FLOW_FREE"} <= parts
    for t in tenants:
        for s in t.subscriptions:
            assert s.sku_id == catalogue.sku_id(s.part_number)  # real ids from the catalogue
            assert s.commitment_end >= scenario.today > s.term_start - timedelta(days=1)
            assert s.in_partner_center == OFFERS[s.part_number].paid
        for sku in t.sku_ids():  # nobody holds a seat Microsoft did not sell
            units = t.units(sku)
            assert t.holders(sku) <= units["enabled"] + units["warning"]
        assert all(u.office and u.department and u.city and u.state for u in t.users)
    terms = {(s.term, s.billing_cycle) for t in tenants for s in t.subscriptions if s.in_partner_center}
    assert {("P1M", "monthly"), ("P1Y", "monthly"), ("P1Y", "annual")} <= terms
    assert sum(1 for t in tenants for s in t.subscriptions
               if s.in_partner_center and t.units(s.sku_id)["enabled"] > t.holders(s.sku_id)) > 100  # spare seats


def test_the_world_can_change(scenario):
    tenant = next(t for t in scenario.tenants.values() if t.consent)
    suite = tenant.subscriptions[0]
    with pytest.raises(ValueError, match="add seats first"):
        scenario.add_users(tenant.id, 10_000, sku=suite.sku_id)
    assert len(tenant.users) == len(scenario.tenants[tenant.id].users)
    scenario.add_seats(tenant.id, suite.sku_id, 4)
    added = scenario.add_users(tenant.id, 4, sku=suite.sku_id)
    assert all(suite.sku_id in u.sku_ids for u in added)
    assert scenario.remove_users(tenant.id, 2) == added[-2:]
    scenario.revoke_consent(tenant.id)
    assert tenant.id in scenario.unconsented
    scenario.expire_gdap(tenant.id)
    assert not tenant.gdap_active(scenario.today)
    scenario.renew_gdap(tenant.id)
    assert tenant.gdap_active(scenario.today)
    scenario.set_date(date(2030, 1, 1))
    assert all(s.commitment_end >= date(2030, 1, 1) for s in tenant.subscriptions if s.auto_renew)
    assert scenario.tenant(tenant.domains[0]) is tenant and scenario.tenant(tenant.default_domain) is tenant


def test_seeding_refuses_what_microsoft_has_no_word_for(scenario):
    tenant = next(iter(scenario.tenants.values()))
    with pytest.raises(ValueError, match="relationship status"):
        scenario.add_relationship(tenant.id, status="paused")
    with pytest.raises(ValueError, match="mailbox kind"):
        scenario.set_mailbox(tenant.id, tenant.users[:1], "cupboard")
    with pytest.raises(KeyError):
        scenario.add_relationship(tenant.id, partner_id="00000000-0000-4000-8000-000000000000")


def test_generated_tenants_have_a_mailbox_per_licensed_user_and_an_active_relationship(scenario):
    for tenant in scenario.tenants.values():
        assert all((u.mailbox == "user") == bool(u.sku_ids) for u in tenant.users)
        assert tenant.gdap_active(scenario.today) and tenant.conceal_report_names


def test_shared_mailboxes_are_disabled_unlicensed_users(scenario):
    tenant = next(iter(scenario.tenants.values()))
    made = scenario.add_shared_mailboxes(tenant.id, 2, kind="equipment")
    assert all(u.mailbox == "equipment" and not u.enabled and not u.sku_ids for u in made)
