"""Working on many tenants at once, with a cap, each tenant on its own: the inventory reads and the sync.

One tenant's failure never stops the others (DESIGN §3): each result is the
value or the exception that tenant raised. The per-API concurrency caps of
``HttpApi`` still hold underneath; ``max_workers`` bounds the tenants in
flight (and so the memory their inventories hold).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

DEFAULT_WORKERS = 8
#: The most tenants a sync keeps in flight: each holds its inventory in memory and, on a team database, a
#: connection of its pool (32, with the window's own and the inventory saves beside them).
MAX_WORKERS = 24


def tenant_workers(psa_concurrency: int) -> int:
    """Tenants to sync at once so that the PSA is kept at its cap: each tenant in flight sends the PSA one
    request at a time, and spends about as long again on Microsoft's reads (each API's own cap holds in its
    HttpApi), so twice the PSA's cap; never fewer than ``DEFAULT_WORKERS`` nor more than ``MAX_WORKERS``."""
    return max(DEFAULT_WORKERS, min(MAX_WORKERS, 2 * psa_concurrency))


def for_each_tenant(tenants: Iterable[K], work: Callable[[K], V], *, max_workers: int = DEFAULT_WORKERS,
                    on_done: Callable[[K, V | BaseException], None] | None = None) -> dict[K, V | Exception]:
    """Run ``work(tenant)`` for every tenant on at most ``max_workers`` threads.

    Returns tenant -> result or the Exception it raised, in input order.
    ``on_done`` is called from the worker thread as each tenant finishes
    (progress reporting); it must be quick and thread-safe.
    """
    if max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    keys = list(dict.fromkeys(tenants))

    def run(key: K) -> V | Exception:
        try:
            outcome: V | Exception = work(key)
        except Exception as error:  # noqa: BLE001 - reported per tenant, never lost
            outcome = error
        if on_done is not None:
            on_done(key, outcome)
        return outcome

    if not keys:
        return {}
    with ThreadPoolExecutor(max_workers=min(max_workers, len(keys)), thread_name_prefix="tenant") as pool:
        results = list(pool.map(run, keys))
    return dict(zip(keys, results, strict=True))
