"""Seeded customer tenants for the Microsoft sandbox, and time that can move.

``generate(n, seed)`` builds ``n`` realistic tenants from ``random.Random(seed)``:
a name, a default (onmicrosoft) domain and verified domains, offices,
users with departments, cities and states, a suite (Business Basic,
Standard, Premium, Office 365 E3, Microsoft 365 E3/E5) with monthly and
annual NCE subscriptions, add-ons (Exchange Online, Teams Phone, Power BI
Pro), free SKUs (Power Automate Free, Fabric Free), some unassigned seats,
one tenant where seatsync's app has no consent, a GDAP relationship with
each, and a mailbox for each licensed user. The same seed gives the same
world; 1,000 tenants take about a second.

The ``Scenario`` then changes like the real world: users come and go, seats
are bought and released, a new SKU appears, consent or GDAP expires, a
Graph permission is left out of the app (or of one tenant's consent), the
date moves and subscriptions renew. Tests seed what the counts of custom
license rows read: groups (nested), shared/room mailboxes, concealed report
names, GDAP relationships in any status, consent per app, and further
partners (each a CSP tenant with its own customers and app credentials).
Every change takes the scenario's lock, which the sandbox's routes hold
while they read.
"""

from __future__ import annotations

import random
import re
import threading
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from app.sandbox.microsoft import names
from app.sandbox.microsoft.model import (
    RELATIONSHIP_STATUSES,
    TERM_MONTHS,
    SandboxGroup,
    SandboxPartner,
    SandboxRelationship,
    SandboxSubscription,
    SandboxTenant,
    SandboxUser,
    TenantProfile,
    add_months,
)
from app.sandbox.microsoft.offers import OFFERS, SUITES
from app.services.microsoft.permissions import GRAPH_PERMISSIONS
from app.services.microsoft.skus import SkuCatalogue

DEFAULT_TODAY = date(2026, 3, 15)
#: The Entra role templates of a generated GDAP relationship: Directory Readers and Global Reader (APIS.md §A4).
DEFAULT_GDAP_ROLES = ("88d8e3e3-8f55-4a1e-953a-9b9898b8876b", "f2ef992c-3afb-46b9-b7cf-a126ee74c451")
#: The mailbox kinds Exchange's userPurpose names (APIS.md §A4).
MAILBOX_KINDS = ("user", "linked", "shared", "room", "equipment", "others")
SIZES = ((1, 9, 30), (10, 49, 45), (50, 299, 20), (300, 1200, 5))  # (min users, max users, weight %)


