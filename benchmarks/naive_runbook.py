"""A naive sequential runbook: what an MSP's scheduled script does to bill Microsoft 365 seats, with requests.

    python benchmarks/naive_runbook.py --config runbook.json --json figures.json

The sync benchmark (sync_bench.py) runs it against its sandboxes, on tenants
seatsync has synced, to compare a sync with nothing to change. For each
tenant, one after another, as a PowerShell runbook would:

1. an app-only token from Entra ID's token endpoint for the tenant (client
   credentials; nothing cached from one tenant to the next);
2. Graph's subscribedSkus of the tenant;
3. the lines of the tenant's agreement in the PSA: ConnectWise's agreement
   additions, HaloPSA's recurring invoice lines, Autotask's contract services
   and their units;
4. where a mapped license's assigned seats (``consumedUnits``) differ from
   the quantity of its product's open line, the quantity is written
   (ConnectWise: a PATCH of the addition; HaloPSA: the line's ``qty_order``).
   On Autotask a quantity is changed by a dated adjustment, which a plain
   runbook does not compute: a difference there is counted, not written.

No concurrency, no proration, no journal, no read-back: a floor of what
syncing takes, not a way to bill. What it holds (the partner's app, the PSA's
credentials, and per tenant its agreement and which SKU bills to which PSA
product) is its configuration, a JSON file of ``RunbookConfig``. Asserts
nothing; every answer it cannot read is a ``RunbookError`` for that tenant.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import requests

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
TIMEOUT = (5.0, 60.0)
#: ConnectWise's codebase every cloud site answers under.
CW_CODEBASE = "v4_6_release"


class RunbookError(Exception):
    """A request failed or its answer could not be read: the tenant is not synced."""


@dataclass(frozen=True)
class TenantConfig:
    tenant_id: str
    agreement_id: str
    products: dict[str, str]  # Graph skuId -> the PSA product id that bills it


@dataclass(frozen=True)
class RunbookConfig:
    authority: str  # Entra ID's base URL, e.g. https://login.microsoftonline.com
    client_id: str
    client_secret: str = field(repr=False)
    graph_url: str  # e.g. https://graph.microsoft.com/v1.0
    psa: str  # connectwise | halopsa | autotask
    psa_settings: dict[str, str]
    psa_secrets: dict[str, str] = field(repr=False)
    tenants: list[TenantConfig]
    ca_file: str | None = None
    today: str = ""  # YYYY-MM-DD the lines are read on (HaloPSA's end dates); empty: the machine's day

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunbookConfig:
        tenants = [TenantConfig(**t) for t in data["tenants"]]
        return cls(**{**data, "tenants": tenants})


@dataclass
class RunbookResult:
    psa: str
    tenants: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    requests: dict[str, int] = field(default_factory=dict)  # "METHOD what" -> requests sent
    differences: int = 0  # mapped licenses whose line's quantity differed
    writes: int = 0  # quantities written
    not_written: int = 0  # differences left as they were (Autotask)
    missing: int = 0  # mapped licenses with assigned seats and no open line (a runbook that only patches skips them)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def ms_per_tenant(self) -> float:
        return 1000 * self.wall / self.tenants if self.tenants else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_requests": self.total_requests, "ms_per_tenant": self.ms_per_tenant}


@dataclass(frozen=True)
class OpenLine:
    id: str
    product_id: str
    quantity: int
    home: str = ""  # HaloPSA: the recurring invoice that holds the line


# -- HTTP -------------------------------------------------------------------------------


class Http:
    """One requests session; counts every request sent by what it asked for."""

    def __init__(self, ca_file: str | None) -> None:
        self.session = requests.Session()
        if ca_file:
            self.session.verify = ca_file
            self.session.trust_env = False  # the sandboxes' authority wins over REQUESTS_CA_BUNDLE
        self.counts: Counter[str] = Counter()

    def close(self) -> None:
        self.session.close()

    def answer(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        """A 2xx answer; RunbookError for no answer or any other status."""
        self.counts[f"{method} {what}"] += 1
        try:
            response = self.session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as error:
            raise RunbookError(f"{method} {what}: no answer ({type(error).__name__})") from None
        if not 200 <= response.status_code < 300:
            raise RunbookError(f"{method} {what}: HTTP {response.status_code}: {_said(response)}")
        return response

    def send(self, method: str, url: str, what: str, **kwargs: Any) -> Any:
        """The JSON body of a 2xx answer (None when it has none); RunbookError otherwise."""
        return _json(self.answer(method, url, what, **kwargs), f"{method} {what}")


def _json(response: requests.Response, what: str) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise RunbookError(f"{what}: the answer is not JSON") from None


def _said(response: requests.Response) -> str:
    """What the answer says went wrong, in a short printable line."""
    try:
        body = response.json()
    except ValueError:
        return _printable(response.text)
    if isinstance(body, dict):
        for key in ("error_description", "message", "error", "errors"):
            if key in body:
                text = body[key]
                text = text.get("message", text) if isinstance(text, dict) else text
                return _printable((str(text).splitlines() or [key])[0])
    return _printable(str(body))


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text[:200])


def _records(body: Any, key: str | None, what: str) -> list[dict[str, Any]]:
    """``body`` (or ``body[key]``) as a list of objects; RunbookError otherwise."""
    items = body.get(key) if key is not None and isinstance(body, dict) else body
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise RunbookError(f"{what}: the answer is not a list of records")
    return items


def _whole(value: Any, what: str) -> int:
    """A whole number of seats from JSON (ConnectWise answers 5.0 as well as 5)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < 0:
        raise RunbookError(f"{what} is not a number of seats: {str(value)[:40]!r}")
    return int(value)


