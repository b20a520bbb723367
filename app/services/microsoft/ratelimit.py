"""Token buckets per tenant and per app, so seatsync stays under Microsoft's limits.

Graph meters "resource units" per app+tenant pair and per app (APIS.md §A1:
e.g. 3,500 RU per 10 s for a small tenant, 150,000 RU per 20 s per app;
subscribedSkus costs 3, users 2); Partner Center allows 500 requests a
minute per tenant identifier (§A2). Waiting here is cheaper than a 429.

A request reserves its cost from both buckets at once (balances may go
negative: that is the queue) and sleeps for the longer debt. The clock and
sleep are injectable so tests never wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class BucketSpec:
    capacity: float  # burst
    per_second: float  # refill rate

    @classmethod
    def per_window(cls, amount: float, seconds: float) -> BucketSpec:
        return cls(capacity=amount, per_second=amount / seconds)


class _Bucket:
    __slots__ = ("level", "spec", "stamp")

    def __init__(self, spec: BucketSpec, now: float) -> None:
        self.spec = spec
        self.level = spec.capacity
        self.stamp = now

    def reserve(self, cost: float, now: float) -> float:
        """Take ``cost`` now; return the seconds until the balance is back to zero."""
        self.level = min(self.spec.capacity, self.level + (now - self.stamp) * self.spec.per_second)
        self.stamp = now
        self.level -= cost
        return 0.0 if self.level >= 0 else -self.level / self.spec.per_second


class RateLimiter:
    """A bucket per key (tenant) and one for the whole app."""

    def __init__(self, *, per_key: BucketSpec, per_app: BucketSpec | None = None,
                 now: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.per_key = per_key
        self.per_app = per_app
        self.now = now
        self.sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._app: _Bucket | None = None
        self.waited = 0.0  # total seconds asked to sleep, for benchmarks and tests

    def acquire(self, key: str, cost: float = 1.0) -> float:
        """Wait until ``cost`` units may be spent for ``key``; return the wait."""
        with self._lock:
            now = self.now()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self.per_key, now)
            wait = bucket.reserve(cost, now)
            if self.per_app is not None:
                if self._app is None:
                    self._app = _Bucket(self.per_app, now)
                wait = max(wait, self._app.reserve(cost, now))
            self.waited += wait
        if wait > 0:
            self.sleep(wait)
        return wait


def graph_limiter(*, now: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> RateLimiter:
    """Graph's identity limits for a small tenant (the safe floor) and per app."""
    return RateLimiter(per_key=BucketSpec.per_window(3500, 10), per_app=BucketSpec.per_window(150_000, 20),
                       now=now, sleep=sleep)


def partner_center_limiter(*, now: Callable[[], float] = time.monotonic,
                           sleep: Callable[[float], None] = time.sleep) -> RateLimiter:
    """Partner Center: 500 requests a minute per tenant identifier."""
    return RateLimiter(per_key=BucketSpec.per_window(500, 60), now=now, sleep=sleep)
