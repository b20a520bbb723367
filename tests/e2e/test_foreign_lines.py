"""Lines other tools wrote, end to end on each PSA (docs/billing.md, "Foreign lines").

On 16 January the tenant (Business Premium 10 seats, Exchange 4, both
mapped, never synced) has lines another tool added on its agreement. A
sync holds the rows they bill; a person finds them by their reference and
adopts or cancels them (app/services/review/migration.py); the next syncs
bill each seat once, which is read back from the PSA's sandbox.
"""

from __future__ import annotations

from datetime import date

import pytest

from app.billing.foreign import ForeignAction
from app.billing.operations import FindingKind
from app.services.review.migration import ForeignFilter, MigrationRefused, MigrationService, Scope
from tests.e2e.conftest import EXO, NEXT, PERIOD_END, PRODUCT, SPB, START, Tenant, findings

MID = date(2026, 1, 16)


def migration(tenant: Tenant) -> MigrationService:
    return MigrationService(tenant.context.uow, psas=tenant.context.psas, sync=tenant.service, today=tenant.clock)


def lines_of(tenant: Tenant, part: str) -> list[tuple[str, str, int, date | None, date | None]]:
    """Every record billing ``part``'s product on the agreement, whoever wrote it: (id, kind, seats, start, end)."""
    return sorted((h.id, h.kind, h.quantity, h.start, h.end)
                  for h in tenant.world.psa_side.holdings(tenant.agreement) if h.product == PRODUCT[part])


def add_foreign(tenant: Tenant, part: str, quantity: int, reference: str) -> str:
    return tenant.world.psa_side.add_foreign_line(tenant.agreement, PRODUCT[part], quantity, reference=reference,
                                                  start=START)


def test_a_foreign_line_holds_its_row_until_adopted_then_the_row_is_billed_once(tenant: Tenant):
    tenant.move_to(MID)
    cloudconsole = add_foreign(tenant, SPB, 5, "Cloudconsole")
    held = tenant.sync()
    assert [f.line_id for f in findings(held, FindingKind.FOREIGN_LINE)] == [cloudconsole]
    assert lines_of(tenant, SPB) == [(cloudconsole, "main", 5, START, None)]  # nothing written beside it
    assert tenant.main(EXO).quantity == 4  # the other row is billed as usual

    found = migration(tenant).find(ForeignFilter(reference="cloudconsole"))
    assert [(f.line.id, f.product, f.line.quantity, f.billed_for) for f in found] == [
        (cloudconsole, PRODUCT[SPB], 5, (tenant.tenant_id,))]
    (effect,) = migration(tenant).preview(found, ForeignAction.ADOPT)
    assert effect.problem == "" and "take over line" in effect.writes[0]
    assert migration(tenant).decide(found, ForeignAction.ADOPT, actor="e2e") == 1

    adopted = tenant.sync()
    assert not adopted.failed, [r.error for r in adopted.results]
    assert adopted.writes == 1 and findings(adopted, FindingKind.FOREIGN_LINE) == []
    corrected = tenant.sync()  # from the line it took over: 10 seats from February, nothing prorated
    assert not corrected.failed, [r.error for r in corrected.results]
    written = [op.kind.value for r in corrected.results for op in r.applied]
    assert written[0] == "set_quantity" and set(written) <= {"set_quantity", "update_description"}
    assert lines_of(tenant, SPB) == [(cloudconsole, "main", 10, START, None)]  # one line bills the row
    assert tenant.sync().writes == 0


def test_foreign_lines_cancelled_in_bulk_by_reference(tenant: Tenant):
    tenant.move_to(MID)
    unite = [add_foreign(tenant, SPB, 5, "Unite"), add_foreign(tenant, EXO, 4, "Unite")]
    by_hand = add_foreign(tenant, SPB, 1, "")
    assert tenant.sync().writes == 0  # both rows held

    service = migration(tenant)
    found = service.find(ForeignFilter(reference="Unite"))
    assert sorted(f.line.id for f in found) == sorted(unite)
    blank = service.find(ForeignFilter(reference=""))
    assert [f.line.id for f in blank] == [by_hand]
    service.decide(found, ForeignAction.CANCEL, actor="e2e")  # by default each bills to the end of January
    service.decide(blank, ForeignAction.IGNORE, actor="e2e")
    assert service.find(ForeignFilter(undecided_only=True)) == []

    summary = tenant.sync()
    assert not summary.failed, [r.error for r in summary.results]
    # Each Unite line bills January, seatsync's line from February: no day twice, none missed, nothing prorated.
    spb = lines_of(tenant, SPB)
    assert [(start, end) for i, _, _, start, end in spb if i == unite[0]] == [(START, PERIOD_END)]
    assert (by_hand, "main", 1, START, None) in spb
    assert [(kind, seats, start, end) for i, kind, seats, start, end in spb if i not in (unite[0], by_hand)] == [
        ("main", 10, NEXT, None)]
    exo = lines_of(tenant, EXO)
    assert [(start, end) for i, _, _, start, end in exo if i == unite[1]] == [(START, PERIOD_END)]
    assert [(kind, seats, start, end) for i, kind, seats, start, end in exo if i != unite[1]] == [
        ("main", 4, NEXT, None)]
    assert tenant.sync().writes == 0


def test_what_cannot_be_decided_is_refused_whole(tenant: Tenant):
    tenant.move_to(MID)
    add_foreign(tenant, SPB, 5, "Cloudconsole")
    add_foreign(tenant, SPB, 2, "Cloudconsole")
    service = migration(tenant)
    found = service.find(ForeignFilter(reference="Cloudconsole", scope=Scope.ALL))
    assert len(found) == 2
    with pytest.raises(MigrationRefused, match="a row takes over one"):
        service.decide(found, ForeignAction.ADOPT)
    assert service.find(ForeignFilter(undecided_only=True)) != []  # nothing was decided
    assert tenant.context.uow.foreign_decisions.all() == []
