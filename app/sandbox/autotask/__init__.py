"""The Datto Autotask PSA sandbox (see ``app.py``), its server helper and seeding."""

from __future__ import annotations

from app.sandbox.autotask.app import ApiUser, AutotaskSandbox, Exchange
from app.sandbox.autotask.scenario import (
    DOMAINS_UDF,
    PRORATION_UDF,
    SandboxAccount,
    add_company,
    lookup_url,
    seed_account,
    seed_msp,
    serve,
)
from app.sandbox.autotask.store import Store, StoreError

__all__ = ["DOMAINS_UDF", "PRORATION_UDF", "ApiUser", "AutotaskSandbox", "Exchange", "SandboxAccount", "Store",
           "StoreError", "add_company", "lookup_url", "seed_account", "seed_msp", "serve"]
