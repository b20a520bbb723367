"""The live preview of a mapping: the PSA line(s) it would produce, and why.

Pure: it calls the billing core's ``plan`` (the function every sync calls)
on plain values — the license, the tenant's users when known, the agreement,
and its lines as the PSA holds them (another tool's, a person's edits), each
of seatsync's with what its journal knows — so the amounts the mapping dialog
shows are the amounts a sync would write.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as AnyMapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from app.billing.foreign import ForeignDecision
from app.billing.markers import is_main_marker, main_marker, row_key
from app.billing.operations import FindingKind, Operation, OpKind
from app.billing.periods import agreement_period
from app.billing.plan import PlanOptions, plan
from app.billing.proration import line_amount
from app.billing.quantities import row_counts
from app.billing.row import row_quantity
from app.billing.types import Agreement, BillingOption, Cycle, License, Line, LineKind, Mapping, TenantInventory, User
from app.billing.written import Written, write_log

_QUIET = {FindingKind.UNMAPPED_LICENSE}
#: Findings that hold a row: nothing is written for it while one stands.
_HOLDING = {FindingKind.FOREIGN_LINE, FindingKind.OTHER_INSTALLATION, FindingKind.DUPLICATE_OWNED_LINE}
_ORDER = ("main", "cancel", "prorate", "credit", "description")


@dataclass(frozen=True, kw_only=True)
class PreviewLine:
    """One PSA line the mapping produces (or changes), explained."""

    kind: str  # main | prorate | credit | cancel | description
    quantity: int
    unit_price: Decimal
    amount: Decimal
    text: str  # "12 × 22.00 = 264.00 / month"
    dates: str = ""
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class Preview:
    lines: tuple[PreviewLine, ...] = ()
    basis: str = ""  # how the quantity was reached
    notes: tuple[str, ...] = ()  # findings about this row, and caveats
    error: str = ""
    changes: bool = False  # False: the PSA already bills this (nothing would be written)
    held: bool = False  # a finding holds the row (another tool's line...): nothing is written while it stands

    @property
    def summary(self) -> str:
        """One line: "12 × 22.00 = 264.00 / month; prorate +2 … = 22.00"."""
        return self.error or "; ".join(line.text for line in self.lines if line.kind != "description")


def _per(cycle: Cycle) -> str:
    return "month" if cycle is Cycle.MONTHLY else "year"


def _day(value: date | None) -> str:
    return "" if value is None else f"{value.day} {value:%b %Y}"  # as the window writes every day: "1 Dec 2026"


def preview_mapping(mapping: Mapping, licenses: Iterable[License], *, agreement: Agreement | None,
                    users: tuple[User, ...] | None, lines: Iterable[Line], today: date,
                    others: Iterable[Mapping], decisions: AnyMapping[str, ForeignDecision] | None = None,
                    options: PlanOptions | None = None, agreements: Iterable[Agreement] = ()) -> Preview:
    """What a sync today would write for ``mapping``, given the lines on the agreement (``lines``: as the PSA holds
    them, each of seatsync's with what its journal knows; or, when the PSA could not be read, what seatsync last
    wrote), the tenant's other mappings (``others``: a written line no mapping names any more stops, and a new row
    of its license starts after it; a split license's rows are planned together) and what people decided about other
    tools' lines (``decisions``: an undecided one holds the row, and the preview says so); ``options``: what the
    sync tells the planner for the connection (``SyncService.plan_options``), so the preview reports what the sync
    would (a margin under the minimum, a description cut to the PSA's limit); ``agreements``: the others the lines
    may be on (a row moved from one bills there to the end of that one's period)."""
    if agreement is None:
        return Preview(error="Choose an agreement to see the line it would bill.")
    licenses = tuple(licenses)
    lines = tuple(lines)
    inventory = TenantInventory(tenant_id=mapping.tenant_id, licenses=licenses, users=users)
    try:
        counts = row_counts(mapping, inventory)
        # Lines the other mappings bill stay: only those no mapping names are retired in this preview.
        kept = {main_marker(m.row) for m in others if m.row != mapping.row}
        lines = tuple(replace(ln, written_row=None) if row_key(ln.marker) in kept else ln for ln in lines)
        known = [agreement, *(a for a in agreements if a.id != agreement.id)]
        result = plan(inventory, [mapping], [], known, lines, today, options or PlanOptions(),
                      decisions=decisions)
        # A split license's rows share what its retired line bills until it stops, and one of them prorates the
        # seats the license gains meanwhile: this row's operations are planned beside the others (its findings
        # alone, above: theirs are not this row's).
        siblings = [m for m in others if m.row != mapping.row and m.sku_id.lower() == mapping.sku_id.lower()]
        operations = plan(inventory, [mapping, *siblings], [], known, lines, today, options or PlanOptions(),
                          decisions=decisions).operations if siblings else result.operations
    except ValueError as error:
        if "needs the tenant's users" in str(error):
            return Preview(error="This mapping counts users (user filter or UPN domain), and the tenant's "
                                 "users could not be read: the preview cannot count them. The sync reads them.")
        raise
    own = [f for f in result.findings if f.sku_id.lower() == mapping.sku_id.lower() and f.kind not in _QUIET]
    notes = [f.message for f in own]
    held = any(f.kind in _HOLDING for f in own)
    if any(op.kind is OpKind.CANCEL_LINE and op.row != mapping.row
           and op.row.sku_id.lower() == mapping.sku_id.lower() for op in result.operations):
        notes.append("The line billed now for this license stops at the end of its period; "
                     "this row's line starts the day after.")
    past = [op for op in operations if op.row == mapping.row and op.end is not None
            and op.kind is OpKind.ADD_PRORATE and op.end < agreement_period(agreement, today).start]
    if past:
        notes.append(f"The start date bills {len(past)} past period{'s' if len(past) > 1 else ''} "
                     f"({_day(past[0].effective)} – {_day(past[-1].end)}): an invoice for "
                     f"{'them' if len(past) > 1 else 'it'} may already have gone to the customer.")
    start = mapping.start_date_override
    if start is not None:  # the planner honours it on a row's first sync only (docs/billing.md)
        marker = main_marker(mapping.row)
        since = min((ln.start for ln in lines if ln.start is not None and row_key(ln.marker) == marker), default=None)
        if since is not None and since != start:
            notes.append(f"This row is billed since {_day(since)}: a start date applies to a row's first sync only, "
                         f"so {_day(start)} changes nothing.")
    if mapping.usernames_in_description and users is None:
        notes.append("Usernames are added at each sync (the tenant's users could not be read for this preview).")
    quantity = row_quantity(mapping, inventory, counts)
    profile = mapping.profile
    unit_price = profile.price.unit_price(profile.product.price, agreement.currency)
    billable = profile.billing_option is BillingOption.BILLABLE
    if not billable:
        notes.append(f"The profile bills {profile.billing_option.value.replace('_', '-')}: amounts are 0.00.")
    basis = _basis_text(mapping, counts.purchased, counts.assigned, counts.base, quantity)
    ops = [op for op in operations if op.row == mapping.row]
    # The main line first (what the invoice shows every period), then its dated lines.
    shown = sorted((_line(op, agreement) for op in ops), key=lambda line: _ORDER.index(line.kind))
    if not held and not any(op.kind in (OpKind.CREATE_LINE, OpKind.SET_QUANTITY, OpKind.CANCEL_LINE) for op in ops):
        amount = line_amount(quantity, unit_price, agreement.currency) if billable else Decimal("0.00")
        current = _current(mapping, lines, today)
        if quantity or current is not None:
            text = f"{quantity} × {unit_price} = {amount} / {_per(agreement.cycle)}"
            description = current.description if current is not None else ""
            shown.insert(0, PreviewLine(kind="main", quantity=quantity, unit_price=unit_price, amount=amount,
                                        text=text, dates="unchanged" if current is not None else "",
                                        description=description))
        else:
            notes.append("Nothing to bill: the quantity is 0, so no line is created.")
    return Preview(lines=tuple(shown), basis=basis, notes=tuple(notes), changes=bool(ops), held=held)


def _current(mapping: Mapping, lines: tuple[Line, ...], today: date) -> Line | None:
    marker = main_marker(mapping.row)
    return next((ln for ln in lines if row_key(ln.marker) == marker and is_main_marker(ln.marker)
                 and ln.kind is LineKind.MAIN and not ln.ended_before(today)), None)


def _basis_text(mapping: Mapping, purchased: int, assigned: int, base: int, quantity: int) -> str:
    source = {
        "assigned": f"{assigned} assigned",
        "purchased": f"{purchased} purchased (unassigned seats billed)",
        "upn_domain": f"{base} licensed users @{mapping.basis_param.strip().lstrip('@')}",
        "sum_of_licenses": f"{base} assigned across the chosen licenses",
    }[mapping.basis.value]
    if mapping.user_filter is not None:
        source = f"{base} users with {mapping.user_filter.field.value} = {mapping.user_filter.value}"
    parts = [source]
    if mapping.included_quantity:
        parts.append(f"− {mapping.included_quantity} included")
    if mapping.minimum_quantity:
        parts.append(f"at least {mapping.minimum_quantity}")
    return f"{'; '.join(parts)} → {quantity} seat{'s' if quantity != 1 else ''}"


def _line(op: Operation, agreement: Agreement) -> PreviewLine:
    per = _per(agreement.cycle)
    price = op.unit_price
    if op.kind in (OpKind.ADD_PRORATE, OpKind.ADD_CREDIT):
        kind = "prorate" if op.kind is OpKind.ADD_PRORATE else "credit"
        sign = "+" if op.quantity > 0 else "−"
        dates = f"{_day(op.effective)} – {_day(op.end)}"
        text = f"{kind} {sign}{abs(op.quantity)} ({dates}): {op.basis.formula}"
        return PreviewLine(kind=kind, quantity=op.quantity, unit_price=price, amount=op.amount, text=text,
                           dates=dates, description=op.description)
    if op.kind is OpKind.CANCEL_LINE:
        text = f"cancel the line of {op.before} from {_day(op.effective)}"
        return PreviewLine(kind="cancel", quantity=0, unit_price=price, amount=Decimal("0.00"), text=text,
                           dates=f"from {_day(op.effective)}")
    if op.kind is OpKind.UPDATE_DESCRIPTION:
        return PreviewLine(kind="description", quantity=op.quantity, unit_price=price, amount=Decimal("0.00"),
                           text="new description", description=op.description)
    change = "" if op.kind is OpKind.CREATE_LINE else f" (was {op.before})"
    text = f"{op.quantity} × {price} = {op.amount} / {per}{change}"
    return PreviewLine(kind="main", quantity=op.quantity, unit_price=price, amount=op.amount, text=text,
                       dates=f"from {_day(op.effective)}", description=op.description)


def lines_read(read: Iterable[Line], written: Iterable[tuple[Operation, str]]) -> tuple[Line, ...]:
    """The lines the PSA holds, each of seatsync's with what its journal knows of it (``written``:
    ``(operation, PSA record id)``, oldest first), as a sync sees them: another tool's lines and a person's
    edits show in the preview."""
    log = write_log(Written(op=op, line_id=psa_id) for op, psa_id in written)
    return tuple(log.enrich(line) for line in read)


def lines_from_written(written: Iterable[tuple[Operation, str]]) -> tuple[Line, ...]:
    """The lines seatsync's own writes left in the PSA, from ``(operation, PSA record id)``, oldest first.

    The preview compares a mapping with these when the PSA's lines cannot be
    read (``lines_read``: read once, before the dialog opens; the preview
    answers as the user types, never waiting on the PSA).
    """
    lines: dict[str, Line] = {}
    for op, psa_id in written:
        current = lines.get(op.marker)
        if op.kind is OpKind.CREATE_LINE:
            lines[op.marker] = Line(id=psa_id or op.key, agreement_id=op.agreement_id, product_id=op.product_id,
                                    quantity=op.quantity, unit_price=op.unit_price, start=op.effective,
                                    description=op.description, marker=op.marker,
                                    last_written_quantity=op.quantity, written_row=op.row,
                                    history=((op.effective, op.quantity),))
        elif op.kind in (OpKind.ADD_PRORATE, OpKind.ADD_CREDIT):
            kind = LineKind.PRORATE if op.kind is OpKind.ADD_PRORATE else LineKind.CREDIT
            lines[op.marker] = Line(id=psa_id or op.key, agreement_id=op.agreement_id, product_id=op.product_id,
                                    kind=kind, quantity=op.quantity, unit_price=op.unit_price, start=op.effective,
                                    end=op.end, description=op.description, marker=op.marker, amount=op.amount)
        elif current is None:
            continue
        elif op.kind is OpKind.SET_QUANTITY:
            lines[op.marker] = replace(current, quantity=op.quantity, last_written_quantity=op.quantity,
                                       history=(*current.history, (op.effective, op.quantity)))
        elif op.kind is OpKind.UPDATE_DESCRIPTION:
            lines[op.marker] = replace(current, description=op.description)
        elif op.kind is OpKind.CANCEL_LINE:
            lines[op.marker] = replace(current, end=op.effective - timedelta(days=1))
    return tuple(lines.values())
