"""ConnectWise PSA (Manage) REST API v3.0: the client and the PSA port adapter."""

from __future__ import annotations

from app.services.psa.connectwise.adapter import CAPABILITIES, ConnectWisePsa
from app.services.psa.connectwise.client import ConnectWiseClient, ConnectWiseCredentials

__all__ = ["CAPABILITIES", "ConnectWiseClient", "ConnectWiseCredentials", "ConnectWisePsa"]
