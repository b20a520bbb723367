"""Migration from other tools: find the lines seatsync does not own, and decide about them in bulk.

An MSP moving to seatsync has lines other tools wrote (CloudConsole, ConnectWise
Unite, a Pax8 or Sherweb sync, lines added by hand). The planner holds every row
whose agreement has such a line of its product (app/billing/foreign.py); here a
person finds them, by the text in seatsync's marker field (blank,
"Cloudconsole", "Unite", any text), by product and by agreement type, on
mapped agreements or every agreement of a linked company, sees what adopting,
cancelling or ignoring each would write (the sync engine's own dry run, given
the decision), and decides: all the chosen lines or none. The next sync of the
tenants concerned writes what was decided.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from app.billing.foreign import ForeignAction, ForeignDecision, adoptable, default_last_day
from app.billing.operations import FindingKind, Operation, OpKind
from app.billing.types import Agreement, Line
from app.errors import SeatsyncError
from app.models.repositories.foreign import ForeignLineRecord
from app.services.providers import PsaProvider
from app.services.psa.port import lines_at_once
from app.services.sync.engine import Status, run_many
from app.services.sync.service import SyncService
from app.services.uow import UnitOfWork, connected

#: A foreign line as (PSA connection id, the PSA's line id).
LineKey = tuple[int, str]


class MigrationRefused(SeatsyncError):
    """Some of the chosen lines cannot be decided so: nothing was decided."""


class Scope(StrEnum):
    MAPPED = "mapped"  # the agreements seatsync's mappings bill to
    ALL = "all"  # every agreement of every company linked to a tenant


@dataclass(frozen=True, kw_only=True)
class ForeignFilter:
    #: None: any text; "": only lines with nothing in the field; else lines whose text contains it (any case).
    reference: str | None = None
    #: A product's id or identifier (any case); "": any product.
    product: str = ""
    #: An agreement type's name (any case); "": any type.
    agreement_type: str = ""
    scope: Scope = Scope.MAPPED
    undecided_only: bool = False
    #: seatsync's id of one company; None: every company.
    company_id: int | None = None
    #: Only these PSA line ids (empty: any).
    line_ids: frozenset[str] = frozenset()

    def wants(self, line: Line, agreement: Agreement, product: str, decided: bool) -> bool:
        if self.line_ids and line.id not in self.line_ids:
            return False
        if self.reference is not None:
            text = line.marker.strip().casefold()
            if (self.reference == "" and text) or self.reference.casefold() not in text:
                return False
        if self.product and self.product.casefold() not in (line.product_id.casefold(), product.casefold()):
            return False
        if self.agreement_type and self.agreement_type.casefold() != agreement.type_name.casefold():
            return False
        return not (self.undecided_only and decided)


@dataclass(frozen=True, kw_only=True)
class ForeignLine:
    """A line seatsync does not own, with where it is and what seatsync bills there."""

    connection_id: int
    company: str
    agreement: Agreement
    product: str  # the product's identifier as the PSA names it (its id when the catalog lacks it)
    line: Line
    decision: ForeignDecision | None
    #: Tenants whose mappings bill this product on this agreement (a row that can adopt it, or is held by it).
    billed_for: tuple[str, ...] = ()
    #: Tenants whose mappings bill any product on this agreement (a sync of theirs carries a cancel).
    on_agreement_of: tuple[str, ...] = ()
    #: seatsync's own lines of this product on this agreement.
    own: tuple[Line, ...] = ()

    @property
    def reference(self) -> str:
        return self.line.marker

    @property
    def key(self) -> LineKey:
        return self.connection_id, self.line.id


@dataclass(frozen=True, kw_only=True)
class Effect:
    """What deciding ``action`` about ``line`` writes at the next sync, in words (or why it cannot)."""

    line: ForeignLine
    writes: tuple[str, ...] = ()
    problem: str = ""


class MigrationService:
    def __init__(self, uow: UnitOfWork, *, psas: PsaProvider, sync: Callable[[], SyncService],
                 today: Callable[[], date] = date.today) -> None:
        self.uow = uow
        self.psas = psas
        self.sync = sync
        self.today = today

    # -- finding -------------------------------------------------------------------

    def holding(self) -> int:
        """How many lines seatsync does not own held a row at its tenant's latest sync (the findings it kept):
        what the view counts without reading the PSA."""
        with connected():
            latest = self.uow.findings.latest()
        return len({(f.agreement_id, f.line_id) for found in latest.values() for f in found
                    if f.kind is FindingKind.FOREIGN_LINE and f.line_id})

    def find(self, wanted: ForeignFilter = ForeignFilter()) -> list[ForeignLine]:
        """The foreign lines ``wanted`` describes, of every PSA connection, by company and agreement.
        Reads each connection's agreements, products and the lines of the agreements in scope (PSA calls)."""
        with connected():
            connections = [c.id for c in self.uow.psa_connections.all()]
        found: list[ForeignLine] = []
        for connection_id in connections:
            found += self._find(connection_id, wanted)
        return found

    def _find(self, connection_id: int, wanted: ForeignFilter) -> list[ForeignLine]:
        today = self.today()
        with self.uow:
            companies = {c.psa_id: c for c in self.uow.companies.all(connection_id)}
            linked = {link.company_id for link in self.uow.tenants.all_links()}
            profiles = {p.id for p in self.uow.profiles.all(connection_id)}
            mappings = [m for m in self.uow.mappings.all() if m.profile.id in profiles]
            decisions = self.uow.foreign_decisions.of_connection(connection_id)
        psa = self.psas.psa(connection_id)
        agreements = {a.id: a for a in psa.list_agreements()}
        if wanted.scope is Scope.MAPPED:
            ids = {m.agreement_id for m in mappings if m.agreement_id in agreements}
        else:
            ids = {a.id for a in agreements.values()
                   if (company := companies.get(a.company_id)) is not None and company.id in linked}
        if wanted.company_id is not None:
            ids = {i for i in ids if getattr(companies.get(agreements[i].company_id), "id", None) == wanted.company_id}
        if wanted.agreement_type:
            ids = {i for i in ids if agreements[i].type_name.casefold() == wanted.agreement_type.casefold()}
        if not ids:
            return []
        products = {p.id: p.identifier or p.id for p in psa.list_products()}
        billed_for: dict[tuple[str, str], list[str]] = defaultdict(list)
        on_agreement: dict[str, list[str]] = defaultdict(list)
        for m in mappings:
            billed_for[(m.agreement_id, m.profile.product.id)].append(m.tenant_id)
            on_agreement[m.agreement_id].append(m.tenant_id)
        found = []
        for agreement_id, lines in lines_at_once(psa, sorted(ids)).items():
            agreement = agreements[agreement_id]
            company = companies.get(agreement.company_id)
            for line in lines:
                if line.owned or line.ended_before(today):
                    continue
                product = products.get(line.product_id, line.product_id)
                if not wanted.wants(line, agreement, product, line.id in decisions):
                    continue
                place = (agreement_id, line.product_id)
                found.append(ForeignLine(
                    connection_id=connection_id, company=company.name if company else agreement.company_id,
                    agreement=agreement, product=product, line=line, decision=decisions.get(line.id),
                    billed_for=tuple(dict.fromkeys(billed_for.get(place, ()))),
                    on_agreement_of=tuple(dict.fromkeys(on_agreement.get(agreement_id, ()))),
                    own=tuple(ln for ln in lines if ln.owned and ln.product_id == line.product_id)))
        found.sort(key=lambda f: (f.company.casefold(), f.agreement.name.casefold(), f.product, f.line.id))
        return found

    # -- deciding ------------------------------------------------------------------

    def decisions(self, lines: Sequence[ForeignLine], action: ForeignAction,
                  last_day: date | None = None) -> tuple[dict[LineKey, ForeignDecision], dict[LineKey, str]]:
        """The decision each line would get (a cancel's last day: ``last_day``, or the day before seatsync's
        line starts), and why a line cannot be decided so, by ``ForeignLine.key``."""
        today = self.today()
        made: dict[LineKey, ForeignDecision] = {}
        problems: dict[LineKey, str] = {}
        adopting: dict[tuple[int, str, str], list[str]] = defaultdict(list)
        for f in lines:
            if action is ForeignAction.ADOPT:
                why = adoptable(f.line) or ("" if f.billed_for else
                                            "no license is mapped to this product on this agreement: map one first, "
                                            "or cancel or ignore the line")
                if why:
                    problems[f.key] = why
                    continue
                adopting[(f.connection_id, f.agreement.id, f.line.product_id)].append(f.line.id)
            day = None
            if action is ForeignAction.CANCEL:
                if not f.on_agreement_of:
                    problems[f.key] = ("no license is mapped to this agreement, so no sync writes to it: cancel the "
                                       "line in the PSA")
                    continue
                day = last_day or default_last_day(f.agreement, f.own, today)
            made[f.key] = ForeignDecision(line_id=f.line.id, action=action, decided_on=today, last_day=day)
        for (connection_id, _, _), ids in adopting.items():
            if len(ids) > 1:
                for line_id in ids:
                    problems[(connection_id, line_id)] = (f"{len(ids)} lines of one product on one agreement are "
                                                          "chosen: a row takes over one; cancel or ignore the others")
        return made, problems

    def preview(self, lines: Sequence[ForeignLine], action: ForeignAction,
                last_day: date | None = None) -> list[Effect]:
        """What deciding ``action`` about each line would write at the next sync: the sync engine's dry run
        of each tenant concerned, given the decisions (nothing is stored or written)."""
        made, problems = self.decisions(lines, action, last_day)
        results: dict[LineKey, list[Operation]] = defaultdict(list)
        refusals: dict[LineKey, str] = {}
        by_connection: dict[int, set[str]] = defaultdict(set)
        for f in lines:
            if f.key in made and f.key not in problems:
                by_connection[f.connection_id].update(f.on_agreement_of)
        service = self.sync()
        for connection_id, tenants in by_connection.items():
            engine = service.engine(connection_id, actor="preview")
            engine.what_if = {d.line_id: d for key, d in made.items() if key[0] == connection_id}
            for result in run_many(engine, sorted(tenants), workers=service.workers_for(connection_id), dry_run=True):
                if result.status is Status.FAILED:
                    for f in lines:
                        if result.tenant_id in f.on_agreement_of:
                            refusals.setdefault(f.key, f"the preview could not read the tenant: {result.error}")
                    continue
                for op in (*result.go, *(op for op, _ in result.held)):
                    if op.line_id:
                        results[(connection_id, op.line_id)].append(op)  # the line it changes
                    results[(connection_id, f"{op.agreement_id}|{op.product_id}")].append(op)  # and its place
                for finding in result.findings:
                    if finding.kind is FindingKind.FOREIGN_LINE and finding.line_id:
                        refusals.setdefault((connection_id, finding.line_id), finding.message)
        effects = []
        for f in lines:
            problem = problems.get(f.key) or refusals.get(f.key, "")
            if problem:
                effects.append(Effect(line=f, problem=problem))
                continue
            ops = {op.key: op for op in (*results.get(f.key, ()),
                                          *results.get((f.connection_id, f"{f.agreement.id}|{f.line.product_id}"), ()))}
            effects.append(Effect(line=f, writes=_in_words(f, made[f.key], list(ops.values()))))
        return effects

    def decide(self, lines: Sequence[ForeignLine], action: ForeignAction, last_day: date | None = None, *,
               actor: str = "") -> int:
        """Store ``action`` for every line, or for none when one cannot be (``MigrationRefused`` says which
        and why); how many decisions changed."""
        made, problems = self.decisions(lines, action, last_day)
        if problems:
            said = "; ".join(f"line {line_id}: {why}" for (_, line_id), why in sorted(problems.items()))
            raise MigrationRefused(f"({said})")
        records = [ForeignLineRecord(connection_id=f.connection_id, agreement_id=f.agreement.id,
                                     product_id=f.line.product_id, reference=f.reference, quantity=f.line.quantity,
                                     decision=made[f.key]) for f in lines]
        with self.uow:
            return self.uow.foreign_decisions.decide(records, actor=actor)

    def forget(self, lines: Iterable[ForeignLine], *, actor: str = "") -> int:
        """Make the lines undecided again; how many had a decision."""
        by_connection: dict[int, list[str]] = defaultdict(list)
        for f in lines:
            by_connection[f.connection_id].append(f.line.id)
        with self.uow:
            return sum(self.uow.foreign_decisions.forget(c, ids, actor=actor) for c, ids in by_connection.items())

    def companies_of(self, lines: Iterable[ForeignLine]) -> list[int]:
        """seatsync's ids of the companies whose next sync writes these lines' decisions."""
        tenants = {t for f in lines for t in f.on_agreement_of}
        with connected():
            return sorted({link.company_id for link in self.uow.tenants.links_of_tenants(sorted(tenants))})


