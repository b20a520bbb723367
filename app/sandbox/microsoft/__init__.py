"""The Microsoft 365 sandbox: Entra ID tokens, Graph and Partner Center on loopback.

    scenario = generate(50, seed=7)
    app = MicrosoftSandbox(scenario)
    with SandboxServer(app, tls=make_tls(tmp_dir)) as server:
        settings = app.settings(server)      # MicrosoftSettings for the real clients
        with MicrosoftClients.create(settings) as clients: ...
"""

from __future__ import annotations

from app.sandbox.microsoft.app import MicrosoftSandbox
from app.sandbox.microsoft.model import TenantProfile
from app.sandbox.microsoft.scenario import Scenario, generate

__all__ = ["MicrosoftSandbox", "Scenario", "TenantProfile", "generate"]
