"""One mapped row's plan: its main line, the dated lines of its ledger, and its description.

``plan()`` (app/billing/plan.py) reads a tenant's inputs once, indexes
them, and gives each mapped row a ``RowPlanner`` with the lines that carry
its marker; the rules the row follows are stated in that module and, each
with a worked example, in docs/billing.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Mapping as AnyMapping
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from app.billing.description import line_description
from app.billing.ledger import covered, opening_quantity, target
from app.billing.markers import dated_marker, is_main_marker, main_marker, operation_key
from app.billing.money import spelled
from app.billing.operations import Basis, Finding, FindingKind, Operation, OpKind
from app.billing.periods import Period, agreement_period, days_between
from app.billing.proration import line_amount, prorated_amount
from app.billing.quantities import RowCounts, billed_quantity, row_counts
from app.billing.retired import stop_day
from app.billing.types import (
    Agreement,
    BillingOption,
    Line,
    LineKind,
    Mapping,
    PricePolicy,
    QuantityBasis,
    RowKey,
    TenantInventory,
)

if TYPE_CHECKING:
    from app.billing.plan import PlanOptions

_ONE_DAY = timedelta(days=1)
_ZERO = Decimal("0.00")
_TENTH = Decimal("0.1")


def row_quantity(mapping: Mapping, inventory: TenantInventory, counts: RowCounts) -> int:
    """The seats a row bills: ``counts.base`` less its included seats, at least its minimum (0 when its license
    is gone from the tenant)."""
    custom = mapping.basis in (QuantityBasis.UPN_DOMAIN, QuantityBasis.SUM_OF_LICENSES)
    if not custom and inventory.license(mapping.sku_id) is None:
        return 0
    return billed_quantity(counts.base, mapping.included_quantity, mapping.minimum_quantity)


@lru_cache(maxsize=1024)  # a few price policies and catalog prices serve every tenant
def _unit_price(policy: PricePolicy, psa_price: Decimal, currency: str) -> Decimal:
    return policy.unit_price(psa_price, currency)


class RowPlanner:
    """Plans one mapped row: its main line, the dated lines of its ledger, and its description."""

    def __init__(self, mapping: Mapping, agreement: Agreement, inventory: TenantInventory,
                 own: Sequence[Line], today: date, options: PlanOptions,
                 successor_start: date | None = None, generation: int = 0, key: str = "",
                 periods: Callable[[Agreement, date], Period] = agreement_period,
                 adopted_on: date | None = None, agreements: AnyMapping[str, Agreement] | None = None,
                 succeeding: tuple[Sequence[Line], int] | None = None) -> None:
        """``own``: this installation's lines carrying the row's marker; ``key``: the row's ``main_marker``
        when already known; ``periods``: ``agreement_period`` or a memo of it; ``adopted_on``: the day a
        person decided seatsync adopts the row's main line (another tool's before); ``agreements``: by id,
        those the row's lines name (a line on another agreement bills on that one's calendar); ``succeeding``:
        retired lines of the row's license that still bill and what the rows succeeding them bill in all, when
        this row settles the license's seats added until they stop (retired.py)."""
        self.m = mapping
        self.successor_start = successor_start
        self.generation = generation
        self.agreement = agreement
        self.today = today
        self.options = options
        self.findings: list[Finding] = []
        self._row: RowKey | None = None
        self._periods = periods
        self.period = periods(agreement, today)
        #: In the period a line was adopted in it bills what the other tool billed: no prorate or credit,
        #: and its quantity is corrected from the next period.
        self.adopting = adopted_on is not None and adopted_on in self.period
        key = key or main_marker(mapping.row)
        self.marker = f"{key}.{options.installation}" if options.installation else key
        self.own = own
        self.mains: list[Line] = []
        self.dated: list[Line] = []
        self._agreements = agreements or {}
        self.here: list[Line] = []  # the main lines on the row's agreement and product
        #: The row's main lines on another agreement or product (it moved), and the retired lines it succeeds
        #: (``succeeding``), each with its agreement and the first day it no longer bills.
        self.elsewhere: list[tuple[Line, Agreement, date]] = []
        #: When a line elsewhere bills today or later: the first day the row bills where it is now (the
        #: last of them stops the day before), and the agreement that line bills on.
        self.handover: tuple[date, Agreement] | None = None
        self._billing_since = date.max  # the first day those lines bill (the row settles none before it)
        agreement_id, product_id = agreement.id, mapping.profile.product.id
        for ln in own:
            here = ln.agreement_id == agreement_id and ln.product_id == product_id
            if ln.kind is not LineKind.MAIN:
                self.dated.append(ln)
                if not here:
                    self._billing_elsewhere(ln)
            elif is_main_marker(ln.marker):
                self.mains.append(ln)
                if here:
                    self.here.append(ln)
                else:
                    self._billing_elsewhere(ln)
        self._taken: set[str] | None = None
        self.counts = row_counts(mapping, inventory)
        self.quantity = row_quantity(mapping, inventory, self.counts)
        #: What the rows succeeding a retired line of the license bill in all, when this row settles the days
        #: until that line stops (``succeeding``).
        self.license_quantity: int | None = None
        if succeeding is not None:
            retired, self.license_quantity = succeeding
            for ln in retired:
                if ln.kind is not LineKind.MAIN:  # a retired row's prorate or credit: what the days bill
                    self.dated.append(ln)
                self._billing_elsewhere(ln)
        profile = mapping.profile
        self.unit_price = _unit_price(profile.price, profile.product.price, agreement.currency)
        self.billable = profile.billing_option is BillingOption.BILLABLE
        self.description = self._description(self.counts)
        margin = self.unit_price - profile.product.cost
        if self.billable and self.quantity and margin * 100 < self.unit_price * options.minimum_margin:
            self._finding(FindingKind.LOW_MARGIN, self._low_margin(margin))

    def period_of(self, day: date) -> Period:
        return self._periods(self.agreement, day)

    def _billed_on(self, line: Line) -> Agreement:
        """The agreement ``line`` bills on (the row's own when the PSA did not give it)."""
        return self._agreements.get(line.agreement_id, self.agreement)

    def _billing_elsewhere(self, line: Line) -> None:
        """``line`` bills for the row elsewhere (the row moved, or succeeds a retired line): a main line counts
        on its own calendar until it stops, and the row begins where it is now once every such line stops."""
        billed_on = self._billed_on(line)
        if line.kind is LineKind.MAIN:
            stop = stop_day(line, billed_on, self.today)
            self.elsewhere.append((line, billed_on, stop))
            if line.ended_before(self.today):
                return
        elif line.end is None or line.end < self.today:
            return
        else:
            stop = line.end + _ONE_DAY
        if self.handover is None or stop > self.handover[0]:
            self.handover = (stop, billed_on)
        self._billing_since = min(self._billing_since, line.start or date.min)

    @property
    def taken(self) -> set[str]:
        """The markers of the row's lines, and of the dated lines this plan adds (made on the first one)."""
        if self._taken is None:
            self._taken = {ln.marker for ln in self.own}
        return self._taken

    @property
    def row(self) -> RowKey:
        """The mapping's row, made when an operation needs it."""
        if self._row is None:
            self._row = self.m.row
        return self._row

    def _description(self, counts: RowCounts) -> str:
        head = self.m.description_override or self.m.profile.product.description
        names = None
        if self.m.usernames_in_description and counts.users is not None:
            names = [u.upn for u in counts.users]
        unassigned = counts.unassigned if self.m.bill_unassigned else 0
        return line_description(head, names, unassigned, self.options.max_description_length)

    def _low_margin(self, margin: Decimal) -> str:
        product, currency, minimum = self.m.profile.product, self.agreement.currency, self.options.minimum_margin
        said = (f"billing profile {self.m.profile.name} bills {self.unit_price} a seat; product "
                f"{product.identifier or product.id} costs {spelled(product.cost, currency)} in the PSA: a margin of "
                f"{spelled(margin, currency)} a seat")
        if self.unit_price > 0:
            said += f" ({(margin * 100 / self.unit_price).quantize(_TENTH, ROUND_HALF_UP)} % of the price)"
        return said + (f", under the minimum of {minimum} %" if minimum else "")

    def _finding(self, kind: FindingKind, message: str, line_id: str = "") -> None:
        self.findings.append(Finding(kind=kind, tenant_id=self.m.tenant_id, sku_id=self.m.sku_id,
                                     agreement_id=self.agreement.id, line_id=line_id, message=message))

    def operations(self) -> list[Operation]:
        open_lines = [ln for ln in self.mains if ln.end is None]
        if len(open_lines) > 1:
            self._finding(FindingKind.DUPLICATE_OWNED_LINE,
                          f"{len(open_lines)} open lines carry this row's marker: "
                          f"{', '.join(ln.id for ln in open_lines)}; cancel all but one")
            return []
        line = open_lines[0] if open_lines else None
        period = self.period
        begin = self._begin()
        main = self._main(line, period, begin)
        # Dated lines first: if the main line's change is lost, the next
        # plan sees the old quantity again, while the dated line it already
        # wrote counts in the ledger and is not written twice.
        return self._ledger(period, begin, main) + main

    def _begin(self) -> date:
        """The first day the row bills from this sync on: today, or the day its lines start when later.
        A row not yet written starts on its override start date, or the day a line it succeeds stops
        billing (past or to come: no day missed), whichever is later; else today. A row the journal wrote
        for whose lines are gone (a PSA deletes a line cancelled before it billed) starts today, or on that
        day when still to come: a start date is never billed twice, nor a day before it."""
        if self.handover is not None:  # moved, or succeeding: from the day the lines elsewhere stop billing
            return self.handover[0]
        if self.mains or self.dated:
            starts = [ln.start for lines in (self.mains, self.dated) for ln in lines if ln.start is not None]
            return max(self.today, min(starts)) if starts else self.today
        bound = max(filter(None, (self.m.start_date_override, self.successor_start)), default=None)
        if bound is None:
            return self.today
        return max(self.today, bound) if self.generation else bound

    # -- the main line --------------------------------------------------------

    def _main(self, line: Line | None, period: Period, begin: date) -> list[Operation]:
        # The mapping moved to another agreement or product: the old line bills to the end of its own period,
        # and the row begins where it is now on that day, like a row that succeeds it.
        moved = [self._cancel(ln, period, stop) for ln, _, stop in self.elsewhere if ln is line]
        if line is not None and not moved:
            return self._change(line, period)
        closing = [ln.end for ln in self.here if ln.end is not None and ln.end >= self.today]
        if closing:  # a cancelled line still bills: the new one starts the day after it stops...
            after = max(closing) + _ONE_DAY
            if self.handover is not None:  # ...or once what bills elsewhere stops, when later
                begin = max(begin, after)
            elif self.successor_start is None or after >= self.successor_start:
                return self._create(period, after)
            else:  # ...and never before a line it succeeds stops (its own cancelled before it started ends earlier)
                begin = max(begin, self.successor_start)
        first = self.period_of(begin)
        start = begin if begin == first.start else first.next_start
        return moved + self._create(period, max(start, period.start))

    def _create(self, period: Period, start: date) -> list[Operation]:
        if self.quantity == 0:
            return []
        return [self._op(OpKind.CREATE_LINE, period, start, marker=self.marker, quantity=self.quantity,
                         before=0, amount=self._amount(self.quantity), description=self.description)]

    def _change(self, line: Line, period: Period) -> list[Operation]:
        if line.last_written_quantity is not None and line.quantity != line.last_written_quantity:
            self._finding(FindingKind.MANUAL_EDIT,
                          f"line {line.id} holds {line.quantity} seats; seatsync last wrote "
                          f"{line.last_written_quantity}", line.id)
        first_day = self.today == period.start and not self.adopting
        # A line not started yet is changed from its first day (Autotask bills from a change's day).
        effective = line.not_before_start(period.start if first_day else period.next_start)
        delta = self.quantity - line.quantity
        if delta < 0 and -delta >= self.options.suspicious_drop_seats and -delta * 2 > line.quantity:
            self._finding(FindingKind.SUSPICIOUS_DROP,
                          f"seats would fall from {line.quantity} to {self.quantity}", line.id)
        if self.quantity == 0:
            # Under negative proration the ledger credits the rest of the
            # period and the line stops today; otherwise it bills to its end.
            crediting = self.agreement.prorates and self.billable and not first_day and self.m.negative_proration
            return [self._cancel(line, period, self.today if crediting else effective)]
        ops: list[Operation] = []
        # A manual edit that happens to match the rule is still written, as seatsync's own: its journal
        # (the ledger's q0 of the periods to come) must know what the line bills.
        adopted = line.last_written_quantity is not None and line.last_written_quantity != self.quantity
        if delta or adopted:
            ops.append(self._op(OpKind.SET_QUANTITY, period, effective, marker=line.marker, line_id=line.id,
                                quantity=self.quantity, before=line.quantity,
                                amount=self._amount(self.quantity)))
        if self.billable and line.unit_price != self.unit_price:
            currency = self.agreement.currency
            self._finding(FindingKind.PRICE_DRIFT, f"line {line.id} bills {spelled(line.unit_price, currency)} a "
                                                   f"seat; billing profile {self.m.profile.name} gives "
                                                   f"{self.unit_price}", line.id)
        if self.description != line.description:
            ops.append(self._op(OpKind.UPDATE_DESCRIPTION, period, self.today, marker=line.marker,
                                line_id=line.id, quantity=self.quantity, before=line.quantity,
                                description=self.description))
        return ops

    def _cancel(self, line: Line, period: Period, effective: date) -> Operation:
        return self._op(OpKind.CANCEL_LINE, period, line.not_before_start(effective), marker=line.marker,
                        line_id=line.id, quantity=0, before=line.quantity, agreement_id=line.agreement_id,
                        product_id=line.product_id)

    # -- foreign lines: what a person decided ---------------------------------

    def adopt(self, line: Line) -> Operation:
        """Set the row's marker on ``line``; it keeps what it bills (from its first day in this period)."""
        period = self.period
        effective = max(period.start, line.start) if line.start is not None else period.start
        return self._op(OpKind.ADOPT_LINE, period, effective, marker=self.marker, line_id=line.id,
                        quantity=line.quantity, before=line.quantity, amount=self._amount(line.quantity),
                        basis=self._basis(period, formula=f"seatsync takes over line {line.id} "
                                                          f"({line.marker or 'no reference'}) at {line.quantity}"
                                                          " seats; its quantity is corrected from the next "
                                                          "period"))

    def cancel_foreign(self, line: Line, last_day: date) -> Operation:
        op = self._cancel(line, self.period, last_day + _ONE_DAY)
        return replace(op, basis=self._basis(self.period, formula=f"a person cancelled line {line.id} "
                                                                   f"({line.marker or 'no reference'}): it bills "
                                                                   f"until {last_day.isoformat()}"))

    # -- the ledger: prorate and credit lines ---------------------------------

    def _ledger(self, period: Period, begin: date, main: list[Operation]) -> list[Operation]:
        """The dated lines that make each period from ``begin`` bill what the ledger says.

        Past periods are reached only by a row's first sync that bills from
        before the current period (an override start date, or the day a line
        it succeeds stopped): each is billed from that day (whole periods on
        any agreement, a part only where the agreement prorates). From the
        current period on, the ledger is settled on the day the row bills
        from (today, or a day to come: ``_settle``).
        """
        if not self.billable or self.adopting:
            return []
        ops = self._before_handover() if self.handover is not None else []
        day = begin if begin > self.today else max(begin, period.start)
        periods = []
        if begin < period.start:
            past = self.period_of(begin)
            while past.start < period.start:
                periods.append((past, max(begin, past.start)))
                past = self.period_of(past.next_start)
        periods.append((period if day in period else self.period_of(day), day))
        for p, first in periods:
            if first == p.start and p.end >= self.today:
                continue  # the main line bills a period from its first day (it is changed from S)
            if first != p.start and not self.agreement.prorates:
                continue  # an agreement that does not prorate bills changes from the next period
            ops.extend(self._settle(p, first, main))
        return ops

    def _before_handover(self) -> list[Operation]:
        """Until a moved row's line elsewhere stops, its period is settled on that line's calendar (the dated
        lines go on the row's agreement); until a retired line stops, the license's seats added are."""
        stop, billed_on = self.handover or (self.today, self.agreement)
        if stop <= self.today or self._billing_since > self.today:  # nothing bills yet (a start date to come)
            return []
        period = self._periods(billed_on, self.today)
        if self.today == period.start or not billed_on.prorates:
            return []
        return self._settle(period, self.today, [], own=self.period, license_quantity=self.license_quantity)

    def _settle(self, period: Period, day: date, main: list[Operation], own: Period | None = None,
                license_quantity: int | None = None) -> list[Operation]:
        """``own``: the row's period holding ``day`` when ``period`` is another agreement's; ``license_quantity``:
        what the period bills at least from ``day`` (a retired line's successors, in all)."""
        q0 = opening_quantity(self.here, own or period, day)
        for ln, billed_on, stop in self.elsewhere:  # lines of a moved or retired row bill on their own calendars
            theirs = self._periods(billed_on, day)
            if theirs.start < stop:
                q0 += opening_quantity((ln,), theirs, day)
        if main:
            q0 += sum(op.quantity for op in main if op.kind is OpKind.CREATE_LINE and op.effective <= period.start)
        billed = q0 + covered(self.dated, day) if self.dated else q0
        # A day still to come (a row that starts then) is not billed yet: from it, the period bills today's
        # seats, fewer or more.
        if license_quantity is not None:
            wanted = max(billed, license_quantity)
        else:
            wanted = target(billed, self.quantity, negative_proration=self.m.negative_proration or day > self.today)
        if wanted == billed:
            return []
        kind = LineKind.PRORATE if wanted > billed else LineKind.CREDIT
        marker = dated_marker(self.marker, kind, day, billed, wanted)
        n = 1
        while (unique := marker if n == 1 else f"{marker}:{n}") in self.taken:
            n += 1
        self.taken.add(unique)
        seats = wanted - billed
        amount = prorated_amount(seats, self.unit_price, day, period, self.agreement.currency)
        held = days_between(day, period.end)
        basis = self._basis(period, days_held=held,
                            formula=f"{seats} × {self.unit_price} × {held}/{period.days} days = {amount} "
                                    f"(the period bills {billed}, the ledger {wanted})")
        op_kind = OpKind.ADD_PRORATE if kind is LineKind.PRORATE else OpKind.ADD_CREDIT
        return [self._op(op_kind, period, day, marker=unique, quantity=seats, before=billed, end=period.end,
                         amount=amount, basis=basis,
                         description=self.m.description_override or self.m.profile.product.description)]

    # -- building operations -------------------------------------------------

    def _amount(self, quantity: int) -> Decimal:
        return line_amount(quantity, self.unit_price, self.agreement.currency) if self.billable else _ZERO

    def _basis(self, period: Period, days_held: int | None = None, formula: str = "") -> Basis:
        c = self.counts
        if not formula:
            formula = (f"max(max({c.base} − {self.m.included_quantity}, 0), {self.m.minimum_quantity}) "
                       f"= {self.quantity} × {self.unit_price}")
            if c.ignored:
                formula = f"{c.ignored} seat(s) held by ignored accounts not billed; {formula}"
        return Basis(purchased=c.purchased, assigned=c.assigned, unassigned=c.unassigned, base=c.base,
                     ignored=c.ignored, included=self.m.included_quantity, minimum=self.m.minimum_quantity,
                     period_start=period.start, period_end=period.end, days_held=days_held,
                     days_in_period=period.days, formula=formula)

    def _op(self, kind: OpKind, period: Period, effective: date, *, marker: str, quantity: int, before: int,
            line_id: str = "", end: date | None = None, amount: Decimal = _ZERO, description: str = "",
            basis: Basis | None = None, agreement_id: str | None = None,
            product_id: str | None = None) -> Operation:
        agreement_id = agreement_id or self.agreement.id
        product_id = product_id or self.m.profile.product.id
        key = operation_key(self.m.tenant_id, agreement_id, product_id, period.start, marker, kind.value,
                            before, quantity, effective, description if kind is OpKind.UPDATE_DESCRIPTION else "",
                            line_id, self.generation)
        return Operation(key=key, kind=kind, row=self.row, agreement_id=agreement_id, product_id=product_id,
                         marker=marker, effective=effective, line_id=line_id, end=end, quantity=quantity,
                         before=before, unit_price=self.unit_price,
                         amount=amount,
                         description=description, billing_option=self.m.profile.billing_option,
                         basis=basis or self._basis(period))

