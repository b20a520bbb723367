"""The window offers only what the connected database user's role may do, and says which role the rest needs.

Each test opens the window's services as a login user of one role on a
team database (the roles of tests/team/test_roles.py) and reads the real
widgets: enabled or not, and the tooltip naming the role needed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox

from app.billing.types import Agreement, BillingProfile, Product
from app.bootstrap import open_context
from app.models import close_database, open_database
from app.services.container import Services
from app.services.customers.company_rows import MappingChoices, MappingInputs, Target
from app.services.sync.service import RunSummary
from app.services.team.location import ENVIRONMENT
from app.services.team.roles import Role, add_user, init_roles
from app.ui.tasks import Tasks
from tests.ui.seed import SPB, TODAY, lic

pytestmark = pytest.mark.postgresql


@pytest.fixture
def open_as(postgres_server, data_dir, monkeypatch) -> Iterator:
    """Open the services as a new login user of a role, on a team database of the test's own."""
    url = postgres_server.new_database()
    dbname = url.rsplit("/", 1)[1]
    database = open_database(url)
    try:
        init_roles(database)
    finally:
        close_database()
    opened: list[Services] = []

    def open_with(role: Role) -> Services:
        login = f"{dbname}_{role.value}"
        database = open_database(url)
        try:
            add_user(database, login, role, None)
        finally:
            close_database()
        monkeypatch.setenv(ENVIRONMENT, postgres_server.url(dbname, login))
        context = open_context(data_dir)
        opened.append(context)
        return context

    yield open_with
    for context in opened:
        context.close()


@pytest.fixture
def tasks(qtbot) -> Iterator[Tasks]:
    tasks = Tasks()
    yield tasks
    tasks.wait_idle()
    QApplication.processEvents()


def test_a_technician_sees_approve_and_reject_disabled_saying_billing_may(qtbot, open_as, tasks):
    from app.ui.views.approvals import ApprovalsView

    view = ApprovalsView(open_as(Role.TECHNICIAN), tasks)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.summary.text() != "Reading…")
    for button in (view.approve_button, view.reject_button):
        assert not button.isEnabled()
        assert button.toolTip() == "Approving or rejecting held changes needs the billing role (you are a technician)."


def test_billing_may_approve(qtbot, open_as, tasks):
    from app.ui.views.approvals import ApprovalsView

    view = ApprovalsView(open_as(Role.BILLING), tasks)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.summary.text() != "Reading…")
    assert view.approve_button.isEnabled() and view.reject_button.isEnabled()
    assert view.approve_button.toolTip() == ""


def test_a_technician_may_not_edit_profiles_exclusions_settings_or_connections(qtbot, open_as, tasks):
    from app.ui.views.exclusions import ExclusionsView
    from app.ui.views.profiles import ProfilesView
    from app.ui.views.settings import SettingsView

    context = open_as(Role.TECHNICIAN)
    profiles, exclusions, settings = (ProfilesView(context, tasks), ExclusionsView(context, tasks),
                                      SettingsView(context, tasks))
    for view in (profiles, exclusions, settings):
        qtbot.addWidget(view)
    mapping = "Mapping licenses, billing profiles and exclusions needs the billing role (you are a technician)."
    for button in (profiles.new_button, profiles.bulk_button, profiles.delete_button, profiles.editor.save_button,
                   exclusions.add_button, exclusions.remove_button):
        assert not button.isEnabled() and button.toolTip() == mapping, button.text()
    page = settings.connections
    for button in (page.add_button, page.edit_button, page.remove_button, page.microsoft_button):
        assert not button.isEnabled() and "needs the owner role" in button.toolTip(), button.text()
    for button in (settings.sync_page.save_button, settings.notifications_page.save_button):
        assert not button.isEnabled() and "needs the billing role" in button.toolTip()
    assert page.refresh_button.isEnabled() and page.test_button.isEnabled()  # a sync reads the catalogue too


def test_billing_may_edit_settings_but_not_connections(qtbot, open_as, tasks):
    from app.ui.views.settings import SettingsView

    view = SettingsView(open_as(Role.BILLING), tasks)
    qtbot.addWidget(view)
    assert view.sync_page.save_button.isEnabled() and view.notifications_page.save_button.isEnabled()
    assert not view.connections.add_button.isEnabled()
    view.edit_psa(None)  # a double-click on the list opens nothing either
    assert view.dialog is None and "needs the owner role" in view.message.text()


def mapping_inputs() -> MappingInputs:
    """Business Premium in one tenant, one profile and one agreement to map it with."""
    profile = BillingProfile(id="1", name="M365 BP", product=Product(id="p1", identifier="M365-BP", price="22.00"))
    return MappingInputs(
        target=Target(company_id=1, tenant_id="t1", sku_id=SPB),
        licenses=(lic(SPB, "Microsoft 365 Business Premium", 16, 14),), users=None, users_note="", lines=(),
        choices=MappingChoices(profiles=(profile,), agreements=(Agreement(id="a1", company_id="c1", name="M365"),)),
        existing=None, today=TODAY)


