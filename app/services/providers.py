"""The clients of the stored connections, opened once and shared by every thread.

``PsaProvider`` opens the PSA of a stored connection with its secret from
the keyring; ``MicrosoftProvider`` the Microsoft clients of each partner
connection (a customer tenant is read through its own partner's), the SKU
catalogue (with the names the person gave), and the inventory service over
them. Either forgets what it opened when the
connection's settings or secrets change.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from app.billing.ignored import IgnoredAccount
from app.billing.types import TenantInventory
from app.errors import ConfigurationError
from app.models.database import database_errors
from app.models.records import MicrosoftConnectionRecord, read_through
from app.models.repositories import IgnoredAccounts, Inventory, MicrosoftConnections, PsaConnections, Tenants
from app.services.http import https_url
from app.services.microsoft.config import MicrosoftSettings
from app.services.microsoft.skus import SkuCatalogue
from app.services.psa.factory import open_psa
from app.services.psa.port import PsaPort
from app.services.secrets import SecretStore, microsoft_secret_key, psa_secret_key
from app.services.settings import Settings
from app.services.sync.inventory import InventoryService

if TYPE_CHECKING:
    from app.services.microsoft import MicrosoftClients
    from app.services.sync.custom_reads import GraphCustomReads


class PsaProvider:
    def __init__(self, connections: PsaConnections, secrets: SecretStore, *, ca_file: str | None = None) -> None:
        self.connections = connections
        self.secrets = secrets
        #: The sandboxes' certificate authority when seatsync runs against them (the demo).
        self.ca_file = ca_file
        self._lock = threading.Lock()
        self._psas: dict[int, PsaPort] = {}

    @property
    def verify(self) -> bool | str:
        return self.ca_file or True

    def psa(self, connection_id: int) -> PsaPort:
        """The PSA of a stored connection."""
        with self._lock:
            if connection_id not in self._psas:
                record = self.connections.get(connection_id)

                def secret(field_name: str) -> str:
                    return self.secrets.get(psa_secret_key(connection_id, field_name, record.name))

                self._psas[connection_id] = open_psa(record.kind, record.settings, secret, self.verify)
            return self._psas[connection_id]

    def forget(self, connection_id: int) -> None:
        """Drop an opened PSA (its settings or secrets changed)."""
        with self._lock:
            psa = self._psas.pop(connection_id, None)
        _close(psa)

    def close(self) -> None:
        with self._lock:
            psas, self._psas = list(self._psas.values()), {}
        for psa in psas:
            _close(psa)


class SnapshotStore:
    """The inventory service's store: snapshots in the database. A failure of the database is a
    ``DatabaseFailed`` that says what happened (a database another program keeps locked, ...): the sync
    stops on it, as on any of its own database's failures, rather than failing the tenant as unexpected."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    def latest(self, tenant_id: str) -> TenantInventory | None:
        with database_errors():
            return self.inventory.latest(tenant_id)

    def save_snapshot(self, inventory: TenantInventory, previous: TenantInventory | None) -> None:
        with database_errors():
            self.inventory.keep(inventory, previous=previous)


class NoPartner(ConfigurationError):
    """The tenant belongs to no Microsoft partner connection seatsync has"""

    advice = ('Give it its partner\'s in Microsoft access ("Move to partner connection"), after adding that partner '
              "account in Settings if it is not there.")


class MicrosoftProvider:
    """The Microsoft clients of each partner connection, opened on first use, and the partner each customer
    tenant is read through (``Tenant.partner``)."""

    def __init__(self, connections: MicrosoftConnections, secrets: SecretStore, settings: Settings,
                 inventory: Inventory, *, tenants: Tenants | None = None, ca_file: str | None = None,
                 ignored: IgnoredAccounts | None = None) -> None:
        self.connections = connections
        self.ignored = ignored
        self.secrets = secrets
        self.settings = settings
        self.inventory = inventory
        self.tenants = tenants
        self.ca_file = ca_file
        self._lock = threading.Lock()
        self._clients: dict[int, MicrosoftClients] = {}
        self._records: list[MicrosoftConnectionRecord] | None = None
        self._catalogue: SkuCatalogue | None = None

    def catalogue(self) -> SkuCatalogue:
        """Microsoft's SKU names, with the display names the person set."""
        if self._catalogue is None:
            self._catalogue = SkuCatalogue.load(overrides=self.settings.sku_display_names)
        return self._catalogue

    def partner_of(self, partner_id: int | None) -> MicrosoftConnectionRecord:
        """The partner connection ``partner_id``; None: the only one there is (a tenant added before partners
        were recorded). Read from the database once, and again for one it did not know then."""
        records = self._records
        if records is None or (partner_id is not None and all(r.id != partner_id for r in records)):
            records = self._records = self.connections.all()
        if not records:
            raise ConfigurationError("no Microsoft partner connection: add it in Settings")
        found = next((r for r in records if r.id == read_through(records, partner_id)), None)
        if found is None:
            raise NoPartner() if partner_id is None else NoPartner(f"(partner connection {partner_id} was removed)")
        return found

    def clients(self, partner_id: int | None = None) -> MicrosoftClients:
        """Graph and Partner Center over a partner connection (None: the only one)."""
        from app.services.microsoft import MicrosoftClients

        record = self.partner_of(partner_id)
        with self._lock:
            if record.id not in self._clients:
                secret = self.secrets.get(microsoft_secret_key(record.id, record.name))
                self._clients[record.id] = MicrosoftClients.create(microsoft_settings(record, secret, self.ca_file))
            return self._clients[record.id]

    def tenant_partner(self, tenant_id: str) -> int | None:
        """The partner connection a customer tenant is read through (None: not recorded)."""
        tenant = self.tenants.find(tenant_id) if self.tenants is not None else None
        return tenant.partner_id if tenant is not None else None

    def clients_of(self, tenant_id: str) -> MicrosoftClients:
        """The clients of the partner connection a customer tenant belongs to."""
        return self.clients(self.tenant_partner(tenant_id))

    def inventory_service(self, partner_id: int | None = None) -> InventoryService:
        clients = self.clients(partner_id)
        return InventoryService(clients.graph, clients.partner_center, self.catalogue(), SnapshotStore(self.inventory),
                                custom_reads=self.custom_reads(partner_id), ignored=self.ignored_in)

    def ignored_in(self, tenant_id: str) -> list[IgnoredAccount]:
        """The ignored accounts that apply to the tenant (its own and every tenant's)."""
        if self.ignored is None:
            return []
        with database_errors():
            return self.ignored.of_tenant(tenant_id)

    def custom_reads(self, partner_id: int | None = None) -> GraphCustomReads:
        """What custom licenses read of a tenant: its groups and mailboxes."""
        from app.services.sync.custom_reads import GraphCustomReads

        return GraphCustomReads(self.clients(partner_id).graph)

    def forget(self, partner_id: int | None = None) -> None:
        """Drop the opened clients of a partner connection (its settings or secret changed), or of every one."""
        with self._lock:
            self._records = None
            if partner_id is None:
                dropped, self._clients = list(self._clients.values()), {}
            else:
                dropped = [c for c in (self._clients.pop(partner_id, None),) if c is not None]
        for clients in dropped:
            clients.close()

    def close(self) -> None:
        self.forget()


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


def _close(psa: PsaPort | None) -> None:
    if psa is not None and hasattr(psa, "close"):
        psa.close()


def _host(url: str) -> str:
    return url.split("://", 1)[-1].rstrip("/")


def _graph_base(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/v1.0") else f"{url}/v1.0"


def _pc_base(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"
