"""The import rules of DESIGN §5, and how the window connects signals, checked on the source (a new violation
fails here)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


def billing_violations(folder: Path) -> list[str]:
    """Imports in the billing core of anything but the standard library and the core itself."""
    bad = []
    for path in sorted(folder.rglob("*.py")):
        for line, module in imports_of(path):
            root = module.split(".")[0]
            if module.startswith("."):
                continue  # relative: inside the package
            if module == "app.billing" or module.startswith("app.billing."):
                continue
            if root not in STDLIB:
                bad.append(f"{path.name}:{line} imports {module}")
    return bad


def qt_violations(folder: Path) -> list[str]:
    return [f"{path}:{line} imports {module}" for path in sorted(folder.rglob("*.py"))
            for line, module in imports_of(path) if module.split(".")[0] in {"PySide6", "shiboken6", "PyQt6"}]


def test_the_billing_core_imports_only_the_standard_library():
    assert billing_violations(ROOT / "app" / "billing") == []


def test_services_models_and_sandboxes_never_import_qt():
    for folder in ("services", "models", "sandbox", "billing", "commands"):
        assert qt_violations(ROOT / "app" / folder) == [], folder


@pytest.mark.parametrize("line", ["import requests", "from app.models import db", "from PySide6 import QtCore",
                                  "import peewee as pw"])
def test_the_rule_catches_a_forbidden_import(tmp_path, line):
    core = tmp_path / "app" / "billing"
    core.mkdir(parents=True)
    (core / "ok.py").write_text("from decimal import Decimal\nfrom app.billing.types import Line\n")
    (core / "bad.py").write_text(f"{line}\n")
    assert [v.split(" imports ")[1] for v in billing_violations(core)] == [line.split()[1]]


def bootstrap_violations(folder: Path) -> list[str]:
    """Imports of the composition root (app.bootstrap) from a module it builds or hands its services to."""
    return [f"{path.relative_to(folder.parent)}:{line}" for path in sorted(folder.rglob("*.py"))
            for line, module in imports_of(path) if module == "app.bootstrap" or module.startswith("app.bootstrap.")]


def test_services_and_the_window_never_import_the_composition_root():
    for folder in ("services", "ui"):
        assert bootstrap_violations(ROOT / "app" / folder) == [], folder


def test_the_composition_root_rule_catches_an_import(tmp_path):
    services = tmp_path / "services"
    services.mkdir()
    (services / "ok.py").write_text("from app.services.uow import UnitOfWork\n")
    (services / "lazy.py").write_text("def f():\n    from app.bootstrap import open_context\n")
    assert bootstrap_violations(services) == ["services/lazy.py:2"]


def self_holding_connections(folder: Path) -> list[str]:
    """``x.signal.connect(f)`` or ``QTimer.singleShot(ms, x, f)`` where ``f``, a lambda (its defaults too) or a
    partial, holds ``x`` itself (docs/architecture.md: PySide crashes when the collector frees such a function
    while ``x`` is being deleted)."""
    bad = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr == "connect" and isinstance(node.func.value, ast.Attribute) and node.args:
                owner, slot = ast.unparse(node.func.value.value), node.args[0]
            elif node.func.attr == "singleShot" and len(node.args) == 3:
                owner, slot = ast.unparse(node.args[1]), node.args[2]
            else:
                continue
            if isinstance(slot, ast.Lambda):
                held: list[ast.AST] = [slot.body, *slot.args.defaults, *filter(None, slot.args.kw_defaults)]
            elif isinstance(slot, ast.Call) and ast.unparse(slot.func) in ("partial", "functools.partial"):
                held = [slot]
            else:
                continue
            names = {ast.unparse(n) for part in held for n in ast.walk(part)
                     if isinstance(n, (ast.Name, ast.Attribute))}
            if owner in names:
                bad.append(f"{path.name}:{node.lineno} gives {owner} a function holding it")
    return bad


def test_no_signal_is_connected_to_a_function_holding_its_own_object():
    assert self_holding_connections(ROOT / "app") == []


@pytest.mark.parametrize("line", [
    "dialog.finished.connect(lambda _: self.done(dialog))",
    "self.box.accepted.connect(lambda: print(self.box.text()))",
    "editor.chosen.connect(partial(self.finish, editor))",
    "socket.readyRead.connect(lambda s=socket: self.read(s))",
    "QTimer.singleShot(1, self, lambda: self.fill(dialog))",
])
def test_the_connection_rule_catches_a_function_holding_its_object(tmp_path, line):
    (tmp_path / "view.py").write_text(f"def build(self, dialog, editor):\n    {line}\n", encoding="utf-8")
    assert len(self_holding_connections(tmp_path)) == 1
    (tmp_path / "view.py").write_text("def build(self, dialog):\n    dialog.finished.connect(self.done)\n"
                                      "    dialog.finished.connect(lambda _: self.done())\n", encoding="utf-8")
    assert self_holding_connections(tmp_path) == []
