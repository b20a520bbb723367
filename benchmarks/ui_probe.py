"""How long the UI thread is ever blocked while the window syncs many tenants against slow sandboxes.

    python benchmarks/ui_probe.py --tenants 200 --json probe.json

A measurement, not a timed test: the window runs "Sync now" through its
real path (toolbar, sync gateway, scheduler, SyncService) against the
Microsoft and ConnectWise sandboxes with ``--latency`` seconds on every
request (50 ms), while a 5 ms timer on the UI thread records when it ticks.
The longest gap between two ticks is how long the UI could not answer. A
watchdog thread samples the UI thread's Python stack whenever it has not
ticked for a while: a frame of seatsync's there means seatsync's own code
held it, the event loop means it waited (for the GIL, or the machine).

The sandboxes run in a process of their own, as the real APIs do: in this
process their threads and their garbage (a 200-tenant world is ~150,000
objects; one full collection of them stops every thread for ~50 ms) would
be measured as seatsync's. The window runs offscreen. The figures are
printed (and written to ``--json``); nothing is asserted.
tests/ui/test_ui_blocking.py runs the same measurement as a test.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QToolBar  # noqa: E402

from benchmarks.bench_measure import BENCH_DAY  # noqa: E402

TENANTS = 200
LATENCY = 0.05
TICK_MS = 5
STALL_MS = 30  # a tick this late gets the UI thread's stack sampled
SEED = 7
#: How long the sandboxes may take to start, and the sync with everything the window shows after it (seconds).
START_TIMEOUT = 300
SYNC_TIMEOUT = 600


class Probe:
    """Ticks on the UI thread every TICK_MS; a watchdog samples the UI thread's stack when ticks stall."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.ticks: list[float] = []
        self.samples: Counter[str] = Counter()
        self._ui = threading.get_ident()
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watchdog, name="ui-probe-watchdog", daemon=True)

    def start(self) -> None:
        self.ticks.append(time.perf_counter())
        self.timer.start()
        self._watch.start()

    def stop(self) -> None:
        self.timer.stop()
        self._stop.set()
        self._watch.join(5)

    def _tick(self) -> None:
        self.ticks.append(time.perf_counter())

    def _watchdog(self) -> None:
        while not self._stop.wait(0.01):
            if (time.perf_counter() - self.ticks[-1]) * 1000 > STALL_MS:
                frame = sys._current_frames().get(self._ui)
                if frame is not None:
                    where = traceback.extract_stack(frame)[-3:]
                    self.samples[" < ".join(f"{f.name} ({f.filename.rsplit('/', 1)[-1]}:{f.lineno})"
                                            for f in reversed(where))] += 1

    def gaps(self) -> list[tuple[float, float]]:
        """(ms, when it began in s after the start) for every gap between two ticks."""
        return [((b - a) * 1000, a - self.ticks[0]) for a, b in itertools.pairwise(self.ticks)]

    def longest_gap_ms(self) -> float:
        return max((ms for ms, _ in self.gaps()), default=0.0)


class PaintCounter(QObject):
    """Counts the paint events a widget receives."""

    def __init__(self, widget: Any) -> None:
        super().__init__(widget)
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched: Any, event: Any) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


# -- the sandboxes, in a process of their own ---------------------------------------------


def serve_world(conn: Any, directory: str, data_dir: str, tenants: int, latency: float,
                today: date) -> None:  # runs in a child process
    """Seed and serve the sandboxes, configure seatsync's data in ``data_dir`` as a user would, send back
    ("ready", the CA file, the keyring's secrets), then serve until told to stop."""
    import keyring

    from app.bootstrap import open_context
    from app.sandbox.world import SandboxWorld
    from app.services.secrets import MemoryKeyring

    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        world = SandboxWorld.start(Path(directory), tenants=tenants, seed=SEED, today=lambda: today)
    except BaseException:  # noqa: BLE001 - sent to the parent, which reports it
        conn.send(("error", traceback.format_exc()))
        return
    try:
        context = open_context(Path(data_dir), ca_file=world.tls.ca)
        try:
            world.configure(context, share=1.0)
            context.settings.set_max_seats_change_per_line(None)  # every line written, none held
        finally:
            context.close()
        for server in (world.microsoft_server, world.psa_server):
            server.chaos.latency = latency
        conn.send(("ready", world.tls.ca, dict(backend.store)))
        conn.recv()  # until the parent is done
    except BaseException:  # noqa: BLE001 - sent to the parent, which reports it
        conn.send(("error", traceback.format_exc()))
    finally:
        world.stop()
        conn.close()


