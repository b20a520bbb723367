"""The planner: what must change in the PSA so it bills what the tenant has.

``plan(inventory, mappings, exclusions, agreements, current_lines, today)``
is a pure function: the same inputs give the same plan, and planning
against the lines a plan produced gives an empty plan. docs/billing.md
states each rule with a worked example.

Order. Within a row, a prorate or credit line comes before the change of
the main line it belongs to: if the main line's change is lost (a crash, a
lost response), the next plan still sees the old quantity and plans it
again, while the dated line already written is recognised and not repeated.
Each row is planned by a ``RowPlanner`` (app/billing/row.py).

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

from collections.abc import Iterable, Sequence
from collections.abc import Mapping as AnyMapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from app.billing.foreign import ForeignAction, ForeignDecision, adoptable
from app.billing.markers import installation_of, row_key, split_marker
from app.billing.operations import Finding, FindingKind, Plan
from app.billing.periods import Period, agreement_period
from app.billing.quantities import row_counts
from app.billing.retired import retire, stop_day, successor_start, unmapped_lines
from app.billing.row import RowPlanner, row_quantity
from app.billing.types import (
    MARKER_PREFIX,
    Agreement,
    AgreementStatus,
    Exclusion,
    Line,
    LineKind,
    Mapping,
    TenantInventory,
    row_digest,
)

_ONE_DAY = timedelta(days=1)


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
    # One row succeeding a license's retired lines settles the seats added until they stop.
    windows, settling = _successions(inventory, keyed, retired, index, by_id, today) if retired else ({}, set())
    findings = _license_findings(inventory, [m for _, m in keyed], excluded)
    foreign_seen: set[str] = set()  # foreign lines two rows of one product share are reported and cancelled once
    row_on: dict[str, RowPlanner] = {}  # a row planned on each agreement: it carries the cancels of other products
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
        row = RowPlanner(mapping, agreement, inventory, own, today, options,
                         successor_start=start, generation=generations.get(key, 0), key=key, periods=periods,
                         adopted_on=adopted_on, agreements=by_id,
                         succeeding=windows.get(mapping.sku_id.lower()) if key in settling else None)
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


def _successions(inventory: TenantInventory, keyed: Sequence[tuple[str, Mapping]], retired: Sequence[Line],
                 index: _LineIndex, agreements: AnyMapping[str, Agreement],
                 today: date) -> tuple[dict[str, tuple[list[Line], int]], set[str]]:
    """By license (SKU, lower case), its retired lines with their rows' dated lines, and what the rows
    succeeding them bill in all; and the rows (main markers) that settle the license's seats until those lines
    stop, one a license: the first that has a dated line before then, else the first. A row succeeds them when
    none of its main lines starts before the last of them stops."""
    by_sku: dict[str, list[Line]] = {}
    for line in retired:
        if line.written_row is not None and line.agreement_id in agreements:
            by_sku.setdefault(line.written_row.sku_id.lower(), []).append(line)
    windows: dict[str, tuple[list[Line], int]] = {}
    settling: set[str] = set()
    for sku, lines in by_sku.items():
        stop = max(stop_day(ln, agreements[ln.agreement_id], today) for ln in lines)
        rows = [(key, m) for key, m in keyed if m.sku_id.lower() == sku and all(
            ln.start is not None and ln.start >= stop for ln in index.own.get(key, ()) if ln.kind is LineKind.MAIN)]
        if rows:
            dated = [ln for key in {row_key(line.marker) for line in lines} for ln in index.own.get(key, ())
                     if ln.kind is not LineKind.MAIN]
            windows[sku] = ([*lines, *dated], sum(row_quantity(m, inventory, row_counts(m, inventory))
                                                  for _, m in rows))
            # The row that settled the license before keeps it (a subscription mapped since may sort first).
            settling.add(next((key for key, _ in rows if any(ln.kind is not LineKind.MAIN and ln.start is not None
                                                             and ln.start < stop for ln in index.own.get(key, ()))),
                              rows[0][0]))
    return windows, settling


def _foreign_finding(mapping: Mapping, line: Line, what_now: str) -> Finding:
    reference = f"reference {line.marker!r}" if line.marker else "no reference"
    return Finding(kind=FindingKind.FOREIGN_LINE, tenant_id=mapping.tenant_id, sku_id=mapping.sku_id,
                   agreement_id=line.agreement_id, line_id=line.id,
                   message=f"line {line.id} ({reference}) bills {mapping.profile.product.identifier or line.product_id}"
                           f" ×{line.quantity} on this agreement and is not seatsync's: {what_now}")


def _adoption_problem(adopting: Sequence[Line], row: RowPlanner) -> str:
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
