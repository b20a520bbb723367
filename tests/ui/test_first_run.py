"""The first-run guide: shown on an install with nothing set up, the steps in order with their state, a button
to where each is done, "Set-up complete" at the end, and Help > Set-up guide to see it again."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.billing.types import Mapping
from app.models.records import MicrosoftConnectionRecord
from app.services import setup_guide
from app.ui.dialogs.connection import MicrosoftDialog, PsaConnectionDialog
from app.ui.dialogs.onboarding import AddCompaniesDialog
from app.ui.views.companies_model import Filter
from tests.ui.seed import SPB, Seed

ORDER = ["psa", "profiles", "microsoft", "companies", "mappings", "preview"]


def shown(qtbot, shell):
    window = shell.window
    window.show()
    qtbot.waitExposed(window)
    return window


def read(qtbot, window) -> None:
    """Wait for the guide's answer to a read of the steps."""
    qtbot.waitUntil(lambda: window.guide.guide is not None and not window._guide_reading, timeout=15000)


def states(window) -> dict[str, str]:
    return {key: window.guide.state_of(key) for key in ORDER}


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_a_fresh_install_shows_the_guide_in_order_with_the_psa_next_and_nothing_blocked(qtbot, make_shell):
    window = shown(qtbot, make_shell())
    read(qtbot, window)
    assert window.guide_box.isVisible()
    assert [window.guide.rows[k].title.text() for k in ORDER] == [
        "Connect your PSA", "Create billing profiles", "Connect Microsoft", "Add companies", "Map licenses",
        "Preview the first sync"]
    assert states(window) == {"psa": "Next", "profiles": "To do", "microsoft": "To do", "companies": "To do",
                              "mappings": "To do", "preview": "To do"}
    assert window.guide.progress.text() == "0 of 6 steps done"
    assert QApplication.activeModalWidget() is None  # a panel beside the views, not a dialog
    window.navigate("history")  # the views stay usable with the guide open
    assert window.current_key() == "history" and window.guide_box.isVisible()


def test_the_steps_are_read_on_a_worker(qtbot, make_shell, monkeypatch):
    threads = []
    real = setup_guide.read_guide
    monkeypatch.setattr(setup_guide, "read_guide", lambda *a, **kw: threads.append(threading.current_thread())
                        or real(*a, **kw))
    window = make_shell().window
    read(qtbot, window)
    assert threads and threading.main_thread() not in threads


def test_connect_psa_opens_the_connection_dialog_in_settings(qtbot, make_shell):
    window = shown(qtbot, make_shell())
    read(qtbot, window)
    click(qtbot, window.guide.rows["psa"].button)
    settings = window.view("settings")
    assert window.current_key() == "settings"
    qtbot.waitUntil(lambda: isinstance(settings.dialog, PsaConnectionDialog) and settings.dialog.isVisible(),
                    timeout=3000)
    settings.dialog.reject()
    click(qtbot, window.guide.rows["microsoft"].button)
    qtbot.waitUntil(lambda: isinstance(settings.dialog, MicrosoftDialog) and settings.dialog.isVisible(),
                    timeout=3000)
    settings.dialog.reject()


