"""What can go wrong talking to Microsoft, as errors a person can act on.

Each docstring says what is wrong and what to do; ``detail`` names the
tenant and Microsoft's own code (AADSTS number, Graph or Partner Center
code). Microsoft's error descriptions never contain the client secret, and
nothing here ever quotes a request.
"""

from __future__ import annotations

from app.errors import SeatsyncError


class MicrosoftError(SeatsyncError):
    """Microsoft refused or failed a request."""

    def __init__(self, detail: str = "", *, tenant_id: str = "", code: str = "", **context: object) -> None:
        self.tenant_id = tenant_id
        self.code = code
        super().__init__(detail, tenant_id=tenant_id, code=code, **context)


class ConsentMissing(MicrosoftError):
    """seatsync's app is not consented in this customer tenant: have its admin grant consent, then sync again."""


class SecretInvalid(MicrosoftError):
    """The Microsoft app's client secret is wrong or expired: create a new one in Entra ID, enter it in Settings."""


class GdapMissing(MicrosoftError):
    """No active GDAP or reseller relationship with this customer: renew it in Partner Center, then sync again."""


class TenantNotFound(MicrosoftError):
    """Microsoft knows no such tenant: check the tenant ID, or remove the customer from seatsync."""


class PermissionsMissing(MicrosoftError):
    """seatsync's app lacks Microsoft Graph application permissions it needs: add them to its API permissions
    in Entra ID, then grant admin consent again (docs/permissions.md)."""
    advice = "Add the named permission to the app in Entra ID, then grant admin consent again."

    def __init__(self, detail: str = "", *, missing: tuple[str, ...] = (), tenant_id: str = "",
                 code: str = "") -> None:
        self.missing = missing
        super().__init__(detail, tenant_id=tenant_id, code=code)


class MalformedResponse(MicrosoftError):
    """Microsoft sent a response seatsync cannot read; try again later and report it if it persists."""


class TokenRefused(MicrosoftError):
    """Microsoft Entra ID refused a token to seatsync's app: check its client ID and API permissions in Settings."""


class RequestRejected(MicrosoftError):
    """Microsoft rejected a request seatsync sent; report it if it persists."""


class PartnerCenterDenied(MicrosoftError):
    """Partner Center refused seatsync's app: add it under Account settings > App management."""