@contextlib.contextmanager
def sandboxes(directory: Path, *, tenants: int = TENANTS, latency: float = LATENCY,
              today: date = BENCH_DAY) -> Iterator[tuple[Path, str, dict[tuple[str, str], str]]]:
    """The sandboxes in a process of their own, seatsync's data configured for them in ``directory``/data:
    yields (data dir, CA file, the secrets to put in this process's keyring)."""
    spawn = multiprocessing.get_context("spawn")  # never fork a process that runs Qt
    ours, theirs = spawn.Pipe()
    data_dir = directory / "data"
    child = spawn.Process(target=serve_world, args=(theirs, str(directory / "world"), str(data_dir), tenants,
                                                    latency, today), daemon=True)
    child.start()
    theirs.close()
    try:
        if not ours.poll(START_TIMEOUT):
            raise TimeoutError(f"the sandboxes did not start within {START_TIMEOUT} s")
        answer = ours.recv()
        if answer[0] != "ready":
            raise RuntimeError(f"the sandboxes did not start:\n{answer[1]}")
        _, ca_file, secrets = answer
        yield data_dir, ca_file, secrets
    finally:
        if child.is_alive():
            with contextlib.suppress(OSError):
                ours.send("stop")
        child.join(60)
        ours.close()
        child.close()


# -- waiting on the UI thread, in its event loop --------------------------------------------


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Run the event loop until ``condition()`` holds; TimeoutError after ``timeout`` seconds."""
    if condition():
        return
    deadline = time.monotonic() + timeout
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: loop.quit() if condition() or time.monotonic() > deadline else None)
    timer.start()
    try:
        loop.exec()
    finally:
        timer.stop()
    if not condition():
        raise TimeoutError(f"{what}: not within {timeout:g} s")


def wait_for_signals(signals: Sequence[Any], action: Callable[[], object], timeout: float) -> list[tuple[Any, ...]]:
    """Do ``action``, then run the event loop until every one of ``signals`` was emitted; returns the arguments
    of each one's first emission. TimeoutError after ``timeout`` seconds."""
    loop = QEventLoop()
    got: dict[int, tuple[Any, ...]] = {}

    def receiver(index: int) -> Callable[..., None]:
        def received(*args: Any) -> None:
            got.setdefault(index, args)
            if len(got) == len(signals):
                loop.quit()
        return received

    slots = [receiver(i) for i in range(len(signals))]
    for signal, slot in zip(signals, slots, strict=True):
        signal.connect(slot)
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    timer.start(int(timeout * 1000))
    try:
        action()
        if len(got) < len(signals):
            loop.exec()
    finally:
        timer.stop()
        for signal, slot in zip(signals, slots, strict=True):
            signal.disconnect(slot)
    if len(got) < len(signals):
        raise TimeoutError(f"{len(signals) - len(got)} of {len(signals)} signals not emitted within {timeout:g} s")
    return [got[i] for i in range(len(signals))]


# -- the measurement ---------------------------------------------------------------------


@dataclass
class ProbeRun:
    """One "Sync now" of every company, as the probe saw it."""

    tenants: int
    latency: float
    probe: Probe
    summary: Any  # RunSummary, or None when the sync raised
    error: BaseException | None
    ended: list[float] = field(default_factory=list)  # when the window heard that the sync finished
    #: One full repaint of the Companies list once everything settled (median ms): what the repaint after the
    #: sync's end costs when nothing else runs.
    paint_ms: float | None = None

    @property
    def longest_block_ms(self) -> float:
        return self.probe.longest_gap_ms()

    @property
    def took(self) -> float:
        return self.probe.ticks[-1] - self.probe.ticks[0]

    def lines(self) -> list[str]:
        """The figures, in words."""
        probe, gaps = self.probe, self.probe.gaps()
        writes = self.summary.writes if self.summary is not None else 0
        worst = sorted(gaps, reverse=True)[:5]
        ended = f"{self.ended[0] - probe.ticks[0]:.2f}" if self.ended else "?"
        lines = [f"longest UI-thread block: {self.longest_block_ms:.0f} ms over {self.took:.1f} s, "
                 f"{len(probe.ticks)} ticks ({self.tenants} tenants, {writes} writes, "
                 f"{self.latency * 1000:.0f} ms latency; {sum(ms > 50 for ms, _ in gaps)} gaps over 50 ms, "
                 f"{sum(ms > 20 for ms, _ in gaps)} over 20 ms)",
                 "  worst gaps (ms @ s after the click): " + ", ".join(f"{ms:.0f} @ {at:.2f}" for ms, at in worst)
                 + f"; the sync ended @ {ended}"]
        if self.paint_ms is not None:
            lines.append(f"  the Companies list repaints in {self.paint_ms:.0f} ms with nothing else running "
                         "(median of 20)")
        lines += [f"  UI thread seen {count}× stalled in {where}" for where, count in probe.samples.most_common(3)]
        if self.error is not None:
            lines.append(f"  the sync raised: {type(self.error).__name__}: {self.error}")
        return lines

    def figures(self) -> dict[str, Any]:
        gaps = self.probe.gaps()
        return {"longest_block_ms": round(self.longest_block_ms, 1), "tenants": self.tenants,
                "latency": self.latency, "took": round(self.took, 2), "ticks": len(self.probe.ticks),
                "writes": self.summary.writes if self.summary is not None else None,
                "synced": len(self.summary.results) if self.summary is not None else None,
                "gaps_over_50_ms": sum(ms > 50 for ms, _ in gaps), "gaps_over_20_ms": sum(ms > 20 for ms, _ in gaps),
                "paint_ms": None if self.paint_ms is None else round(self.paint_ms, 1),
                "error": None if self.error is None else str(self.error)}


