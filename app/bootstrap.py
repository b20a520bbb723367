"""The composition root: the one place that opens seatsync's data and builds its services (DESIGN §5).

``open_context()`` opens the database (migrated: the data folder's, or the
team's PostgreSQL database it names, app/services/team/location.py), the
keyring and the settings, and builds once, with their dependencies named,
the unit of work, the PSA and Microsoft providers and every use-case
service (``Services``). The window (app/ui/app.py) and every headless
command start from it; tests and the demo pass their own data folder,
keyring backend and the sandboxes' certificate authority. The scheduler
(app/services/sync/scheduler.py) runs ``Services.sync``: the window's sync
gateway and ``run-scheduler`` each start one over it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from app import paths
from app.models import open_database
from app.services.container import Services
from app.services.providers import MicrosoftProvider, PsaProvider
from app.services.secrets import SecretStore
from app.services.settings import Settings
from app.services.team.location import locate, password
from app.services.uow import UnitOfWork


def open_context(data_dir: Path | None = None, *, secrets: SecretStore | None = None, ca_file: str | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Services:
    """Open seatsync's data and build its services; ``close()`` them when done."""
    directory = Path(data_dir) if data_dir else paths.data_dir()
    paths.log_moves()  # the one-time move of an earlier version's data folder, now that logging has started
    paths.secure_data_dir(directory)  # 0700, and its files 0600 (an older seatsync's, or a restored backup)
    secrets = secrets or SecretStore()
    location = locate(directory)
    open_database(location.target, password=password(secrets, location))
    settings = Settings(secrets)
    uow = UnitOfWork()
    return Services(data_dir=directory, secrets=secrets, settings=settings, uow=uow,
                    psas=PsaProvider(uow.psa_connections, secrets, ca_file=ca_file),
                    microsoft=MicrosoftProvider(uow.microsoft_connections, secrets, settings, uow.inventory,
                                                tenants=uow.tenants, ca_file=ca_file, ignored=uow.ignored_accounts),
                    now=now, location=location)
