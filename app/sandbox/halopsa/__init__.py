"""A HaloPSA sandbox: Halo's authorisation server and REST API on loopback.

    halo = HaloSandbox(tenant="acme")
    halo.add_app("client-id", "secret")
    seed(halo, 25)                       # or add_client / add_contract / add_item / add_line
    with SandboxServer(halo) as server:
        config = HaloConfig(api_url=server.url, tenant="acme", client_id="client-id", client_secret="secret")
"""

from __future__ import annotations

from app.sandbox.halopsa.app import Exchange, HaloSandbox
from app.sandbox.halopsa.scenario import CATALOGUE, HaloSeed, seed
from app.sandbox.halopsa.store import PRORATE_FIELD

__all__ = ["CATALOGUE", "PRORATE_FIELD", "Exchange", "HaloSandbox", "HaloSeed", "seed"]