@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.BILLING])
def test_the_mapping_dialog_saves_only_with_the_billing_role(qtbot, role):
    from app.ui.dialogs.mapping import MappingDialog

    dialog = MappingDialog(None, mapping_inputs(), role=role)
    qtbot.addWidget(dialog)
    dialog.profile.setCurrentIndex(1)
    dialog.update_preview()
    assert dialog.problems() == []
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    assert save.isEnabled() is role.may_map
    assert ("needs the billing role" in save.toolTip()) is not role.may_map
    dialog.accept()
    assert (dialog.result() == QDialog.DialogCode.Accepted) is role.may_map


@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.OWNER])
def test_the_quick_map_editor_is_disabled_without_the_billing_role(qtbot, role):
    from PySide6.QtGui import QStandardItemModel
    from PySide6.QtWidgets import QStyleOptionViewItem, QWidget

    from app.ui.views.license_model import CHOICES_ROLE
    from app.ui.views.quick_map import QuickMapDelegate

    parent = QWidget()
    qtbot.addWidget(parent)
    model = QStandardItemModel(1, 1)
    model.setData(model.index(0, 0), mapping_inputs().choices, CHOICES_ROLE)
    delegate = QuickMapDelegate(parent, role=role)
    chosen: list[object] = []
    delegate.mapping_chosen.connect(lambda *args: chosen.append(args))
    editor = delegate.createEditor(parent, QStyleOptionViewItem(), model.index(0, 0))
    assert editor.isEnabled() is role.may_map
    assert ("needs the billing role" in editor.toolTip()) is not role.may_map
    editor.profile.setCurrentIndex(1)
    editor.profile.activated.emit(1)  # as a click on the profile: its one agreement is chosen with it
    assert editor.value() == ("1", "a1")
    delegate.setModelData(editor, model, model.index(0, 0))
    assert bool(chosen) is role.may_map


def test_a_viewers_window_cannot_sync_and_says_who_is_connected(qtbot, open_as, tmp_path):
    from app.ui.app import build_shell

    context = open_as(Role.VIEWER)
    calls: list[str] = []

    def run_sync(target: str, **_: object) -> RunSummary:
        calls.append(target)
        return RunSummary(results=())

    assert context.settings.sync_enabled  # the team's daily sync is on
    shell = build_shell(context, settings=QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat),
                        run_sync=run_sync, tray=False)
    qtbot.addWidget(shell.window)
    try:
        window = shell.window
        assert shell.sync.next_run() is None  # a viewer's desktop schedules no sync: the database would refuse it
        assert not window.sync_action.isEnabled()
        assert window.sync_action.toolTip().startswith("Syncing needs the technician role (you are a viewer).")
        window.sync_now()
        assert calls == [] and "technician role" in window.status.text()
        assert window.connected_as.text() == f"Connected as {context.database_user.user} (viewer)"
    finally:
        shell.window.quitting = True
        shell.window.close()
        shell.shutdown()


def test_a_viewers_company_page_offers_no_sync(qtbot, open_as, tasks):
    from app.ui.views.company import CompanyView

    view = CompanyView(open_as(Role.VIEWER), tasks)
    qtbot.addWidget(view)
    assert not view.sync_button.isEnabled()
    assert view.sync_button.toolTip() == "Syncing needs the technician role (you are a viewer)."


def test_a_technicians_company_page_offers_no_mapping_change(qtbot, open_as, tasks):
    from app.ui.views.company import CompanyView

    view = CompanyView(open_as(Role.TECHNICIAN), tasks)
    qtbot.addWidget(view)
    assert view.sync_button.isEnabled()  # a technician syncs
    assert view.quick_map.role is Role.TECHNICIAN
    for button in (view.split_button, view.merge_button, view.exclude_button, view.unmap_button):
        assert not button.isEnabled() and "needs the billing role" in button.toolTip(), button.text()


def test_a_technician_may_not_add_tenants_move_them_or_map_in_bulk(qtbot, open_as, tasks):
    from app.ui.views.access import AccessView
    from app.ui.views.companies import CompaniesView

    context = open_as(Role.TECHNICIAN)
    companies, access = CompaniesView(context, tasks), AccessView(context, tasks)
    for view in (companies, access):
        qtbot.addWidget(view)
    tenants = "Adding customer tenants, or moving them to another partner connection needs the billing role (you " \
              "are a technician)."
    for button in (companies.add_button, access.move_button):
        assert not button.isEnabled() and button.toolTip() == tenants, button.text()
    assert not companies.bulk_button.isEnabled() and "needs the billing role" in companies.bulk_button.toolTip()
    assert access.check_button.isEnabled()  # a technician checks consent, as each sync records it
