"""What the composition root (app/bootstrap.py) builds once and hands to the window and the commands.

The infrastructure (the unit of work, the PSA and Microsoft providers, the
settings, the keyring, the clock) and every use-case service made over it
with its dependencies named. Nothing under app/services builds or reads
this: a service receives what it uses; the window, the commands and the
tests pick the services they need from here. Each use-case service is built
(and its module imported) when it is first read, once whichever thread reads
it first: a headless command pays only for the one or two it uses.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from app.models import close_database, db
from app.services.providers import MicrosoftProvider, PsaProvider
from app.services.secrets import SecretStore
from app.services.settings import Settings
from app.services.team.roles import Connected, Role, whoami
from app.services.uow import UnitOfWork, connected

if TYPE_CHECKING:
    from app.services.connections.access import AccessService
    from app.services.connections.admin import AdminService
    from app.services.contacts.service import ContactSyncService
    from app.services.customers.bulk_add import BulkAddService, CustomerSource
    from app.services.customers.companies import CompanyService
    from app.services.customers.custom import CustomLicenseService
    from app.services.customers.exclusions import ExclusionService
    from app.services.customers.ignored import IgnoredAccountService
    from app.services.customers.links import LinkService
    from app.services.customers.profiles import ProfileService
    from app.services.customers.rules import RuleService
    from app.services.notify.after_sync import AfterSyncService
    from app.services.notify.notices import NotificationService
    from app.services.preferences import PreferencesService
    from app.services.review.approvals import ReviewService
    from app.services.review.migration import MigrationService
    from app.services.review.reports import ReportService
    from app.services.sync.engine import InventoryFetcher
    from app.services.sync.service import SyncService
    from app.services.team.location import DatabaseLocation

T = TypeVar("T")


class _OnFirstRead(Generic[T]):
    """A service of ``Services`` built by ``build`` when first read, then kept on the instance."""

    def __init__(self, build: Callable[[Services], T]) -> None:
        self.build = build
        self.name = build.__name__

    def __get__(self, services: Services, owner: Any = None) -> T:
        with services._building:  # two threads reading it first get the same one
            if self.name not in services.__dict__:
                services.__dict__[self.name] = self.build(services)
        return services.__dict__[self.name]


@dataclass
class Services:
    data_dir: Path
    secrets: SecretStore
    settings: Settings
    uow: UnitOfWork
    psas: PsaProvider
    microsoft: MicrosoftProvider
    now: Callable[[], datetime]
    #: Which database is open (None: one a test opened itself).
    location: DatabaseLocation | None = None
    #: The database user this seatsync is connected as, and its role (docs/team.md): read once at open, on
    #: the thread that opens (SQLite: the owner, with no query).
    database_user: Connected = field(init=False)
    _building: threading.RLock = field(init=False, repr=False, compare=False, default_factory=threading.RLock)

    def __post_init__(self) -> None:
        with connected():
            self.database_user = whoami(db.obj)

    def _now(self) -> datetime:  # the clock as it is when read: a test (or the demo) may set another
        return self.now()

    @_OnFirstRead
    def admin(self) -> AdminService:
        from app.services.connections.admin import AdminService

        return AdminService(self.uow, psas=self.psas, microsoft=self.microsoft, secrets=self.secrets)

    @_OnFirstRead
    def profiles(self) -> ProfileService:
        from app.services.customers.profiles import ProfileService

        return ProfileService(self.uow)

    @_OnFirstRead
    def links(self) -> LinkService:
        from app.services.customers.links import LinkService

        return LinkService(self.uow)

    @_OnFirstRead
    def rules(self) -> RuleService:
        from app.services.customers.rules import RuleService

        return RuleService(self.uow, psas=self.psas)

    @_OnFirstRead
    def migration(self) -> MigrationService:
        from app.services.review.migration import MigrationService

        return MigrationService(self.uow, psas=self.psas, sync=lambda: self.sync)

    @_OnFirstRead
    def companies(self) -> CompanyService:
        from app.services.customers.companies import CompanyService, graph_users

        return CompanyService(self.uow, read_users=graph_users(self.microsoft),
                              read_lines=lambda connection, ids: self.psas.psa(connection).list_lines_of(ids),
                              plan_options=lambda connection: self.sync.plan_options(connection))

    @_OnFirstRead
    def custom_licenses(self) -> CustomLicenseService:
        from app.services.customers.custom import CustomLicenseService

        return CustomLicenseService(self.uow, self.microsoft)

    @_OnFirstRead
    def contacts(self) -> ContactSyncService:
        from app.services.contacts.service import ContactSyncService, graph_people

        return ContactSyncService(self.uow, psas=self.psas, read_people=graph_people(self.microsoft), now=self._now)

    @_OnFirstRead
    def exclusions(self) -> ExclusionService:
        from app.services.customers.exclusions import ExclusionService

        return ExclusionService(self.uow, psas=self.psas, catalogue=self.microsoft.catalogue, now=self._now)

    @_OnFirstRead
    def ignored_accounts(self) -> IgnoredAccountService:
        from app.services.customers.ignored import IgnoredAccountService

        return IgnoredAccountService(self.uow, self.microsoft, catalogue=self.microsoft.catalogue)

    @_OnFirstRead
    def review(self) -> ReviewService:
        from app.services.review.approvals import ReviewService

        return ReviewService(self.uow, catalogue=self.microsoft.catalogue, now=self._now)

    @_OnFirstRead
    def reports(self) -> ReportService:
        from app.services.review.reports import ReportService

        return ReportService(self.uow, psas=self.psas, catalogue=self.microsoft.catalogue, now=self._now)

    @_OnFirstRead
    def preferences(self) -> PreferencesService:
        from app.services.preferences import PreferencesService

        return PreferencesService(self.uow, settings=self.settings, secrets=self.secrets)

    @_OnFirstRead
    def notifications(self) -> NotificationService:
        from app.services.notify.notices import NotificationService

        return NotificationService(self.uow, settings=self.settings, catalogue=self.microsoft.catalogue,
                                   now=self._now)

    @_OnFirstRead
    def customers(self) -> BulkAddService:
        return self.bulk_add()

    @_OnFirstRead
    def after_sync(self) -> AfterSyncService:
        from app.services.notify.after_sync import AfterSyncService

        return AfterSyncService(self.uow, notices=self.notifications, customers=self.customers,
                                settings=self.settings, verify=self.psas.verify, access=self.access)

    @_OnFirstRead
    def access(self) -> AccessService:
        from app.services.connections.access import AccessService

        return AccessService(self.uow, self.microsoft, now=self._now)

    @_OnFirstRead
    def sync(self) -> SyncService:
        return self.sync_service()

    def role(self) -> Role:
        """What the connected database user may do: the window offers only that (the database refuses the rest)."""
        return self.database_user.role

    def sync_service(self, *, today: Callable[[], date] = date.today, workers: int | None = None,
                     fetch_inventory: InventoryFetcher | None = None) -> SyncService:
        """A sync service on another billing day, pool size or inventory source than the default's."""
        from app.services.sync.service import SyncService

        return SyncService(self.uow, psas=self.psas, microsoft=self.microsoft, settings=self.settings,
                           now=lambda: self.now(), today=today, workers=workers, fetch_inventory=fetch_inventory)

    def bulk_add(self, customers: CustomerSource | None = None) -> BulkAddService:
        """Adding Partner Center's customers; ``customers``: where they are read from (Partner Center)."""
        from app.services.customers.bulk_add import BulkAddService

        return BulkAddService(self.uow, microsoft=self.microsoft, customers=customers)

    def close(self) -> None:
        self.psas.close()
        self.microsoft.close()
        close_database()