def _text(record: dict[str, Any], key: str, what: str) -> str:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RunbookError(f"{what} has no {key}")
    return str(value)


# -- Microsoft -----------------------------------------------------------------------------


def assigned_seats(http: Http, config: RunbookConfig, tenant_id: str) -> dict[str, int]:
    """skuId -> consumedUnits of the tenant: a token, then subscribedSkus (every page)."""
    body = http.send("POST", f"{config.authority.rstrip('/')}/{tenant_id}/oauth2/v2.0/token", "entra token",
                     data={"grant_type": "client_credentials", "client_id": config.client_id,
                           "client_secret": config.client_secret, "scope": GRAPH_SCOPE})
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise RunbookError("the token endpoint answered without an access_token")
    seats: dict[str, int] = {}
    url: str | None = f"{config.graph_url.rstrip('/')}/subscribedSkus"
    while url:
        page = http.send("GET", url, "graph subscribedSkus", headers={"Authorization": f"Bearer {token}"})
        for sku in _records(page, "value", "subscribedSkus"):
            seats[_text(sku, "skuId", "a subscribed SKU")] = _whole(sku.get("consumedUnits"), "consumedUnits")
        link = page.get("@odata.nextLink") if isinstance(page, dict) else None
        url = link if isinstance(link, str) and link else None
    return seats


# -- the PSAs ------------------------------------------------------------------------------


class ConnectWise:
    """Agreement additions: an open one has no cancelled date; a quantity is PATCHed."""

    def __init__(self, http: Http, settings: dict[str, str], secrets: dict[str, str], today: str) -> None:
        self.http = http
        self.base = f"{settings['site'].rstrip('/')}/{CW_CODEBASE}/apis/3.0"
        user = f"{settings['company_id']}+{settings['public_key']}:{secrets['private_key']}"
        self.headers = {"Authorization": "Basic " + base64.b64encode(user.encode()).decode(),
                        "clientId": settings["client_id"], "Accept": "application/json"}

    def lines(self, agreement_id: str) -> list[OpenLine]:
        out: list[OpenLine] = []
        url: str | None = f"{self.base}/finance/agreements/{agreement_id}/additions?pageSize=1000"
        while url:
            response = self.http.answer("GET", url, "cw additions", headers=self.headers)
            for addition in _records(_json(response, "GET cw additions"), None, "additions"):
                product = addition.get("product")
                if addition.get("cancelledDate") or not isinstance(product, dict):
                    continue
                out.append(OpenLine(id=_text(addition, "id", "an addition"),
                                    product_id=_text(product, "id", "an addition's product"),
                                    quantity=_whole(addition.get("quantity"), "an addition's quantity")))
            following = response.links.get("next", {}).get("url")
            url = following if following and following != url else None
        return out

    def set_quantity(self, agreement_id: str, line: OpenLine, quantity: int) -> bool:
        self.http.send("PATCH", f"{self.base}/finance/agreements/{agreement_id}/additions/{line.id}",
                       "cw addition", headers=self.headers,
                       json=[{"op": "replace", "path": "quantity", "value": quantity}])
        return True


