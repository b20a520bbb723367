"""Microsoft's JSON -> billing types, on canned payloads (the edge cases the sandbox does not produce)."""

from __future__ import annotations

from datetime import date

import pytest

from app.billing.types import Cycle, Term
from app.services.microsoft import MalformedResponse
from app.services.microsoft.fields import Reader
from app.services.microsoft.wire import (
    customer_from_partner_center,
    licenses_from_graph,
    subscription_from_partner_center,
)

SKU = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"


def pc_sub(**changes):  # type: ignore[no-untyped-def]
    item = {"id": "A1B2", "offerName": "Microsoft 365 Business Premium", "quantity": 10, "termDuration": "P1Y",
            "billingCycle": "monthly", "status": "active", "commitmentEndDate": "2026-09-30T00:00:00Z",
            "cancellationAllowedUntilDate": "2025-10-08T00:00:00Z", "autoRenewEnabled": False, "isTrial": False}
    item.update(changes)
    return Reader({k: v for k, v in item.items() if v != "-"}, "subscriptions.items[0]", "t1")


def test_partner_center_terms():
    sub = subscription_from_partner_center(pc_sub(), SKU)
    assert (sub.id, sub.quantity, sub.term, sub.billing_cycle) == ("a1b2", 10, Term.YEAR, Cycle.MONTHLY)
    assert (sub.commitment_end, sub.cancellation_allowed_until) == (date(2026, 9, 30), date(2025, 10, 8))
    assert sub.renewal_date == date(2026, 10, 1) and sub.auto_renew is False
    assert subscription_from_partner_center(pc_sub(termDuration="P3Y", billingCycle="Triennial"), SKU).term \
        is Term.THREE_YEARS


@pytest.mark.parametrize(("changes", "message"), [
    ({"termDuration": "P2W"}, "termDuration is 'P2W'"),
    ({"billingCycle": "fortnightly"}, "billingCycle is 'fortnightly'"),
    ({"quantity": "-"}, "quantity is missing"),
    ({"quantity": 2.5}, "quantity is float"),
    ({"commitmentEndDate": "someday"}, "commitmentEndDate is 'someday'"),
    ({"autoRenewEnabled": "yes"}, "autoRenewEnabled is str"),
])
def test_bad_partner_center_fields(changes, message):
    with pytest.raises(MalformedResponse) as caught:
        subscription_from_partner_center(pc_sub(**changes), SKU)
    assert message in str(caught.value) and "tenant t1" in str(caught.value)


def test_licenses_join_without_directory_subscriptions(catalogue):
    sku = Reader({"skuId": SKU.upper(), "skuPartNumber": "SPB", "consumedUnits": 7, "subscriptionIds": ["A1B2"],
                  "prepaidUnits": {"enabled": 10, "warning": 1, "suspended": 2}}, "subscribedSkus[0]", "t1")
    (lic,) = licenses_from_graph([sku], None, [pc_sub()], catalogue)
    assert (lic.sku_id, lic.purchased, lic.assigned, lic.unassigned, lic.locked_out) == (SKU, 11, 7, 4, 0)
    assert lic.name == "Microsoft 365 Business Premium" and [s.id for s in lic.subscriptions] == ["a1b2"]


def test_deleted_directory_subscriptions_are_left_out(catalogue):
    sku = Reader({"skuId": SKU, "skuPartNumber": "SPB", "consumedUnits": 1, "subscriptionIds": ["d1", "d2"],
                  "prepaidUnits": {"enabled": 1, "warning": 0, "suspended": 0, "lockedOut": 0}}, "s[0]")
    directory = [Reader({"id": "d1", "skuId": SKU, "status": "Enabled", "commerceSubscriptionId": "c1",
                         "totalLicenses": 1, "isTrial": True}, "d[0]"),
                 Reader({"id": "d2", "skuId": SKU, "status": "Deleted", "commerceSubscriptionId": "c2",
                         "totalLicenses": 4}, "d[1]")]
    (lic,) = licenses_from_graph([sku], directory, [], catalogue)
    assert [(s.id, s.quantity, s.is_trial, s.status) for s in lic.subscriptions] == [("c1", 1, True, "active")]


TENANT = "0A1B2C3D-0000-4000-8000-00000000000F"


def test_customer_domains():
    item = Reader({"id": TENANT, "companyProfile": {"tenantId": TENANT, "domain": "Contoso.onmicrosoft.com",
                                                    "companyName": "Contoso Ltd"},
                   "customDomains": ["Contoso.com", "contoso.co.uk"], "relationshipToPartner": "reseller"}, "c")
    customer = customer_from_partner_center(item)
    assert customer.tenant_id == TENANT.lower()
    assert customer.all_domains == ("contoso.onmicrosoft.com", "contoso.com", "contoso.co.uk")


@pytest.mark.parametrize("tenant", ["T1", "../subscriptions", f"{TENANT}/x", f"{TENANT}\n", ""])
def test_a_customer_id_that_is_not_a_guid_is_malformed(tenant):
    # The tenant id goes into the URL of every read of the customer: nothing but a GUID is taken.
    item = Reader({"id": tenant or TENANT, "companyProfile": {"tenantId": tenant, "companyName": "Contoso"}}, "c")
    if not tenant:
        assert customer_from_partner_center(item).tenant_id == TENANT.lower()  # the id stands in for it
        return
    with pytest.raises(MalformedResponse) as caught:
        customer_from_partner_center(item)
    assert "c.companyProfile.tenantId is " in str(caught.value) and "not a tenant ID" in str(caught.value)
    assert "\n" not in str(caught.value)
