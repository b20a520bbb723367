"""What the sandbox's tenants can buy: real SKU part numbers, offers and service plans.

SKU ids and names come from the catalogue (resources/microsoft-skus.csv);
service plans from Microsoft's "Product names and service plan identifiers
for licensing" (APIS.md §A3). Offer ids have Partner Center's NCE form
``{productId}:{skuId}:{availabilityId}`` (APIS.md §A2); the product ids are
those of Microsoft's NCE price list, the rest is sandbox data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Offer:
    part_number: str
    product_id: str  # NCE product id; empty for free SKUs (not sold through Partner Center)
    paid: bool = True
    free_units: int = 0  # prepaid units Microsoft grants a free SKU
    plans: tuple[tuple[str, str], ...] = ()  # (servicePlanId, servicePlanName)

    @property
    def offer_id(self) -> str:
        return f"{self.product_id}:0001:{self.product_id}" if self.product_id else ""


_EXO = ("9aaf7827-d63c-4b61-89c3-182f06f82e5c", "EXCHANGE_S_STANDARD")
_EXO_E = ("efb87545-963c-4e0d-99df-69c6916d9eb0", "EXCHANGE_S_ENTERPRISE")
_TEAMS = ("57ff2da0-773e-42df-b2af-ffb7a2317929", "TEAMS1")
_APPS_B = ("094e7854-93fc-4d55-b2c0-3ab5369ebdc1", "OFFICE_BUSINESS")
_APPS_E = ("43de0ff5-c92c-492b-9116-175376d08c38", "OFFICESUBSCRIPTION")
_FOUNDATION = ("113feb6c-3fe4-4440-bddc-54d774bf0318", "EXCHANGE_S_FOUNDATION")
_PHONE = ("4828c8ec-dc2e-4779-b502-87ac9ce28ab7", "MCOEV")

OFFERS: dict[str, Offer] = {o.part_number: o for o in (
    Offer(part_number="O365_BUSINESS_ESSENTIALS", product_id="CFQ7TTC0LH18",
          plans=(_EXO, ("0feaeb32-d00e-4d66-bd5a-43b5b83db82c", "MCOSTANDARD"),
                 ("c7699d2e-19aa-44de-8edf-1736da088ca1", "SHAREPOINTSTANDARD"))),
    Offer(part_number="O365_BUSINESS_PREMIUM", product_id="CFQ7TTC0LDPB", plans=(_EXO, _APPS_B, _TEAMS)),
    Offer(part_number="SPB", product_id="CFQ7TTC0LCHC", plans=(_EXO, _APPS_B, _TEAMS)),
    Offer(part_number="ENTERPRISEPACK", product_id="CFQ7TTC0LF8Q", plans=(_EXO_E, _APPS_E, _TEAMS)),
    Offer(part_number="SPE_E3", product_id="CFQ7TTC0LFLZ", plans=(_EXO_E, _APPS_E, _TEAMS)),
    Offer(part_number="SPE_E5", product_id="CFQ7TTC0LFLX", plans=(_EXO_E, _APPS_E, _PHONE)),
    Offer(part_number="EXCHANGESTANDARD", product_id="CFQ7TTC0LH16",
          plans=(_EXO, ("882e1d05-acd1-4ccb-8708-6ee03664b117", "INTUNE_O365"))),
    Offer(part_number="MCOEV", product_id="CFQ7TTC0J1FV", plans=(_PHONE,)),
    Offer(part_number="POWER_BI_PRO", product_id="CFQ7TTC0L3PB",
          plans=(("70d33638-9c74-4d01-bfd3-562de28bd4ba", "BI_AZURE_P2"), _FOUNDATION)),
    Offer(part_number="AAD_PREMIUM", product_id="CFQ7TTC0LFK5",
          plans=(("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM"), _FOUNDATION)),
    Offer(part_number="VISIOCLIENT", product_id="CFQ7TTC0HD33",
          plans=(("663a804f-1c30-4ff0-9915-9db84f0d1cea", "VISIO_CLIENT_SUBSCRIPTION"), _FOUNDATION)),
    Offer(part_number="PROJECTPROFESSIONAL", product_id="CFQ7TTC0HDB0",
          plans=(("fafd7243-e5c1-4a3a-9e40-495efcb1d3c3", "PROJECT_CLIENT_SUBSCRIPTION"), _FOUNDATION)),
    # Free SKUs: Microsoft grants a large block of units; they never appear in Partner Center.
    Offer(part_number="FLOW_FREE", product_id="", paid=False, free_units=10000,
          plans=(("50e68c76-46c6-4674-81f9-75456511b170", "FLOW_P2_VIRAL"), _FOUNDATION)),
    Offer(part_number="POWER_BI_STANDARD", product_id="", paid=False, free_units=1000000,
          plans=(("2049e525-b859-401b-b2a0-e0a31c4b1fe4", "BI_AZURE_P0"), _FOUNDATION)),
)}

#: The suite most users of a tenant get, with how often tenants choose it.
SUITES: tuple[tuple[str, int], ...] = (
    ("O365_BUSINESS_ESSENTIALS", 20), ("O365_BUSINESS_PREMIUM", 25), ("SPB", 30), ("ENTERPRISEPACK", 8),
    ("SPE_E3", 12), ("SPE_E5", 5),
)
