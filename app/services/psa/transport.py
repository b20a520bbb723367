"""The HTTP layer's transport refusals (app/services/http.py) as the PSA port's typed errors.

A certificate that is not trusted, a redirect and a request to another origin
are refused before anything is sent there: a read is then refused outright
(``PsaUntrustedCertificate``, ``PsaAddressRefused``); a write answered with a
redirect may have been applied by the server that answered, so it is
``PsaUnreadableAnswer`` for the journal to settle by reading the PSA.
"""

from __future__ import annotations

from app.services.http import CertificateUntrusted, HttpFailure, OffOrigin, Redirected
from app.services.psa.port import PsaAddressRefused, PsaError, PsaUnreadableAnswer, PsaUntrustedCertificate

#: What the HTTP layer refuses for the transport's sake; a client turns them with ``refused``.
REFUSALS = (CertificateUntrusted, OffOrigin, Redirected)


def refused(error: HttpFailure, psa: str) -> PsaError:
    """The port's error for a transport refusal (one of ``REFUSALS``) of ``psa``'s client."""
    if isinstance(error, CertificateUntrusted):
        return PsaUntrustedCertificate(f"{psa}: {error.detail}")
    if isinstance(error, Redirected) and error.maybe_applied:
        return PsaUnreadableAnswer(f"{error.detail}; the change may have been made before the redirect")
    return PsaAddressRefused(error.detail)
