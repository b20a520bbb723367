"""The ConnectWise PSA sandbox: REST API v3.0 on loopback, as APIS.md §B1 and §E describe it.

- ``GET /login/companyinfo/{companyId}`` answers the codebase (no auth);
  the API lives under ``/{codebase}/apis/3.0`` (the codebase, or the
  ``v4_6_release`` alias).
- Every API call needs ``Authorization: Basic base64(companyId+public:private)``
  and a ``clientId`` header; a missing clientId answers 401 with code
  ``ClientIdRequired`` (ConnectWise's exact answer is not published [U]).
- Each API member has a permission table (``deny``) giving ConnectWise's
  403 for a module/level its security role lacks.
- Lists take conditions, orderBy, fields, page/pageSize/pageId and answer
  with Link headers (see query.py); ``/count`` answers ``{"count": n}``.
- Contacts: GET/POST ``/company/contacts``, GET/PATCH/PUT
  ``/company/contacts/{id}`` (validation in contacts.py); no DELETE, which
  seatsync never sends.
- POST answers 201, DELETE 204, PATCH takes an operation array and answers
  200 with the whole record; errors use ``{code, message, errors[...]}``.
- Numbers are written exactly (Decimal, never float), dates as
  ``yyyy-MM-ddTHH:mm:ssZ``; the Content-Type is the versioned media type.
- ``GET /sandbox/`` and ``GET /sandbox/agreements/{id}`` are read-only HTML
  pages showing what the PSA now holds (for people trying the demo).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from app import jsoncodec
from app.sandbox.connectwise import page
from app.sandbox.connectwise.additions import READ_ONLY, WRITABLE
from app.sandbox.connectwise.errors import ApiError
from app.sandbox.connectwise.query import filtered, paged, project
from app.sandbox.connectwise.store import CwStore, Member
from app.sandbox.server import HttpError, Request, Response, SandboxApp

API_VERSION = "2025.8"
MEDIA_TYPE = "application/vnd.connectwise.com+json"

FIELDS = {
    "companies": frozenset({
        "id", "identifier", "name", "status", "types", "deletedFlag", "customFields", "website", "_info",
        "addressLine1", "addressLine2", "city", "state", "zip", "country", "phoneNumber", "territory", "market",
        "parentCompany", "billToCompany", "site", "accountNumber", "dateAcquired", "leadFlag", "defaultContact"}),
    "contacts": frozenset({"id", "firstName", "lastName", "company", "_info", "inactiveFlag", "title",
                           "communicationItems", "types"}),
    "agreements": frozenset({
        "id", "name", "type", "company", "contact", "startDate", "endDate", "noEndingDateFlag", "cancelledFlag",
        "dateCancelled", "billingCycle", "invoicingCycle", "prorateFlag", "invoiceProratedAdditionsFlag",
        "agreementStatus", "currency", "billTime", "billExpenses", "billProducts", "employeeCompRate",
        "employeeCompNotExceed", "parentAgreement", "customerPO", "billAmount", "_info", "customFields"}),
    "agreementTypes": frozenset({
        "id", "name", "prorateFlag", "invoiceProratedAdditionsFlag", "inactiveFlag", "defaultFlag", "billingCycle",
        "employeeCompRate", "employeeCompNotExceed", "invoicingCycle", "billTime", "billExpenses", "billProducts",
        "_info"}),
    "billingCycles": frozenset({"id", "identifier", "name", "billingOptions", "_info"}),
    "catalog": frozenset({
        "id", "identifier", "description", "customerDescription", "inactiveFlag", "subcategory", "type",
        "productClass", "price", "cost", "unitOfMeasure", "recurringFlag", "category", "manufacturer",
        "vendorSku", "_info"}),
    "additions": frozenset(WRITABLE | READ_ONLY),
}
LEVEL_OF = {"GET": "inquire", "POST": "add", "PATCH": "edit", "PUT": "edit", "DELETE": "delete"}
Handler = Callable[[Request, Member], Response]


class ConnectWiseSandbox(CwStore, SandboxApp):
    """One ConnectWise site. Seed it with the CwStore methods; serve it with SandboxServer."""

    def __init__(self, *, company_id: str = "seatsync", public_key: str = "sandbox-public",
                 private_key: str = "sandbox-private", codebase: str = "v2025_1",
                 today: Callable[[], date] = date.today,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        SandboxApp.__init__(self)
        CwStore.__init__(self, today=today, now=now)
        self.company_id = company_id
        self.codebase = codebase.strip("/")
        self.add_member(public_key, private_key)
        self._request_ids = itertools.count(1)
        self.route("GET", "/login/companyinfo/{company}", self._company_info)
        self.route("GET", "/sandbox", lambda r: page.index(self))
        self.route("GET", "/sandbox/agreements/{id}",
                   lambda r: page.agreement(self, int(r.params["id"]) if r.params["id"].isdigit() else -1))
        api = "/{codebase}/apis/3.0"
        self._api("GET", f"{api}/company/companies", self._lister("companies", lambda r: self.companies))
        self._api("GET", f"{api}/company/companies/count", self._counter("companies", lambda r: self.companies))
        self._api("GET", f"{api}/company/companies/{{id}}", self._getter("companies", self.company))
        self._api("GET", f"{api}/company/contacts", self._lister("contacts", lambda r: self.contacts))
        self._api("GET", f"{api}/company/contacts/count", self._counter("contacts", lambda r: self.contacts))
        self._api("POST", f"{api}/company/contacts",
                  lambda r, m: self._json(self.contact_rules.create(_body(r)), r, 201), "contacts")
        self._api("GET", f"{api}/company/contacts/{{id}}", self._getter("contacts", self.contact_rules.contact))
        self._api("PATCH", f"{api}/company/contacts/{{id}}", lambda r, m: self._json(
            self.contact_rules.patch(_int(r.params["id"]), _body(r)), r), "contacts")
        self._api("PUT", f"{api}/company/contacts/{{id}}", lambda r, m: self._json(
            self.contact_rules.replace(_int(r.params["id"]), _body(r)), r), "contacts")
        self._api("GET", f"{api}/finance/billingCycles", self._lister("billingCycles", lambda r: self.billing_cycles))
        types = lambda r: self.agreement_types  # noqa: E731
        self._api("GET", f"{api}/finance/agreements/types", self._lister("agreementTypes", types))
        self._api("GET", f"{api}/finance/agreements/types/count", self._counter("agreementTypes", types))
        self._api("GET", f"{api}/finance/agreements/types/{{id}}",
                  self._getter("agreementTypes", lambda i: self._from(self.agreement_types, "AgreementType", i)))
        self._api("GET", f"{api}/finance/agreements", self._lister("agreements", lambda r: self.agreements))
        self._api("GET", f"{api}/finance/agreements/count", self._counter("agreements", lambda r: self.agreements))
        self._api("GET", f"{api}/finance/agreements/{{id}}", self._getter("agreements", self.agreement))
        additions = f"{api}/finance/agreements/{{parentId}}/additions"
        children = lambda r: self.additions_of(_int(r.params["parentId"]))  # noqa: E731
        self._api("GET", additions, self._lister("additions", children))
        self._api("GET", f"{additions}/count", self._counter("additions", children))
        self._api("POST", additions, self._create_addition, "additions")
        self._api("GET", f"{additions}/{{id}}", self._addition("GET"), "additions")
        self._api("PATCH", f"{additions}/{{id}}", self._addition("PATCH"), "additions")
        self._api("PUT", f"{additions}/{{id}}", self._addition("PUT"), "additions")
        self._api("DELETE", f"{additions}/{{id}}", self._addition("DELETE"), "additions")
        self._api("GET", f"{api}/procurement/catalog", self._lister("catalog", lambda r: self.catalog))
        self._api("GET", f"{api}/procurement/catalog/count", self._counter("catalog", lambda r: self.catalog))
        self._api("GET", f"{api}/procurement/catalog/{{id}}", self._getter("catalog", self.product))

    # -- framework --------------------------------------------------------

    def _api(self, method: str, pattern: str, handler: Handler | tuple[str, Handler],
             collection: str | None = None) -> None:
        if isinstance(handler, tuple):
            collection, handler = handler
        assert collection is not None
        checked = handler

        def serve(request: Request) -> Response:
            try:
                if request.params.get("codebase", "").strip("/") not in (self.codebase, "v4_6_release"):
                    raise ApiError(404, "NotFound", f"Unknown codebase {request.params.get('codebase')!r}.")
                member = self._authenticate(request)
                with self.lock:
                    self.require(member, collection, LEVEL_OF[method])
                    return checked(request, member)
            except ApiError as error:
                raise HttpError(self._error(error, request)) from None

        self.route(method, pattern, serve, name=pattern.replace("/{codebase}/apis/3.0", ""))

    def _authenticate(self, request: Request) -> Member:
        if not request.headers.get("clientId"):
            raise ApiError(401, "ClientIdRequired",
                           "A clientId header is required on every request: register one at "
                           "https://developer.connectwise.com/ClientID.")
        header = request.headers.get("Authorization") or ""
        scheme, _, encoded = header.partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8") if scheme.lower() == "basic" else ""
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        user, _, private = decoded.partition(":")
        company, _, public = user.partition("+")
        member = self.check_auth(public, private) if company.casefold() == self.company_id.casefold() else None
        if member is None:
            raise ApiError(401, "Unauthorized", "The credentials provided are invalid.")
        return member

    def _json(self, payload: Any, request: Request, status: int = 200,
              headers: dict[str, str] | None = None) -> Response:
        accept = request.headers.get("Accept") or ""
        version = re.search(r"version=([\d.]+)", accept)
        extra = {"x-cw-request-id": f"sandbox-{next(self._request_ids)}", "api-current-version": API_VERSION}
        return Response(status, dumps(payload),
                        {"Content-Type": f"{MEDIA_TYPE}; version={version.group(1) if version else API_VERSION}",
                         **extra, **(headers or {})})

    def _error(self, error: ApiError, request: Request) -> Response:
        return self._json(error.body(), request, error.status, error.headers)

    def throttled(self, retry_after: int | None) -> Response:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = {"code": "TooManyRequests", "message": "Request volume exceeds capacity; retry later."}
        return Response(429, dumps(body), {"Content-Type": "application/json", **headers})

    def server_error(self, status: int) -> Response:
        body = {"code": "UnexpectedError", "message": "An error has occurred."}
        return Response(status, dumps(body), {"Content-Type": "application/json"})

    def not_found(self, request: Request) -> Response:
        return Response(404, dumps({"code": "NotFound", "message": f"No route for {request.path}."}),
                        {"Content-Type": "application/json"})

    # -- handlers ---------------------------------------------------------

    def _company_info(self, request: Request) -> Response:
        if request.params["company"].casefold() != self.company_id.casefold():
            return Response(404, dumps({"code": "NotFound", "message": "Company not found."}),
                            {"Content-Type": "application/json"})
        return Response.json({"CompanyName": "seatsync sandbox", "Codebase": f"{self.codebase}/",
                              "VersionCode": f"v{API_VERSION}", "VersionNumber": f"v{API_VERSION}.0",
                              "CompanyID": self.company_id, "IsCloud": True, "SiteUrl": request.base_url})

    def _lister(self, collection: str, source: Callable[[Request], dict[int, dict[str, Any]]]) -> tuple[str, Handler]:
        def handler(request: Request, member: Member) -> Response:
            records = source(request)
            rows, links = paged(filtered(records.values(), request, FIELDS[collection]), request)
            return self._json([project(r, request) for r in rows], request, headers=links)
        return collection, handler

    def _counter(self, collection: str, source: Callable[[Request], dict[int, dict[str, Any]]]) -> tuple[str, Handler]:
        def handler(request: Request, member: Member) -> Response:
            records = source(request)
            return self._json({"count": len(filtered(records.values(), request, FIELDS[collection]))}, request)
        return collection, handler

    def _getter(self, collection: str, find: Callable[[int], dict[str, Any]]) -> tuple[str, Handler]:
        def handler(request: Request, member: Member) -> Response:
            return self._json(project(find(_int(request.params["id"])), request), request)
        return collection, handler

    @staticmethod
    def _from(table: dict[int, dict[str, Any]], resource: str, record_id: int) -> dict[str, Any]:
        if record_id not in table:
            raise ApiError(404, "NotFound", f"{resource} with id {record_id} was not found.")
        return table[record_id]

    def _create_addition(self, request: Request, member: Member) -> Response:
        body = _body(request)
        created = self.rules.create(_int(request.params["parentId"]), body)
        return self._json(created, request, 201)

    def _addition(self, method: str) -> Handler:
        def handler(request: Request, member: Member) -> Response:
            parent, child = _int(request.params["parentId"]), _int(request.params["id"])
            if method == "GET":
                return self._json(project(dict(self.addition(parent, child)), request), request)
            if method == "DELETE":
                self.rules.delete(parent, child)
                return Response(204, b"", {"x-cw-request-id": f"sandbox-{next(self._request_ids)}"})
            if method == "PATCH":
                return self._json(self.rules.patch(parent, child, _body(request)), request)
            return self._json(self.rules.replace(parent, child, _body(request)), request)
        return handler


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, "InvalidObject", f"{raw!r} is not a record id.") from None


def _body(request: Request) -> Any:
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(415, "UnsupportedMediaType", "Send the body as application/json.")
    try:
        return jsoncodec.loads(request.body.decode("utf-8"), nan=True)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "InvalidObject", "The request body is not valid JSON.") from None


def dumps(payload: Any) -> bytes:
    """JSON with Decimal written as exact numbers (no float on the way) and nulls left out."""
    return jsoncodec.dumps(_without_nulls(payload), compact=False, ensure_ascii=False, floats=True).encode("utf-8")


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
