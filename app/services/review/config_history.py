"""History of configuration changes: who changed which mapping, billing profile, exclusion, setting or tenant,
when, and from what to what (``config_change``, written by the repositories with each change).

Each row says who in both ways a team database knows: the technician's name
the desktop gave, and the database user the server saw (on PostgreSQL). What
changed is shown as the fields that differ, before → after; a row created or
removed shows the fields it had.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.models.records import ConfigChangeRecord
from app.services.microsoft.skus import SkuCatalogue
from app.services.settings import setting_label

KIND_TEXT = {"mapping": "Mapping", "profile": "Billing profile", "exclusion": "Exclusion", "setting": "Setting",
             "tenant": "Tenant", "custom_license": "Custom license", "rule": "Mapping rule",
             "foreign_line": "Other tool's line", "ignored_account": "Ignored accounts"}
ACTION_TEXT = {"created": "Created", "changed": "Changed", "removed": "Removed"}
#: Fields that name the row (shown in "What") or are ids a person does not read.
_NOT_SHOWN = frozenset({"tenant_id", "tenant", "sku_id", "profile_id", "connection_id", "pattern"})
_LABELS = {"agreement_id": "agreement", "user_filter": "users", "basis": "count", "basis_param": "count of",
           "usernames_in_description": "user names listed", "start_date_override": "start date",
           "negative_proration": "credit removed seats", "included_quantity": "included seats",
           "minimum_quantity": "minimum quantity", "description_override": "description",
           "price_kind": "price", "price_fixed": "fixed price", "price_percent": "percentage",
           "billing_option": "billing option", "allowed_agreement_types": "agreement types", "product_id": "product id",
           "partner": "partner connection"}


#: The order fields are listed in (stored JSON keeps its keys sorted; a person reads them in the form's order).
_ORDER = ("name", "product", "product_id", "price_kind", "price_fixed", "price_percent", "billing_option",
          "allowed_agreement_types", "profile", "agreement_id", "user_filter", "subscription_id", "basis",
          "basis_param", "included_quantity", "minimum_quantity", "description_override", "usernames_in_description",
          "negative_proration", "start_date_override", "reason", "value")


@dataclass(frozen=True, kw_only=True)
class ConfigRow:
    """One configuration change as History lists it."""

    change: ConfigChangeRecord
    kind: str  # "Mapping", "Billing profile", ...
    what: str  # "Contoso / Microsoft 365 E3"
    before: str  # the fields that changed, as they were ('' for a row created)
    after: str  # as they are now ('' for a row removed)

    @property
    def who(self) -> str:
        """The technician, and the database user when the server names another one."""
        actor, user = self.change.actor, self.change.db_user
        if user and user != actor:
            return f"{actor} (database user {user})" if actor else f"database user {user}"
        return actor or "not recorded"

    @property
    def action(self) -> str:
        return ACTION_TEXT.get(self.change.action, self.change.action)


def config_row(change: ConfigChangeRecord, catalogue: SkuCatalogue) -> ConfigRow:
    before, after = _flat(change.kind, change.before), _flat(change.kind, change.after)
    if before is not None and after is not None:
        keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    else:
        keys = [k for k, v in (before or after or {}).items() if v not in (None, "", [], False, 0) or k == "value"]
    keys = sorted((k for k in keys if k not in _NOT_SHOWN), key=lambda k: (_ORDER.index(k) if k in _ORDER
                                                                          else len(_ORDER), k))
    return ConfigRow(change=change, kind=KIND_TEXT.get(change.kind, change.kind),
                     what=_what(change, catalogue.name), before=_fields(before, keys), after=_fields(after, keys))


def _what(change: ConfigChangeRecord, sku_name: Callable[[str], str]) -> str:
    doc = change.after or change.before or {}
    if change.kind == "mapping":
        extra = [f"subscription {doc['subscription_id']}" if doc.get("subscription_id") else "",
                 f"users {doc['user_filter']}" if doc.get("user_filter") else ""]
        return " · ".join([f"{doc.get('tenant') or doc.get('tenant_id', '')} / {sku_name(doc.get('sku_id', ''))}",
                           *(e for e in extra if e)])
    if change.kind == "profile":
        return str(doc.get("name") or change.key)
    if change.kind == "exclusion":
        return f"{sku_name(doc.get('sku_id', ''))} in {doc.get('tenant') or 'every tenant'}"
    if change.kind == "ignored_account":
        return f"{doc.get('pattern', '')} in {doc.get('tenant') or 'every tenant'}"
    if change.kind == "setting":
        return setting_label(change.key)
    if change.kind in ("tenant", "custom_license"):
        return str(doc.get("name") or change.key)
    return change.key


def _flat(kind: str, doc: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A setting's value, when it is a group of values (the notifications), as one field each."""
    if doc is None:
        return None
    if kind == "setting" and isinstance(doc.get("value"), Mapping):
        return dict(doc["value"])
    return dict(doc)


def _fields(doc: Mapping[str, Any] | None, keys: list[str]) -> str:
    if doc is None:
        return ""
    parts = []
    for key in keys:
        label = "" if key == "value" else _LABELS.get(key, key.replace("_", " "))
        text = _text(doc.get(key))
        parts.append(f"{label}: {text}" if label else text)
    return "; ".join(parts)


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value) or "—"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items()) or "—"
    return str(value)
