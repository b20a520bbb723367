"""Autotask's two limits, simulated (APIS.md §B2 "RATE LIMITS", vendor KB
"API thread limiting").

- Thread limit: at most ``threads`` requests in flight per (tracking
  identifier = ApiIntegrationCode, object endpoint); integrations created
  after 2023.1 get 3. A request beyond it is refused. The real status code
  is not documented [U]; the sandbox answers 429 with an ``errors`` body.
  The peak concurrency ever seen per key (refused requests included) is
  recorded, for tests and the benchmark.
- Hourly budget: 10,000 requests per rolling hour per database, shared by
  every integration. From 50 % use the API adds latency (vendor KBs: about
  0.5-1 s per call [S]); at 100 % it refuses calls until usage drops.
  ``latency`` grows linearly from ``latency_at_half`` at 50 % to
  ``latency_at_full`` at 100 %, times ``latency_scale`` (benchmarks shrink
  it). The clock is injectable.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable


class ThreadGate:
    def __init__(self, threads: int = 3) -> None:
        self.threads = threads
        self._lock = threading.Lock()
        self._in_flight: Counter[tuple[str, str]] = Counter()
        self.peak: Counter[tuple[str, str]] = Counter()
        self.refused: Counter[tuple[str, str]] = Counter()

    def enter(self, code: str, endpoint: str) -> bool:
        key = (code, endpoint)
        with self._lock:
            self._in_flight[key] += 1
            self.peak[key] = max(self.peak[key], self._in_flight[key])
            if self._in_flight[key] > self.threads:
                self._in_flight[key] -= 1
                self.refused[key] += 1
                return False
            return True

    def leave(self, code: str, endpoint: str) -> None:
        with self._lock:
            self._in_flight[(code, endpoint)] -= 1

    def peak_for(self, endpoint: str, code: str | None = None) -> int:
        with self._lock:
            return max((n for (c, e), n in self.peak.items()
                        if e.lower() == endpoint.lower() and (code is None or c == code)), default=0)


class HourlyBudget:
    def __init__(self, limit: int = 10_000, window: float = 3600.0, clock: Callable[[], float] = time.monotonic,
                 latency_at_half: float = 0.5, latency_at_full: float = 1.0, latency_scale: float = 1.0) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.latency_at_half = latency_at_half
        self.latency_at_full = latency_at_full
        self.latency_scale = latency_scale
        self._lock = threading.Lock()
        self._times: deque[float] = deque()
        self.latency_added = 0.0
        self.refused = 0

    def _expire(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()

    def used(self) -> int:
        with self._lock:
            self._expire(self.clock())
            return len(self._times)

    def admit(self) -> tuple[bool, float]:
        """Count one request; return (admitted, latency to add before answering)."""
        with self._lock:
            now = self.clock()
            self._expire(now)
            if len(self._times) >= self.limit:
                self.refused += 1
                return False, 0.0
            self._times.append(now)
            latency = self.latency_for(len(self._times))
            self.latency_added += latency
            return True, latency

    def latency_for(self, used: int) -> float:
        share = used / self.limit
        if share < 0.5:
            return 0.0
        span = self.latency_at_full - self.latency_at_half
        return (self.latency_at_half + span * (share - 0.5) / 0.5) * self.latency_scale

    def seconds_until_free(self) -> float:
        with self._lock:
            now = self.clock()
            self._expire(now)
            if len(self._times) < self.limit:
                return 0.0
            return max(0.0, self._times[0] + self.window - now)

    def record_external(self, count: int) -> None:
        """Requests made by the database's other integrations (shared budget)."""
        with self._lock:
            now = self.clock()
            self._times.extend([now] * count)
