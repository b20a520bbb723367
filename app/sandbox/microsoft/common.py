"""Small helpers the three sandbox APIs share."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

from app.sandbox.server import Request

GRAPH_AUDIENCE = "https://graph.microsoft.com"
PARTNER_CENTER_AUDIENCE = "https://api.partnercenter.microsoft.com"
AUDIENCES = (GRAPH_AUDIENCE, PARTNER_CENTER_AUDIENCE)


def api_of(path: str) -> str:
    if path.startswith(("/v1.0/", "/beta/")):
        return "graph"
    if path.startswith("/v1/"):
        return "partner_center"
    return "entra"


def base_url(request: Request) -> str:
    """The scheme and host the client used (links must lead back to this server)."""
    return f"https://{request.headers.get('Host') or '127.0.0.1'}"


def iso(moment: datetime | date) -> str:
    """UTC ISO-8601 with a Z, as Microsoft writes it; a date is its midnight."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(0), UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    return iso(datetime.now(UTC))


def new_id() -> str:
    return str(uuid.uuid4())
