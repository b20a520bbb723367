"""The composition root: the one place that wires paths, database, secrets,
clients, services and the scheduler together (DESIGN §5).

The window and the headless commands both start from ``open_context()``;
tests and the demo pass their own data directory, keyring backend and the
sandboxes' certificate authority.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app import paths
from app.billing.types import TenantInventory
from app.errors import ConfigurationError
from app.models import close_database, open_database
from app.models.records import MicrosoftConnectionRecord
from app.models.repositories import (
    AuditLog,
    Catalog,
    Companies,
    Exclusions,
    Inventory,
    Journal,
    Mappings,
    MicrosoftConnections,
    Profiles,
    PsaConnections,
    SyncOutcomes,
    SyncRuns,
    Tenants,
)
from app.services.catalogue import SkuCatalogue
from app.services.http import https_url
from app.services.microsoft.config import MicrosoftSettings
from app.services.psa.factory import open_psa
from app.services.psa.port import PsaPort
from app.services.secrets import SecretKey, SecretStore
from app.services.settings import Settings
from app.services.sync.inventory import InventoryService, seat_total

MICROSOFT_SECRET_FIELD = "client_secret"


def psa_secret_key(connection_id: int, field_name: str, name: str = "") -> SecretKey:
    return SecretKey(kind="psa", owner_id=str(connection_id), field=field_name, owner_name=name)


def microsoft_secret_key(connection_id: int, name: str = "") -> SecretKey:
    return SecretKey(kind="microsoft", owner_id=str(connection_id), field=MICROSOFT_SECRET_FIELD, owner_name=name)


class SnapshotStore:
    """The inventory service's store: snapshots in the database."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    def last_seat_total(self, tenant_id: str) -> int | None:
        latest = self.inventory.latest(tenant_id)
        return None if latest is None else seat_total(latest)

    def save_snapshot(self, inventory: TenantInventory) -> None:
        self.inventory.save(inventory)


@dataclass
class Context:
    data_dir: Path
    secrets: SecretStore
    settings: Settings
    #: The sandboxes' certificate authority when seatsync runs against them (the demo).
    ca_file: str | None = None
    psa_connections: PsaConnections = field(default_factory=PsaConnections)
    microsoft_connections: MicrosoftConnections = field(default_factory=MicrosoftConnections)
    companies: Companies = field(default_factory=Companies)
    tenants: Tenants = field(default_factory=Tenants)
    catalog: Catalog = field(default_factory=Catalog)
    profiles: Profiles = field(default_factory=Profiles)
    mappings: Mappings = field(default_factory=Mappings)
    exclusions: Exclusions = field(default_factory=Exclusions)
    inventory: Inventory = field(default_factory=Inventory)
    journal: Journal = field(default_factory=Journal)
    audit: AuditLog = field(default_factory=AuditLog)
    runs: SyncRuns = field(default_factory=SyncRuns)
    sync_outcomes: SyncOutcomes = field(default_factory=SyncOutcomes)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._psas: dict[int, PsaPort] = {}
        self._microsoft = None
        self._catalogue: SkuCatalogue | None = None

    # -- PSA ---------------------------------------------------------------------

    def psa(self, connection_id: int) -> PsaPort:
        """The PSA of a stored connection, opened once and shared by every thread."""
        with self._lock:
            if connection_id not in self._psas:
                record = self.psa_connections.get(connection_id)

                def secret(field_name: str) -> str:
                    return self.secrets.get(psa_secret_key(connection_id, field_name, record.name))

                self._psas[connection_id] = open_psa(record.kind, record.settings, secret, self.verify)
            return self._psas[connection_id]

    def forget_psa(self, connection_id: int) -> None:
        """Drop an opened PSA (its settings or secrets changed)."""
        with self._lock:
            psa = self._psas.pop(connection_id, None)
        if psa is not None and hasattr(psa, "close"):
            psa.close()

    @property
    def verify(self) -> bool | str:
        return self.ca_file or True

    # -- Microsoft -----------------------------------------------------------------

    def catalogue(self) -> SkuCatalogue:
        if self._catalogue is None:
            self._catalogue = SkuCatalogue.load(overrides=self.settings.sku_display_names)
        return self._catalogue

    def microsoft(self):  # -> MicrosoftClients
        from app.services.microsoft import MicrosoftClients

        with self._lock:
            if self._microsoft is None:
                records = self.microsoft_connections.all()
                if not records:
                    raise ConfigurationError("no Microsoft partner connection: add it in Settings")
                record = records[0]
                secret = self.secrets.get(microsoft_secret_key(record.id, record.name))
                self._microsoft = MicrosoftClients.create(microsoft_settings(record, secret, self.ca_file))
            return self._microsoft

    def forget_microsoft(self) -> None:
        """Drop the opened Microsoft clients (the partner connection or its secret changed)."""
        with self._lock:
            microsoft, self._microsoft = self._microsoft, None
        if microsoft is not None:
            microsoft.close()

    def inventory_service(self) -> InventoryService:
        clients = self.microsoft()
        return InventoryService(clients.graph, clients.partner_center, self.catalogue(), SnapshotStore(self.inventory))

    def close(self) -> None:
        with self._lock:
            psas, self._psas = list(self._psas.values()), {}
            microsoft, self._microsoft = self._microsoft, None
        for psa in psas:
            if hasattr(psa, "close"):
                psa.close()
        if microsoft is not None:
            microsoft.close()
        close_database()


def microsoft_settings(record: MicrosoftConnectionRecord, client_secret: str,
                       ca_file: str | None = None) -> MicrosoftSettings:
    """The Microsoft clients' settings for a stored (or drafted) partner connection."""

    for label, url in (("Microsoft authority URL", record.authority_url), ("Microsoft Graph URL", record.graph_url),
                       ("Partner Center URL", record.partner_center_url)):
        https_url(url, label)  # an address stored earlier or edited in the database is refused too
    return MicrosoftSettings(
        client_id=record.client_id,
        client_secret=client_secret,
        partner_tenant_id=record.partner_tenant_id,
        authority_host=_host(record.authority_url),
        graph_url=_graph_base(record.graph_url),
        partner_center_url=_pc_base(record.partner_center_url),
        ca_file=ca_file,
    )


def _host(url: str) -> str:
    return url.split("://", 1)[-1].rstrip("/")


def _graph_base(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/v1.0") else f"{url}/v1.0"


def _pc_base(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


def open_context(data_dir: Path | None = None, *, secrets: SecretStore | None = None,
                 ca_file: str | None = None) -> Context:
    """Open seatsync's data: the database (migrated), the keyring, the settings."""
    directory = Path(data_dir) if data_dir else paths.data_dir()
    paths.log_moves()  # the one-time move of an earlier version's data folder, now that logging has started
    paths.secure_data_dir(directory)  # 0700, and its files 0600 (an older seatsync's, or a restored backup)
    open_database(directory / paths.DATABASE_NAME)
    secrets = secrets or SecretStore()
    return Context(data_dir=directory, secrets=secrets, settings=Settings(secrets), ca_file=ca_file)
