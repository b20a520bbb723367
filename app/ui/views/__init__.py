"""The window's views, in the order the navigation lists them.

``VIEWS`` is a list of ``(key, title, factory)``; ``factory(context, tasks,
parent, sync)`` returns the view's QWidget: every view is built over the
window's services, its task runner and the sync gateway
(app/ui/sync_gateway.py), whose signals a view connects to itself. Each factory imports its module only
when the view is first shown (``lazy``), so no view can stop the window from
opening: one whose module is missing is left out (``available()``), one that
fails to build shows its error in its place.

A view may offer any of these; the window calls them when present:

- ``refresh()``: Refresh (Ctrl+R) while the view is shown;
- ``show_home()``: the view was chosen in the navigation (or by its
  shortcut): show its first page (Companies: the list, not the company
  last opened);
- ``set_search(text)``: the toolbar's search box (Ctrl+F) while it is shown;
- ``sync_target() -> int | None``: the PSA company (database id) "Sync now"
  syncs while the view is shown; None syncs everything;
- signal ``attention_changed(int)``: what needs a person's attention, shown
  as a badge on the view's navigation entry.

A view that follows syncs connects the gateway's ``started(target)``,
``progressed(target, text)`` and ``finished(target, summary, error)``
itself (target "*" is every company, else a company id; ``summary`` is the
sync service's RunSummary, None when ``error`` says why it failed), and
asks ``sync.sync_now(target)`` for a company's "Sync".

The window puts each view in a page that scrolls when the window is smaller
than the view, and sets the margins of the view's top layout, the same on
every view: a view sets none of its own at the top level.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable
from typing import Any, Protocol, cast

log = logging.getLogger(__name__)

#: factory(context, tasks, parent, sync) -> QWidget
Factory = Callable[[Any, Any, Any, Any], Any]


class LazyFactory(Protocol):
    """A factory made by ``lazy``: it names the module and the class it builds."""

    module: str
    name: str

    def __call__(self, context: Any, tasks: Any, parent: Any, sync: Any = None) -> Any: ...


def lazy(module: str, name: str) -> LazyFactory:
    """A factory that imports ``module`` when first called and builds ``name`` from it."""

    def factory(context: Any, tasks: Any, parent: Any, sync: Any = None) -> Any:
        return getattr(importlib.import_module(module), name)(context, tasks, parent, sync=sync)

    factory.module = module  # type: ignore[attr-defined]
    factory.name = name  # type: ignore[attr-defined]
    factory.__qualname__ = f"lazy({module}.{name})"
    return cast(LazyFactory, factory)


VIEWS: list[tuple[str, str, LazyFactory]] = [
    ("companies", "Companies", lazy("app.ui.views.companies", "CompaniesView")),
    ("approvals", "Approvals", lazy("app.ui.views.approvals", "ApprovalsView")),
    ("history", "History", lazy("app.ui.views.history", "HistoryView")),
    ("reports", "Reports", lazy("app.ui.views.reports", "ReportsView")),
    ("rules", "Mapping rules", lazy("app.ui.views.rules", "RulesView")),
    ("migrate", "Migrate", lazy("app.ui.views.migration", "MigrationView")),
    ("exclusions", "Exclusions", lazy("app.ui.views.exclusions", "ExclusionsView")),
    ("profiles", "Billing profiles", lazy("app.ui.views.profiles", "ProfilesView")),
    ("access", "Microsoft access", lazy("app.ui.views.access", "AccessView")),
    ("settings", "Settings", lazy("app.ui.views.settings", "SettingsView")),
]


def available(views: list[tuple[str, str, Factory]] | None = None) -> list[tuple[str, str, Factory]]:
    """The registered views whose module can be found (a missing one is logged and left out)."""
    found = []
    for key, title, factory in VIEWS if views is None else views:
        module = getattr(factory, "module", None)
        try:
            present = module is None or importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            present = False
        if present:
            found.append((key, title, factory))
        else:
            log.warning("view %r left out: its module %s is not installed", key, module)
    return found
