"""Cancel sync: on only while a sync runs, asks the sync gateway once, says "Cancelling…" until the sync has
finished."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt

from app.ui.main_window import CANCELLING, sync_summary_text
from tests.ui.conftest import applied_summary


def click(qtbot, window) -> None:
    qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)


def test_cancel_is_on_only_while_a_sync_runs_and_asks_once(qtbot, contoso, make_shell, fake_sync):
    fake_sync.summary = applied_summary(contoso.tenant, "Contoso Dental", contoso.m365.id, contoso.bp.product.id)
    fake_sync.gate = threading.Event()
    shell = make_shell()
    window = shell.window
    window.show()
    qtbot.waitExposed(window)
    assert window.cancel_button.text() == "Cancel sync" and window.cancel_button.isVisible()
    assert not window.cancel_button.isEnabled()
    with qtbot.assertNotEmitted(shell.sync.cancelling_changed):
        click(qtbot, window)  # nothing runs: nothing to cancel
    with qtbot.waitSignal(shell.sync.progressed, timeout=15000):
        shell.sync.sync_now("*")
    assert window.cancel_button.isEnabled() and not window.sync_action.isEnabled()
    with qtbot.waitSignal(shell.sync.cancelling_changed, timeout=1000):
        click(qtbot, window)
    assert window.status.text().startswith("Cancelling") and not window.cancel_button.isEnabled()
    with qtbot.assertNotEmitted(shell.sync.cancelling_changed):
        window.cancel_action.trigger()  # a second click (or F-key, or menu) asks nothing more
    said = window.status.text()
    window.on_sync_progress("*", "1 tenant done · Contoso Dental")
    assert window.status.text() == said  # progress does not hide that it is stopping
    with qtbot.waitSignal(shell.sync.finished, timeout=15000):
        fake_sync.gate.set()
    assert not window.cancel_button.isEnabled() and window.sync_action.isEnabled()
    assert window.status.text() == "Sync cancelled. Synced 1 tenant(s): 1 change(s) written"


def test_a_sync_that_ends_without_cancel_turns_cancel_off(qtbot, contoso, make_shell, fake_sync):
    fake_sync.summary = applied_summary(contoso.tenant, "Contoso Dental", contoso.m365.id, contoso.bp.product.id)
    shell = make_shell()
    window = shell.window
    with qtbot.waitSignal(shell.sync.started, timeout=15000) as started, \
            qtbot.waitSignal(shell.sync.finished, timeout=15000):
        shell.sync.sync_now("*")
    assert started.args == ["*"]
    assert not window.cancel_action.isEnabled()
    assert window.status.text() == "Synced 1 tenant(s): 1 change(s) written"


def test_cancel_stays_until_the_last_sync_has_finished(qtbot, make_shell, monkeypatch):
    window = make_shell().window
    asked: list[bool] = []
    monkeypatch.setattr(window.sync, "cancel", lambda: asked.append(True) or True)
    window.on_sync_started("7")
    window.on_sync_started("*")
    window.on_sync_finished("7", None, None, still_busy=True)
    assert window.cancel_action.isEnabled()  # every company's sync still runs
    window.cancel_action.trigger()
    assert asked == [True]
    window.on_sync_finished("*", None, RuntimeError("stopped"), still_busy=True)  # yet another still runs
    assert window.status.text() == CANCELLING and not window.cancel_action.isEnabled()
    window.on_sync_finished("9", None, None, still_busy=False)
    assert not window.cancel_action.isEnabled() and window.status.text() == "Sync cancelled. Sync finished"
    window.on_sync_started("7")  # a new sync can be cancelled again
    assert window.cancel_action.isEnabled() and window.status.text() == "Syncing…"


def test_a_cancelled_run_says_what_was_synced_and_what_was_not():
    from app.services.sync.engine import CANCELLED, Status, TenantResult
    from app.services.sync.service import RunSummary

    done = TenantResult(tenant_id="t1", name="Contoso Dental", status=Status.OK)
    left = [TenantResult(tenant_id=f"t{n}", status=Status.FAILED, error=f"not synced: {CANCELLED}",
                         not_synced=CANCELLED) for n in (2, 3)]
    failed = TenantResult(tenant_id="t4", status=Status.FAILED, error="the PSA refused")
    assert sync_summary_text(RunSummary(results=(done, failed, *left)), None) == (
        "Sync cancelled. Synced 2 tenant(s): 0 change(s) written, 1 failed, 2 not synced")


def test_the_sync_menu_offers_sync_now_and_cancel(qtbot, make_shell):
    window = make_shell().window
    menus = {action.text(): action.menu() for action in window.menuBar().actions()}
    assert list(menus) == ["&View", "&Sync", "&Help"]
    assert menus["&Sync"].actions() == [window.sync_action, window.cancel_action]
