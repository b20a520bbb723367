"""Read-only HTML pages of the sandbox: "what the PSA now shows" for people trying the demo."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING, Any

from app.sandbox.server import Response

if TYPE_CHECKING:
    from app.sandbox.connectwise.store import CwStore

_STYLE = """
body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-top: 1em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.text { white-space: pre-wrap; max-width: 40em; }
tr.cancelled td { color: #999; }
.owned { color: #0a6; font-weight: 600; }
"""


def _page(title: str, body: str, status: int = 200) -> Response:
    return Response.html(f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
                         f"<style>{_STYLE}</style></head><body>{body}</body></html>", status)


def _money(value: Any) -> str:
    return f"{value:,.2f}" if isinstance(value, (Decimal, int)) else ""


def _day(value: Any) -> str:
    return escape(str(value)[:10]) if value else ""


def index(store: CwStore) -> Response:
    with store.lock:
        rows = "".join(
            f"<tr><td>{a['id']}</td><td><a href='/sandbox/agreements/{a['id']}'>{escape(a['name'])}</a></td>"
            f"<td>{escape(a['company']['name'])}</td><td>{escape(a['type']['name'])}</td>"
            f"<td>{escape(a['billingCycle']['name'])}</td><td>{'yes' if a.get('prorateFlag') else 'no'}</td>"
            f"<td>{escape(a.get('agreementStatus', ''))}</td><td class='num'>{len(store.additions[a['id']])}</td></tr>"
            for a in sorted(store.agreements.values(), key=lambda a: (a["company"]["name"], a["id"])))
    return _page("ConnectWise sandbox: agreements",
                 "<h1>ConnectWise sandbox: agreements</h1><table><tr><th>Id</th><th>Agreement</th><th>Company</th>"
                 "<th>Type</th><th>Billing cycle</th><th>Prorates</th><th>Status</th><th>Additions</th></tr>"
                 f"{rows}</table>")


def agreement(store: CwStore, agreement_id: int) -> Response:
    with store.lock:
        record = store.agreements.get(agreement_id)
        if record is None:
            return _page("Not found", f"<h1>No agreement {agreement_id}</h1><p><a href='/sandbox'>All agreements</a>",
                         404)
        additions = sorted(store.additions[agreement_id].values(), key=lambda a: a["id"])
        total = sum((a.get("extendedProratePrice") or Decimal(0) for a in additions), Decimal(0))
        rows = "".join(_addition_row(a) for a in additions)
    head = (f"<p><a href='/sandbox'>All agreements</a></p><h1>{escape(record['name'])}</h1>"
            f"<p>{escape(record['company']['name'])} · {escape(record['type']['name'])} · "
            f"{escape(record['billingCycle']['name'])} from {_day(record.get('startDate'))} · "
            f"{'prorating' if record.get('prorateFlag') else 'not prorating'} · "
            f"{escape(record.get('agreementStatus', ''))}</p>")
    table = ("<table><tr><th>Id</th><th>Product</th><th>Qty</th><th>Unit price</th><th>Ext. price</th>"
             "<th>Billed for the period of the effective date</th><th>Effective</th><th>Cancelled</th>"
             "<th>Serial number (marker)</th><th>Invoice description</th></tr>"
             f"{rows}<tr><th colspan='5'>Total for the period of each addition's effective date</th>"
             f"<td class='num'>{_money(total)}</td><td colspan='4'></td></tr></table>")
    return _page(f"Agreement {record['name']}", head + table)


def _addition_row(a: dict[str, Any]) -> str:
    serial = a.get("serialNumber") or ""
    marker = f"<span class='owned'>{escape(serial)}</span>" if serial.startswith("seatsync:") else escape(serial)
    css = " class='cancelled'" if a.get("cancelledDate") else ""
    return (f"<tr{css}><td>{a['id']}</td><td>{escape(a['product'].get('identifier', ''))}</td>"
            f"<td class='num'>{a.get('quantity', '')}</td><td class='num'>{_money(a.get('unitPrice'))}</td>"
            f"<td class='num'>{_money(a.get('extPrice'))}</td>"
            f"<td class='num'>{_money(a.get('extendedProratePrice'))}</td>"
            f"<td>{_day(a.get('effectiveDate'))}</td><td>{_day(a.get('cancelledDate'))}</td>"
            f"<td>{marker}</td><td class='text'>{escape(a.get('invoiceDescription', ''))}</td></tr>")
