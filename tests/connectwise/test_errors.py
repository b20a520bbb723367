"""Every failure surfaces as the port's typed error, saying what is wrong and what to do."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.billing.types import LineKind
from app.sandbox.connectwise import ConnectWiseSandbox
from app.services.psa.connectwise import ConnectWisePsa
from app.services.psa.port import (
    NewLine,
    PsaAuthError,
    PsaNotFound,
    PsaPermissionError,
    PsaValidationError,
)


@pytest.fixture
def seeded(sandbox: ConnectWiseSandbox):
    return sandbox.scenario([("Contoso Ltd", ["contoso.com"])])


def line(seeded, **changes: object) -> NewLine:
    values: dict[str, object] = dict(
        agreement_id=str(seeded.agreements["Contoso Ltd"]), product_id=str(seeded.products["M365-BP"]),
        kind=LineKind.MAIN, quantity=3, unit_price=Decimal("22.00"), start=date(2025, 3, 1), end=None,
        description="Business Premium", marker="seatsync:0123456789ab")
    values.update(changes)
    return NewLine(**values)  # type: ignore[arg-type]


def test_wrong_private_key(make_client, seeded) -> None:
    psa = ConnectWisePsa(make_client(private_key="not-the-key"))
    with pytest.raises(PsaAuthError) as caught:
        psa.test_connection()
    text = str(caught.value)
    assert "refused the API keys for company 'seatsync'" in text and "public and private keys" in text
    assert "not-the-key" not in text and "sandbox-public" not in text


def test_wrong_public_key(make_client, seeded) -> None:
    with pytest.raises(PsaAuthError, match="refused the API keys"):
        ConnectWisePsa(make_client(public_key="someone-else")).list_companies()


def test_missing_client_id(make_client, seeded) -> None:
    with pytest.raises(PsaAuthError, match=r"requires a clientId .* developer\.connectwise\.com/ClientID"):
        ConnectWisePsa(make_client(client_id="")).test_connection()


def test_unknown_company_id_at_codebase_discovery(make_client, server) -> None:
    with pytest.raises(PsaAuthError, match="does not know the company id 'nobody'"):
        ConnectWisePsa(make_client(company_id="nobody")).test_connection()
    assert server.request_count("GET", "/login/companyinfo/{company}") == 1


def test_the_codebase_is_discovered_once(client, server, seeded) -> None:
    psa = ConnectWisePsa(client)
    psa.test_connection()
    psa.list_companies()
    assert client.codebase == "v2025_1"
    assert server.request_count("GET", "/login/companyinfo/{company}") == 1


@pytest.mark.parametrize(("module", "level", "call", "expected"), [
    ("Companies > Company Maintenance", "inquire", lambda psa, s: psa.list_companies(),
     "Inquire level on Companies > Company Maintenance"),
    ("Finance > Agreements", "inquire", lambda psa, s: psa.test_connection(),
     "Inquire level on Finance > Agreements"),
    ("Procurement > Product Catalog", "inquire", lambda psa, s: psa.list_products(),
     "Inquire level on Procurement > Product Catalog"),
    ("Finance > Agreements", "add", lambda psa, s: psa.create_line(line(s)), "Add level on Finance > Agreements"),
])
def test_a_missing_permission_names_the_module(make_client, sandbox: ConnectWiseSandbox, seeded, module: str,
                                              level: str, call, expected: str) -> None:
    sandbox.add_member("limited-public", "limited-private")
    sandbox.deny("limited-public", module, level)
    psa = ConnectWisePsa(make_client(public_key="limited-public", private_key="limited-private"))
    with pytest.raises(PsaPermissionError, match=expected):
        call(psa, seeded)


def test_edit_permission_is_separate_from_add(make_client, sandbox: ConnectWiseSandbox, seeded) -> None:
    sandbox.add_member("limited-public", "limited-private", denied=[("Finance > Agreements", "edit")])
    psa = ConnectWisePsa(make_client(public_key="limited-public", private_key="limited-private"))
    created = psa.create_line(line(seeded))
    with pytest.raises(PsaPermissionError, match="Edit level on Finance > Agreements"):
        psa.set_quantity(created, 5, date(2025, 3, 10))


def test_unknown_agreement(psa: ConnectWisePsa, seeded) -> None:
    with pytest.raises(PsaNotFound, match="Agreement with id 999999 was not found"):
        psa.list_lines("999999")
    with pytest.raises(PsaNotFound, match="Agreement with id 999999 was not found"):
        psa.create_line(line(seeded, agreement_id="999999"))
    with pytest.raises(PsaNotFound, match="not a ConnectWise agreement id"):
        psa.list_lines("AG-12")


def test_inactive_product_names_the_product(psa: ConnectWisePsa, sandbox: ConnectWiseSandbox, seeded) -> None:
    retired = sandbox.add_product("O365-E1-OLD", price="8.00", inactive=True)
    with pytest.raises(PsaValidationError) as caught:
        psa.create_line(line(seeded, product_id=str(retired)))
    text = str(caught.value)
    assert f"product id {retired}" in text and "Product O365-E1-OLD is inactive" in text


def test_bundles_cannot_be_additions(psa: ConnectWisePsa, sandbox: ConnectWiseSandbox, seeded) -> None:
    bundle = sandbox.add_product("M365-BUNDLE", price="30.00", product_class="Bundle")
    assert str(bundle) not in {p.id for p in psa.list_products()}
    with pytest.raises(PsaValidationError, match="is a bundle"):
        psa.create_line(line(seeded, product_id=str(bundle)))


def test_too_long_marker_or_description_is_refused_before_sending(psa: ConnectWisePsa, server, seeded) -> None:
    with pytest.raises(PsaValidationError, match="longer than the 50 characters of serialNumber"):
        psa.create_line(line(seeded, marker="seatsync:" + "x" * 42))
    with pytest.raises(PsaValidationError, match="at most 6000"):
        psa.create_line(line(seeded, description="x" * 6001))
    assert server.request_count("POST") == 0


def test_the_sandbox_enforces_max_lengths_too(client, seeded) -> None:
    agreement = seeded.agreements["Contoso Ltd"]
    with pytest.raises(PsaValidationError, match="serialNumber: serialNumber cannot be longer than 50"):
        client.post(f"/finance/agreements/{agreement}/additions",
                    {"product": {"id": seeded.products["M365-BP"]}, "billCustomer": "Billable",
                     "serialNumber": "s" * 51})


def test_unknown_line(psa: ConnectWisePsa, seeded) -> None:
    created = psa.create_line(line(seeded))
    psa.cancel_line(created, date(2025, 3, 1))  # never billed: deleted
    with pytest.raises(PsaNotFound, match="Addition with id"):
        psa.update_description(created, "gone")


def test_no_secret_in_repr(client) -> None:
    assert "sandbox-private" not in repr(client.credentials)