class HaloPsa:
    """Recurring invoice lines: an open one is not a one-time charge, not inactive and not ended."""

    def __init__(self, http: Http, settings: dict[str, str], secrets: dict[str, str], today: str) -> None:
        self.http = http
        self.today = today
        root = settings["api_url"].rstrip("/").removesuffix("/api")
        self.api = f"{root}/api"
        tenant = settings.get("tenant")
        body = http.send("POST", f"{root}/auth/token", "halo token", params={"tenant": tenant} if tenant else None,
                         data={"grant_type": "client_credentials", "client_id": settings["client_id"],
                               "client_secret": secrets["client_secret"],
                               "scope": "read:customers read:contracts read:items read:invoices edit:invoices"})
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise RunbookError("HaloPSA's token endpoint answered without an access_token")
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def lines(self, agreement_id: str) -> list[OpenLine]:
        body = self.http.send("GET", f"{self.api}/RecurringInvoice", "halo RecurringInvoice", headers=self.headers,
                              params={"contract_id": agreement_id, "includelines": "true"})
        today = self.today
        out: list[OpenLine] = []
        for invoice in _records(body, "invoices", "RecurringInvoice"):
            home = _text(invoice, "id", "a recurring invoice")
            for line in _records(invoice.get("lines") or [], None, f"the lines of recurring invoice {home}"):
                ended = str(line.get("enddate") or "")[:10]
                if line.get("onetimecharge") or line.get("isinactive") or (ended and ended < today):
                    continue
                out.append(OpenLine(id=_text(line, "id", "a line"), product_id=_text(line, "_itemid", "a line"),
                                    quantity=_whole(line.get("qty_order"), "a line's qty_order"), home=home))
        return out

    def set_quantity(self, agreement_id: str, line: OpenLine, quantity: int) -> bool:
        self.http.send("POST", f"{self.api}/RecurringInvoice/updatelines", "halo RecurringInvoice/updatelines",
                       headers=self.headers, json=[{"id": int(line.id), "ihid": int(line.home), "qty_order": quantity}])
        return True


