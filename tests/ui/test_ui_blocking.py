"""How long the UI thread is ever blocked while the window syncs 200 tenants against slow sandboxes.

A measurement, not a timed test (DESIGN §7): benchmarks/ui_probe.py runs the
window's "Sync now" through its real path (toolbar, sync gateway, scheduler,
SyncService) against the Microsoft and ConnectWise sandboxes, served by a
process of their own, with 50 ms of latency on every request, while a 5 ms
timer on the UI thread records when it ticks; the longest gap between two
ticks is how long the UI could not answer. This test runs that measurement
and prints its figures; it asserts only that the sync finished and the
probe ran (``make bench``'s sync_now_bench runs the same probe and reports
its longest block).
"""

from __future__ import annotations

import pytest

from app.bootstrap import open_context
from benchmarks import ui_probe

TENANTS = ui_probe.TENANTS
LATENCY = ui_probe.LATENCY


@pytest.fixture
def sandboxes(tmp_path, memory_keyring):
    """The sandboxes in a process of their own, seatsync's data configured for them: (data dir, CA file)."""
    with ui_probe.sandboxes(tmp_path, tenants=TENANTS, latency=LATENCY) as (data_dir, ca_file, secrets):
        for (service, username), secret in secrets.items():
            memory_keyring.set_password(service, username, secret)
        yield data_dir, ca_file


@pytest.mark.slow
def test_the_ui_thread_stays_responsive_while_200_tenants_sync(qtbot, tmp_path, sandboxes, capsys):
    data_dir, ca_file = sandboxes
    context = open_context(data_dir, ca_file=ca_file)
    try:
        tenants = len(context.uow.tenants.all())
        run = ui_probe.measure(context, window_ini=tmp_path / "window.ini", latency=LATENCY,
                               add_widget=qtbot.addWidget)
    finally:
        context.close()

    assert run.error is None and run.summary is not None
    assert run.tenants == tenants and len(run.summary.results) == tenants and run.summary.writes > 0
    assert run.ended  # the window heard that the sync finished
    assert len(run.probe.ticks) > 100  # the probe ran all along
    with capsys.disabled():
        print("\n" + "\n".join(run.lines()))
