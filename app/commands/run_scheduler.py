"""``run-scheduler``: the daily sync without a window, for a server.

Runs until interrupted (Ctrl+C or SIGTERM). The schedule (time of day,
enabled) comes from seatsync's settings; a run missed while this was not
running happens at start.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from datetime import datetime

from app.commands.common import app_context, summary_table

log = logging.getLogger(__name__)
LAST_RUN_KEY = "scheduler.last_run"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run-scheduler", help="run the daily sync without a window (for a server)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.services.scheduler import ScheduleSettings, SyncScheduler
    from app.services.sync.service import SyncService

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()
    with app_context() as context:
        service = SyncService(context)

        def sync(target: str):  # noqa: ANN202 - on a scheduler thread
            summary = service.sync(None if target == "*" else int(target), actor="scheduler", trigger="schedule")
            print(summary_table(summary), flush=True)
            return summary

        settings = ScheduleSettings(enabled=context.settings.sync_enabled, daily_at=context.settings.sync_time)
        last = context.runs.last_finished(trigger="schedule")
        # The scheduled run records itself in the runs table: that is the last run.
        scheduler = SyncScheduler(sync, settings=settings, last_run=lambda: last.finished_at if last else None,
                                  set_last_run=lambda when: None,
                                  now=lambda: datetime.now().astimezone())
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        scheduler.start()
        log.info("scheduler running; next sync at %s", scheduler.next_run())
        stop.wait()
        scheduler.shutdown(wait=True)
    return 0
