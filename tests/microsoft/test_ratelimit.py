"""Token buckets on an injected clock, and the tenant pool."""

from __future__ import annotations

import threading

import pytest

from app.services.microsoft.ratelimit import BucketSpec, RateLimiter
from app.services.sync.pool import for_each_tenant
from tests.microsoft.conftest import FakeClock


def test_a_bucket_allows_its_burst_then_paces():
    clock = FakeClock(0)
    limiter = RateLimiter(per_key=BucketSpec.per_window(10, 10), now=clock.now, sleep=clock.sleep)
    for _ in range(10):
        assert limiter.acquire("t") == 0
    assert limiter.acquire("t") == pytest.approx(1.0)
    assert limiter.acquire("t", cost=3) == pytest.approx(3.0)
    assert limiter.acquire("other") == 0  # each tenant has its own bucket
    clock.advance(100)
    assert limiter.acquire("t") == 0  # refilled, never beyond capacity
    assert clock.sleeps == [pytest.approx(1.0), pytest.approx(3.0)]


def test_the_app_bucket_caps_all_tenants_together():
    clock = FakeClock(0)
    limiter = RateLimiter(per_key=BucketSpec.per_window(100, 1), per_app=BucketSpec(capacity=2, per_second=1),
                          now=clock.now, sleep=clock.sleep)
    assert [limiter.acquire(t) for t in ("a", "b", "c")] == [0, 0, pytest.approx(1.0)]
    assert limiter.waited == pytest.approx(1.0)


def test_for_each_tenant_isolates_failures_and_caps_workers():
    running, peak = 0, 0
    lock = threading.Lock()
    release = threading.Barrier(3, timeout=10)

    def work(tenant: str) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            if tenant in ("t0", "t1", "t2"):
                release.wait()  # proves three really run at once
            if tenant == "t4":
                raise ValueError("boom")
            return tenant.upper()
        finally:
            with lock:
                running -= 1

    done: list[str] = []
    results = for_each_tenant([f"t{i}" for i in range(8)], work, max_workers=3,
                              on_done=lambda t, _: done.append(t))
    assert list(results) == [f"t{i}" for i in range(8)]
    assert isinstance(results["t4"], ValueError) and results["t5"] == "T5"
    assert peak == 3 and sorted(done) == sorted(results)
    assert for_each_tenant([], work) == {}
