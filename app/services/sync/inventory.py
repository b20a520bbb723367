"""One tenant's Microsoft 365 inventory, read whole or not at all.

``InventoryService.fetch`` reads a tenant's licenses (Graph subscribedSkus),
the subscriptions under them (Graph directory subscriptions joined to
Partner Center's terms) and, when asked, its users, into a
``TenantInventory``. DESIGN §3: a read that fails, is partial, or returns
zero where there were seats before stops that tenant's sync, so this never
returns an inventory it is not sure of: it raises ``InventoryRefused``
(with the underlying typed error as ``cause``) and the sync writes nothing
for that tenant. A good read is saved as the tenant's latest snapshot.

The store is a small port (``InventoryStore``) the database implements.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from app.billing.custom import (
    MAILBOX_RULES,
    CountRule,
    CustomCountError,
    CustomLicense,
    MailboxKind,
    TenantFacts,
    is_custom,
    with_custom_licenses,
)
from app.billing.ignored import IgnoredAccount, apply_ignored
from app.billing.types import TenantInventory
from app.errors import SeatsyncError
from app.services.microsoft.errors import TenantNotFound
from app.services.microsoft.graph import GraphClient
from app.services.microsoft.partner_center import PartnerCenterClient
from app.services.microsoft.skus import SkuCatalogue
from app.services.microsoft.wire import licenses_from_graph, user_from_graph
from app.services.sync.pool import DEFAULT_WORKERS, for_each_tenant, side_by_side


class InventoryStore(Protocol):
    def latest(self, tenant_id: str) -> TenantInventory | None:
        """The tenant's last good snapshot, None if never read."""
        ...

    def save_snapshot(self, inventory: TenantInventory, previous: TenantInventory | None) -> None:
        """Keep ``inventory``; ``previous``: what ``latest`` gave before it was read (not read again)."""
        ...


class InventoryRefused(SeatsyncError):
    """This tenant's licenses could not be read completely, so it was not synced; nothing was changed."""
    advice = "Nothing was changed for this tenant; the next sync reads it again."

    def __init__(self, detail: str = "", *, tenant_id: str, cause: BaseException | None = None) -> None:
        self.tenant_id = tenant_id
        self.cause = cause
        super().__init__(detail, tenant_id=tenant_id)


class LicensesGone(InventoryRefused):
    """Microsoft reports no licenses for this tenant, where it had seats: a person decides whether to end them."""

    def __init__(self, inventory: TenantInventory, *, name: str, seats_before: int) -> None:
        self.inventory = inventory
        self.seats_before = seats_before
        #: What a person reads beside each change this read would make.
        self.reason = f"Microsoft reports no licenses for {name} (it had {seats_before} seats)"
        super().__init__(f"({self.reason}; its changes wait for approval: approve them if the customer has "
                         "left, or the next sync reads Microsoft again)", tenant_id=inventory.tenant_id)


def seat_total(inventory: TenantInventory) -> int:
    """Purchased seats across the tenant's Microsoft licenses: what "there were seats" compares (a custom row
    counting a fixed number must not hide that Microsoft answered with nothing)."""
    return sum(lic.purchased for lic in inventory.licenses if not is_custom(lic.sku_id))


class CustomReads(Protocol):
    """What custom licenses read of a tenant besides its licenses and users (Microsoft Graph)."""

    def group_member_ids(self, tenant_id: str, group_id: str) -> list[str]:
        """The ids of the group's users, nested groups' included."""
        ...

    def mailboxes(self, tenant_id: str) -> tuple[dict[MailboxKind, list[str]], bool]:
        """The tenant's user and shared mailboxes' UPNs by kind, and whether its reports conceal names."""
        ...


def _group_members(reader: CustomReads, tenant_id: str, group_id: str, names: list[str]) -> list[str]:
    try:
        return reader.group_member_ids(tenant_id, group_id)
    except CustomCountError as error:  # say which custom licenses count the group
        raise CustomCountError(f"{', '.join(names)}: {error}") from error


