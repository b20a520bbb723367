"""The cyclic garbage collector paused while a worker builds a large graph of objects.

CPython runs a full collection each time the objects it keeps grow by a
quarter. A worker reading the reconciliation report of 5,000 companies
(50,000 rows, and the inventories and mappings they come from) set off five
or six, each walking every object of the process for 30–75 ms while holding
the interpreter lock, so the window's thread waited that long. What such a
read makes holds no reference cycles: reference counting frees all it drops,
and the collector has nothing to find meanwhile.

What the pause made and kept (the report's rows) then goes straight to the
oldest generation (``gc.freeze()`` and ``gc.unfreeze()``, which put every
object there). Left young, its 55,000 objects were walked by the next young
collections, one of them 50–80 ms on the window's thread just after the
report showed.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    """Pauses that overlap (two workers) end when the last one ends; a collector already off stays off."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0
        self._was_enabled = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._open == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._open += 1
        try:
            yield
        finally:
            with self._lock:
                self._open -= 1
                if self._open == 0 and self._was_enabled:
                    gc.freeze()  # then unfreeze(): every object to the oldest generation
                    gc.unfreeze()
                    gc.enable()


collector_paused = _Pauses()