@dataclass
class Scenario:
    """The world. ``partners`` holds every partner, the first (the "home" partner, whose fields the
    ``partner_tenant_id``, ``client_id``, ``client_secret``, ``secret_expired`` and ``graph_roles``
    properties read and write) first; ``generate`` makes every tenant a customer of the home partner."""

    seed: int
    today: date
    partners: dict[str, SandboxPartner]
    tenants: dict[str, SandboxTenant] = field(default_factory=dict)
    #: A test hook: each of the next this-many reads of a tenant's users (Graph /users, from its first page
    #: on) leaves out one user holding a license, as an answer cut short would. 0: every read is whole.
    cut_users_reads: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    catalogue: SkuCatalogue = field(default_factory=SkuCatalogue.load, repr=False)
    _domains: dict[str, SandboxTenant] | None = field(default=None, repr=False)
    _domains_of: set[str] = field(default_factory=set, repr=False)

    # -- the home partner ---------------------------------------------------

    @property
    def home(self) -> SandboxPartner:
        return next(iter(self.partners.values()))

    @property
    def partner_tenant_id(self) -> str:
        return self.home.tenant_id

    @property
    def partner_name(self) -> str:
        return self.home.name

    @property
    def client_id(self) -> str:
        return self.home.client_id

    @property
    def client_secret(self) -> str:
        return self.home.client_secret

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        self.home.client_secret = value

    @property
    def secret_expired(self) -> bool:
        return self.home.secret_expired

    @secret_expired.setter
    def secret_expired(self, value: bool) -> None:
        self.home.secret_expired = value

    @property
    def graph_roles(self) -> set[str]:
        """The Graph application permissions of the home partner's app, consented in every tenant that
        consented it (a token's ``roles``); by default exactly ``GRAPH_PERMISSIONS``. ``leave_out_role``
        takes one away, ``add_role`` adds one."""
        return self.home.graph_roles

    # -- reading ------------------------------------------------------------

    def tenant(self, key: str) -> SandboxTenant | None:
        """A tenant by id or by any of its domains (Entra accepts both)."""
        key = key.lower()
        found = self.tenants.get(key)
        if found is None:
            found = self._by_domain().get(key)
        return found

    def _by_domain(self) -> dict[str, SandboxTenant]:
        # Domains are set when a tenant is made and never change.
        if self._domains is None or len(self._domains_of) != len(self.tenants):
            self._domains = {d: t for t in self.tenants.values() for d in (t.default_domain, *t.domains)}
            self._domains_of = set(self.tenants)
        return self._domains

    def profiles(self) -> tuple[TenantProfile, ...]:
        """Every tenant's name and domains, for building matching PSA companies."""
        with self.lock:
            return tuple(TenantProfile(id=t.id, name=t.name, default_domain=t.default_domain,
                                       domains=tuple(t.domains)) for t in self.tenants.values())

    @property
    def unconsented(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.tenants.values() if not t.consent)

    def sku_id(self, sku: str) -> str:
        """A SKU id from an id or a part number."""
        return sku.lower() if "-" in sku else self.catalogue.sku_id(sku)

    def _tenant(self, tenant_id: str) -> SandboxTenant:
        found = self.tenant(tenant_id)
        if found is None:
            raise KeyError(f"the scenario has no tenant {tenant_id}")
        return found

    @staticmethod
    def _check_free(t: SandboxTenant, sku_id: str, count: int) -> None:
        units = t.units(sku_id)
        free = units["enabled"] + units["warning"] - t.holders(sku_id)
        if count > free:
            raise ValueError(f"tenant {t.id} has {max(free, 0)} free seats of {sku_id}, not {count}: add seats first")

    # -- time and change ----------------------------------------------------

    def set_date(self, day: date) -> None:
        """Move the world to ``day``: terms renew (or expire); GDAP past its end lapses."""
        with self.lock:
            self.today = day
            for t in self.tenants.values():
                for sub in t.subscriptions:
                    sub.renew_until(day)

    def add_users(self, tenant_id: str, count: int, sku: str | None = None) -> list[SandboxUser]:
        with self.lock:
            t = self._tenant(tenant_id)
            if sku:
                self._check_free(t, self.sku_id(sku), count)
            users = [_user(self.rng, t, len(t.users) + i) for i in range(count)]
            t.users.extend(users)
            if sku:
                self.assign(t.id, sku, count, users)
            return users

    def remove_users(self, tenant_id: str, count: int) -> list[SandboxUser]:
        """Delete the last ``count`` users (their licenses are freed)."""
        with self.lock:
            t = self._tenant(tenant_id)
            removed, t.users = t.users[len(t.users) - count:], t.users[: len(t.users) - count]
            return removed

    def assign(self, tenant_id: str, sku: str, count: int, users: list[SandboxUser] | None = None) -> int:
        """Give ``sku`` to ``count`` users who lack it, as Microsoft would: only from free seats."""
        with self.lock:
            t, sku_id = self._tenant(tenant_id), self.sku_id(sku)
            self._check_free(t, sku_id, count)
            done = 0
            for u in users if users is not None else t.users:
                if done == count:
                    break
                if sku_id not in u.sku_ids:
                    u.sku_ids.append(sku_id)
                    done += 1
            return done

    def unassign(self, tenant_id: str, sku: str, count: int) -> int:
        with self.lock:
            t, sku_id = self._tenant(tenant_id), self.sku_id(sku)
            done = 0
            for u in reversed(t.users):
                if done == count:
                    break
                if sku_id in u.sku_ids:
                    u.sku_ids.remove(sku_id)
                    done += 1
            return done

    def add_seats(self, tenant_id: str, sku: str, delta: int) -> SandboxSubscription:
        """Buy (or release, when negative) seats on the SKU's monthly subscription if it has one."""
        with self.lock:
            t, sku_id = self._tenant(tenant_id), self.sku_id(sku)
            subs = [s for s in t.subscriptions if s.sku_id == sku_id and s.status == "active"]
            if not subs:
                raise KeyError(f"tenant {tenant_id} has no active subscription of {sku}")
            sub = next((s for s in subs if s.term == "P1M"), subs[-1])
            if sub.quantity + delta < 0:
                raise ValueError(f"{sub.id} has {sub.quantity} seats; cannot release {-delta}")
            sub.quantity += delta
            return sub

    def add_sku(self, tenant_id: str, sku: str, seats: int, *, assigned: int = 0, term: str = "P1M",
                billing_cycle: str = "monthly", bought: date | None = None) -> SandboxSubscription:
        """A new subscription (a SKU the tenant may not have had), bought today (or on ``bought``)."""
        with self.lock:
            t = self._tenant(tenant_id)
            sub = _subscription(self.rng, self.catalogue, sku, seats, term, billing_cycle, bought or self.today,
                                self.today)
            t.subscriptions.append(sub)
            if assigned:
                self.assign(tenant_id, sub.sku_id, assigned)
            return sub

    def set_status(self, tenant_id: str, subscription_id: str, status: str) -> None:
        """Partner Center status: active | expired (Graph Warning) | suspended | disabled | deleted."""
        with self.lock:
            t = self._tenant(tenant_id)
            sub = next(s for s in t.subscriptions if s.id == subscription_id)
            sub.status = status

    def partner(self, tenant_id: str) -> SandboxPartner | None:
        """A partner by its tenant id."""
        return self.partners.get(tenant_id.lower())

    def app(self, client_id: str) -> SandboxPartner | None:
        """The partner whose app registration has ``client_id``."""
        return next((p for p in self.partners.values() if p.client_id == client_id), None)

    def consented(self, tenant_id: str, client_id: str) -> bool:
        """Whether app ``client_id`` may get tokens in ``tenant_id``: its own partner tenant, or a customer
        tenant that consented it."""
        with self.lock:
            app = self.app(client_id)
            if app is None:
                return False
            if tenant_id.lower() in self.partners:
                return tenant_id.lower() == app.tenant_id
            t = self.tenant(tenant_id)
            if t is None:
                return False
            return t.consent if t.partner_id == app.tenant_id else client_id in t.other_apps

    def revoke_consent(self, tenant_id: str, client_id: str | None = None) -> None:
        """The tenant's admin removes an app (default: its own partner's)."""
        with self.lock:
            t = self._tenant(tenant_id)
            if client_id is None or client_id == self.partners[t.partner_id].client_id:
                t.consent = False
            else:
                t.other_apps.discard(client_id)

    def grant_consent(self, tenant_id: str, client_id: str | None = None) -> None:
        """Consent (again) to an app (default: the tenant's own partner's): the tenant then holds every
        permission the app has."""
        with self.lock:
            t = self._tenant(tenant_id)
            if client_id is None or client_id == self.partners[t.partner_id].client_id:
                t.consent, t.graph_roles = True, None
            elif self.app(client_id) is None:
                raise KeyError(f"the scenario has no app {client_id}")
            else:
                t.other_apps.add(client_id)

    def roles_in(self, tenant_id: str, client_id: str | None = None) -> frozenset[str]:
        """The Graph application permissions of an app (default: the home partner's) consented in a tenant."""
        with self.lock:
            app = self.app(client_id) if client_id else self.home
            if app is None:
                return frozenset()
            t = self.tenant(tenant_id)
            own = t is not None and t.partner_id == app.tenant_id and t.graph_roles is not None
            return frozenset(t.graph_roles if own and t is not None and t.graph_roles is not None
                             else app.graph_roles)

    def leave_out_role(self, role: str, tenant_id: str | None = None) -> None:
        """The app lacks Graph permission ``role``: everywhere, or only in ``tenant_id`` (consented before the
        permission was added, and not consented again since)."""
        with self.lock:
            if tenant_id is None:
                self.graph_roles.discard(role)
                return
            t = self._tenant(tenant_id)
            t.graph_roles = set(self.graph_roles if t.graph_roles is None else t.graph_roles) - {role}

    def add_role(self, *roles: str, partner_id: str | None = None) -> None:
        """Add Graph application permissions to a partner's app (default: the home partner's), consented
        again wherever it is consented."""
        with self.lock:
            app = self.partners[partner_id.lower()] if partner_id else self.home
            app.graph_roles.update(roles)
            for t in self.tenants.values():
                if t.partner_id == app.tenant_id and t.graph_roles is not None:
                    t.graph_roles.update(roles)

    # -- GDAP ---------------------------------------------------------------

    def expire_gdap(self, tenant_id: str) -> None:
        """The own partner's relationships ended yesterday (and the partner was told)."""
        with self.lock:
            t = self._tenant(tenant_id)
            for r in t.relationships:
                if r.partner_id == t.partner_id and r.status_on(self.today) in ("active", "expiring"):
                    r.end = self.today - timedelta(days=1)

    def renew_gdap(self, tenant_id: str, days: int = 730) -> SandboxRelationship:
        """A new active relationship of the own partner, ending in ``days``."""
        with self.lock:
            t = self._tenant(tenant_id)
            return self.add_relationship(t.id, end=self.today + timedelta(days=days))

    def add_relationship(self, tenant_id: str, *, partner_id: str | None = None, status: str = "active",
                         end: date | None = None, role_ids: tuple[str, ...] = DEFAULT_GDAP_ROLES,
                         duration_days: int = 730, name: str = "") -> SandboxRelationship:
        """A GDAP relationship of ``partner_id`` (default: the tenant's own partner) with a tenant."""
        if status not in RELATIONSHIP_STATUSES:
            raise ValueError(f"{status!r} is not a relationship status ({', '.join(RELATIONSHIP_STATUSES)})")
        with self.lock:
            t = self._tenant(tenant_id)
            partner = (partner_id or t.partner_id).lower()
            if partner not in self.partners:
                raise KeyError(f"the scenario has no partner {partner}")
            relationship = SandboxRelationship(
                id=f"{_uuid(self.rng)}-{_uuid(self.rng)}", partner_id=partner,
                display_name=name or f"{t.name[:40]} GDAP {len(t.relationships) + 1}", created=self.today,
                end=end, role_ids=list(role_ids), status=status, duration_days=duration_days)
            t.relationships.append(relationship)
            return relationship

    def end_relationships(self, tenant_id: str, status: str = "terminated") -> None:
        """The own partner's relationships with a tenant are terminated (or set to another ``status``)."""
        with self.lock:
            t = self._tenant(tenant_id)
            for r in t.relationships:
                if r.partner_id == t.partner_id:
                    r.status = status

    # -- partners -----------------------------------------------------------

    def add_partner(self, name: str, customers: int = 0) -> SandboxPartner:
        """Another CSP tenant with its own Partner Center account, app registration and ``customers`` new
        customer tenants (each consenting its app, with a GDAP relationship)."""
        with self.lock:
            partner = SandboxPartner(tenant_id=_uuid(self.rng), name=name, client_id=_uuid(self.rng),
                                     client_secret=f"sbx~{self.rng.getrandbits(160):040x}",
                                     graph_roles=set(GRAPH_PERMISSIONS))
            self.partners[partner.tenant_id] = partner
            taken_names = {t.name.lower() for t in self.tenants.values()}
            taken_slugs = {d.split(".")[0] for t in self.tenants.values() for d in (t.default_domain,)} | {
                d for t in self.tenants.values() for d in t.domains}
            for index in range(customers):
                tenant = _tenant(self.rng, self, len(self.tenants) + index, taken_names, taken_slugs,
                                 partner_id=partner.tenant_id)
                self.tenants[tenant.id] = tenant
            return partner

    def transfer(self, tenant_id: str, partner_id: str) -> None:
        """The customer moves to another partner (a transfer in Partner Center): that partner lists it from now
        on, and needs a GDAP relationship of its own. The apps the customer's admin consented stay consented."""
        with self.lock:
            t = self._tenant(tenant_id)
            new, former = self.partners[partner_id.lower()], self.partners[t.partner_id]
            if t.consent:
                t.other_apps.add(former.client_id)
            t.consent = new.client_id in t.other_apps
            t.other_apps.discard(new.client_id)
            t.partner_id, t.graph_roles = new.tenant_id, None

    def customers_of(self, partner_id: str) -> list[SandboxTenant]:
        with self.lock:
            return [t for t in self.tenants.values() if t.partner_id == partner_id.lower()]

    # -- groups, mailboxes, report settings ---------------------------------

    def add_group(self, tenant_id: str, name: str,
                  members: Sequence[SandboxUser | SandboxGroup] = ()) -> SandboxGroup:
        """A group (display names need not be unique) with direct members, users or groups."""
        with self.lock:
            t = self._tenant(tenant_id)
            group = SandboxGroup(id=_uuid(self.rng), display_name=name, members=[m.id for m in members])
            t.groups.append(group)
            return group

    def add_members(self, tenant_id: str, group_id: str, members: Sequence[SandboxUser | SandboxGroup]) -> None:
        with self.lock:
            group = next(g for g in self._tenant(tenant_id).groups if g.id == group_id)
            group.members.extend(m.id for m in members if m.id not in group.members)

    def set_mailbox(self, tenant_id: str, users: list[SandboxUser], kind: str | None) -> None:
        """Give users a mailbox of ``kind`` (Exchange's userPurpose), or take it away (None)."""
        if kind is not None and kind not in MAILBOX_KINDS:
            raise ValueError(f"{kind!r} is not a mailbox kind ({', '.join(MAILBOX_KINDS)})")
        with self.lock:
            self._tenant(tenant_id)
            for u in users:
                u.mailbox = kind

    def add_shared_mailboxes(self, tenant_id: str, count: int, kind: str = "shared") -> list[SandboxUser]:
        """Mailboxes without a person (shared, room, equipment): disabled, unlicensed user objects, as Exchange
        makes them."""
        with self.lock:
            users = self.add_users(tenant_id, count)
            for u in users:
                u.enabled, u.sku_ids = False, []
            self.set_mailbox(tenant_id, users, kind)
            return users

    def conceal_report_names(self, tenant_id: str, concealed: bool = True) -> None:
        """The tenant's "Display concealed user, group, and site names in all reports" setting."""
        with self.lock:
            self._tenant(tenant_id).conceal_report_names = concealed

    def end_reseller_relationship(self, tenant_id: str) -> None:
        with self.lock:
            self._tenant(tenant_id).reseller = False


