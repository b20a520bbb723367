"""The Settings view against the ConnectWise sandbox: add a connection with wrong keys, then the right ones."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from app.services.secrets import psa_secret_key
from app.services.settings import ApprovalPolicy
from app.ui.dialogs.connection import PsaConnectionDialog, SecretField
from app.ui.views.settings import COL_COMPANIES, COL_PRODUCTS, SettingsView
from tests.ui.admin_support import closed, context, cw_sandbox, cw_server, tasks, tls, widget_texts  # noqa: F401


def type_into(qtbot, widget: QLineEdit | SecretField, text: str) -> None:
    edit = widget.edit if isinstance(widget, SecretField) else widget
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def open_add_dialog(qtbot, view: SettingsView) -> PsaConnectionDialog:
    qtbot.mouseClick(view.connections.add_button, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    assert isinstance(dialog, PsaConnectionDialog)
    qtbot.waitExposed(dialog)
    return dialog


def fill_connectwise(qtbot, dialog: PsaConnectionDialog, url: str, private_key: str) -> None:
    dialog.kind.setCurrentIndex(dialog.kind.findData("connectwise"))
    type_into(qtbot, dialog.name, "Main PSA")
    for name, value in (("site", url), ("company_id", "seatsync"), ("public_key", "sandbox-public"),
                        ("private_key", private_key), ("client_id", "seatsync-tests")):
        type_into(qtbot, dialog.field(name), value)


def test_wrong_keys_are_named_and_nothing_is_saved_then_right_keys_save_and_cache(qtbot, qtmodeltester, context,  # noqa: F811 - admin_support's fixtures
                                                                                  tasks, cw_server):  # noqa: F811
    view = SettingsView(context, tasks)
    qtbot.addWidget(view)
    view.show()
    dialog = open_add_dialog(qtbot, view)
    fill_connectwise(qtbot, dialog, cw_server.url, "not-the-key")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message.level == "error", timeout=10000)
    assert "refused the API keys" in dialog.message.text()
    assert "public and private keys" in dialog.message.text()
    assert dialog.isVisible()
    assert context.uow.psa_connections.all() == []
    assert dialog.field("site").text() == cw_server.url  # the typed values are kept

    type_into(qtbot, dialog.field("private_key"), "sandbox-private")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10000)
    qtbot.waitUntil(lambda: view.message.level == "ok" and "Read 3 companies" in view.message.text(),
                    timeout=10000)
    [record] = context.uow.psa_connections.all()
    assert record.settings["site"] == cw_server.url
    assert "private_key" not in record.settings
    assert context.secrets.get(psa_secret_key(record.id, "private_key")) == "sandbox-private"
    assert sorted(c.name for c in context.uow.companies.all()) == ["Contoso Ltd", "Fabrikam Inc", "Northwind Traders"]
    assert len(context.uow.catalog.products(record.id)) == 4
    assert context.uow.catalog.agreement_types(record.id) == ["Managed Services"]
    qtbot.waitUntil(lambda: view.connections.model.rowCount() == 1
                    and view.connections.model.row(0).companies == 3)
    model = view.connections.model
    qtmodeltester.check(model)
    assert model.index(0, COL_COMPANIES).data() == "3"
    assert model.index(0, COL_PRODUCTS).data() == "4"
    view.grab().save("/tmp/settings-connections.png")


def test_missing_client_id_is_named(qtbot, context, tasks, cw_server):  # noqa: F811
    view = SettingsView(context, tasks)
    qtbot.addWidget(view)
    dialog = open_add_dialog(qtbot, view)
    fill_connectwise(qtbot, dialog, cw_server.url, "sandbox-private")
    type_into(qtbot, dialog.field("client_id"), "")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message.level == "error", timeout=10000)
    assert "needs: Client ID" in dialog.message.text()


def test_a_member_without_permission_is_told_which(qtbot, context, tasks, cw_server, cw_sandbox):  # noqa: F811
    cw_sandbox.deny("sandbox-public", "Procurement > Product Catalog", "inquire")
    view = SettingsView(context, tasks)
    qtbot.addWidget(view)
    dialog = open_add_dialog(qtbot, view)
    fill_connectwise(qtbot, dialog, cw_server.url, "sandbox-private")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message.level == "error", timeout=10000)
    assert "needs Inquire level on Procurement > Product Catalog" in dialog.message.text()


def test_editing_shows_the_secret_as_set_and_keeps_it_unless_replaced(qtbot, context, tasks, cw_server):  # noqa: F811
    record = context.uow.psa_connections.create(kind="connectwise", name="Main",
                                            settings={"site": cw_server.url, "company_id": "seatsync",
                                                      "public_key": "sandbox-public", "client_id": "c"})
    context.secrets.set(psa_secret_key(record.id, "private_key"), "sandbox-private")
    view = SettingsView(context, tasks)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.connections.model.rowCount() == 1)
    view.connections.table.selectRow(0)
    qtbot.mouseClick(view.connections.edit_button, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    secret = dialog.field("private_key")
    assert secret.status.isVisible() and not secret.edit.isVisible()
    assert secret.edit.text() == ""
    type_into(qtbot, dialog.field("client_id"), "seatsync-tests")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10000)
    qtbot.waitUntil(lambda: view.message.level == "ok", timeout=10000)  # the catalog was read
    assert context.uow.psa_connections.get(record.id).settings["client_id"] == "seatsync-tests"
    assert context.secrets.get(psa_secret_key(record.id, "private_key")) == "sandbox-private"


def test_schedule_policy_overrides_caps_and_notifications_are_saved(qtbot, context, tasks, cw_server):  # noqa: F811
    from app.services.psa.port import PsaCompany

    connection = context.uow.psa_connections.create(kind="connectwise", name="Main", settings={})
    context.uow.companies.replace(connection.id, [PsaCompany(id="250", name="Contoso Ltd"),
                                              PsaCompany(id="251", name="Fabrikam Inc")])
    view = SettingsView(context, tasks)
    qtbot.addWidget(view)
    view.show()
    page = view.sync_page
    qtbot.waitUntil(lambda: page.override_company.count() == 2)
    view.tabs.setCurrentWidget(page)
    page.sync_time.setTime(page.sync_time.time().fromString("07:30", "HH:mm"))
    page.policy.setCurrentIndex(page.policy.findData(ApprovalPolicy.HOLD_DECREASES))
    page.override_company.setCurrentIndex(page.override_company.findText("Fabrikam Inc"))
    page.override_policy.setCurrentIndex(page.override_policy.findData(ApprovalPolicy.HOLD_ALL))
    qtbot.mouseClick(page.add_override_button, Qt.MouseButton.LeftButton)
    page.max_seats.clear()
    qtbot.keyClicks(page.max_seats, "10")
    page.max_operations.clear()  # empty: no cap
    notes = view.notifications_page
    notes.kinds[next(iter(notes.kinds))].setChecked(False)
    notes.webhook.setChecked(True)
    qtbot.keyClicks(notes.webhook_url_field.edit, "https://hooks.example/T000/secret-token")
    view.grab().save("/tmp/settings-sync.png")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.message.level in ("ok", "error"), timeout=10000)
    assert view.message.level == "ok", view.message.text()
    s = context.settings
    assert s.sync_time.strftime("%H:%M") == "07:30"
    assert s.approval_policy() is ApprovalPolicy.HOLD_DECREASES
    fabrikam, contoso = (str(context.uow.companies.by_psa_id(connection.id, psa_id).id) for psa_id in ("251", "250"))
    assert s.approval_policy(fabrikam) is ApprovalPolicy.HOLD_ALL
    assert s.approval_policy(contoso) is ApprovalPolicy.HOLD_DECREASES
    assert s.max_seats_change_per_line == 10
    assert s.max_operations_per_run is None
    assert s.notifications.webhook_enabled and s.notifications.tray_muted == ("unmapped_license",)
    assert s.webhook_url() == "https://hooks.example/T000/secret-token"
    view.tabs.setCurrentWidget(notes)
    assert notes.webhook_url_field.status.isVisible()  # shown as set, never shown back
    assert not notes.webhook_url_field.edit.isVisible()
    assert "secret-token" not in notes.webhook_url_field.edit.text()
    view.grab().save("/tmp/settings-notifications.png")


def test_invalid_notification_settings_are_refused_with_the_reason(qtbot, context, tasks):  # noqa: F811
    view = SettingsView(context, tasks)
    qtbot.addWidget(view)
    notes = view.notifications_page
    qtbot.waitUntil(lambda: notes.smtp_port.text() == "587")
    notes.email.setChecked(True)
    qtbot.keyClicks(notes.smtp_host, "smtp.example.com")
    qtbot.keyClicks(notes.email_from, "not an address")
    qtbot.mouseClick(notes.save_button, Qt.MouseButton.LeftButton)
    assert view.message.level == "error"
    assert "'not an address' is not an e-mail address" in view.message.text()
    assert notes.smtp_host.text() == "smtp.example.com"  # nothing typed is lost
    assert context.settings.notifications.email_enabled is False


# -- Microsoft, and no secret anywhere ------------------------------------------------------------

CANARY_PSA = "canary-psa-7f3a9c1e5d"
CANARY_MS = "canary-ms-2b8e6d4f0a"
CANARY_WRONG = "canary-wrong-91c4e7"


def fill_microsoft(qtbot, dialog, scenario, server, secret: str) -> None:
    type_into(qtbot, dialog.client_id, scenario.client_id)
    type_into(qtbot, dialog.partner_tenant_id, scenario.partner_tenant_id)
    if not dialog.secret.edit.isVisible():
        qtbot.mouseClick(dialog.secret.replace_button, Qt.MouseButton.LeftButton)
    type_into(qtbot, dialog.secret, secret)
    dialog.advanced.setChecked(True)
    for edit in (dialog.authority_url, dialog.graph_url, dialog.partner_center_url):
        type_into(qtbot, edit, server.url)




def test_canary_secrets_reach_no_widget_no_database_and_no_log(qtbot, context, tasks, cw_server, cw_sandbox,  # noqa: F811
                                                                caplog, data_dir):
    import logging

    from app.sandbox.microsoft import MicrosoftSandbox, generate
    from app.sandbox.server import SandboxServer
    from app.ui.app import start_logging

    caplog.set_level(logging.DEBUG)
    log_dir = data_dir / "logs"
    log_dir.mkdir()
    handler = start_logging(log_dir)
    logging.getLogger().setLevel(logging.DEBUG)
    cw_sandbox.add_member("canary-public", CANARY_PSA)
    scenario = generate(3, seed=5)
    scenario.client_secret = CANARY_MS
    try:
        with SandboxServer(MicrosoftSandbox(scenario), tls=cw_server.tls) as ms_server:
            view = SettingsView(context, tasks)
            qtbot.addWidget(view)
            view.show()
            dialog = open_add_dialog(qtbot, view)
            fill_connectwise(qtbot, dialog, cw_server.url, CANARY_WRONG)
            type_into(qtbot, dialog.field("public_key"), "canary-public")
            qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: dialog.message.level == "error", timeout=10000)
            assert CANARY_WRONG not in dialog.message.text()
            type_into(qtbot, dialog.field("private_key"), CANARY_PSA)
            qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: closed(dialog), timeout=10000)
            qtbot.waitUntil(lambda: "Read 3 companies" in view.message.text(), timeout=10000)
            qtbot.waitUntil(lambda: view.connections.model.rowCount() == 1)
            view.connections.table.selectRow(0)
            qtbot.mouseClick(view.connections.test_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: view.message.level in ("ok", "error") and "Testing" not in view.message.text(),
                            timeout=10000)
            assert "'Main PSA' works" in view.message.text(), view.message.text()

            qtbot.mouseClick(view.connections.microsoft_button, Qt.MouseButton.LeftButton)
            ms_dialog = view.dialog
            fill_microsoft(qtbot, ms_dialog, scenario, ms_server, CANARY_WRONG)
            qtbot.mouseClick(ms_dialog.test_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: ms_dialog.message.level == "error", timeout=10000)
            assert "client secret is wrong" in ms_dialog.message.text()
            assert "AADSTS7000215" in ms_dialog.message.text()
            type_into(qtbot, ms_dialog.secret, CANARY_MS)
            qtbot.mouseClick(ms_dialog.test_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: "Asking" not in ms_dialog.message.text(), timeout=10000)
            assert "Partner Center lists 3 customer(s)" in ms_dialog.message.text()
            ms_dialog.grab().save("/tmp/settings-microsoft.png")
            qtbot.mouseClick(ms_dialog.save_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: closed(ms_dialog), timeout=10000)
            qtbot.waitUntil(lambda: "Saved 'Microsoft partner'" in view.message.text(), timeout=10000)
            qtbot.waitUntil(lambda: view.connections.microsoft_model.rowCount() == 1, timeout=10000)
            qtbot.mouseClick(view.connections.microsoft_test_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: "Partner Center lists 3" in view.message.text(), timeout=10000)
            secret = view.connections.microsoft_model.index(0, 4).data()
            assert secret == "set", secret
            qtbot.wait(10)  # let deleted dialogs go
            view.grab().save("/tmp/settings-connected.png")
            texts = "\n".join(widget_texts())
            assert "Client ID" in texts or scenario.client_id in texts  # the walk does see the widgets
            for canary in (CANARY_PSA, CANARY_MS, CANARY_WRONG):
                assert canary not in texts
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    assert context.secrets.get(psa_secret_key(context.uow.psa_connections.all()[0].id, "private_key")) == CANARY_PSA
    stored = b"".join(p.read_bytes() for p in data_dir.glob("seatsync.db*"))
    assert b"canary-public" in stored  # the database is really read
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records) + \
        "".join(p.read_text(encoding="utf-8") for p in log_dir.glob("*.log*"))
    from app.services.review.reports import write_csv

    exported = write_csv(context.reports.reconcile(), data_dir / "reconciliation.csv").read_text()
    audit = "\n".join(repr(entry) for entry in context.uow.audit.query())
    assert exported.strip()  # the export was written (its header at least)
    for canary in (CANARY_PSA, CANARY_MS, CANARY_WRONG):
        assert canary.encode() not in stored
        assert canary not in logged
        assert canary not in exported and canary not in audit


def test_refreshing_keeps_settings_typed_but_not_saved(qtbot, context, tasks):  # noqa: F811
    view = SettingsView(context, tasks)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.loaded is not None)
    assert not view.preferences_edited()
    view.sync_page.max_seats.setValue(7)
    assert view.preferences_edited()
    view.refresh()  # e.g. after a connection was saved
    tasks.wait_idle()
    qtbot.wait(20)
    assert view.sync_page.max_seats.value() == 7
    qtbot.mouseClick(view.sync_page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.message.level == "ok", timeout=15000)
    assert context.settings.max_seats_change_per_line == 7 and not view.preferences_edited()