class InventoryService:
    def __init__(self, graph: GraphClient, partner_center: PartnerCenterClient | None, catalogue: SkuCatalogue,
                 store: InventoryStore, now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 custom_reads: CustomReads | None = None,
                 ignored: Callable[[str], Sequence[IgnoredAccount]] = lambda tenant_id: ()) -> None:
        """``ignored``: the ignored accounts that apply to a tenant (app/billing/ignored.py); a tenant with
        any has its users read, and their seats counted on its licenses, at every read."""
        self.graph = graph
        self.ignored = ignored
        self.custom_reads = custom_reads
        self.partner_center = partner_center
        self.catalogue = catalogue
        self.store = store
        self.now = now

    def fetch(self, tenant_id: str, *, name: str = "", with_users: bool = False,
              custom: Sequence[CustomLicense] = (),
              ignored: Sequence[IgnoredAccount] | None = None) -> TenantInventory:
        """The tenant's inventory, with its custom licenses counted and the seats its ignored accounts hold
        (``ignored``: the run's, read once; None: read now), or ``InventoryRefused``; saved as its snapshot
        when good."""
        tenant_id = tenant_id.lower()
        ignored = [a for a in (self.ignored(tenant_id) if ignored is None else ignored) if a.applies_to(tenant_id)]
        try:
            needs_users = with_users or bool(ignored) or any(c.needs_users for c in custom)
            inventory = apply_ignored(self._read(tenant_id, name, needs_users, custom), ignored)
        except CustomCountError as error:
            raise InventoryRefused(f"(tenant {tenant_id}: {error})", tenant_id=tenant_id, cause=error) from error
        except SeatsyncError as error:
            why = str(error) if tenant_id in str(error) else f"(tenant {tenant_id}) {error}"
            raise InventoryRefused(why, tenant_id=tenant_id, cause=error) from error
        previous = self.store.latest(tenant_id)
        self._check(inventory, previous)
        self.store.save_snapshot(inventory, previous)
        return inventory

    def fetch_many(self, tenant_ids: Iterable[str], *, with_users: bool = False,
                   max_workers: int = DEFAULT_WORKERS,
                   on_done: Callable[[str, object], None] | None = None) -> dict[str, TenantInventory | Exception]:
        """Each tenant on its own: one's failure never stops the others (DESIGN §3)."""
        return for_each_tenant(tenant_ids, lambda t: self.fetch(t, with_users=with_users),
                               max_workers=max_workers, on_done=on_done)

    def _read(self, tenant_id: str, name: str, with_users: bool, custom: Sequence[CustomLicense]) -> TenantInventory:
        """The tenant's reads, which depend on none of each other, at once: a tenant takes as long as its
        slowest read, not their sum (each API's own cap still holds in its HttpApi)."""
        fetched_at = self.now()
        reads: dict[str, Callable[[], Any]] = {"skus": lambda: self.graph.subscribed_skus(tenant_id),
                                               "directory": lambda: self.graph.directory_subscriptions(tenant_id)}
        if self.partner_center is not None:
            reads["terms"] = lambda: self._terms(tenant_id)
        if with_users:
            reads["users"] = lambda: self.graph.users(tenant_id)
        reads.update(self._custom_reads(tenant_id, custom))
        done = side_by_side(reads)  # the first failure, in order
        licenses = licenses_from_graph(done["skus"], done["directory"], done.get("terms"), self.catalogue)
        users = tuple(user_from_graph(u) for u in done["users"]) if with_users else None
        inventory = TenantInventory(tenant_id=tenant_id, name=name, fetched_at=fetched_at, licenses=licenses,
                                    users=users)
        if not custom:
            return inventory
        mailboxes, concealed = done.get("mailboxes", (None, False))
        groups = {key.removeprefix("group:"): value for key, value in done.items() if key.startswith("group:")}
        return with_custom_licenses(inventory, custom,
                                    TenantFacts(groups=groups, mailboxes=mailboxes, names_concealed=concealed))

    def _custom_reads(self, tenant_id: str, custom: Sequence[CustomLicense]) -> dict[str, Callable[[], Any]]:
        """The reads the tenant's custom licenses need: each group's members once, the mailboxes once."""
        groups = {c.param for c in custom if c.rule is CountRule.GROUP_MEMBERS}
        mailboxes = any(c.rule in MAILBOX_RULES for c in custom)
        if not (groups or mailboxes):
            return {}
        if self.custom_reads is None:
            raise CustomCountError("custom licenses cannot be counted without Microsoft Graph's groups and reports")
        reader = self.custom_reads
        counting = {group: [c.name for c in custom if c.rule is CountRule.GROUP_MEMBERS and c.param == group]
                    for group in groups}
        reads: dict[str, Callable[[], Any]] = {
            f"group:{group}": partial(_group_members, reader, tenant_id, group, counting[group])
            for group in sorted(groups)}
        if mailboxes:
            reads["mailboxes"] = lambda: reader.mailboxes(tenant_id)
        return reads

    def _terms(self, tenant_id: str) -> list[Any] | None:
        assert self.partner_center is not None
        try:
            return self.partner_center.subscriptions(tenant_id)
        except TenantNotFound:
            return None  # consented directly, not a Partner Center customer: Graph's view is all there is

    def _check(self, inventory: TenantInventory, previous: TenantInventory | None) -> None:
        """Refuse an empty or partial read (DESIGN §3: never write a decrease from it)."""
        tenant = inventory.tenant_id
        before = None if previous is None else seat_total(previous)
        now = seat_total(inventory)
        if before and now == 0:
            # The customer may have left, or Microsoft answered wrongly: a person decides (the sync holds
            # every change this read would make, and approving them ends the lines per the ledger).
            raise LicensesGone(inventory, name=inventory.name or tenant, seats_before=before)
        if inventory.users is not None:
            # Rows that count users bill from this list: it must agree with the seats Graph says are assigned.
            for lic in inventory.licenses:
                sku = lic.sku_id.lower()
                if is_custom(sku):
                    continue  # counted from these users (app/billing/custom.py checks its own reads agree)
                holders = sum(1 for user in inventory.users if sku in user.sku_ids)
                if holders != lic.consumed:
                    raise InventoryRefused(
                        f"(tenant {tenant}: Microsoft reports {lic.consumed} seats of "
                        f"{lic.name or lic.part_number or lic.sku_id} assigned, but the users read lists {holders} "
                        "users holding it; the list may have been cut short, so nothing was written and the next "
                        "sync reads it again)", tenant_id=tenant)
