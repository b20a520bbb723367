"""Microsoft 365: Entra tokens, Graph and Partner Center clients, custom counts, GDAP and consent (APIS.md §A1-§A4)."""

from __future__ import annotations

from app.services.microsoft.clients import MicrosoftClients
from app.services.microsoft.config import MicrosoftSettings
from app.services.microsoft.errors import (
    ConsentMissing,
    GdapMissing,
    MalformedResponse,
    MicrosoftError,
    PartnerCenterDenied,
    PermissionsMissing,
    RequestRejected,
    SecretInvalid,
    TenantNotFound,
    TokenRefused,
)

__all__ = [
    "ConsentMissing", "GdapMissing", "MalformedResponse", "MicrosoftClients", "MicrosoftError",
    "MicrosoftSettings", "PartnerCenterDenied", "PermissionsMissing", "RequestRejected", "SecretInvalid",
    "TenantNotFound", "TokenRefused",
]