def measure(context: Any, *, window_ini: Path, latency: float = LATENCY, today: date = BENCH_DAY,
            add_widget: Callable[[Any], object] | None = None) -> ProbeRun:
    """Open the window over ``context``, show the Companies list, click Sync now on the toolbar and tick the
    UI thread until the window has shown the result (the sync, the companies' new state, the notices).
    ``add_widget``: handed the window (a test's qtbot.addWidget)."""
    from app.services.sync.scheduler import ScheduleSettings
    from app.ui.app import build_shell, service_sync

    tenants = len(context.uow.tenants.all())
    settings = QSettings(str(window_ini), QSettings.Format.IniFormat)
    shell = build_shell(context, settings=settings, run_sync=service_sync(context, today=lambda: today),
                        tray=True, schedule=ScheduleSettings(enabled=False))
    window = shell.window
    if add_widget is not None:
        add_widget(window)
    try:
        notifications = shell.notifications
        assert notifications is not None  # build_shell always makes them
        window.resize(1280, 800)
        window.show()
        # As the app opens its window: the scheduler starts and the notices are computed a first time.
        wait_for_signals([notifications.gathered], shell.start, START_TIMEOUT)
        if not QTest.qWaitForWindowExposed(window, 30000):
            raise TimeoutError("the window was not exposed within 30 s")
        companies: Any = window.view("companies")
        wait_until(lambda: companies.model.rowCount() > 0, 30, "the Companies list")
        # The list the person clicks in is on screen: its first paint (every visible cell asks the Python
        # model for its data) is not the sync's, and measured with it, it stretches under the workers'
        # load from ~20 ms to ~100 ms.
        painted = PaintCounter(companies.table.viewport())
        companies.table.viewport().update()  # painted again if its first paint came before the counter
        wait_until(lambda: painted.count > 0, 30, "the Companies list's first paint")
        ended: list[float] = []
        shell.sync.finished.connect(lambda *_: ended.append(time.perf_counter()))
        # The heap of whatever ran before in this process (a test runner's earlier tests) is not the window's:
        # set it aside, so that a full collection during the sync costs what it would in seatsync's own process.
        gc.collect()
        gc.freeze()
        probe = Probe()
        probe.start()
        try:
            toolbar: Any = window.findChild(QToolBar, "mainToolbar")
            button = toolbar.widgetForAction(window.sync_action)
            finished, _, _ = wait_for_signals(
                [shell.sync.finished, notifications.gathered, companies.loaded],
                lambda: QTest.mouseClick(button, Qt.MouseButton.LeftButton), SYNC_TIMEOUT)
        finally:
            probe.stop()
        shell.tasks.wait_idle()  # the views' loads after the sync: the repaint is measured alone
        paint_ms = repaint_ms(companies.table.viewport())
    finally:
        gc.unfreeze()
        window.quitting = True
        window.close()
        shell.shutdown()
    _, summary, error = finished
    return ProbeRun(tenants=tenants, latency=latency, probe=probe, summary=summary, error=error, ended=ended,
                    paint_ms=paint_ms)


def repaint_ms(widget: Any, times: int = 20) -> float:
    """The median of ``times`` synchronous repaints of ``widget``, in ms."""
    took = []
    for _ in range(times):
        started = time.perf_counter()
        widget.repaint()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)


# -- command line ----------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=TENANTS, help=f"tenants of the world (default {TENANTS})")
    parser.add_argument("--latency", type=float, default=LATENCY,
                        help=f"seconds added to every request (default {LATENCY})")
    parser.add_argument("--today", type=date.fromisoformat, default=BENCH_DAY, metavar="YYYY-MM-DD",
                        help=f"the day the sync runs on (default {BENCH_DAY})")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before the application exists
    import keyring
    from PySide6.QtWidgets import QApplication

    from app.bootstrap import open_context
    from app.services.secrets import MemoryKeyring

    _app = QApplication.instance() or QApplication([sys.argv[0]])  # the window needs one, kept to the end
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    with tempfile.TemporaryDirectory(prefix="seatsync-ui-probe-") as tmp, \
            sandboxes(Path(tmp), tenants=args.tenants, latency=args.latency, today=args.today) as served:
        data_dir, ca, secrets = served
        for (service, username), secret in secrets.items():
            backend.set_password(service, username, secret)
        context = open_context(data_dir, ca_file=ca)
        try:
            run = measure(context, window_ini=Path(tmp) / "window.ini", latency=args.latency, today=args.today)
        finally:
            context.close()
    print("\n".join(run.lines()))
    if args.json:
        args.json.write_text(json.dumps(run.figures(), indent=2) + "\n", encoding="utf-8")
    return 0 if run.error is None and run.summary is not None else 1


if __name__ == "__main__":
    sys.exit(main())
