"""Masking what looks like a credential in text meant for a log, a message or a report.

No secret should ever reach a log line: clients keep them in headers and
form bodies, never in a message. This is the last line of defence, for the
log file's handler (``RedactSecrets``) and for the loggers of the libraries
every request goes through (urllib3 and msal write request lines at DEBUG
level: ``guard_library_logs``). It masks

- the value after a name that says secret: ``Authorization``, ``Secret``,
  ``client_secret``, ``ApiIntegrationCode``, ``password``, ``token``,
  ``private key``... (``name=value``, ``name: value``, ``'name': 'value'``);
- a ``Basic`` or ``Bearer`` credential;
- in a URL or a request line, the values of query parameters such as
  ``sig``, ``code`` or ``token``, and the path segments that are tokens
  (the secret parts of Teams, Slack or Discord webhook addresses): a long
  run of letters and digits that is not a plain GUID.
"""

from __future__ import annotations

import logging
import re
import traceback

MASK = "•••"

_NAMES = (r"authorization|proxy-authorization|x-api-key|api[_-]?key|apiintegrationcode|integration[_ ]?code"
          r"|client[_ ]?secret|secret|password|passwd|private[_ ]?key|access[_ ]?token|refresh[_ ]?token|id[_ ]?token"
          r"|token")
#: ``name`` (quoted or not), ``=`` or ``:``, then the value (quoted or not).
_NAMED = re.compile(rf"(?i)(?<![\w-])([\w-]*?(?:{_NAMES}))([\"']?\s*[:=]\s*[\"']?)(?:(?:basic|bearer)\s+)?"
                    r"([^\s\"',;&)}\]]+)")
_SCHEME = re.compile(r"(?i)\b(basic|bearer)(\s+)([A-Za-z0-9._~+/=-]{6,})")
_URL = re.compile(r"(?i)\bhttps?://[^\s\"'<>]+")
_REQUEST_LINE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/[^\s\"']*)")
_SECRET_PARAMS = re.compile(r"(?i)^(sig|signature|code|key|token|secret|password|[\w-]*token|[\w-]*secret"
                            r"|client_secret|apikey|api_key|access_token)$")
_GUID = re.compile(r"(?i)^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$")
_TOKEN_SEGMENT = re.compile(r"^[A-Za-z0-9_\-@.~%+=]{16,}$")


def _token_like(segment: str) -> bool:
    """A path segment that is a credential rather than a name: long, letters and digits mixed, not a GUID."""
    if not _TOKEN_SEGMENT.match(segment) or _GUID.match(segment):
        return False
    return any(c.isdigit() for c in segment) and any(c.isalpha() for c in segment)


def redact_url(url: str) -> str:
    """``url`` (absolute, or a path with its query) with token path segments and secret query values masked."""
    head, sep, fragment = url.partition("#")
    head, qmark, query = head.partition("?")
    scheme, found, rest = head.partition("://")
    if found:
        host, slash, path = rest.partition("/")
        host = host.rsplit("@", 1)[-1]  # never a user name or password
        prefix, path = f"{scheme}://{host}{slash}", path
    else:
        prefix, path = "", head
    path = "/".join(MASK if _token_like(part) else part for part in path.split("/"))
    if qmark:
        pairs = []
        for pair in query.split("&"):
            name, eq, value = pair.partition("=")
            pairs.append(f"{name}={MASK}" if eq and value and (_SECRET_PARAMS.match(name) or _token_like(value))
                         else pair)
        query = "&".join(pairs)
    return f"{prefix}{path}{qmark}{query}" + (f"#{MASK}" if sep else "")


def redact(text: str) -> str:
    """``text`` with every credential the rules above recognise masked."""
    if not text:
        return text
    text = _URL.sub(lambda m: redact_url(m[0]), text)
    text = _REQUEST_LINE.sub(lambda m: f"{m[1]} {redact_url(m[2])}", text)
    text = _SCHEME.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
    return _NAMED.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)


class RedactSecrets(logging.Filter):
    """Masks credentials in a record's message and traceback (for a handler, or a library's logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record whose arguments do not format: the handler reports it
            return True
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


#: The libraries between seatsync and the network, whose loggers write URLs and request lines.
_LIBRARY_LOGGERS = ("urllib3", "urllib3.connectionpool", "urllib3.connection", "urllib3.response",
                    "urllib3.util.retry", "urllib3.poolmanager", "requests", "msal", "msal.application",
                    "msal.authority", "msal.token_cache", "msal.telemetry", "msal.oauth2cli.oauth2",
                    "msal.oauth2cli.oidc", "msal.oauth2cli.http", "msal.throttled_http_client")
_GUARD = RedactSecrets()


def guard_library_logs() -> None:
    """Mask credentials in what urllib3, requests and msal log, whatever handler receives it.

    A logger's filter sees only the records made by that very logger, so each
    is guarded by name (those already made below these names too). Safe to
    call again.
    """
    names = set(_LIBRARY_LOGGERS)
    names.update(name for name in list(logging.Logger.manager.loggerDict)
                 if name.split(".")[0] in ("urllib3", "requests", "msal"))
    for name in names:
        logger = logging.getLogger(name)
        if _GUARD not in logger.filters:
            logger.addFilter(_GUARD)
