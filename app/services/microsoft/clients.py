"""The Microsoft side wired together: three HTTP APIs, tokens, Graph, Partner Center.

``MicrosoftClients.create(settings)`` builds one ``HttpApi`` (one requests
session) per API — the Entra token endpoint, Graph and Partner Center —
with explicit timeouts and concurrency caps, a token provider shared by
both clients, and their rate limiters. The clock, sleep and randomness are
injectable so tests never wait. Close it when done.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.services.http import HttpApi, RetryPolicy
from app.services.microsoft.config import MicrosoftSettings
from app.services.microsoft.graph import GraphClient
from app.services.microsoft.partner_center import PartnerCenterClient
from app.services.microsoft.ratelimit import graph_limiter, partner_center_limiter
from app.services.microsoft.tokens import TokenProvider


@dataclass
class MicrosoftClients:
    settings: MicrosoftSettings
    token_api: HttpApi
    graph_api: HttpApi
    partner_center_api: HttpApi
    tokens: TokenProvider
    graph: GraphClient
    partner_center: PartnerCenterClient

    @classmethod
    def create(cls, settings: MicrosoftSettings, *, sleep: Callable[[float], None] = time.sleep,
               now: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic,
               rng: random.Random | None = None, retry: RetryPolicy | None = None) -> MicrosoftClients:
        rng = rng or random.Random()

        def api(name: str, base: str, cap: int) -> HttpApi:
            return HttpApi(name=name, base_url=base, timeout=settings.timeout, max_concurrency=cap,
                           retry=retry or RetryPolicy(), verify=settings.verify, sleep=sleep, now=now, rng=rng)

        token_api = api("Microsoft Entra ID", f"https://{settings.authority_host}", settings.token_concurrency)
        graph_api = api("Microsoft Graph", settings.graph_url, settings.graph_concurrency)
        pc_api = api("Partner Center", settings.partner_center_url, settings.partner_center_concurrency)
        tokens = TokenProvider(settings, token_api, now=now)
        return cls(
            settings=settings, token_api=token_api, graph_api=graph_api, partner_center_api=pc_api, tokens=tokens,
            graph=GraphClient(graph_api, tokens, graph_limiter(now=monotonic, sleep=sleep)),
            partner_center=PartnerCenterClient(pc_api, tokens, settings.partner_tenant_id,
                                               partner_center_limiter(now=monotonic, sleep=sleep)),
        )

    def request_count(self) -> int:
        """HTTP requests sent so far, retries included, across the three APIs."""
        return sum(sum(api.counts.values()) for api in (self.token_api, self.graph_api, self.partner_center_api))

    def close(self) -> None:
        for api in (self.token_api, self.graph_api, self.partner_center_api):
            api.session.close()

    def __enter__(self) -> MicrosoftClients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
