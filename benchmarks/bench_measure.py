"""What the sync benchmark measures: requests per API, the lower bound they imply, memory.

Requests are counted twice: by the sandboxes (per route and method, what
the report lists) and by each client's ``HttpApi`` (per API, what the lower
bound uses, since the cap on requests in flight belongs to the client).
Both count every attempt, retries included, so their totals agree.
"""

from __future__ import annotations

import contextlib
import resource
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from app.services.http import HttpApi

#: The day the benchmarks plan and sync on: the middle of a monthly period, so a first sync writes a prorate
#: line for the rest of the period where the agreement prorates (on the 1st it would write none).
BENCH_DAY = date(2026, 3, 17)
#: Autotask answers zone lookups outside its per-endpoint thread limit (vendor KB "API thread limiting").
UNGATED_ENDPOINTS = frozenset({"zoneinformation"})


@dataclass
class Phase:
    """One sync's figures."""

    name: str
    wall: float
    tenants: int
    failed: int
    errors: list[str]
    operations_applied: int
    held: int
    requests: dict[str, int]  # "<server> <METHOD> <route>" -> requests the sandbox answered
    psa_write_requests: int
    api_requests: dict[str, int]  # API (or Autotask endpoint) -> requests its client sent
    api_caps: dict[str, int]
    api_peak_in_flight: dict[str, int | None]
    lower_bound: float
    worker_bound: float
    client_requests: int
    rss_peak_mib: float | None = None
    maxrss_mib: float = 0.0
    traced_peak_mib: float | None = None

    def requests_of(self, server: str) -> int:
        return sum(n for key, n in self.requests.items() if key.split(" ", 1)[0] == server)

    @property
    def server_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def psa_requests(self) -> int:
        return self.server_requests - self.requests_of("microsoft")

    @property
    def ratio(self) -> float | None:
        return self.wall / self.lower_bound if self.lower_bound else None

    @property
    def ms_per_tenant(self) -> float:
        return 1000 * self.wall / self.tenants if self.tenants else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Every figure, the derived ones included (for --json)."""
        return {**asdict(self), "microsoft_requests": self.requests_of("microsoft"),
                "psa_requests": self.psa_requests, "ms_per_tenant": self.ms_per_tenant,
                "wall_over_lower_bound": self.ratio,
                "wall_over_worker_bound": self.wall / self.worker_bound if self.worker_bound else None}


# -- the clients' APIs ------------------------------------------------------------------


class InFlight:
    """Counts a session's requests in flight, to report the peak each API reached."""

    def __init__(self, http: HttpApi) -> None:
        self.peak = 0
        self._now = 0
        self._lock = threading.Lock()
        send = http.session.request

        def request(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self._now += 1
                self.peak = max(self.peak, self._now)
            try:
                return send(*args, **kwargs)
            finally:
                with self._lock:
                    self._now -= 1

        http.session.request = request  # type: ignore[method-assign]

    def reset(self) -> None:
        with self._lock:
            self.peak = self._now


@dataclass
class Api:
    name: str
    http: HttpApi
    gate_threads: int | None = None  # Autotask: requests in flight per endpoint
    in_flight: InFlight | None = None


def http_apis(context: Any, connection_id: int) -> dict[str, Api]:
    """The HttpApi of every API a sync talks to: Entra ID, Graph, Partner Center and the PSA's."""
    microsoft = context.microsoft.clients()
    apis = [Api("Entra ID (tokens)", microsoft.token_api), Api("Graph", microsoft.graph_api),
            Api("Partner Center", microsoft.partner_center_api)]
    for holder, http in _find_http(context.psas.psa(connection_id)):
        gate = getattr(holder, "gate", None)
        apis.append(Api(http.name, http, getattr(gate, "threads", None)))
    for api in apis:
        api.in_flight = InFlight(api.http)
    return {api.name: api for api in apis}


def _find_http(obj: Any, depth: int = 3, seen: set[int] | None = None) -> list[tuple[Any, HttpApi]]:
    """(holder, HttpApi) pairs reachable through a PSA adapter's attributes."""
    seen = set() if seen is None else seen
    found: list[tuple[Any, HttpApi]] = []
    if id(obj) in seen or not hasattr(obj, "__dict__"):
        return found
    seen.add(id(obj))
    for value in vars(obj).values():
        if isinstance(value, HttpApi):
            if id(value) not in seen:
                seen.add(id(value))
                found.append((obj, value))
        elif depth > 0 and type(value).__module__.startswith("app."):
            found += _find_http(value, depth - 1, seen)
    return found


@dataclass(frozen=True)
class Bound:
    requests: int
    cap: int
    seconds: float
    peak_in_flight: int | None  # None: per endpoint, which the client does not count (see the sandbox's)


def api_bounds(apis: dict[str, Api], latency: float, *, cap: int | None = None) -> dict[str, Bound]:
    """Per API: requests × latency ÷ requests in flight its client allows (``cap`` overrides it).

    Autotask's client also holds each endpoint to ``gate_threads`` in flight, so
    each of its endpoints is bounded on its own.
    """
    out: dict[str, Bound] = {}
    for api in apis.values():
        peak = api.in_flight.peak if api.in_flight else 0
        allowed = cap or api.http.max_concurrency
        if api.gate_threads is None:
            n = sum(api.http.counts.values())
            if n:
                out[api.name] = Bound(n, allowed, n * latency / allowed, peak)
            continue
        by_endpoint: dict[str, int] = {}
        for (_, endpoint), n in api.http.counts.items():
            by_endpoint[endpoint] = by_endpoint.get(endpoint, 0) + n
        for endpoint, n in sorted(by_endpoint.items()):
            gated = endpoint.lower() not in UNGATED_ENDPOINTS
            limit = min(allowed, api.gate_threads) if gated else allowed
            out[f"{api.name} {endpoint}"] = Bound(n, limit, n * latency / limit, None)
    return out


# -- memory -----------------------------------------------------------------------------


class Memory:
    def __init__(self, trace: bool) -> None:
        self.trace = trace
        self.rss_peak_mib: float | None = None
        self.traced_peak_mib: float | None = None

    def figures(self) -> dict[str, float | None]:
        scale = 1024 if sys.platform != "darwin" else 1024 * 1024  # ru_maxrss: KiB on Linux, bytes on macOS
        return {"rss_peak_mib": self.rss_peak_mib, "traced_peak_mib": self.traced_peak_mib,
                "maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale, 1)}


@contextlib.contextmanager
def memory_probe(trace: bool) -> Iterator[Memory]:
    """Peak resident memory during the block (Linux: VmHWM after resetting it), and
    tracemalloc's peak of Python allocations made during the block when ``trace``."""
    memory = Memory(trace)
    resettable = _reset_hwm()
    if trace:
        tracemalloc.start()
    try:
        yield memory
    finally:
        if trace:
            memory.traced_peak_mib = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
            tracemalloc.stop()
        if resettable:
            memory.rss_peak_mib = _hwm_mib()


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:  # "5" resets the peak RSS (Linux >= 4.0)
            handle.write("5")
        return _hwm_mib() is not None
    except OSError:
        return False


def _hwm_mib(status: str = "/proc/self/status") -> float | None:
    try:
        with open(status) as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


class ChildPeak:
    """Another process's peak resident memory: its VmHWM (Linux), read from /proc/<pid>/status every
    ``interval`` seconds until it ends. VmHWM only grows, so the last reading is the peak up to then.

    Not the child's ``ru_maxrss``: when a process execs, Linux carries the high-water mark of the memory it
    leaves into ``ru_maxrss``, and a child spawned by this process starts in this process's memory.
    """

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.peak_mib: float | None = None
        self._status = f"/proc/{pid}/status"
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name=f"peak-rss-{pid}", daemon=True)

    def start(self) -> ChildPeak:
        self._thread.start()
        return self

    def stop(self) -> float | None:
        self._stop.set()
        self._thread.join()
        return self.peak_mib

    def _sample(self) -> None:
        while True:
            reading = _hwm_mib(self._status)
            if reading is None:  # ended (a zombie has no VmHWM), or no /proc here
                return
            self.peak_mib = reading
            if self._stop.wait(self._interval):
                return
