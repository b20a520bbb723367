"""The Microsoft sandbox: Entra ID's token endpoint, Graph and Partner Center in one app.

One ``SandboxApp`` serves the three APIs on one loopback server, over TLS
(msal refuses an authority that is not https, APIS.md §F):

- ``/{tenant}/v2.0/.well-known/openid-configuration``, ``/{tenant}/oauth2/v2.0/token``,
  ``/{tenant}/adminconsent``, ``/{tenant}/v2.0/adminconsent``
- ``/v1.0/subscribedSkus``, ``/v1.0/directory/subscriptions``, ``/v1.0/users``, ``/v1.0/users/{id}``,
  ``/v1.0/users/$count``, ``/v1.0/users/{id}/mailboxSettings/userPurpose``, ``/v1.0/groups``,
  ``/v1.0/groups/{id}/transitiveMembers/microsoft.graph.user``, ``/v1.0/admin/reportSettings``,
  ``/beta/reports/getMailboxUsageDetail(period='D7')``, ``/v1.0/tenantRelationships/delegatedAdminRelationships``
- ``/v1/customers``, ``/v1/customers/{id}``, ``/v1/customers/{id}/subscriptions``

Several partners can use it at once, each with its own app (``settings(server, partner_id)``): Partner
Center answers each partner about its own customers only.

Tokens are JWTs shaped like Entra's (a Graph token's ``roles`` claim holds the
application permissions consented in its tenant), bound to a tenant and an
audience, and expire on the sandbox's clock (injectable). Throttling, faults and errors come back in
each API's own shape: ``resolve`` runs first on the request's thread and
notes which API was asked, so ``throttled``/``server_error`` can answer the
way that API does.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.sandbox.microsoft import entra, graph, graph_counts, partner_center
from app.sandbox.microsoft.common import GRAPH_AUDIENCE, api_of
from app.sandbox.microsoft.odata import Cursor
from app.sandbox.microsoft.scenario import Scenario
from app.sandbox.server import HttpError, Request, Response, SandboxApp, SandboxServer
from app.services.microsoft.config import MicrosoftSettings


@dataclass(frozen=True, kw_only=True)
class Grant:
    tenant_id: str
    audience: str
    client_id: str
    expires_at: float
    roles: frozenset[str] = frozenset()


class MicrosoftSandbox(SandboxApp):
    def __init__(self, scenario: Scenario, *, now: Callable[[], float] = time.time, token_lifetime: int = 3599,
                 users_page_default: int = 100, skus_page_size: int | None = None,
                 customers_page_default: int = 100) -> None:
        super().__init__()
        self.scenario = scenario
        self.lock = scenario.lock  # one lock for the world and the routes
        self.now = now
        self.token_lifetime = token_lifetime
        self.users_page_default = users_page_default
        self.skus_page_size = skus_page_size  # Graph does not page subscribedSkus today; tests may ask it to
        self.customers_page_default = customers_page_default
        self.cursor = Cursor(secrets.token_bytes(16))
        #: Whether the mailbox usage report's rows carry a recipientType (APIS.md §A4 leaves it open).
        self.report_recipient_type = False
        #: Tests set this to corrupt a response: tamper(route, payload) -> payload.
        self.tamper: Callable[[str, Any], Any] | None = None
        #: The user each tenant's current users read leaves out (Scenario.cut_users_reads), by tenant id.
        self.users_left_out: dict[str, str] = {}
        self._grants: dict[str, Grant] = {}
        self.tokens_issued = 0
        #: (MS-RequestId, MS-CorrelationId) of the latest Partner Center requests, oldest first.
        self.partner_center_ids: deque[tuple[str, str]] = deque(maxlen=10_000)
        self._api = threading.local()
        entra.register(self)
        graph.register(self)
        graph_counts.register(self)
        partner_center.register(self)

    # -- one API per path prefix -------------------------------------------

    def resolve(self, method: str, path: str):
        self._api.kind = api_of(path)
        return super().resolve(method, path)

    def _kind(self) -> str:
        return getattr(self._api, "kind", "entra")

    def throttled(self, retry_after: int | None) -> Response:
        kind = self._kind()
        if kind == "graph":
            return graph.throttled(self, retry_after)
        if kind == "partner_center":
            return partner_center.throttled(retry_after)
        return entra.throttled(retry_after)

    def server_error(self, status: int) -> Response:
        kind = self._kind()
        if kind == "graph":
            return graph.error(status, "serviceNotAvailable" if status == 503 else "generalException",
                               "The service is temporarily unavailable." if status >= 502 else
                               "General exception while processing.")
        if kind == "partner_center":
            return partner_center.error(status, str(status), "The service encountered an error.")
        return entra.error(status, "temporarily_unavailable", 50196, "The server is temporarily unavailable.")

    def not_found(self, request: Request) -> Response:
        kind = api_of(request.path)
        if kind == "graph":
            segment = request.path.rstrip("/").rsplit("/", 1)[-1]
            return graph.error(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
        if kind == "partner_center":
            return partner_center.error(404, "404", "The requested resource was not found.")
        return Response.html("<html><body>Not found</body></html>", 404)

    # -- tokens -------------------------------------------------------------

    def issue(self, tenant_id: str, audience: str, client_id: str) -> tuple[str, int]:
        """A JWT shaped like Entra's app-only access tokens (v1 claims, as Graph's are), signed by nobody.

        A Graph token's ``roles`` are the application permissions consented in the tenant, as Entra writes
        them; a tenant with none consented gets no ``roles`` claim. Only the sandbox's own table of grants
        makes a token good: the signature is random bytes.
        """
        with self.lock:
            now = self.now()
            roles = sorted(self.scenario.roles_in(tenant_id, client_id)) if audience == GRAPH_AUDIENCE else []
            claims: dict[str, Any] = {
                "aud": audience, "iss": f"https://sts.windows.net/{tenant_id}/", "iat": int(now), "nbf": int(now),
                "exp": int(now + self.token_lifetime), "appid": client_id, "appidacr": "1", "idtyp": "app",
                "oid": client_id, "sub": client_id, "tid": tenant_id,
                "uti": secrets.token_urlsafe(16), "ver": "1.0", **({"roles": roles} if roles else {})}
            token = ".".join((_b64({"typ": "JWT", "alg": "RS256", "kid": "sandbox"}), _b64(claims),
                              base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode()))
            if len(self._grants) > 50_000:  # forget expired grants now and then
                self._grants = {k: g for k, g in self._grants.items() if g.expires_at > now}
            self._grants[token] = Grant(tenant_id=tenant_id, audience=audience, client_id=client_id,
                                        expires_at=now + self.token_lifetime, roles=frozenset(roles))
            self.tokens_issued += 1
        return token, self.token_lifetime

    def grant(self, request: Request, audience: str, refuse: Callable[[str], Response]) -> Grant:
        """The grant of the request's bearer token, or ``refuse(reason)`` raised as its 401."""
        header = request.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HttpError(refuse("Access token is empty."))
        found = self._grants.get(token.strip())
        if found is None:
            raise HttpError(refuse("Access token validation failure. Invalid audience."))
        if found.audience != audience:
            raise HttpError(refuse("Access token validation failure. Invalid audience."))
        if self.now() >= found.expires_at:
            raise HttpError(refuse("Lifetime validation failed, the token is expired."))
        return found

    def revoke_tokens(self) -> None:
        """Forget every token issued (as after a password reset or a key roll-over)."""
        with self.lock:
            self._grants.clear()

    # -- wiring a client to it ---------------------------------------------

    def settings(self, server: SandboxServer, partner_id: str | None = None) -> MicrosoftSettings:
        """Settings that point seatsync's Microsoft clients at this sandbox, as a partner (default: the
        scenario's home partner) with its own app."""
        if server.tls is None:
            raise ValueError("the Microsoft sandbox must be served over TLS (msal needs an https authority)")
        host = server.url.split("://", 1)[1]
        partner = self.scenario.partners[partner_id.lower()] if partner_id else self.scenario.home
        return MicrosoftSettings(client_id=partner.client_id, client_secret=partner.client_secret,
                                 partner_tenant_id=partner.tenant_id, authority_host=host,
                                 graph_url=f"{server.url}/v1.0", partner_center_url=f"{server.url}/v1",
                                 ca_file=server.tls.ca)


def _b64(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part, separators=(",", ":")).encode()).rstrip(b"=").decode()
