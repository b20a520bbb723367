"""CSV exports never carry a formula (OWASP, CSV injection): text from Microsoft or the PSA is inert, numbers
stay numbers."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest

from app.services.review.reports import Reconciliation, ReconRow, csv_cell, write_csv

HOSTILE = ["=HYPERLINK(\"https://evil.example\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\tTabbed", "\rReturned", "\uff1dFULLWIDTH()"]


def row(company: str, **changes) -> ReconRow:  # type: ignore[no-untyped-def]
    values = dict(company=company, tenant_id="t-1", tenant=company, sku_id="sku-1", license=company, purchased=5,
                  assigned=3, should_bill=3, billed=5, unbilled=0, unit_price=Decimal("22.00"),
                  leakage=Decimal("-34.06"), currency="USD")
    return ReconRow(**(values | changes))


def read(path) -> list[list[str]]:  # type: ignore[no-untyped-def]
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize("name", HOSTILE)
def test_a_formula_in_a_name_is_written_after_a_single_quote(tmp_path, name):
    report = Reconciliation(rows=(row(name, tenant_id=name, sku_id=name),))
    [head, cells, total] = read(write_csv(report, tmp_path / "report.csv"))
    by_column = dict(zip(head, cells, strict=True))
    for column in ("Company", "Tenant", "Tenant ID", "License", "SKU ID"):
        assert by_column[column] == f"'{name}", column
    assert total[0] == "All companies"


def test_numbers_stay_numbers_negative_ones_too(tmp_path):
    report = Reconciliation(rows=(row("Contoso Dental", purchased=-1, unbilled=0),))
    [head, cells, total] = read(write_csv(report, tmp_path / "report.csv"))
    by_column = dict(zip(head, cells, strict=True))
    assert by_column["Monthly leakage"] == "-34.06"
    assert by_column["Unit price"] == "22.00"
    assert by_column["Purchased"] == "-1"
    assert by_column["Company"] == "Contoso Dental" and by_column["Status"] == "billed above usage"
    assert dict(zip(head, total, strict=True))["Monthly leakage"] == "-34.06"


def test_only_text_is_neutralised():
    assert csv_cell(-3) == -3
    assert csv_cell(Decimal("-34.06")) == "-34.06"
    assert csv_cell("-34.06") == "'-34.06"  # text that looks like a number is still text
    assert csv_cell("Contoso - Dental") == "Contoso - Dental"
    assert csv_cell("") == ""
