"""How seatsync reaches Microsoft: the partner's app and the three endpoints.

The hosts are settings so the sandbox (app/sandbox/microsoft) can stand in
for login.microsoftonline.com, Graph and Partner Center; ``ca_file`` is the
sandbox's throw-away CA (production keeps the system's trust store). Every
address is https with a host and no user name, password or fragment: settings
that say otherwise are refused when made, before any secret is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.services.http import InsecureAddress, https_url

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PARTNER_CENTER_SCOPE = "https://api.partnercenter.microsoft.com/.default"


@dataclass(frozen=True, kw_only=True)
class MicrosoftSettings:
    client_id: str
    client_secret: str = field(repr=False)
    partner_tenant_id: str
    authority_host: str = "login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    partner_center_url: str = "https://api.partnercenter.microsoft.com/v1"
    ca_file: str | None = None
    #: (connect, read) seconds for every request.
    timeout: tuple[float, float] = (3.05, 30.0)
    #: Requests in flight at once, per API.
    graph_concurrency: int = 16
    partner_center_concurrency: int = 8
    token_concurrency: int = 8

    def __post_init__(self) -> None:
        host = self.authority_host.strip("/")
        if not host or "/" in host or "@" in host or "://" in host:
            raise InsecureAddress(f"the Microsoft authority must be a host name such as login.microsoftonline.com "
                                  f"(it is {host.rsplit('@', 1)[-1][:80]!r})")
        https_url(f"https://{host}", "Microsoft authority host")
        object.__setattr__(self, "graph_url", https_url(self.graph_url, "Microsoft Graph URL"))
        object.__setattr__(self, "partner_center_url", https_url(self.partner_center_url, "Partner Center URL"))

    def authority(self, tenant: str) -> str:
        """msal's authority for ``tenant``: always https (APIS.md §F)."""
        return f"https://{self.authority_host.strip('/')}/{tenant}"

    @property
    def verify(self) -> bool | str:
        return self.ca_file or True
