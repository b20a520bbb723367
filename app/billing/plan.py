"""The planner: what must change in the PSA so it bills what the tenant has.

``plan(inventory, mappings, exclusions, agreements, current_lines, today)``
is a pure function: the same inputs give the same plan, and planning
against the lines a plan produced gives an empty plan. docs/billing.md
states each rule with a worked example.

Order. Within a row, a prorate or credit line comes before the change of
the main line it belongs to: if the main line's change is lost (a crash, a
lost response), the next plan still sees the old quantity and plans it
again, while the dated line already written is recognised and not repeated.

Dates. D is the day of the change (today; on a row's first sync, its
override start date or the day a line it succeeds stops billing, past or to
come); [S, E] is the agreement's billing period containing D.
- The main line carries the new quantity from the next period (E + 1);
  a change on the first day of a period (D = S) takes effect for the whole
  period on the main line itself, with no prorate or credit line.
- An increase of d seats on a prorating agreement adds a prorate line for d
  seats covering [D, E].
- A decrease of d seats adds a credit line for -d seats covering [D, E] when
  the agreement prorates and the mapping allows negative proration.
- A quantity of zero (or a license gone from the tenant) cancels the main
  line from E + 1 (or from D with a credit line, under negative proration).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from collections.abc import Mapping as AnyMapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from app.billing.description import line_description
from app.billing.foreign import ForeignAction, ForeignDecision, adoptable
from app.billing.ledger import covered, opening_quantity, target
from app.billing.markers import (
    dated_marker,
    installation_of,
    is_main_marker,
    main_marker,
    operation_key,
    split_marker,
)
from app.billing.money import spelled
from app.billing.operations import Basis, Finding, FindingKind, Operation, OpKind, Plan
from app.billing.periods import Period, agreement_period, days_between
from app.billing.proration import line_amount, prorated_amount
from app.billing.quantities import RowCounts, billed_quantity, row_counts
from app.billing.retired import retire, stop_day, successor_start, unmapped_lines
from app.billing.types import (
    MARKER_PREFIX,
    Agreement,
    AgreementStatus,
    BillingOption,
    Exclusion,
    Line,
    LineKind,
    Mapping,
    PricePolicy,
    QuantityBasis,
    RowKey,
    TenantInventory,
    row_digest,
)

_ONE_DAY = timedelta(days=1)
_ZERO = Decimal("0.00")
_TENTH = Decimal("0.1")


@dataclass(frozen=True, kw_only=True)
class PlanOptions:
    #: The PSA's limit on a line description (ConnectWise: 6,000).
    max_description_length: int = 6000
    #: A decrease of more than half a line's seats, and at least this many,
    #: is reported as a suspicious drop (the approval guards hold it).
    suspicious_drop_seats: int = 3
    #: This seatsync installation's name in its markers; "" plans without
    #: telling installations apart (previews and reports).
    installation: str = ""
    #: A billable row earning less than this % of its unit price over its
    #: product's cost is reported (0: only a row billed below cost).
    minimum_margin: Decimal = Decimal(0)


def plan(inventory: TenantInventory, mappings: Iterable[Mapping], exclusions: Iterable[Exclusion],
         agreements: Iterable[Agreement], current_lines: Iterable[Line], today: date,
         options: PlanOptions = PlanOptions(), generations: AnyMapping[str, int] | None = None,
         decisions: AnyMapping[str, ForeignDecision] | None = None) -> Plan:
    """Operations and findings that bring the PSA in step with ``inventory``.

    ``generations`` counts, by a row's main marker, the writes seatsync's
    journal holds for the row; it is part of every operation key, so a change
    made again after it was undone is a new operation, never skipped.
    ``decisions``: what a person decided about foreign lines, by line id
    (app/billing/foreign.py); a row with an undecided one is held.

    Each input is read once and indexed (lines by row and by agreement and
    product, exclusions and mapped licenses by SKU), so planning costs time
    in proportion to what it is given: the engine gives it one tenant's
    mappings, the agreements they and the tenant's lines name, and the
    lines of those agreements.
    """
    generations = generations or {}
    decisions = decisions or {}
    tenant = inventory.tenant_id
    excluded = frozenset(e.sku_id.lower() for e in exclusions if e.tenant_id in (None, tenant))
    # The tenant's rows by main marker (the digest computed once each), in the order of their digest.
    keyed = sorted(((_row_marker(m), m) for m in mappings if m.tenant_id == tenant), key=_first)
    mapped = {key for key, _ in keyed}  # an excluded license's row still names its line: it is not retired
    keyed = [r for r in keyed if r[1].sku_id.lower() not in excluded]
    by_id = {a.id: a for a in agreements}
    lines = tuple(current_lines)
    index = _LineIndex(lines, today, options.installation)
    periods = _Periods()
    retired = unmapped_lines(tenant, mapped, lines, today)
    operations = [retire(line, by_id[line.agreement_id], today) for line in retired
                  if line.end is None and line.agreement_id in by_id]
    findings = _license_findings(inventory, [m for _, m in keyed], excluded)
    foreign_seen: set[str] = set()  # foreign lines two rows of one product share are reported and cancelled once
    row_on: dict[str, _RowPlanner] = {}  # a row planned on each agreement: it carries the cancels of other products
    for key, mapping in keyed:
        agreement = by_id.get(mapping.agreement_id)
        problem = _mapping_problem(mapping, agreement)
        if problem is not None:
            findings.append(problem)
            continue
        assert agreement is not None
        place = (agreement.id, mapping.profile.product.id)
        others = index.others.get(place)
        if others:  # two installations billing one agreement would bill these seats twice: hold the row
            findings.extend(Finding(
                kind=FindingKind.OTHER_INSTALLATION, tenant_id=tenant, sku_id=mapping.sku_id,
                agreement_id=agreement.id, line_id=ln.id,
                message=f"line {ln.id} bills this product on this agreement for another seatsync installation "
                        f"({installation_of(ln.marker)}); this row is not synced while two installations bill "
                        "one agreement: stop syncing the tenant in one of them") for ln in others)
            continue
        start = successor_start(mapping, retired, by_id, agreement, today) if retired else None
        own = index.own.get(key, ())
        foreign = index.foreign.get(place)
        cancels: list[tuple[Line, date]] = []
        adopting: list[Line] = []
        if foreign:
            undecided = [ln for ln in foreign if ln.id not in decisions]
            if undecided:  # billing beside a line another tool keeps would bill the seats twice: hold the row
                findings.extend(_foreign_finding(mapping, ln, "the row is held until you adopt, cancel or ignore it")
                                for ln in undecided if ln.id not in foreign_seen)
                foreign_seen.update(ln.id for ln in undecided)
                continue
            cancels = [(ln, last) for ln in foreign if (last := decisions[ln.id].last_day) is not None
                       and decisions[ln.id].action is ForeignAction.CANCEL]
            if cancels:  # a row not written yet starts the day after the last cancelled line stops
                stop = max(last for _, last in cancels) + _ONE_DAY
                start = stop if start is None else max(start, stop)
            adopting = [ln for ln in foreign if decisions[ln.id].action is ForeignAction.ADOPT]
        adopted_on = min((d.decided_on for ln in own if (d := decisions.get(ln.id)) is not None
                          and d.action is ForeignAction.ADOPT), default=None) if decisions else None
        row = _RowPlanner(mapping, agreement, inventory, own, today, options,
                          successor_start=start, generation=generations.get(key, 0), key=key, periods=periods,
                          adopted_on=adopted_on, agreements=by_id)
        row_on.setdefault(agreement.id, row)
        for line, last in cancels:
            if line.id not in foreign_seen and (line.end is None or line.end > last):
                operations.append(row.cancel_foreign(line, last))
            foreign_seen.add(line.id)
        if adopting:
            if adopting[0].id in foreign_seen:
                continue  # another row of the product adopts it in this plan; this one waits for the next
            foreign_seen.update(ln.id for ln in adopting)
            why_not = _adoption_problem(adopting, row)
            if why_not:
                findings.append(_foreign_finding(mapping, adopting[0], why_not))
            else:
                operations.append(row.adopt(adopting[0]))  # the row is planned from the line it took over next time
            continue
        operations.extend(row.operations())
        findings.extend(row.findings)
    if decisions:  # another tool's line of a product no row bills, on an agreement a row bills on
        for line in (ln for place_lines in index.foreign.values() for ln in place_lines):
            decision, row_there = decisions.get(line.id), row_on.get(line.agreement_id)
            if (decision is not None and decision.last_day is not None and decision.action is ForeignAction.CANCEL
                    and row_there is not None and line.id not in foreign_seen
                    and (line.end is None or line.end > decision.last_day)):
                operations.append(row_there.cancel_foreign(line, decision.last_day))
    return Plan(operations=tuple(operations), findings=tuple(findings))


def _foreign_finding(mapping: Mapping, line: Line, what_now: str) -> Finding:
    reference = f"reference {line.marker!r}" if line.marker else "no reference"
    return Finding(kind=FindingKind.FOREIGN_LINE, tenant_id=mapping.tenant_id, sku_id=mapping.sku_id,
                   agreement_id=line.agreement_id, line_id=line.id,
                   message=f"line {line.id} ({reference}) bills {mapping.profile.product.identifier or line.product_id}"
                           f" ×{line.quantity} on this agreement and is not seatsync's: {what_now}")


def _adoption_problem(adopting: Sequence[Line], row: _RowPlanner) -> str:
    """Why the row cannot take over ``adopting[0]`` ("" when it can); the row is held meanwhile."""
    if len(adopting) > 1:
        return (f"{len(adopting)} lines of this product are to be adopted ({', '.join(ln.id for ln in adopting)}):"
                " a row takes over one; cancel or ignore the others")
    if why := adoptable(adopting[0]):
        return why
    open_lines = [ln.id for ln in row.mains if ln.end is None]
    if open_lines:
        return f"seatsync already bills this row on line {open_lines[0]}: cancel or ignore this one instead"
    return ""


@lru_cache(maxsize=1024)  # a few price policies and catalog prices serve every tenant
def _unit_price(policy: PricePolicy, psa_price: Decimal, currency: str) -> Decimal:
    return policy.unit_price(psa_price, currency)


def _first(pair: tuple[str, Mapping]) -> str:
    return pair[0]


def _row_marker(mapping: Mapping) -> str:
    """``main_marker(mapping.row)``, without making the RowKey."""
    filter_key = mapping.user_filter.key if mapping.user_filter else ""
    return MARKER_PREFIX + row_digest(mapping.tenant_id, mapping.sku_id, mapping.subscription_id, filter_key)


class _Periods:
    """The billing periods one plan looks up, each computed once (rows of a tenant share their agreement)."""

    def __init__(self) -> None:
        self._known: dict[tuple[object, ...], Period] = {}

    def __call__(self, agreement: Agreement, day: date) -> Period:
        key = (agreement.cycle, agreement.anchor, agreement.start, day)  # all agreement_period reads
        period = self._known.get(key)
        if period is None:
            period = self._known[key] = agreement_period(agreement, day)
        return period


class _LineIndex:
    """The lines given to one plan, read once, each list in the order the lines were given.

    ``own``: by ``row_key``, the lines of this installation (main and
    dated). By (agreement, product), among the lines not ended before today:
    ``others``, seatsync's lines of another installation; ``foreign``, lines
    seatsync does not own.
    """

    def __init__(self, lines: Sequence[Line], today: date, installation: str) -> None:
        self.own: dict[str, list[Line]] = {}
        self.others: dict[tuple[str, str], list[Line]] = {}
        self.foreign: dict[tuple[str, str], list[Line]] = {}
        for line in lines:
            owned = line.marker.startswith(MARKER_PREFIX)  # Line.owned
            mine = False
            if owned:
                key, written_by = split_marker(line.marker)
                mine = not installation or written_by in ("", installation)  # PlanOptions.owns
                if mine:
                    self.own.setdefault(key, []).append(line)
            if line.end is None or line.end >= today:  # not ended before today
                if not owned:
                    self.foreign.setdefault((line.agreement_id, line.product_id), []).append(line)
                elif not mine:
                    self.others.setdefault((line.agreement_id, line.product_id), []).append(line)


def _license_findings(inventory: TenantInventory, rows: Sequence[Mapping],
                      excluded: AbstractSet[str]) -> list[Finding]:
    """``excluded``: the SKU ids (lower case) never billed in this tenant."""
    tenant = inventory.tenant_id
    mapped: dict[str, set[str]] = {}  # SKU (lower case) -> the subscriptions its rows name ("": the whole license)
    for m in rows:
        mapped.setdefault(m.sku_id.lower(), set()).add(m.subscription_id)
    findings: list[Finding] = []
    for lic in inventory.licenses:
        sku = lic.sku_id.lower()
        purchased, assigned = lic.purchased, lic.assigned
        if sku in excluded or (purchased == 0 and assigned == 0):
            continue
        label = lic.name or lic.part_number or lic.sku_id
        subscriptions = mapped.get(sku)
        if subscriptions is None:
            findings.append(Finding(kind=FindingKind.UNMAPPED_LICENSE, tenant_id=tenant, sku_id=lic.sku_id,
                                    message=f"{label} ({assigned} assigned of {purchased}) has no billing profile"))
        elif "" not in subscriptions:  # split into subscriptions: each active one needs a row
            for sub in lic.subscriptions:
                if sub.status == "active" and sub.id not in subscriptions:
                    findings.append(Finding(
                        kind=FindingKind.UNMAPPED_LICENSE, tenant_id=tenant, sku_id=lic.sku_id,
                        message=f"subscription {sub.offer_name or sub.id} of {label} has no billing profile"))
        if lic.subscriptions:
            committed = sum(s.quantity for s in lic.subscriptions if s.is_annual_commitment and s.status == "active")
            if committed > assigned:
                findings.append(Finding(kind=FindingKind.COMMITMENT_ABOVE_USAGE, tenant_id=tenant,
                                        sku_id=lic.sku_id,
                                        message=f"{label}: {committed} seats committed annually, {assigned} assigned"))
        if purchased > assigned:
            findings.append(Finding(kind=FindingKind.UNASSIGNED_SEATS, tenant_id=tenant, sku_id=lic.sku_id,
                                    message=f"{label}: {purchased - assigned} of {purchased} seats unassigned"))
    return findings


def _mapping_problem(mapping: Mapping, agreement: Agreement | None) -> Finding | None:
    def finding(kind: FindingKind, message: str) -> Finding:
        return Finding(kind=kind, tenant_id=mapping.tenant_id, sku_id=mapping.sku_id,
                       agreement_id=mapping.agreement_id, message=message)

    product = mapping.profile.product
    if agreement is None:
        return finding(FindingKind.MISSING_AGREEMENT, f"agreement {mapping.agreement_id} does not exist in the PSA")
    if agreement.status is not AgreementStatus.ACTIVE:
        return finding(FindingKind.INACTIVE_AGREEMENT, f"agreement {agreement.name or agreement.id} is "
                                                       f"{agreement.status.value}")
    if not mapping.profile.allows(agreement):
        return finding(FindingKind.AGREEMENT_TYPE_NOT_ALLOWED,
                       f"billing profile {mapping.profile.name} may not be used on agreements of type "
                       f"{agreement.type_name!r}")
    if not product.active:
        return finding(FindingKind.INACTIVE_PRODUCT, f"product {product.identifier or product.id} is inactive "
                                                     "in the PSA")
    return None


class _RowPlanner:
    """Plans one mapped row: its main line, the dated lines of its ledger, and its description."""

    def __init__(self, mapping: Mapping, agreement: Agreement, inventory: TenantInventory,
                 own: Sequence[Line], today: date, options: PlanOptions,
                 successor_start: date | None = None, generation: int = 0, key: str = "",
                 periods: Callable[[Agreement, date], Period] = agreement_period,
                 adopted_on: date | None = None, agreements: AnyMapping[str, Agreement] | None = None) -> None:
        """``own``: this installation's lines carrying the row's marker; ``key``: the row's ``main_marker``
        when already known; ``periods``: ``agreement_period`` or a memo of it; ``adopted_on``: the day a
        person decided seatsync adopts the row's main line (another tool's before); ``agreements``: by id,
        those the row's lines name (a line on another agreement bills on that one's calendar)."""
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
        #: The row's main lines on another agreement or product (it moved), each with its agreement and the
        #: first day it no longer bills.
        self.elsewhere: list[tuple[Line, Agreement, date]] = []
        #: When a line elsewhere bills today or later: the first day the row bills where it is now (the
        #: last of them stops the day before), and the agreement that line bills on.
        self.handover: tuple[date, Agreement] | None = None
        agreement_id, product_id = agreement.id, mapping.profile.product.id
        for ln in own:
            here = ln.agreement_id == agreement_id and ln.product_id == product_id
            if ln.kind is not LineKind.MAIN:
                self.dated.append(ln)
                if not here and ln.end is not None and ln.end >= today:
                    self._hand_over(ln.end + _ONE_DAY, self._billed_on(ln))
            elif is_main_marker(ln.marker):
                self.mains.append(ln)
                if here:
                    self.here.append(ln)
                    continue
                billed_on = self._billed_on(ln)
                stop = stop_day(ln, billed_on, today)
                self.elsewhere.append((ln, billed_on, stop))
                if not ln.ended_before(today):
                    self._hand_over(stop, billed_on)
        self._taken: set[str] | None = None
        self.counts = row_counts(mapping, inventory)
        custom = mapping.basis in (QuantityBasis.UPN_DOMAIN, QuantityBasis.SUM_OF_LICENSES)
        present = custom or inventory.license(mapping.sku_id) is not None
        self.quantity = (billed_quantity(self.counts.base, mapping.included_quantity, mapping.minimum_quantity)
                         if present else 0)
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

    def _hand_over(self, day: date, agreement: Agreement) -> None:
        """A line of the row elsewhere bills until the day before ``day``, on ``agreement``."""
        if self.handover is None or day > self.handover[0]:
            self.handover = (day, agreement)

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
        if self.handover is not None:  # moved: from the day the line elsewhere stops billing
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
        lines go on the row's agreement)."""
        stop, billed_on = self.handover or (self.today, self.agreement)
        if stop <= self.today:
            return []
        period = self._periods(billed_on, self.today)
        if self.today == period.start or not billed_on.prorates:
            return []
        return self._settle(period, self.today, [], own=self.period)

    def _settle(self, period: Period, day: date, main: list[Operation], own: Period | None = None) -> list[Operation]:
        """``own``: the row's period holding ``day`` when ``period`` is another agreement's."""
        q0 = opening_quantity(self.here, own or period, day)
        for ln, billed_on, stop in self.elsewhere:  # a moved row's main lines bill on their own calendars
            first = self._periods(billed_on, day).start
            q0 += ln.quantity_on(first) if first < stop and ln.bills(first) else 0
        if main:
            q0 += sum(op.quantity for op in main if op.kind is OpKind.CREATE_LINE and op.effective <= period.start)
        billed = q0 + covered(self.dated, day) if self.dated else q0
        # A day still to come (a row that starts then) is not billed yet: from it, the period bills today's
        # seats, fewer or more.
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

