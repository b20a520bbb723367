"""Plain text for the headless commands: tables, help text, names from outside made safe to print."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.billing.operations import Plan

#: ``literal`` and :role:`target` (reST in module docstrings), which --help shows as plain words.
_LITERAL = re.compile(r"``(.+?)``", re.S)
_ROLE = re.compile(r":[A-Za-z][\w.+-]*(?::[A-Za-z][\w.+-]*)*:`~?([^`<]*?)\s*(?:<[^`>]*>)?`")
#: Bidirectional overrides and isolates: they reorder what follows them on the line.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def plain_help(text: str) -> str:
    """``text`` (a module docstring) without reST markup: ``x`` and :role:`x` become x."""
    return _ROLE.sub(r"\1", _LITERAL.sub(r"\1", text))


def printable(text: str) -> str:
    """``text`` on one line without control characters (a name from outside must not drive the terminal)."""
    return "".join(" " if ch in "\t\r\n" else "\ufffd" if unicodedata.category(ch) == "Cc" or ch in _BIDI else ch
                   for ch in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = ()) -> str:
    """Columns padded to their widest cell; ``right`` lists right-aligned columns. Cells print as plain text."""
    cells = [[str(h) for h in headers]] + [["" if c is None else printable(str(c)) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def fmt(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=False))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(cells[0]), rule, *(fmt(r) for r in cells[1:])]).rstrip()


def render_plans(plans: Sequence[tuple[str, Plan]], license_names: dict[str, str],
                 agreement_names: dict[str, str]) -> str:
    """The operations of every tenant's plan, then their findings."""
    from app.billing.operations import OpKind  # here, not above: --help and the tables need no billing core

    verbs = {
        OpKind.CREATE_LINE: "create line",
        OpKind.SET_QUANTITY: "set quantity",
        OpKind.ADD_PRORATE: "add prorate line",
        OpKind.ADD_CREDIT: "add credit line",
        OpKind.CANCEL_LINE: "cancel line",
        OpKind.UPDATE_DESCRIPTION: "update description",
    }
    ops = []
    for tenant, plan in plans:
        for op in plan.operations:
            if op.kind in (OpKind.ADD_PRORATE, OpKind.ADD_CREDIT):
                change = f"{op.quantity:+d}"
            elif op.kind is OpKind.UPDATE_DESCRIPTION:
                change = ""
            else:
                change = f"{op.before} → {op.quantity}"
            period = f"{op.effective}" + (f" … {op.end}" if op.end else "")
            ops.append((tenant, license_names.get(op.row.sku_id.lower(), op.row.sku_id),
                        agreement_names.get(op.agreement_id, op.agreement_id), verbs[op.kind], change, period,
                        op.amount, op.basis.formula))
    findings = [(tenant, f.kind.value.replace("_", " "), f.message) for tenant, plan in plans for f in plan.findings]
    parts = []
    if ops:
        parts.append(table(("Tenant", "License", "Agreement", "Operation", "Seats", "From", "Amount", "Why"), ops,
                           right=(6,)))
    else:
        parts.append("Nothing to change: the PSA already bills what the tenants have.")
    if findings:
        parts.append("Findings\n" + table(("Tenant", "Finding", "Detail"), findings))
    writes = sum(len(p.operations) for _, p in plans)
    parts.append(f"{writes} operation(s), {len(findings)} finding(s) across {len(plans)} tenant(s).")
    return "\n\n".join(parts)
