"""Settings with a Datto Autotask or HaloPSA connection, against each PSA's sandbox over TLS.

The connection form is built from the PSA's declared fields
(app/services/psa/factory.py KINDS); here it is filled by typing, tested
with a wrong secret (the message names the cause), tested and saved with
the right one, and opened again: the secret shows as set, never itself.
The two PSAs side by side with ConnectWise: test_psas_side_by_side.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date

import pytest
from PySide6.QtCore import Qt

from app.sandbox.server import TlsFiles
from app.sandbox.world_psas import PsaSide, make_side
from app.services.psa.factory import KINDS
from app.services.secrets import psa_secret_key
from app.ui.dialogs.connection import PsaConnectionDialog, SecretField
from app.ui.views.settings import (
    COL_ADDRESS,
    COL_COMPANIES,
    COL_KIND,
    COL_PRODUCTS,
    COL_SECRETS,
    SettingsView,
)
from tests.ui.admin_support import closed, context, tasks, tls, widget_texts  # noqa: F401
from tests.ui.test_mapping_dialog import choose
from tests.ui.test_settings import open_add_dialog, type_into

TODAY = date(2026, 3, 1)
COMPANIES = (("Contoso Ltd", "contoso.com"), ("Fabrikam Inc", "fabrikam.com"))
#: What each PSA's refusal of a wrong secret says (app/services/psa/<vendor>/errors.py).
WRONG_SECRET = {
    "autotask": ("Autotask rejected the API credentials", "user name and secret", "HTTP 401"),
    "halopsa": ("HaloPSA rejected the client ID or secret", "Configuration > Integrations > Halo API",
                "not valid"),
}
WRONG = "wrong-secret-4c1d9e"




def start_side(kind: str, tls: TlsFiles, companies=COMPANIES,  # type: ignore[no-untyped-def]  # noqa: F811
               numbered_from: dict[str, int] | None = None) -> tuple[PsaSide, dict[str, str]]:
    """The PSA's sandbox with the world's catalog and one monthly agreement per (name, domain) company,
    served over TLS; and each company's agreement id. ``numbered_from``: the first id of each kind of
    record (the sandbox's own counters), to make two PSAs number their records alike."""
    side = make_side(kind, lambda: TODAY)
    for record_kind, first in (numbered_from or {}).items():
        side.app._ids[record_kind] = itertools.count(first)
    side.add_catalog()
    agreements = {name: side.add_agreement(side.add_company(name, domains=[domain]), start=date(2024, 1, 1))
                  for name, domain in companies}
    side.serve(tls)
    return side, agreements


@pytest.fixture(params=["autotask", "halopsa"])
def side(request, tls) -> Iterator[PsaSide]:  # noqa: F811 - admin_support's session TLS
    running, _ = start_side(request.param, tls)
    yield running
    running.server.stop()


def fill_psa(qtbot, dialog: PsaConnectionDialog, side: PsaSide, name: str, *, secret: str | None = None) -> None:
    """Choose the PSA in the dialog's dropdown and type its fields (``secret``: instead of the right one)."""
    choose(qtbot, dialog.kind, KINDS[side.kind].label)
    type_into(qtbot, dialog.name, name)
    values, secrets = side.settings()
    for field, value in values.items():
        type_into(qtbot, dialog.field(field), value)
    for field, value in secrets.items():
        type_into(qtbot, dialog.field(field), secret or value)


def add_connection(qtbot, view: SettingsView, side: PsaSide, name: str) -> None:
    """Add the side's connection in Settings by typing; wait until its catalog is read."""
    dialog = open_add_dialog(qtbot, view)
    fill_psa(qtbot, dialog, side, name)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10000)
    qtbot.waitUntil(lambda: view.message.text().startswith("Read "), timeout=10000)


