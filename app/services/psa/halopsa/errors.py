"""HaloPSA's failures, as the port's typed errors with Halo-specific advice.

Each docstring's first line is the message a person reads (app/errors.py);
the detail given when raised names the request or field. No secret is ever
part of one.
"""

from __future__ import annotations

from app.services.psa.port import (
    PsaAuthError,
    PsaMalformedResponse,
    PsaNotFound,
    PsaPermissionError,
    PsaUnavailable,
    PsaUnreadableAnswer,
    PsaValidationError,
)


class HaloBadCredentials(PsaAuthError):
    """HaloPSA rejected the client ID or secret: check the application under Configuration > Integrations > Halo API (type "Client ID and Secret (Services)")."""  # noqa: E501


class HaloTenantError(PsaAuthError):
    """HaloPSA needs the right tenant name: for a Halo-hosted instance it is the first part of its address (https://<tenant>.halopsa.com)."""


class HaloTokenRejected(PsaAuthError):
    """HaloPSA refused a fresh access token: check that the resource and authorisation server addresses belong to the same instance."""  # noqa: E501


class HaloPermissionError(PsaPermissionError):
    """The Halo API application lacks a permission seatsync needs: grant it the scopes seatsync asks for (docs/permissions.md) and give its agent the same rights."""  # noqa: E501


class HaloNotFound(PsaNotFound):
    """HaloPSA has no such record: it may have been deleted in Halo."""


class HaloRequestRejected(PsaValidationError):
    """HaloPSA refused the request."""


class HaloInactiveItem(PsaValidationError):
    """The Halo item is inactive: reactivate it in Halo, or map the license to another item."""


class HaloMalformedResponse(PsaMalformedResponse):
    """HaloPSA answered with something seatsync cannot read: check the resource server address."""


class HaloUnavailable(PsaUnavailable):
    """HaloPSA did not answer in time, or answered with a server error."""


class HaloUnreadableAnswer(PsaUnreadableAnswer):
    """HaloPSA's answer to a change could not be read, so the change may or may not have
    been made: the next sync reads Halo to find out before writing it again."""
