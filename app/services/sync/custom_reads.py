"""The reads custom licenses need, from Microsoft Graph (app/services/microsoft/counts.py), in the terms of
``InventoryService``'s ``CustomReads``."""

from __future__ import annotations

from app.billing.custom import CustomCountError, MailboxKind
from app.services.microsoft import counts
from app.services.microsoft.errors import RequestRejected
from app.services.microsoft.graph import GraphClient

_KINDS = {"user": MailboxKind.USER, "shared": MailboxKind.SHARED}


class GraphCustomReads:
    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph

    def group_member_ids(self, tenant_id: str, group_id: str) -> list[str]:
        try:
            return [user.id for user in counts.group_users(self.graph, tenant_id, group_id).users]
        except RequestRejected as error:
            if error.code != "Request_ResourceNotFound":
                raise
            raise CustomCountError(f"group {group_id} no longer exists in the tenant: choose another group, or "
                                   "remove the custom license") from error

    def mailboxes(self, tenant_id: str) -> tuple[dict[MailboxKind, list[str]], bool]:
        found = counts.mailboxes(self.graph, tenant_id)
        live = [m for m in found.mailboxes if not m.deleted]
        if found.concealed and any(m.kind == counts.UNKNOWN for m in live):
            # Concealed names cannot be looked up one by one, and the report does not say each one's kind.
            raise CustomCountError(f"{found.note} The report does not say which mailboxes are shared, so user and "
                                   "shared mailboxes cannot be counted apart until names are shown.")
        by_kind: dict[MailboxKind, list[str]] = {kind: [] for kind in MailboxKind}
        for mailbox in live:
            if mailbox.kind in _KINDS:
                by_kind[_KINDS[mailbox.kind]].append(mailbox.upn)
        return by_kind, found.concealed

    def groups(self, tenant_id: str) -> list[tuple[str, str]]:
        return [(g.id, g.display_name) for page in counts.group_pages(self.graph, tenant_id) for g in page]
