"""Display names of Microsoft SKUs, from Microsoft's licensing catalogue.

resources/microsoft-skus.csv holds one row per product of Microsoft's
"Product names and service plan identifiers for licensing" (APIS.md §A3):
``GUID`` (Graph's skuId), ``String_Id`` (skuPartNumber) and
``Product_Display_Name``. It is keyed by GUID: a part number is not unique
(``MCOPSTN5`` has two GUIDs). The file is UTF-8 with a byte-order mark and
names hold quoted commas, hence ``utf-8-sig`` and the csv module.

Catalogue names do not always match what Partner Center or the MSP calls an
offer, so the user can override any name (settings store the overrides).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.errors import SeatsyncError

CATALOGUE_FILE = "microsoft-skus.csv"


class CatalogueError(SeatsyncError):
    """The Microsoft SKU catalogue (resources/microsoft-skus.csv) cannot be read; reinstall seatsync."""


@dataclass(frozen=True, kw_only=True)
class SkuInfo:
    sku_id: str  # lower-case GUID, as Graph returns it
    part_number: str
    name: str


def resources_dir() -> Path:
    """resources/ beside the app package, or inside a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[3] / "resources"


class SkuCatalogue:
    """SKU id -> part number and display name, with the user's overrides on top."""

    def __init__(self, skus: Mapping[str, SkuInfo], overrides: Mapping[str, str] | None = None) -> None:
        self._skus = dict(skus)
        self._by_part: dict[str, list[SkuInfo]] = {}
        for info in self._skus.values():
            self._by_part.setdefault(info.part_number.upper(), []).append(info)
        self.overrides = {k.strip().lower(): v.strip() for k, v in (overrides or {}).items() if v and v.strip()}

    @classmethod
    def load(cls, path: Path | None = None, overrides: Mapping[str, str] | None = None) -> SkuCatalogue:
        """Read the catalogue (once per file) and apply ``overrides`` (SKU GUID -> name)."""
        return cls(_read(path or resources_dir() / CATALOGUE_FILE), overrides)

    def with_overrides(self, overrides: Mapping[str, str]) -> SkuCatalogue:
        return SkuCatalogue(self._skus, overrides)

    def __len__(self) -> int:
        return len(self._skus)

    def entries(self) -> tuple[SkuInfo, ...]:
        """Every SKU of the catalogue (the exclusions view offers them all)."""
        return tuple(self._skus.values())

    def get(self, sku_id: str) -> SkuInfo | None:
        return self._skus.get(sku_id.strip().lower())

    def by_part_number(self, part_number: str) -> tuple[SkuInfo, ...]:
        return tuple(self._by_part.get(part_number.strip().upper(), ()))

    def sku_id(self, part_number: str) -> str:
        """The one GUID of a part number; an error when there is none or several."""
        found = self.by_part_number(part_number)
        if len(found) != 1:
            raise KeyError(f"{part_number!r} names {len(found)} SKUs in the catalogue, not exactly one")
        return found[0].sku_id

    def name(self, sku_id: str, part_number: str = "") -> str:
        """The name to show: the user's override, else the catalogue's, else the part number.

        A SKU newer than the catalogue falls back to its part number (or its
        GUID when Graph gave none), never to an error.
        """
        key = sku_id.strip().lower()
        if key in self.overrides:
            return self.overrides[key]
        info = self._skus.get(key)
        if info is not None and info.name:
            return info.name
        return part_number or (info.part_number if info else "") or sku_id


@lru_cache(maxsize=4)
def _read(path: Path) -> dict[str, SkuInfo]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"GUID", "String_Id", "Product_Display_Name"} - set(reader.fieldnames or ())
            if missing:
                raise CatalogueError(f"{path} lacks the column(s) {', '.join(sorted(missing))}.")
            skus: dict[str, SkuInfo] = {}
            for row in reader:
                guid = (row["GUID"] or "").strip().lower()
                if guid:
                    skus[guid] = SkuInfo(sku_id=guid, part_number=(row["String_Id"] or "").strip(),
                                         name=(row["Product_Display_Name"] or "").strip())
            return skus
    except OSError as error:
        raise CatalogueError(f"{path}: {error.strerror or error}.") from error
