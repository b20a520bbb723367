"""HaloPSA: the REST client, and the adapter that puts it behind the PSA port."""

from __future__ import annotations

from app.services.psa.halopsa.adapter import HaloPsaAdapter
from app.services.psa.halopsa.client import HaloClient, HaloConfig

__all__ = ["HaloClient", "HaloConfig", "HaloPsaAdapter"]
