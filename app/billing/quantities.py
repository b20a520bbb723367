"""Quantities of a mapped license row (DESIGN §2).

    base     = assigned | purchased ("bill unassigned seats") | a custom rule
    billable = max(base - included_quantity, 0)
    quantity = max(billable, minimum_quantity)
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from app.billing.types import License, Mapping, QuantityBasis, Subscription, TenantInventory, User


class RowCounts(NamedTuple):
    """The counts behind one row, kept as the basis of its operations (a named tuple: one is made per row
    on every plan, and a tuple is the cheapest immutable value to make)."""

    purchased: int
    assigned: int
    base: int
    users: tuple[User, ...] | None  # the users counted, when known
    ignored: int = 0  # the seats of the row ignored accounts hold: not in the base (app/billing/ignored.py)

    @property
    def unassigned(self) -> int:
        return max(self.purchased - self.assigned, 0)


def billed_quantity(base: int, included: int = 0, minimum: int = 0) -> int:
    """max(max(base - included, 0), minimum)."""
    if type(base) is type(included) is type(minimum) is int and base >= 0 and included >= 0 and minimum >= 0:
        return max(base - included, 0, minimum)
    for name, value in (("base", base), ("included", included), ("minimum", minimum)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number of seats >= 0, not {value!r}")
    return max(max(base - included, 0), minimum)


def allocate_assigned(lic: License, assigned: int | None = None) -> dict[str, int]:
    """Share a license's assigned seats (or ``assigned`` of them) among its subscriptions (split rows).

    Graph assigns seats per SKU, not per subscription, so a split license
    fills its subscriptions in a fixed order: annual commitments first (the
    seats the MSP pays for regardless), earliest commitment end first, then
    monthly ones, each up to its quantity; seats assigned beyond every
    subscription's quantity go to the last one.
    """
    subs = _fill_order(lic)
    left = lic.assigned if assigned is None else assigned
    shares: dict[str, int] = {}
    for sub in subs:
        take = min(left, sub.quantity)
        shares[sub.id] = take
        left -= take
    if subs and left:
        shares[subs[-1].id] += left
    return shares


def _fill_order(lic: License) -> list[Subscription]:
    return sorted((s for s in lic.subscriptions if s.status == "active"),
                  key=lambda s: (not s.is_annual_commitment, s.commitment_end or date.max, s.id))


def row_counts(mapping: Mapping, inventory: TenantInventory) -> RowCounts:
    """Purchased, assigned and base counts for a mapping's row; the seats ignored accounts hold are
    counted in purchased and assigned (as Microsoft reports them) and left out of the base."""
    if mapping.basis is QuantityBasis.UPN_DOMAIN:
        domain = mapping.basis_param.strip().lower().lstrip("@")
        users = tuple(u for u in _users(inventory, mapping) if u.sku_ids and u.upn_domain == domain)
        return _of_users(users)
    if mapping.basis is QuantityBasis.SUM_OF_LICENSES:
        skus = [s.strip().lower() for s in mapping.basis_param.split(",") if s.strip()]
        summed = [lic for lic in inventory.licenses if lic.sku_id.lower() in skus]
        total, ignored = sum(lic.assigned for lic in summed), sum(lic.ignored for lic in summed)
        return RowCounts(purchased=total, assigned=total, base=max(total - ignored, 0), users=None, ignored=ignored)

    lic = inventory.license(mapping.sku_id)
    if lic is None:
        return RowCounts(purchased=0, assigned=0, base=0, users=() if inventory.users is not None else None)
    sku_users = None
    if inventory.users is not None:
        sku_users = tuple(u for u in inventory.users if mapping.sku_id.lower() in {s.lower() for s in u.sku_ids})
    if mapping.user_filter is not None:
        # A filtered row bills the matching assigned users; unassigned seats
        # cannot be attributed to one filter, so they are never billed here.
        return _of_users(tuple(u for u in _require(sku_users, mapping) if mapping.user_filter.matches(u)))
    if mapping.subscription_id:
        return _of_subscription(lic, mapping)
    purchased, assigned, ignored = lic.purchased, lic.assigned, lic.ignored
    base = purchased if mapping.bill_unassigned else assigned
    if not ignored:
        return RowCounts(purchased, assigned, base, sku_users)
    billed_users = None if sku_users is None else tuple(u for u in sku_users if not u.ignored)
    return RowCounts(purchased, assigned, max(base - ignored, 0), billed_users, ignored)


def _of_users(users: tuple[User, ...]) -> RowCounts:
    """A row that counts users: the ones not ignored."""
    billed = tuple(u for u in users if not u.ignored)
    return RowCounts(purchased=len(users), assigned=len(users), base=len(billed), users=billed,
                     ignored=len(users) - len(billed))


def _of_subscription(lic: License, mapping: Mapping) -> RowCounts:
    """One subscription's row of a split license (its users are not told: a user holds the SKU, not one of its
    subscriptions). The seats ignored accounts hold come off the subscriptions filled last."""
    sub = _subscription(lic, mapping.subscription_id)
    purchased = sub.quantity if sub and sub.status == "active" else 0
    assigned = allocate_assigned(lic).get(mapping.subscription_id, 0)
    if not lic.ignored:
        return RowCounts(purchased=purchased, assigned=assigned, base=purchased if mapping.bill_unassigned
                         else assigned, users=None)
    # The seats left once the ignored ones are taken off, filled in the usual order: the quantities
    # bought ("bill unassigned seats"), or the seats assigned.
    left = (sum(s.quantity for s in _fill_order(lic)) if mapping.bill_unassigned else lic.assigned) - lic.ignored
    billed = allocate_assigned(lic, max(left, 0)).get(mapping.subscription_id, 0)
    held = purchased if mapping.bill_unassigned else assigned
    return RowCounts(purchased=purchased, assigned=assigned, base=billed, users=None, ignored=held - billed)


def needs_users(mappings: list[Mapping] | tuple[Mapping, ...]) -> bool:
    """Whether planning these mappings needs the tenant's users read."""
    return any(m.user_filter or m.usernames_in_description or m.basis is QuantityBasis.UPN_DOMAIN
               for m in mappings)


def _users(inventory: TenantInventory, mapping: Mapping) -> tuple[User, ...]:
    return _require(inventory.users, mapping)


def _require(users: tuple[User, ...] | None, mapping: Mapping) -> tuple[User, ...]:
    if users is None:
        raise ValueError(f"the row {mapping.sku_id} of tenant {mapping.tenant_id} needs the tenant's users, "
                         "which were not read")
    return users


def _subscription(lic: License, subscription_id: str) -> Subscription | None:
    return next((s for s in lic.subscriptions if s.id == subscription_id), None)