def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


def _in_words(f: ForeignLine, decision: ForeignDecision, ops: list[Operation]) -> tuple[str, ...]:
    """The writes ``ops`` make for the line and its product's row, as a billing admin reads them."""
    said: list[str] = []
    for op in ops:
        if op.kind is OpKind.ADOPT_LINE:
            said.append(f"take over line {f.line.id}: its reference becomes seatsync's; it bills {op.quantity} seats "
                        "unchanged this period, then what Microsoft counts")
        elif op.kind is OpKind.CANCEL_LINE and op.line_id == f.line.id:
            said.append(f"cancel line {f.line.id}: it bills until {_day(op.effective - timedelta(days=1))}")
        elif op.kind is OpKind.CREATE_LINE:
            said.append(f"seatsync's line: {op.quantity} × {op.unit_price} from {_day(op.effective)}")
        elif op.kind in (OpKind.ADD_PRORATE, OpKind.ADD_CREDIT):
            what = "prorate" if op.kind is OpKind.ADD_PRORATE else "credit"
            end = f" to {_day(op.end)}" if op.end else ""
            said.append(f"{what} {op.quantity:+d} seats from {_day(op.effective)}{end} = {op.amount}")
        elif op.kind is OpKind.SET_QUANTITY:
            said.append(f"seatsync's line {op.line_id}: {op.before} → {op.quantity} seats from {_day(op.effective)}")
    if decision.action is ForeignAction.IGNORE:
        said.insert(0, f"nothing is written to line {f.line.id}; seatsync bills beside it")
    elif not said and decision.action is ForeignAction.CANCEL and decision.last_day is not None:
        said.append(f"line {f.line.id} already stops billing by {_day(decision.last_day)}: nothing to write")
    return tuple(said) or ("nothing to write",)
