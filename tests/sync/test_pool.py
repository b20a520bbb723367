"""The threads a run works on: what each holds for all its tenants, and the reads a tenant sends side by side."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest

from app.services.sync.pool import for_each_tenant, side_by_side, side_reads


class Holdings:
    """A ``held`` that records which thread took it and let it go, and what each tenant ran under."""

    def __init__(self, *, refuse: bool = False, fail_on_exit: bool = False) -> None:
        self.taken: list[str] = []
        self.released: list[str] = []
        self.refuse, self.fail_on_exit = refuse, fail_on_exit
        self.lock = threading.Lock()
        self.local = threading.local()

    @contextmanager
    def __call__(self):
        if self.refuse:
            raise OSError("disk full")
        with self.lock:
            self.taken.append(threading.current_thread().name)
        self.local.holding = True
        try:
            yield
        finally:
            self.local.holding = False
            with self.lock:
                self.released.append(threading.current_thread().name)
        if self.fail_on_exit:
            raise OSError("could not close")

    def holding(self) -> bool:
        return getattr(self.local, "holding", False)


def test_each_thread_holds_once_for_all_its_tenants():
    held = Holdings()
    tenants = [f"t{i}" for i in range(20)]
    results = for_each_tenant(tenants, lambda t: (t, held.holding()), max_workers=3, held=held)
    assert list(results) == tenants  # in input order
    assert all(results[t] == (t, True) for t in tenants)  # every tenant ran under its thread's holding
    assert len(held.taken) == 3 and sorted(held.released) == sorted(held.taken)


def test_a_thread_that_cannot_hold_still_works_through_its_tenants():
    held = Holdings(refuse=True)
    results = for_each_tenant(["a", "b", "c"], lambda t: t.upper(), max_workers=2, held=held)
    assert results == {"a": "A", "b": "B", "c": "C"}


def test_letting_go_that_fails_loses_no_result():
    held = Holdings(fail_on_exit=True)
    results = for_each_tenant(["a", "b", "c"], lambda t: t.upper(), max_workers=2, held=held)
    assert results == {"a": "A", "b": "B", "c": "C"}
    assert len(held.released) == 2


def test_a_progress_report_that_raises_is_raised():
    def report(tenant, _outcome):
        if tenant == "b":
            raise RuntimeError("progress broke")

    with pytest.raises(RuntimeError, match="progress broke"):
        for_each_tenant(["a", "b", "c"], lambda t: t, max_workers=2, on_done=report)


def test_side_by_side_reads_at_once_and_waits_for_every_read_before_raising_the_first_failure():
    finished = threading.Event()
    both = threading.Barrier(2, timeout=10)  # the first read and another are in flight together

    def here() -> str:
        both.wait()
        raise ValueError("skus refused")

    def slow() -> str:
        both.wait()
        time.sleep(0.2)
        finished.set()
        return "lines"

    with pytest.raises(ValueError, match="skus refused"):
        side_by_side({"skus": here, "lines": slow})
    assert finished.is_set()  # nothing left running behind the failure

    def lines_refused() -> str:
        raise LookupError("agreement gone")

    with pytest.raises(ValueError, match="skus refused"):  # the first failure in the reads' order
        side_by_side({"skus": lambda: here(), "lines": lines_refused, "other": lambda: both.wait() and ""})
    caller = threading.current_thread().name
    threads = side_by_side({"a": lambda: threading.current_thread().name, "b": lambda: threading.current_thread().name})
    assert threads["a"] == caller and threads["b"].startswith("read")  # the first on this thread
    assert side_reads() is side_reads()  # made once for the process
