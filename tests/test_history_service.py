"""History across two PSA connections that number their records alike."""

from __future__ import annotations

from datetime import UTC, datetime

from app.billing.types import Agreement, Product
from app.services.psa.port import PsaCompany
from app.services.review.approvals import HistoryFilter, ref


def test_a_filter_names_a_company_of_one_psa_though_the_other_numbers_one_alike(ctx):
    connections = [ctx.uow.psa_connections.create(kind=kind, name=name).id
                   for kind, name in (("connectwise", "CW"), ("halopsa", "Halo"))]
    for connection, (company, agreement, product) in zip(connections, (("Contoso", "Managed", "M365 BP"),
                                                                        ("Fabrikam", "Cloud", "Exchange P1")),
                                                         strict=True):
        ctx.uow.companies.replace(connection, [PsaCompany(id="12", name=company)])
        ctx.uow.catalog.replace_agreements(connection, [Agreement(id="7", company_id="12", name=agreement)],
                                       company_psa_id="12")
        ctx.uow.catalog.replace_products(connection, [Product(id="3", identifier=product, description=product)])
        ctx.uow.audit.record(actor="seatsync", at=datetime(2026, 3, 1, 6, 0, tzinfo=UTC), company_id="12",
                         company_name=company, agreement_id="7", product_id="3", action="create_line",
                         connection_id=connection)
    cw, halo = connections
    service = ctx.review
    choices = service.history_choices()
    assert dict(choices.companies) == {ref(cw, "12"): "Contoso · CW", ref(halo, "12"): "Fabrikam · Halo"}

    rows = service.history(HistoryFilter(company=ref(halo, "12")))
    assert [(r.entry.company_name, r.agreement, r.product) for r in rows] == [("Fabrikam", "Cloud", "Exchange P1")]
    assert [r.agreement for r in service.history(HistoryFilter())] == ["Cloud", "Managed"]
    assert service.history(HistoryFilter(company=ref(cw, "12"), product=ref(halo, "3"))) == []
