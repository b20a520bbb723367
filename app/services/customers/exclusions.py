"""Exclusions as the window edits them: licenses never billed (DESIGN §1.6).

Global exclusions name a SKU for every tenant (Power Automate Free, trials);
per-tenant ones a license of one tenant. Adding a global exclusion offers to
cancel the lines seatsync still bills for that SKU: ``active_lines`` reads
them from the PSA, ``cancel_lines`` cancels the ones a person ticked through
the PSA port, each with its audit entry; one refused line never stops the
others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from app.billing.markers import is_main_marker, main_marker, row_key
from app.billing.proration import line_amount
from app.billing.types import Exclusion, Line, LineKind, Mapping
from app.services.kept import Kept
from app.services.microsoft.skus import SkuCatalogue
from app.services.providers import PsaProvider
from app.services.psa.port import PsaError, lines_at_once
from app.services.uow import UnitOfWork

FREE_WORDS = ("free", "trial", "viral")


def is_free(part_number: str, name: str) -> bool:
    """Free and trial SKUs, offered first for a global exclusion."""
    text = f"{part_number} {name}".lower()
    return any(word in text for word in FREE_WORDS)


@dataclass(frozen=True, kw_only=True)
class ExclusionRow:
    exclusion: Exclusion
    tenant_name: str  # "" for a global exclusion
    sku_name: str
    part_number: str
    #: The exclusion's version when read: handed back on removal (EditConflict when it is stale).
    version: int | None = None


@dataclass(frozen=True, kw_only=True)
class SkuChoice:
    sku_id: str
    name: str
    part_number: str
    free: bool
    tenants: int  # how many tenants' latest snapshots hold it

    @property
    def label(self) -> str:
        where = f"in {self.tenants} tenant(s)" if self.tenants else "not seen yet"
        return f"{self.name} ({self.part_number or self.sku_id}) — {where}{' — free/trial' if self.free else ''}"


@dataclass(frozen=True, kw_only=True)
class ActiveLine:
    """A line seatsync owns in the PSA that still bills an excluded SKU."""

    connection_id: int
    tenant_id: str
    tenant_name: str
    sku_id: str
    agreement_id: str
    agreement_name: str
    company_id: str
    company_name: str
    line: Line


@dataclass(frozen=True, kw_only=True)
class CancelOutcome:
    cancelled: tuple[ActiveLine, ...]
    failed: tuple[tuple[ActiveLine, str], ...]


class ExclusionService:
    def __init__(self, uow: UnitOfWork, *, psas: PsaProvider, catalogue: Callable[[], SkuCatalogue],
                 now: Callable[[], datetime]) -> None:
        self.uow = uow
        self.psas = psas
        self.catalogue = catalogue
        self.now = now

    def rows(self) -> list[ExclusionRow]:
        names = {t.tenant_id: t.name for t in self.uow.tenants.all()}
        catalogue = self.catalogue()
        out = []
        with self.uow:  # the exclusions and their versions as of one moment
            exclusions, versions = self.uow.exclusions.all(), self.uow.exclusions.versions()
        for exclusion in exclusions:
            info = catalogue.get(exclusion.sku_id)
            out.append(ExclusionRow(exclusion=exclusion, tenant_name=names.get(exclusion.tenant_id or "", ""),
                                    sku_name=catalogue.name(exclusion.sku_id),
                                    part_number=info.part_number if info else "",
                                    version=versions.get((exclusion.tenant_id, exclusion.sku_id.lower()))))
        return out

    def tenants(self) -> list[tuple[str, str]]:
        """(tenant id, name) of every added tenant."""
        return [(t.tenant_id, t.name) for t in self.uow.tenants.all()]

    def sku_choices(self, tenant_id: str | None = None) -> list[SkuChoice]:
        """SKUs to exclude: those seen in the latest snapshots (of ``tenant_id`` only, when given),
        and for a global exclusion every SKU of the catalogue; free ones first."""
        catalogue = self.catalogue()
        seen: dict[str, tuple[str, str, int]] = {}
        snapshots = self.uow.inventory.latest_all()
        for inventory in snapshots.values():
            if tenant_id is not None and inventory.tenant_id != tenant_id:
                continue
            for lic in inventory.licenses:
                key = lic.sku_id.lower()
                name, part, count = seen.get(key, (catalogue.name(key, lic.part_number), lic.part_number, 0))
                seen[key] = (name, part or lic.part_number, count + 1)
        choices = {key: SkuChoice(sku_id=key, name=name, part_number=part, free=is_free(part, name), tenants=count)
                   for key, (name, part, count) in seen.items()}
        if tenant_id is None:
            for info in catalogue.entries():
                if info.sku_id not in choices:
                    name = catalogue.name(info.sku_id, info.part_number)
                    choices[info.sku_id] = SkuChoice(sku_id=info.sku_id, name=name, part_number=info.part_number,
                                                     free=is_free(info.part_number, name), tenants=0)
        return sorted(choices.values(), key=lambda c: (not c.free, c.tenants == 0, c.name.lower()))

    def add(self, exclusion: Exclusion, *, expected_version: int | None = None, actor: str = "") -> Exclusion:
        """Exclude the license (or change the reason of its exclusion). ``expected_version``: that of the
        exclusion the editor saw (0: none); ``EditConflict`` names who saved it since."""
        return self.uow.exclusions.add(exclusion, expected_version=expected_version, actor=actor)

    def remove(self, sku_id: str, tenant_id: str | None, *, expected_version: int | None = None,
               actor: str = "") -> bool:
        """Remove the exclusion; ``EditConflict`` when someone saved it since ``expected_version``."""
        return self.uow.exclusions.remove(sku_id, tenant_id, expected_version=expected_version, actor=actor)

    def active_lines(self, sku_id: str, tenant_id: str | None = None, *, today: date | None = None) -> list[ActiveLine]:
        """Main lines seatsync owns in the PSA for rows of ``sku_id`` that still bill (read from the PSA)."""
        today = today or self.now().date()
        connection_of = {p.id: c.id for c in self.uow.psa_connections.all()
                         for p in self.uow.profiles.all(c.id)}
        names = {t.tenant_id: t.name for t in self.uow.tenants.all()}
        rows = [m for m in self.uow.mappings.all() if m.sku_id.lower() == sku_id.lower()
                and (tenant_id is None or m.tenant_id == tenant_id)]
        found: list[ActiveLine] = []
        by_agreement: dict[tuple[int, str], list[Mapping]] = {}
        for m in rows:
            by_agreement.setdefault((connection_of[m.profile.id], m.agreement_id), []).append(m)
        kept = Kept(self.uow)
        for connection_id in sorted({connection for connection, _ in by_agreement}):
            ids = sorted(agreement_id for connection, agreement_id in by_agreement if connection == connection_id)
            # A license mapped in thousands of tenants: their agreements are read side by side, not one by one.
            for agreement_id, lines in lines_at_once(self.psas.psa(connection_id), ids).items():
                found += self._active(lines, by_agreement[connection_id, agreement_id], names, today,
                                      connection_id, agreement_id, kept)
        return found

    @staticmethod
    def _active(lines: list[Line], mappings: list[Mapping], names: dict[str, str], today: date,
                connection_id: int, agreement_id: str, kept: Kept) -> list[ActiveLine]:
        """The lines of ``lines`` (one agreement's) that are seatsync's main lines of ``mappings``, still billing."""
        markers = {main_marker(m.row): m for m in mappings}
        products = {m.profile.product.id for m in mappings}
        agreement = kept.agreement(connection_id, agreement_id)
        company = kept.company(connection_id, agreement.company_id) if agreement else None
        found: list[ActiveLine] = []
        for line in lines:
            mapping = markers.get(row_key(line.marker)) if is_main_marker(line.marker) else None
            if (mapping is None or line.product_id not in products or line.kind is not LineKind.MAIN
                    or line.ended_before(today)):
                continue
            found.append(ActiveLine(
                connection_id=connection_id, tenant_id=mapping.tenant_id,
                tenant_name=names.get(mapping.tenant_id, mapping.tenant_id), sku_id=mapping.sku_id,
                agreement_id=agreement_id, agreement_name=agreement.name if agreement else agreement_id,
                company_id=agreement.company_id if agreement else "",
                company_name=company.name if company else "", line=line))
        return found

    def cancel_lines(self, lines: Sequence[ActiveLine], effective: date, *, actor: str, reason: str) -> CancelOutcome:
        """Cancel each line from ``effective`` (its last billed day is the day before), audited."""
        cancelled: list[ActiveLine] = []
        failed: list[tuple[ActiveLine, str]] = []
        for item in lines:
            try:
                line = self.psas.psa(item.connection_id).cancel_line(item.line, effective)
            except PsaError as error:
                failed.append((item, str(error)))
                continue
            self.uow.audit.record(
                actor=actor, tenant_id=item.tenant_id, company_id=item.company_id, company_name=item.company_name,
                agreement_id=item.agreement_id, product_id=item.line.product_id, action="cancel_line",
                before_quantity=item.line.quantity, after_quantity=0,
                before_amount=line_amount(item.line.quantity, item.line.unit_price), after_amount=0,
                reason=f"{reason}; last billed day {_day_before(effective)}",
                psa_record_id=line.id, connection_id=item.connection_id)
            cancelled.append(item)
        return CancelOutcome(cancelled=tuple(cancelled), failed=tuple(failed))


def _day_before(day: date) -> str:
    return date.fromordinal(day.toordinal() - 1).isoformat()
