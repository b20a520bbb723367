"""What the composition root (app/bootstrap.py) builds once and hands to the window and the commands.

The infrastructure (the unit of work, the PSA and Microsoft providers, the
settings, the keyring, the clock) and every use-case service made over it
with its dependencies named. Nothing under app/services builds or reads
this: a service receives what it uses; the window, the commands and the
tests pick the services they need from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from app.models import close_database, db
from app.services.connections.admin import AdminService
from app.services.customers.bulk_add import BulkAddService, CustomerSource
from app.services.customers.companies import CompanyService, graph_users
from app.services.customers.exclusions import ExclusionService
from app.services.customers.links import LinkService
from app.services.customers.profiles import ProfileService
from app.services.notify.after_sync import AfterSyncService
from app.services.notify.notices import NotificationService
from app.services.preferences import PreferencesService
from app.services.providers import MicrosoftProvider, PsaProvider
from app.services.review.approvals import ReviewService
from app.services.review.reports import ReportService
from app.services.secrets import SecretStore
from app.services.settings import Settings
from app.services.sync.engine import InventoryFetcher
from app.services.sync.service import SyncService
from app.services.team.location import DatabaseLocation
from app.services.team.roles import Connected, Role, whoami
from app.services.uow import UnitOfWork, connected


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
    admin: AdminService = field(init=False)
    profiles: ProfileService = field(init=False)
    links: LinkService = field(init=False)
    companies: CompanyService = field(init=False)
    exclusions: ExclusionService = field(init=False)
    review: ReviewService = field(init=False)
    reports: ReportService = field(init=False)
    preferences: PreferencesService = field(init=False)
    notifications: NotificationService = field(init=False)
    customers: BulkAddService = field(init=False)
    after_sync: AfterSyncService = field(init=False)
    sync: SyncService = field(init=False)
    #: The database user this seatsync is connected as, and its role (docs/team.md): read once at open, on
    #: the thread that opens (SQLite: the owner, with no query).
    database_user: Connected = field(init=False)

    def __post_init__(self) -> None:
        uow, psas, microsoft = self.uow, self.psas, self.microsoft
        with connected():
            self.database_user = whoami(db.obj)

        def now() -> datetime:  # the clock as it is when read: a test (or the demo) may set another
            return self.now()

        catalogue = microsoft.catalogue
        self.admin = AdminService(uow, psas=psas, microsoft=microsoft, secrets=self.secrets)
        self.profiles = ProfileService(uow)
        self.links = LinkService(uow)
        self.companies = CompanyService(uow, read_users=graph_users(microsoft))
        self.exclusions = ExclusionService(uow, psas=psas, catalogue=catalogue, now=now)
        self.review = ReviewService(uow, catalogue=catalogue, now=now)
        self.reports = ReportService(uow, psas=psas, catalogue=catalogue, now=now)
        self.preferences = PreferencesService(uow, settings=self.settings, secrets=self.secrets)
        self.notifications = NotificationService(uow, settings=self.settings, catalogue=catalogue, now=now)
        self.customers = self.bulk_add()
        self.after_sync = AfterSyncService(uow, notices=self.notifications, customers=self.customers,
                                           settings=self.settings, verify=psas.verify)
        self.sync = self.sync_service()

    def role(self) -> Role:
        """What the connected database user may do: the window offers only that (the database refuses the rest)."""
        return self.database_user.role

    def sync_service(self, *, today: Callable[[], date] = date.today, workers: int | None = None,
                     fetch_inventory: InventoryFetcher | None = None) -> SyncService:
        """A sync service on another billing day, pool size or inventory source than the default's."""
        return SyncService(self.uow, psas=self.psas, microsoft=self.microsoft, settings=self.settings,
                           now=lambda: self.now(), today=today, workers=workers, fetch_inventory=fetch_inventory)

    def bulk_add(self, customers: CustomerSource | None = None) -> BulkAddService:
        """Adding Partner Center's customers; ``customers``: where they are read from (Partner Center)."""
        return BulkAddService(self.uow, microsoft=self.microsoft, customers=customers)

    def close(self) -> None:
        self.psas.close()
        self.microsoft.close()
        close_database()
