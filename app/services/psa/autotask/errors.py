"""Autotask's failures, as the port's typed errors with Autotask-specific advice.

Each docstring is the message a person reads (app/errors.py); the detail
given when raised names the request, entity or field. No secret is ever
part of one.
"""

from __future__ import annotations

from app.errors import SeatsyncError
from app.services.psa.port import (
    PsaAddressRefused,
    PsaAuthError,
    PsaMalformedResponse,
    PsaNotFound,
    PsaPermissionError,
    PsaUnavailable,
    PsaUnreadableAnswer,
    PsaValidationError,
)


class _Advice(SeatsyncError):
    """Reads the whole docstring as the message (its advice runs over several lines)."""

    @property
    def message(self) -> str:
        head = " ".join((type(self).__doc__ or type(self).__name__).split())
        return f"{head} {self.detail}".strip() if self.detail else head


class AutotaskBadCredentials(_Advice, PsaAuthError):
    """Autotask rejected the API credentials: the user name and secret do not
    match. Check the API user's secret under Admin > Resources/Users > the API
    user (Generate Secret makes a new one), and that the API user is active."""


class AutotaskUserOrCodeRejected(_Advice, PsaAuthError):
    """Autotask did not accept the API user name or the tracking identifier
    (ApiIntegrationCode): check the user name (the API-only user's e-mail address)
    and the tracking identifier under Admin > Resources/Users > the API user > API
    Tracking Identifier."""


class AutotaskUnknownUser(_Advice, PsaAuthError):
    """Autotask could not find the zone of this API user: check the user name (the
    API-only user's e-mail address, as shown in Autotask)."""


class AutotaskPermissionError(_Advice, PsaPermissionError):
    """The Autotask API user lacks a permission seatsync needs: give its security
    level access to Contracts (view, add, edit), Companies and Services."""


class AutotaskNotFound(_Advice, PsaNotFound):
    """Autotask has no such record: it may have been deleted in Autotask."""


class AutotaskRequestRejected(_Advice, PsaValidationError):
    """Autotask refused the request."""


class AutotaskInactiveService(_Advice, PsaValidationError):
    """The Autotask service is inactive: reactivate it under Admin > Products &
    Services > Services, or map the license to another service."""


class AutotaskUnsupportedContract(_Advice, PsaValidationError):
    """seatsync bills on active monthly or yearly Recurring Service contracts only."""


class AutotaskNoMaterialCode(_Advice, PsaValidationError):
    """Autotask has no active Material Cost Code for seatsync's prorate and credit
    charges: create one under Admin > Finance, Accounting & Invoicing > Billing
    Codes, or choose one in seatsync's Autotask settings."""


class AutotaskMalformedResponse(_Advice, PsaMalformedResponse):
    """Autotask answered with something seatsync cannot read: check the zone
    lookup address (https://webservices.autotask.net/atservicesrest) or report
    the response."""


class AutotaskZoneRefused(_Advice, PsaAddressRefused):
    """Autotask's zone lookup pointed seatsync at an address it does not send the API
    user's credentials to (only https addresses on autotask.net, or the lookup's own
    server): check the zone lookup address in Settings (default
    https://webservices.autotask.net/atservicesrest)."""


class AutotaskUnavailable(_Advice, PsaUnavailable):
    """Autotask did not answer in time, or answered with a server error."""


class AutotaskUnreadableAnswer(_Advice, PsaUnreadableAnswer):
    """Autotask's answer to a change could not be read, so the change may or may not
    have been made: the next sync reads Autotask to find out before writing it again."""


class AutotaskThrottled(_Advice, PsaUnavailable):
    """Autotask kept refusing requests for being too many at once: try again in a
    few minutes."""


class AutotaskBudgetExhausted(_Advice, PsaUnavailable):
    """Autotask's hourly allowance of API requests (shared by every integration of
    this Autotask database) is nearly used up: seatsync stopped so the other
    integrations keep working, and will continue when usage drops."""
