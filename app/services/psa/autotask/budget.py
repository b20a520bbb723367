"""Staying inside Autotask's limits (APIS.md §B2 "RATE LIMITS"; USERS.md item 9).

- ``EndpointGate``: at most 3 requests in flight per object endpoint for one
  tracking identifier (integrations created after 2023.1). One semaphore per
  endpoint: requests wait their turn instead of being refused.
- ``RequestBudget``: 10,000 requests per rolling hour, shared by every
  integration of the Autotask database, and exhausting it breaks all of
  them. The budget counts seatsync's own requests in the window and takes
  the database's whole count from ``ThresholdInformation`` when the client
  reads it (``observe``). Below ``slow_from`` (50 %) it never waits. From
  there it spreads what is left over the next hour: one request per
  ``window / remaining`` seconds (at 50 % that is 0.72 s, close to the
  latency Autotask itself adds from 50 %; at 90 %, 3.6 s). With
  ``stop_at`` of the budget used it refuses to send (``AutotaskBudgetExhausted``)
  rather than take the last requests the MSP's other integrations need.
  The clock is injectable.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from app.services.psa.autotask.errors import AutotaskBudgetExhausted

HOURLY_LIMIT = 10_000
THREADS_PER_ENDPOINT = 3


class EndpointGate:
    def __init__(self, threads: int = THREADS_PER_ENDPOINT) -> None:
        self.threads = threads
        self._lock = threading.Lock()
        self._gates: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def slot(self, endpoint: str) -> Iterator[None]:
        key = endpoint.lower()
        with self._lock:
            gate = self._gates.get(key)
            if gate is None:
                gate = self._gates[key] = threading.BoundedSemaphore(self.threads)
        with gate:
            yield


class RequestBudget:
    def __init__(self, limit: int = HOURLY_LIMIT, *, window: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic, slow_from: float = 0.5,
                 stop_at: float = 0.98) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.slow_from = slow_from
        self.stop_at = stop_at
        self._lock = threading.Lock()
        self._own: deque[float] = deque()
        self._server_used: int | None = None
        self._server_at = 0.0
        self._since_observed = 0
        self._next_slot = 0.0

    def _expire(self, now: float) -> None:
        while self._own and self._own[0] <= now - self.window:
            self._own.popleft()

    def _used(self, now: float) -> int:
        own = len(self._own)
        if self._server_used is None or now - self._server_at >= self.window:
            return own
        return max(own, self._server_used + self._since_observed)

    def used(self) -> int:
        with self._lock:
            now = self.clock()
            self._expire(now)
            return self._used(now)

    def observe(self, used: int, limit: int | None = None) -> None:
        """The database's request count in the current hour, as Autotask reports it."""
        with self._lock:
            if limit:
                self.limit = limit
            self._server_used = used
            self._server_at = self.clock()
            self._since_observed = 0

    def note(self) -> None:
        """Count a request sent without pacing (the threshold read itself)."""
        with self._lock:
            now = self.clock()
            self._own.append(max(now, self._own[-1]) if self._own else now)
            self._since_observed += 1

    def reserve(self) -> float:
        """Count one request about to be sent; return how long to wait before sending it."""
        with self._lock:
            now = self.clock()
            self._expire(now)
            used = self._used(now)
            if used >= self.limit * self.stop_at:
                raise AutotaskBudgetExhausted(f"{used} of {self.limit} requests used in the last hour")
            delay = 0.0
            if used >= self.limit * self.slow_from:
                interval = self.window / max(self.limit - used, 1)
                start = max(now, self._next_slot)
                self._next_slot = start + interval
                delay = start - now
            self._own.append(max(now + delay, self._own[-1]) if self._own else now + delay)
            self._since_observed += 1
            return delay