def generate(n: int, seed: int = 0, *, today: date = DEFAULT_TODAY, catalogue: SkuCatalogue | None = None) -> Scenario:
    """``n`` tenants, customers of one partner, deterministic for ``seed``."""
    rng = random.Random(seed)
    home = SandboxPartner(tenant_id=_uuid(rng), name="Sandbox MSP Ltd", client_id=_uuid(rng),
                          client_secret=f"sbx~{rng.getrandbits(160):040x}", graph_roles=set(GRAPH_PERMISSIONS))
    scenario = Scenario(seed=seed, today=today, partners={home.tenant_id: home}, rng=rng,
                        catalogue=catalogue or SkuCatalogue.load())
    taken_names: set[str] = set()
    taken_slugs: set[str] = set()
    for index in range(n):
        tenant = _tenant(rng, scenario, index, taken_names, taken_slugs, partner_id=home.tenant_id)
        scenario.tenants[tenant.id] = tenant
    if n > 1:  # one customer never consented seatsync's app
        list(scenario.tenants.values())[rng.randrange(1, n)].consent = False
    return scenario


# -- generation -------------------------------------------------------------


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


def _tenant(rng: random.Random, sc: Scenario, index: int, taken_names: set[str],
            taken_slugs: set[str], *, partner_id: str) -> SandboxTenant:
    # taken_slugs holds both onmicrosoft names and verified domains.
    while True:
        prefix, noun, trade = rng.choice(names.PREFIXES), rng.choice(names.NOUNS), rng.choice(names.TRADES)
        suffix, tld = rng.choice(names.SUFFIXES)
        base = f"{prefix} {noun}" if rng.random() < 0.5 else f"{prefix}{noun.lower()}"
        name = " ".join(p for p in (base, trade, suffix) if p)
        slug = _slug(base) + ("" if rng.random() < 0.6 else _slug(trade))
        if slug not in taken_slugs and name.lower() not in taken_names and f"{slug}{tld}" not in taken_slugs:
            break
    taken_names.add(name.lower())
    taken_slugs.add(slug)
    domains = [f"{slug}{tld}"]
    if rng.random() < 0.3:  # a second brand or an older name
        other = _slug(base) if slug != _slug(base) else f"{slug}{_slug(trade)}"
        domains.append(f"{other}.com" if tld != ".com" or other != slug else f"{other}.net")
    # A verified domain belongs to one tenant only.
    domains = [d for d in domains if d not in taken_slugs]
    taken_slugs.update(domains)
    offices = rng.sample(names.OFFICES, rng.choice((1, 1, 1, 2, 2, 3)))
    created = sc.today - timedelta(days=rng.randrange(60, 3000))
    tenant = SandboxTenant(id=_uuid(rng), name=name, default_domain=f"{slug}.onmicrosoft.com", domains=domains,
                           offices=offices, created=created, commerce_id=_uuid(rng), partner_id=partner_id)
    end = sc.today + timedelta(days=rng.randrange(30, 730))
    # Derived from the tenant, not drawn: the same seed keeps giving the same world.
    relationship_id = f"{uuid.uuid5(uuid.NAMESPACE_URL, tenant.id)}-{uuid.uuid5(uuid.NAMESPACE_URL, partner_id)}"
    tenant.relationships.append(SandboxRelationship(
        id=relationship_id, partner_id=partner_id, display_name=f"{name[:40]} GDAP", created=end - timedelta(730),
        end=end, role_ids=list(DEFAULT_GDAP_ROLES)))
    low, high, _ = rng.choices(SIZES, weights=[w for *_, w in SIZES])[0]
    tenant.users = [_user(rng, tenant, i) for i in range(rng.randint(low, high))]
    _licenses(rng, sc, tenant)
    for u in tenant.users:  # a licensed person's mailbox
        u.mailbox = "user" if u.sku_ids else None
    return tenant


