"""One registry entry per PSA (app/services/psa/factory.py KINDS), and everything else derived from it.

A made-up PSA registered there, and nowhere else, gets its connection form,
its address in Settings, its name in the keyring's messages, and a place in
the database; a kind the registry does not know is refused. The source check
keeps it so: no list of the PSAs' kinds outside the registry, each PSA's own
folder and the sandboxes.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.errors import ConfigurationError
from app.models import close_database, open_database
from app.models.repositories import PsaConnections
from app.sandbox import world_psas
from app.services.connections.admin import AdminService, PsaDraft
from app.services.psa.factory import KINDS, Field, PsaKind, psa_kind
from app.services.secrets import MissingSecret, SecretKey, SecretStore
from app.ui.app import SYNC_MODULES
from app.ui.dialogs.connection import PsaConnectionDialog, SecretField
from app.ui.views import settings as settings_view

ROOT = Path(__file__).resolve().parents[1]
MADE_UP = PsaKind("kaseyabms", "Kaseya BMS", "Kaseya", (
    Field("tenant_url", "Tenant URL", url=True, hint="e.g. https://bms.kaseya.com"),
    Field("username", "API user name"),
    Field("api_token", "API token", secret=True),
), address=("tenant_url", "username"))


@pytest.fixture
def made_up(monkeypatch) -> PsaKind:
    monkeypatch.setitem(KINDS, MADE_UP.kind, MADE_UP)
    return MADE_UP


@pytest.fixture
def database(tmp_path) -> Iterator[None]:
    open_database(tmp_path / "seatsync.db")
    yield
    close_database()


def test_a_registered_kind_gets_its_connection_form_from_its_entry_alone(qtbot, made_up):
    dialog = PsaConnectionDialog(SimpleNamespace(admin=SimpleNamespace(kinds=AdminService.kinds)), None)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.kind.setCurrentIndex(dialog.kind.findData(made_up.kind))
    assert dialog.kind.currentText() == "Kaseya BMS"
    assert list(dialog.fields[made_up.kind]) == ["tenant_url", "username", "api_token"]
    assert isinstance(dialog.field("api_token"), SecretField)
    assert dialog.field("tenant_url").placeholderText() == "e.g. https://bms.kaseya.com"


def test_a_registered_kind_is_saved_listed_and_addressed_with_no_other_change(ctx, made_up):
    settings = {"tenant_url": "https://bms.example", "username": "ana"}
    record = ctx.admin.save_psa(PsaDraft(kind=made_up.kind, name="Kaseya", settings=settings,
                                         secrets={"api_token": "t0k3n-canary"}))
    assert (record.kind, dict(record.settings)) == ("kaseyabms", settings)
    [summary] = ctx.admin.psa_connections()
    assert (summary.label, dict(summary.secrets_set)) == ("Kaseya BMS", {"api_token": True})
    assert settings_view._address(summary) == "https://bms.example"
    bare = SimpleNamespace(record=SimpleNamespace(kind=made_up.kind, settings={"username": "ana"}))
    assert settings_view._address(bare) == "ana"  # type: ignore[arg-type]


def test_a_registered_kind_is_named_in_the_keyrings_messages(made_up):
    key = SecretKey(kind=made_up.kind, owner_id="4", field="api_token", owner_name="Main")
    assert key.owner == "Kaseya 'Main'"
    with pytest.raises(MissingSecret, match=r"^Kaseya 'Main' has no api token stored; enter it in Settings\.$"):
        SecretStore().get(key)


def test_the_database_takes_a_new_kind_without_a_migration(database, monkeypatch):
    monkeypatch.setitem(KINDS, MADE_UP.kind, MADE_UP)
    stored = PsaConnections().create(kind="kaseyabms", name="Kaseya", settings={"tenant_url": "https://bms.example"})
    assert PsaConnections().get(stored.id).kind == "kaseyabms"


def test_a_kind_the_registry_does_not_know_is_refused_and_nothing_is_stored(ctx):
    with pytest.raises(ConfigurationError, match="does not know the PSA 'kaseyabms'; it knows autotask, connectwise"):
        ctx.admin.save_psa(PsaDraft(kind="kaseyabms", name="Kaseya", settings={}, secrets={"api_token": "x"}))
    assert ctx.admin.psa_connections() == []
    with pytest.raises(ConfigurationError, match="does not know the PSA"):
        psa_kind("kaseyabms")


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_entry_names_its_adapter_and_its_sandbox_side(kind):
    spec = KINDS[kind]
    assert spec.adapter == f"app.services.psa.{kind}.adapter" and spec.adapter in SYNC_MODULES
    assert callable(importlib.import_module(spec.adapter).open_connection)
    folder = ROOT / "app" / "services" / "psa" / kind
    assert {"adapter.py", "client.py", "wire.py", "errors.py"} <= {p.name for p in folder.glob("*.py")}
    sandbox = ROOT / "app" / "sandbox" / kind
    assert {"app.py", "store.py", "scenario.py"} <= {p.name for p in sandbox.glob("*.py")}
    side = world_psas.make_side(kind, lambda: None)  # type: ignore[arg-type, return-value]
    assert side.kind == kind and kind in world_psas.PSA_KINDS


# -- the source ---------------------------------------------------------------------------------

#: Where the PSAs' kinds may be listed: the registry, each PSA's own folder and sandbox, and the
#: migrations (frozen history: version 1 listed them in a CHECK constraint).
ALLOWED = ("app/services/psa/factory.py", "app/models/migrations/",
           *(f"app/services/psa/{kind}/" for kind in KINDS), *(f"app/sandbox/{kind}/" for kind in KINDS))


def kind_lists(path: Path, kinds: set[str]) -> list[str]:
    """Each tuple, list, set, dict or call in ``path`` whose own text constants name two PSA kinds or more."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items: list[ast.expr | None] = list(node.elts)
        elif isinstance(node, ast.Dict):
            items = [*node.keys, *node.values]
        elif isinstance(node, ast.Call):
            items = [*node.args, *(k.value for k in node.keywords)]
        else:
            continue
        named = {item.value for item in items if isinstance(item, ast.Constant) and item.value in kinds}
        if len(named) >= 2:
            found.append(f"{path.name}:{node.lineno} lists {', '.join(sorted(named))}")
    return found


def test_the_psas_kinds_are_listed_nowhere_but_in_the_registry_their_folders_and_sandboxes():
    bad = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if not relative.startswith(ALLOWED):
            bad += kind_lists(path, set(KINDS))
    assert bad == []


@pytest.mark.parametrize("line", ['KINDS = ("connectwise", "halopsa")', 'LABELS = {"autotask": "A", "halopsa": "H"}',
                                  'check(kind, "connectwise", "autotask")', 'ok = kind in ["halopsa", "autotask"]'])
def test_the_source_check_catches_a_list_of_kinds(tmp_path, line):
    source = tmp_path / "module.py"
    source.write_text(f'DEFAULT = "connectwise"\n{line}\n')
    assert len(kind_lists(source, set(KINDS))) == 1
