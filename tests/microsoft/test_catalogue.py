"""SKU display names from Microsoft's catalogue, with the user's overrides."""

from __future__ import annotations

import pytest

from app.services.microsoft.skus import CatalogueError, SkuCatalogue

SPB = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"


def test_the_shipped_catalogue(catalogue):
    assert len(catalogue) > 500
    assert catalogue.name(SPB) == "Microsoft 365 Business Premium"
    assert catalogue.name(SPB.upper()) == "Microsoft 365 Business Premium"
    assert catalogue.sku_id("O365_BUSINESS_PREMIUM") == "f245ecc8-75af-4f8e-b61f-27d8114de5f3"
    office_e3 = catalogue.get("6fd2c87f-b296-42f0-b197-1e91e994b900")
    assert office_e3 is not None and office_e3.part_number == "ENTERPRISEPACK"


def test_a_part_number_may_name_two_skus(catalogue):
    # MCOPSTN5 has two GUIDs: the catalogue is keyed by GUID.
    found = catalogue.by_part_number("MCOPSTN5")
    assert {f.sku_id for f in found} == {"54a152dc-90de-4996-93d2-bc47e670fc06", "d43177b5-475b-4880-92d4-d54c27b5efbd"}
    assert len({f.name for f in found}) == 2
    with pytest.raises(KeyError):
        catalogue.sku_id("MCOPSTN5")


def test_unknown_sku_falls_back_to_its_part_number(catalogue):
    assert catalogue.name("00000000-0000-0000-0000-000000000001", "NEW_SKU_2027") == "NEW_SKU_2027"
    assert catalogue.name("00000000-0000-0000-0000-000000000001") == "00000000-0000-0000-0000-000000000001"


def test_overrides_win(catalogue):
    edited = catalogue.with_overrides({SPB.upper(): "  M365 BP (annual)  ", "f245ecc8-75af-4f8e-b61f-27d8114de5f3": ""})
    assert edited.name(SPB) == "M365 BP (annual)"
    assert edited.name("f245ecc8-75af-4f8e-b61f-27d8114de5f3") == "Microsoft 365 Business Standard"  # blank: ignored
    assert catalogue.name(SPB) == "Microsoft 365 Business Premium"  # the original is untouched


def test_bom_and_quoted_commas(tmp_path):
    path = tmp_path / "skus.csv"
    path.write_bytes("\ufeffGUID,String_Id,Product_Display_Name\r\n"
                     'AAAAAAAA-0000-0000-0000-000000000001,X_ONE,"Plan One, with Extras"\r\n'.encode("utf-8"))
    loaded = SkuCatalogue.load(path)
    assert loaded.name("aaaaaaaa-0000-0000-0000-000000000001") == "Plan One, with Extras"


def test_a_broken_catalogue_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Product,Id\nx,y\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="lacks the column"):
        SkuCatalogue.load(bad)
    with pytest.raises(CatalogueError, match=r"missing\.csv"):
        SkuCatalogue.load(tmp_path / "missing.csv")