def _user(rng: random.Random, tenant: SandboxTenant, index: int) -> SandboxUser:
    given, surname = rng.choice(names.GIVEN), rng.choice(names.SURNAMES)
    office = rng.choice(tenant.offices)
    domain = tenant.domains[0] if tenant.domains else tenant.default_domain
    return SandboxUser(
        id=_uuid(rng), upn=f"{_slug(given)}.{_slug(surname)}{index}@{domain}",
        display_name=f"{given} {surname}", given_name=given, surname=surname, office=office.name,
        department=rng.choice(names.DEPARTMENTS), city=office.city, state=office.state,
        job_title=rng.choice(names.TITLES), enabled=rng.random() > 0.03,
    )


def _licenses(rng: random.Random, sc: Scenario, t: SandboxTenant) -> None:
    users = t.users
    suite = rng.choices([s for s, _ in SUITES], weights=[w for _, w in SUITES])[0]
    licensed = users[: max(1, round(len(users) * rng.uniform(0.8, 1.0)))]
    spare = 0 if rng.random() < 0.4 else rng.randint(1, max(1, len(users) // 10 + 2))
    _buy(rng, sc, t, suite, licensed, len(licensed) + spare, split=True)

    rest = users[len(licensed):]
    if rest and rng.random() < 0.5:  # frontline staff with mailboxes only
        _buy(rng, sc, t, "EXCHANGESTANDARD", rest, len(rest) + rng.randint(0, 2))
    if len(licensed) >= 5 and rng.random() < 0.2:
        _buy(rng, sc, t, "MCOEV", rng.sample(licensed, max(1, len(licensed) // 4)), None)
    if rng.random() < 0.25:
        _buy(rng, sc, t, "POWER_BI_PRO", rng.sample(users, max(1, len(users) // 8)), None)
    if rng.random() < 0.4:
        _buy(rng, sc, t, "FLOW_FREE", rng.sample(users, max(1, len(users) // 5)), None)
    if rng.random() < 0.2:
        _buy(rng, sc, t, "POWER_BI_STANDARD", rng.sample(users, max(1, len(users) // 6)), None)


def _buy(rng: random.Random, sc: Scenario, t: SandboxTenant, part: str, holders: list[SandboxUser],
         seats: int | None, split: bool = False) -> None:
    offer = OFFERS[part]
    sku_id = sc.catalogue.sku_id(part)
    for u in holders:
        u.sku_ids.append(sku_id)
    if not offer.paid:
        t.subscriptions.append(_subscription(rng, sc.catalogue, part, offer.free_units, "P1M", "monthly",
                                             t.created, sc.today, in_partner_center=False))
        return
    seats = len(holders) + rng.randint(0, 1) if seats is None else seats
    kind = rng.random()
    if split and kind < 0.2 and seats >= 4:  # an annual base plus a monthly top-up
        base = seats - rng.randint(1, max(1, seats // 4))
        plans = [(base, "P1Y", rng.choice(("monthly", "annual"))), (seats - base, "P1M", "monthly")]
    elif kind < 0.65:
        plans = [(seats, "P1Y", rng.choice(("monthly", "monthly", "annual")))]
    else:
        plans = [(seats, "P1M", "monthly")]
    for quantity, term, cycle in plans:
        bought = sc.today - timedelta(days=rng.randrange(1, 700))
        t.subscriptions.append(_subscription(rng, sc.catalogue, part, quantity, term, cycle, bought, sc.today))


def _subscription(rng: random.Random, catalogue: SkuCatalogue, part: str, quantity: int, term: str, cycle: str,
                  bought: date, today: date, *, in_partner_center: bool = True) -> SandboxSubscription:
    sku_id = part.lower() if "-" in part else catalogue.sku_id(part)
    info = catalogue.get(sku_id)
    part_number = info.part_number if info else part
    offer = OFFERS.get(part_number)
    months = TERM_MONTHS[term]
    elapsed = (today.year - bought.year) * 12 + today.month - bought.month
    terms = max(0, elapsed // months)
    while terms and add_months(bought, months * terms) > today:
        terms -= 1
    while add_months(bought, months * (terms + 1)) <= today:
        terms += 1
    return SandboxSubscription(
        id=_uuid(rng), directory_id=_uuid(rng), sku_id=sku_id, part_number=part_number,
        offer_id=offer.offer_id if offer else "", offer_name=info.name if info else part_number,
        quantity=quantity, term=term, billing_cycle=cycle, created=bought, terms=terms,
        in_partner_center=in_partner_center and bool(offer and offer.paid),
    )
