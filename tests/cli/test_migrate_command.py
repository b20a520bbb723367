"""``migrate``: lines other tools wrote, listed and decided headless (app/commands/migrate.py).

A small ConnectWise world, mapped as a user would; another tool's lines are
added to mapped agreements in its sandbox. The command runs in-process.
"""

from __future__ import annotations

import json

import pytest

from app.bootstrap import open_context
from app.cli import main
from app.commands.common import use_context
from app.sandbox.world import SandboxWorld


@pytest.fixture
def world(tmp_path, data_dir):
    with SandboxWorld.start(tmp_path / "world", tenants=3) as world:
        context = open_context(data_dir, ca_file=world.tls.ca)
        world.configure(context, share=1.0)
        use_context(context)
        try:
            yield world, context
        finally:
            use_context(None)
            context.close()


def foreign(world: SandboxWorld, context, index: int, reference: str, *, mapped: bool = True) -> str:
    """Another tool's line of the product of the ``index``-th mapping (or of a product no row bills)."""
    mapping = sorted(context.uow.mappings.all(), key=lambda m: (m.tenant_id, m.sku_id))[index]
    mappings = context.uow.mappings.all()
    billed = {m.profile.product.identifier for m in mappings if m.agreement_id == mapping.agreement_id}
    catalog = context.uow.catalog.products(context.uow.psa_connections.all()[0].id)
    product = mapping.profile.product.identifier if mapped else next(
        p.identifier for p in catalog if p.identifier not in billed)
    return world.psa_side.add_foreign_line(mapping.agreement_id, product, 3, reference=reference,
                                           start=world.scenario.today.replace(day=1))


def listed(capsys, *args: str) -> list[dict]:
    assert main(["migrate", "list", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_list_finds_lines_by_reference_and_says_which_rows_they_hold(world, capsys):
    world, context = world
    cloud = foreign(world, context, 0, "Cloudconsole")
    by_hand = foreign(world, context, 1, "")
    assert [r["line"] for r in listed(capsys, "--reference", "CLOUDCONSOLE")] == [cloud]
    assert [r["line"] for r in listed(capsys, "--blank")] == [by_hand]
    (row,) = listed(capsys, "--line", cloud)
    assert row["reference"] == "Cloudconsole" and row["decision"] is None and len(row["holds_rows_of"]) == 1
    assert main(["migrate", "list", "--reference", "Cloudconsole"]) == 0
    assert "undecided: its row is held" in capsys.readouterr().out


def test_adopt_and_cancel_are_decided_after_their_preview_and_written_by_the_next_sync(world, capsys):
    world, context = world
    cloud = foreign(world, context, 0, "Cloudconsole")
    unite = foreign(world, context, 1, "Unite")
    assert main(["migrate", "adopt", "--reference", "cloudconsole", "--yes", "--by", "ops"]) == 0
    out = capsys.readouterr().out
    assert "take over line" in out and "1 line(s) adopted" in out
    assert main(["migrate", "cancel", "--line", unite, "--last-day", "2030-01-31", "--yes"]) == 0
    assert "it bills until 31 Jan 2030" in capsys.readouterr().out
    assert {r["line"]: r["decision"] for r in listed(capsys)} == {cloud: "adopt", unite: "cancel"}
    assert listed(capsys, "--undecided") == []
    main(["sync", "--yes"])  # (one of the world's tenants never consented: its sync fails, the others write)
    capsys.readouterr()
    agreements = {m.agreement_id for m in context.uow.mappings.all()}
    holdings = {h.id: h for agreement in agreements for h in world.psa_side.holdings(agreement)}
    assert holdings[cloud].marker.startswith("seatsync:")
    assert str(holdings[unite].end) == "2030-01-31"
    assert main(["migrate", "forget", "--line", unite, "--yes"]) == 0
    assert "1 line(s) undecided again" in capsys.readouterr().out


def test_what_cannot_be_done_is_refused_and_nothing_is_decided(world, capsys):
    world, context = world
    line = foreign(world, context, 0, "Pax8", mapped=False)
    assert main(["migrate", "adopt", "--reference", "pax8", "--yes"]) == 1
    assert "no license is mapped to this product" in capsys.readouterr().out
    assert listed(capsys, "--line", line)[0]["decision"] is None


def test_without_yes_and_no_terminal_deciding_refuses_with_exit_2(world, capsys):
    world, context = world
    foreign(world, context, 0, "Cloudconsole")
    assert main(["migrate", "ignore", "--reference", "cloudconsole"]) == 2
    assert "add --yes" in capsys.readouterr().err