def test_each_step_moves_on_when_its_work_is_saved(qtbot, context, make_shell):
    shell = make_shell()
    window = shown(qtbot, shell)
    read(qtbot, window)
    seed = Seed(context)  # a PSA connection, with a name that looks like markup
    context.uow.psa_connections.update(seed.connection_id, name="Main <b>office</b>")
    shell.tasks.run(lambda: None)  # any work settling reads the steps again
    qtbot.waitUntil(lambda: window.guide.state_of("psa") == "✓ Done", timeout=15000)
    assert states(window)["profiles"] == "Next" and window.guide.progress.text() == "1 of 6 steps done"
    detail = window.guide.rows["psa"].detail
    assert detail.text() == "Connected: ConnectWise PSA 'Main <b>office</b>'"
    assert detail.textFormat() == Qt.TextFormat.PlainText

    click(qtbot, window.guide.rows["profiles"].button)
    assert window.current_key() == "profiles"
    profile = seed.profile("M365 BP", identifier="M365-BP", description="Microsoft 365 Business Premium",
                           price="22.00")
    context.uow.microsoft_connections.save(MicrosoftConnectionRecord(id=0, name="Partner", client_id="app",
                                                                 partner_tenant_id="partner-tenant"))
    company = seed.company("Contoso Dental")
    tenant = seed.tenant(company, "Contoso Dental")
    agreement = seed.agreement(company, "Contoso - Managed 365")
    shell.tasks.run(lambda: None)
    qtbot.waitUntil(lambda: states(window)["companies"] == "✓ Done", timeout=15000)
    assert states(window) == {"psa": "✓ Done", "profiles": "✓ Done", "microsoft": "✓ Done",
                              "companies": "✓ Done", "mappings": "Next", "preview": "To do"}
    assert window.guide.rows["companies"].detail.text() == "1 company with a tenant"

    companies = window.view("companies")
    click(qtbot, window.guide.rows["mappings"].button)
    assert window.current_key() == "companies" and companies.stack.currentIndex() == 0
    assert companies.filter_buttons[Filter.UNMAPPED].isChecked()
    context.uow.mappings.save(Mapping(tenant_id=tenant, sku_id=SPB, profile=profile, agreement_id=agreement.id))
    shell.tasks.run(lambda: None)
    qtbot.waitUntil(lambda: states(window)["mappings"] == "✓ Done", timeout=15000)
    assert states(window)["preview"] == "Next"

    click(qtbot, window.guide.rows["preview"].button)
    assert window.current_key() == "reports"
    qtbot.waitUntil(lambda: window.guide.complete, timeout=15000)
    assert window.guide.heading.text() == "Set-up complete"
    assert not window.guide.steps.isVisible() and window.guide_box.isVisible()
    assert window.guide.sizeHint().height() < 80  # collapsed to one line


def test_add_companies_opens_the_bulk_add_dialog(qtbot, context, make_shell):
    Seed(context)
    window = shown(qtbot, make_shell())
    window.show_guide()
    read(qtbot, window)
    click(qtbot, window.guide.rows["companies"].button)
    companies = window.view("companies")
    assert window.current_key() == "companies"
    qtbot.waitUntil(lambda: isinstance(companies.adding, AddCompaniesDialog) and companies.adding.isVisible(),
                    timeout=3000)
    companies.adding.reject()


def test_hide_is_remembered_and_help_shows_the_guide_again(qtbot, context, make_shell, ui_settings):
    Seed(context)  # a PSA connection: the guide is not shown by itself
    window = shown(qtbot, make_shell())
    read(qtbot, window)
    assert not window.guide_box.isVisible()
    help_titles = [a.text() for a in window.help_menu.actions()]
    assert "Set-up guide" in help_titles and "About seatsync" in help_titles
    window.guide_action.trigger()
    assert window.guide_box.isVisible()
    qtbot.waitUntil(lambda: window.guide.state_of("profiles") == "Next", timeout=15000)
    window.close()
    again = shown(qtbot, make_shell())  # left open while set-up is unfinished: open again at the next start
    read(qtbot, again)
    assert again.guide_box.isVisible()
    click(qtbot, again.guide.close_button)
    assert not again.guide_box.isVisible() and not ui_settings.value("guide/open", type=bool)
    again.close()
    third = shown(qtbot, make_shell())
    read(qtbot, third)
    assert not third.guide_box.isVisible()


def test_hidden_before_the_first_read_came_back_it_stays_hidden(qtbot, make_shell):
    window = make_shell().window
    assert window._guide_reading  # the first read is on its way
    window.hide_guide()
    window.show()
    read(qtbot, window)
    assert not window.guide_box.isVisible()


def test_a_failed_read_says_so_in_the_guide(qtbot, make_shell, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk I/O error")

    monkeypatch.setattr(setup_guide, "read_guide", broken)
    window = shown(qtbot, make_shell())
    window.show_guide()
    qtbot.waitUntil(lambda: "Could not read what is set up" in window.guide.progress.text(), timeout=15000)
    assert "disk I/O error" in window.guide.progress.text()