def test_a_wrong_secret_is_named_then_the_right_one_is_tested_saved_and_never_shown_back(
        qtbot, qtmodeltester, context, tasks, side):  # noqa: F811
    view = SettingsView(context, tasks)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    dialog = open_add_dialog(qtbot, view)
    fill_psa(qtbot, dialog, side, "Second PSA", secret=WRONG)
    required = [f.label for f in KINDS[side.kind].fields if f.required or f.secret]
    form_labels = [dialog.stack.currentWidget().layout().labelForField(w).text()
                   for w in dialog.fields[side.kind].values()]
    assert all(label in form_labels for label in required), form_labels  # the form is the kind's fields
    dialog.grab().save(f"/tmp/settings-{side.kind}-dialog.png")

    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message.level == "error", timeout=10000)
    for words in WRONG_SECRET[side.kind]:
        assert words in dialog.message.text(), dialog.message.text()
    assert WRONG not in dialog.message.text()
    assert context.uow.psa_connections.all() == []
    secret_name = next(iter(side.settings()[1]))
    secret_field = dialog.field(secret_name)
    assert isinstance(secret_field, SecretField)
    assert secret_field.edit.echoMode() == secret_field.edit.EchoMode.Password

    type_into(qtbot, secret_field, side.settings()[1][secret_name])
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message.level == "ok", timeout=10000)
    assert "The PSA accepted the connection" in dialog.message.text()
    assert context.uow.psa_connections.all() == []  # a test stores nothing

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10000)
    qtbot.waitUntil(lambda: view.message.text().startswith("Read "), timeout=10000)
    assert view.message.text() == "Read 2 companies, 2 agreements, 1 agreement types and 4 products."
    [record] = context.uow.psa_connections.all()
    assert (record.kind, record.name) == (side.kind, "Second PSA")
    assert secret_name not in record.settings
    assert context.secrets.get(psa_secret_key(record.id, secret_name)) == side.settings()[1][secret_name]
    assert sorted(c.name for c in context.uow.companies.all(record.id)) == ["Contoso Ltd", "Fabrikam Inc"]
    assert sorted(p.identifier for p in context.uow.catalog.products(record.id)) == [
        "EXO-P1", "M365-BP", "M365-BS", "M365-E3"]

    model = view.connections.model
    qtbot.waitUntil(lambda: model.rowCount() == 1 and model.row(0).companies == 2, timeout=10000)
    qtmodeltester.check(model)
    shown = {column: model.index(0, column).data() for column in (COL_KIND, COL_ADDRESS, COL_SECRETS,
                                                                  COL_COMPANIES, COL_PRODUCTS)}
    assert shown == {COL_KIND: KINDS[side.kind].label, COL_ADDRESS: side.server.url if side.kind == "halopsa"
                     else record.settings["lookup_url"], COL_SECRETS: "set", COL_COMPANIES: "2",
                     COL_PRODUCTS: "4"}

    # The saved connection works from the list, and its secret is never shown back.
    view.connections.table.selectRow(0)
    qtbot.mouseClick(view.connections.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.message.text() == "'Second PSA' works.", timeout=10000)
    qtbot.mouseClick(view.connections.edit_button, Qt.MouseButton.LeftButton)
    editing = view.dialog
    assert isinstance(editing, PsaConnectionDialog)
    qtbot.waitExposed(editing)
    stored = editing.field(secret_name)
    assert stored.status.isVisible() and not stored.edit.isVisible() and stored.edit.text() == ""
    assert editing.field(next(iter(side.settings()[0]))).text() == next(iter(side.settings()[0].values()))
    editing.grab().save(f"/tmp/settings-{side.kind}-edit.png")
    texts = "\n".join(widget_texts())
    assert "Second PSA" in texts
    assert side.settings()[1][secret_name] not in texts and WRONG not in texts
    qtbot.mouseClick(editing.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(editing), timeout=15000)
    view.grab().save(f"/tmp/settings-{side.kind}.png")


def test_an_empty_required_field_is_named_before_the_psa_is_asked(qtbot, context, tasks, side):  # noqa: F811
    view = SettingsView(context, tasks)
    qtbot.addWidget(view)
    dialog = open_add_dialog(qtbot, view)
    fill_psa(qtbot, dialog, side, "Second PSA")
    first = KINDS[side.kind].fields[0]
    type_into(qtbot, dialog.field(first.name), "")
    before = side.server.request_count()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message.level == "error", timeout=10000)
    assert f"the {KINDS[side.kind].label} connection needs: {first.label}" in dialog.message.text()
    assert side.server.request_count() == before
    assert context.uow.psa_connections.all() == []


def test_an_autotask_connection_on_the_default_zone_lookup_shows_its_api_user_as_address(qtbot, context, tasks):  # noqa: F811
    context.uow.psa_connections.create(kind="autotask", name="Autotask", settings={
        "username": "api@msp.example", "integration_code": "CODE", "lookup_url": "", "charge_billing_code_id": ""})
    view = SettingsView(context, tasks)
    qtbot.addWidget(view)
    model = view.connections.model
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=15000)
    assert [model.index(0, c).data() for c in (COL_KIND, COL_ADDRESS, COL_SECRETS)] == [
        "Datto Autotask PSA", "api@msp.example", "missing: secret"]
