"""What a run reads once, or ahead of its tenants, and shares with them.

``PsaCatalog``: the PSA's agreements and products, read once per run.
``SetupsAhead``: the tenants' setups, read a chunk at a time and each handed
to its tenant once. ``LinesPrefetch``: on a PSA that reads many agreements'
lines in a few requests, the tenants' lines, a chunk at a time. The engine
(app/services/sync/engine.py) makes them in ``SyncEngine.prepare``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.billing.operations import Operation
from app.billing.types import Agreement, Line, Product
from app.billing.written import Written, write_log
from app.errors import SeatsyncError
from app.models.database import DatabaseFailed
from app.services.psa.port import PsaPort
from app.services.sync.store import SyncStore, TenantSetup

log = logging.getLogger(__name__)


class PsaCatalog:
    """Agreements and products read once per run and shared by every tenant of it (each read on its own, so
    that the two can be in flight at once)."""

    def __init__(self, psa: PsaPort) -> None:
        self.psa = psa
        self._agreements_lock = threading.Lock()
        self._products_lock = threading.Lock()
        self._agreements: dict[str, Agreement] | None = None
        self._products: dict[str, Product] | None = None

    def agreements(self) -> dict[str, Agreement]:
        with self._agreements_lock:
            if self._agreements is None:
                self._agreements = {a.id: a for a in self.psa.list_agreements()}
            return self._agreements

    def products_read(self) -> dict[str, Product] | None:
        """The products once the run read them (None: not yet)."""
        return self._products

    def products(self) -> dict[str, Product]:
        with self._products_lock:
            if self._products is None:
                self._products = {p.id: p for p in self.psa.list_products()}
            return self._products


#: Tenants whose lines a PSA that reads them in batches reads at once, and whose setups are read at once.
PREFETCH_CHUNK = 200


class _Chunks:
    """A run's tenants in chunks, in the order they start: each chunk read once, by its first tenant to ask."""

    def __init__(self, tenant_ids: Sequence[str], chunk: int) -> None:
        ids = list(dict.fromkeys(tenant_ids))
        self._chunks = [ids[i:i + chunk] for i in range(0, len(ids), chunk)]
        self._chunk_of = {tenant_id: n for n, part in enumerate(self._chunks) for tenant_id in part}
        self._locks = [threading.Lock() for _ in self._chunks]
        self._read: set[int] = set()

    def read_once(self, tenant_id: str, read: Callable[[list[str]], None]) -> bool:
        """``read(chunk)`` for the tenant's chunk unless it was read; False: the tenant is not of the run."""
        n = self._chunk_of.get(tenant_id)
        if n is None:
            return False
        with self._locks[n]:
            if n not in self._read:
                self._read.add(n)
                read(self._chunks[n])
        return True


class SetupsAhead:
    """The setups of a run's tenants, read a chunk at a time (a few queries for a chunk, instead of several for
    each tenant), each handed to its tenant once and then forgotten.

    A chunk is read when its first tenant starts, so a tenant syncs with what was configured then. A tenant the
    chunk lacks (one the store does not know) reads its own setup, which says why.
    """

    def __init__(self, store: SyncStore, tenant_ids: Sequence[str], *, chunk: int = PREFETCH_CHUNK) -> None:
        self.store = store
        self._chunks = _Chunks(tenant_ids, chunk)
        self._found: dict[str, TenantSetup] = {}
        self._lock = threading.Lock()

    def take(self, tenant_id: str) -> TenantSetup:
        self._chunks.read_once(tenant_id, self._read_chunk)
        with self._lock:
            found = self._found.pop(tenant_id, None)
        return found if found is not None else self.store.setup(tenant_id)

    def _read_chunk(self, tenant_ids: list[str]) -> None:
        setups = self.store.setups_of(tenant_ids)
        with self._lock:
            self._found.update(setups)


@dataclass
class _Prefetched:
    written: list[Written]  # what the journal held as written when the lines were read
    lines: dict[str, list[Line]]


class LinesPrefetch:
    """The agreement lines of a run's tenants, a chunk of them at a time, for a PSA that reads many agreements'
    lines in a few requests (Autotask's ``in`` queries): one read per chunk instead of one per tenant.

    A chunk is read before its tenants' leases are taken, so a tenant uses what was read for it only when
    the journal shows no write to it since: what seatsync had written for the tenant is the same when its
    lease is taken as when the chunk was read, and nothing was being written then or now (another sync of
    it, in any process, journals a write before sending it). Otherwise, and when the chunk's read failed,
    the tenant reads its own lines, as it would without a prefetch.
    """

    def __init__(self, psa: PsaPort, store: SyncStore, catalog: PsaCatalog, tenant_ids: Sequence[str], *,
                 chunk: int = PREFETCH_CHUNK) -> None:
        self.psa = psa
        self.store = store
        self.catalog = catalog
        self._chunks = _Chunks(tenant_ids, chunk)
        self._found: dict[str, _Prefetched] = {}
        self._lock = threading.Lock()

    def take(self, tenant_id: str, written: list[Written], unsettled: list[Operation]) -> dict[str, list[Line]] | None:
        """The lines read for the tenant's agreements, if they can be trusted now; None: read them afresh.
        The first tenant of a chunk to ask reads the chunk (its reads count as its own to the PSA breaker)."""
        if unsettled or not self._chunks.read_once(tenant_id, self._read_chunk):
            return None
        with self._lock:
            found = self._found.pop(tenant_id, None)
        return found.lines if found is not None and found.written == written else None

    def _read_chunk(self, tenant_ids: list[str]) -> None:
        known = self.catalog.agreements()
        setups = self.store.setups_of(tenant_ids)
        asked: dict[str, tuple[list[Written], list[str]]] = {}
        for tenant_id, setup in setups.items():
            try:
                written, unsettled = self.store.journal_of(tenant_id)
            except DatabaseFailed:
                raise
            except SeatsyncError:  # the tenant's own sync says what is wrong with it
                continue
            if unsettled:
                continue
            agreements = {m.agreement_id for m in setup.mappings} | write_log(written).agreements
            asked[tenant_id] = (written, sorted(a for a in agreements if a in known))
        every = sorted({a for _, read in asked.values() for a in read})
        try:
            lines = self.psa.list_lines_of(every) if every else {}
        except SeatsyncError as error:
            log.info("lines of %d agreements not read at once (%s): each tenant reads its own", len(every), error)
            return
        with self._lock:
            for tenant_id, (written, read) in asked.items():
                self._found[tenant_id] = _Prefetched(written=written, lines={a: lines[a] for a in read})