class Autotask:
    """Contract services and their units (the latest period's); a difference is counted, not written."""

    def __init__(self, http: Http, settings: dict[str, str], secrets: dict[str, str], today: str) -> None:
        self.http = http
        lookup = settings["lookup_url"].rstrip("/")
        zone = http.send("GET", f"{lookup}/V1.0/zoneInformation", "autotask zoneInformation",
                         params={"user": settings["username"]}, headers={"Accept": "application/json"})
        url = zone.get("url") if isinstance(zone, dict) else None
        if not isinstance(url, str) or not url.startswith("https://"):
            raise RunbookError("Autotask's zone lookup answered without a zone")
        self.zone = url.rstrip("/")
        self.headers = {"ApiIntegrationCode": settings["integration_code"], "UserName": settings["username"],
                        "Secret": secrets["secret"], "Accept": "application/json"}

    def _query(self, entity: str, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        body = self.http.send("POST", f"{self.zone}/V1.0/{entity}/query", f"autotask {entity}/query",
                              headers=self.headers, json={"filter": filters, "MaxRecords": 500})
        while True:
            records += _records(body, "items", f"{entity} query")
            details = body.get("pageDetails") if isinstance(body, dict) else None
            following = details.get("nextPageUrl") if isinstance(details, dict) else None
            if not isinstance(following, str) or not following:
                return records
            body = self.http.send("GET", following, f"autotask {entity}/query", headers=self.headers)

    def lines(self, agreement_id: str) -> list[OpenLine]:
        services = self._query("ContractServices", [{"op": "eq", "field": "contractID", "value": int(agreement_id)}])
        if not services:
            return []
        ids = [int(_text(s, "id", "a contract service")) for s in services]
        latest: dict[str, tuple[str, int]] = {}
        for row in self._query("ContractServiceUnits", [{"op": "in", "field": "contractServiceID", "value": ids}]):
            key = _text(row, "contractServiceID", "a unit row")
            start = str(row.get("startDate") or "")
            if key not in latest or start > latest[key][0]:
                latest[key] = (start, _whole(row.get("units"), "a unit row's units"))
        return [OpenLine(id=str(service_id), product_id=_text(s, "serviceID", "a contract service"),
                         quantity=latest.get(str(service_id), ("", 0))[1])
                for s, service_id in zip(services, ids, strict=True)]

    def set_quantity(self, agreement_id: str, line: OpenLine, quantity: int) -> bool:
        return False  # a dated ContractServiceAdjustment, which a plain runbook does not compute


PSAS: dict[str, Callable[[Http, dict[str, str], dict[str, str], str], Any]] = {
    "connectwise": ConnectWise, "halopsa": HaloPsa, "autotask": Autotask}


# -- the run -------------------------------------------------------------------------------


def run(config: RunbookConfig) -> RunbookResult:
    """Every tenant of ``config``, one after another; the clock runs from the first request to the last."""
    result = RunbookResult(psa=config.psa)
    http = Http(config.ca_file)
    errors: list[str] = []
    started = time.perf_counter()
    try:
        psa = PSAS[config.psa](http, config.psa_settings, config.psa_secrets,
                               config.today or date.today().isoformat())
        for tenant in config.tenants:
            result.tenants += 1
            try:
                seats = assigned_seats(http, config, tenant.tenant_id)
                lines = {line.product_id: line for line in psa.lines(tenant.agreement_id)}
                for sku_id, product_id in sorted(tenant.products.items()):
                    wanted = seats.get(sku_id, 0)
                    line = lines.get(product_id)
                    if line is None:
                        result.missing += wanted > 0
                    elif line.quantity != wanted:
                        result.differences += 1
                        if psa.set_quantity(tenant.agreement_id, line, wanted):
                            result.writes += 1
                        else:
                            result.not_written += 1
            except RunbookError as error:
                result.failed += 1
                errors.append(f"tenant {tenant.tenant_id}: {error}")
    except RunbookError as error:  # the PSA refused the runbook before the first tenant
        errors.append(f"{config.psa}: {error}")
        result.failed = len(config.tenants)
    finally:
        result.wall = time.perf_counter() - started
        http.close()
    result.requests = dict(sorted(http.counts.items()))
    result.errors = sorted({e.split(": ", 1)[1] for e in errors if ": " in e})[:3]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, required=True, metavar="FILE",
                        help="the runbook's configuration (JSON: RunbookConfig)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE as JSON")
    args = parser.parse_args(argv)
    config = RunbookConfig.from_dict(json.loads(args.config.read_text(encoding="utf-8")))
    result = run(config)
    print(f"naive runbook ({result.psa}): {result.tenants:,} tenants ({result.failed:,} failed) in "
          f"{result.wall:,.2f} s = {result.ms_per_tenant:,.0f} ms/tenant; {result.total_requests:,} requests; "
          f"{result.differences:,} quantities differed, {result.writes:,} written")
    for error in result.errors:
        print(f"  - {error}")
    if args.json:
        args.json.write_text(json.dumps(result.as_dict(), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
