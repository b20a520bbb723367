"""Working on many tenants at once, with a cap, each tenant on its own: the inventory reads and the sync.

One tenant's failure never stops the others (DESIGN §3): each result is the
value or the exception that tenant raised. The per-API concurrency caps of
``HttpApi`` still hold underneath; ``max_workers`` bounds the tenants in
flight (and so the memory their inventories hold).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, ExitStack
from typing import TypeVar, cast

K = TypeVar("K")
V = TypeVar("V")

log = logging.getLogger(__name__)
_NONE_LEFT = object()

DEFAULT_WORKERS = 8
#: The most tenants a sync keeps in flight: each holds its inventory in memory and, on a team database, a
#: connection of its pool (32, with the window's own and the inventory saves beside them).
MAX_WORKERS = 24


#: Threads for the reads tenants send side by side: four or five a tenant (its PSA lines, and its inventory's
#: reads but the first) for each of the 24 tenants a run keeps in flight at most would be 120; the APIs' own
#: caps let fewer than 40 through at once, and a read waiting its turn here only waits longer.
SIDE_THREADS = 64

_side: ThreadPoolExecutor | None = None
_side_lock = threading.Lock()


def side_reads() -> ThreadPoolExecutor:
    """The process's threads for the reads of one tenant that run side by side (``side_by_side``), made once
    rather than a pool a tenant (a pool of three threads costs about 0.4 ms of CPU to start and end). Only
    reads that wait for nothing else run on them, so none can starve another."""
    global _side
    with _side_lock:
        if _side is None:
            _side = ThreadPoolExecutor(max_workers=SIDE_THREADS, thread_name_prefix="read")
        return _side


def side_by_side(reads: Mapping[K, Callable[[], V]]) -> dict[K, V]:
    """Each read's result, all read at once: the first on this thread, the others on ``side_reads`` (so only
    the first may itself read side by side). Returns once every read ended, so that none is left running
    behind a failure; the first that failed, in ``reads``' order, raises."""
    (first, read_here), *others = reads.items()
    side = side_reads()
    pending = {key: side.submit(read) for key, read in others}
    here: Future[V] = Future()
    try:
        here.set_result(read_here())
    except Exception as error:  # noqa: BLE001 - raised in its order once the others ended
        here.set_exception(error)
    futures = {first: here, **pending}
    wait(list(futures.values()))
    return {key: future.result() for key, future in futures.items()}


def tenant_workers(psa_concurrency: int) -> int:
    """Tenants to sync at once so that the PSA is kept at its cap: each tenant in flight sends the PSA one
    request at a time, and spends about as long again on Microsoft's reads (each API's own cap holds in its
    HttpApi), so twice the PSA's cap; never fewer than ``DEFAULT_WORKERS`` nor more than ``MAX_WORKERS``."""
    return max(DEFAULT_WORKERS, min(MAX_WORKERS, 2 * psa_concurrency))


def for_each_tenant(tenants: Iterable[K], work: Callable[[K], V], *, max_workers: int = DEFAULT_WORKERS,
                    on_done: Callable[[K, V | BaseException], None] | None = None,
                    held: Callable[[], AbstractContextManager[object]] | None = None) -> dict[K, V | Exception]:
    """Run ``work(tenant)`` for every tenant on at most ``max_workers`` threads.

    Returns tenant -> result or the Exception it raised, in input order.
    ``on_done`` is called from the worker thread as each tenant finishes
    (progress reporting); it must be quick and thread-safe. ``held``: what
    each thread holds while it works through its tenants (a sync's connection
    to seatsync's database, opened once a thread rather than once a tenant);
    a thread that cannot take it works without it, each tenant then taking
    (and reporting) its own.
    """
    if max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    keys = list(dict.fromkeys(tenants))
    pending = iter(keys)
    taking = threading.Lock()
    results: dict[K, V | Exception] = {}

    def run(key: K) -> V | Exception:
        try:
            outcome: V | Exception = work(key)
        except Exception as error:  # noqa: BLE001 - reported per tenant, never lost
            outcome = error
        if on_done is not None:
            on_done(key, outcome)
        return outcome

    def worker() -> None:
        holding = ExitStack()
        if held is not None:
            try:
                holding.enter_context(held())
            except Exception:  # each tenant takes its own, and says why it cannot
                log.warning("a sync thread works without its own connection", exc_info=True)
        try:
            while True:
                with taking:
                    key = next(pending, _NONE_LEFT)
                if key is _NONE_LEFT:
                    return
                results[cast(K, key)] = run(cast(K, key))
        finally:
            try:
                holding.close()
            except Exception:  # every tenant it worked on has its result
                log.warning("a sync thread could not let go of its connection", exc_info=True)

    if not keys:
        return {}
    width = min(max_workers, len(keys))
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="tenant") as pool:
        threads = [pool.submit(worker) for _ in range(width)]
    for thread in threads:
        thread.result()  # what escaped a tenant's work (its progress report) is raised here
    return {key: results[key] for key in keys}
