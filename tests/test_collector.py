"""The collector pause: overlapping pauses, a failure inside one, and a collector someone else turned off."""

from __future__ import annotations

import gc
import threading

import pytest

from app.services.collector import collector_paused


@pytest.fixture(autouse=True)
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_runs_again_when_the_last_of_two_overlapping_pauses_ends():
    first_in, second_ended = threading.Event(), threading.Event()
    seen = []

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_ended.wait(5)
            seen.append(("first, after the second ended", gc.isenabled()))

    worker = threading.Thread(target=first)
    worker.start()
    first_in.wait(5)
    with collector_paused():
        seen.append(("second", gc.isenabled()))
    second_ended.set()
    worker.join(5)
    assert seen == [("second", False), ("first, after the second ended", False)]
    assert gc.isenabled()


def test_a_failure_inside_a_pause_ends_it():
    seen = []

    def failing_read() -> None:
        with collector_paused():
            seen.append(gc.isenabled())
            raise ValueError("the read failed")

    with pytest.raises(ValueError, match="the read failed"):
        failing_read()
    assert seen == [False] and gc.isenabled()


def test_a_collector_turned_off_before_stays_off():
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_what_a_pause_made_and_kept_joins_the_oldest_generation():
    gc.collect()  # no collection is due for a while: fewer objects are made below than set one off
    with collector_paused():
        kept = [[n] for n in range(300)]  # a report's rows, say
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(row) in oldest for row in kept)
    assert gc.isenabled()
