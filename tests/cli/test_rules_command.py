"""``rules list|add|remove|apply`` on the in-memory PSA: a preview before anything is saved, --yes for scripts."""

from __future__ import annotations

import io
import json

import pytest

from app.bootstrap import open_context
from app.cli import main
from app.commands.common import use_context
from tests.rules_world import E3, RulesWorld


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def world(data_dir):
    context = open_context(data_dir)
    world = RulesWorld(context).setup()
    for n in range(3):
        world.company(f"Customer {n}")
    world.company("Block time only", agreements=("Block time",))
    use_context(context)
    try:
        yield world
    finally:
        use_context(None)
        context.close()


def test_add_then_list_names_the_license_profile_and_agreement(world, capsys):
    assert main(["rules", "add", "--sku", "ENTERPRISEPACK", "--profile", "e3 RETAIL",
                 "--agreement-type", "Microsoft 365", "--minimum", "2", "--by", "alice"]) == 0
    assert capsys.readouterr().out == ("Rule 1 added: Office 365 E3 → E3 retail on agreement type "
                                       "'Microsoft 365'.\n")
    assert main(["rules", "list"]) == 0
    assert "1  Office 365 E3 → E3 retail on agreement type 'Microsoft 365'" in capsys.readouterr().out
    assert main(["rules", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["sku"], listed["profile"], listed["minimum"], listed["agreement_type"]) == (
        E3, "E3 retail", 2, "Microsoft 365")


def test_an_unknown_profile_or_rule_is_refused(world, capsys):
    assert main(["rules", "add", "--sku", E3, "--profile", "nope", "--agreement-type", "X"]) == 1
    assert main(["rules", "remove", "7"]) == 2
    assert "no mapping rule 7" in capsys.readouterr().err
    assert world.ctx.rules.rules() == []


def test_apply_previews_asks_and_saves_only_when_told(world, monkeypatch, capsys):
    world.ctx.rules.add(world.rule())
    assert main(["rules", "apply"]) == 2  # no terminal, no --yes: refused before anything is read
    assert "add --yes" in capsys.readouterr().err

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda question: "n")
    assert main(["rules", "apply"]) == 0
    out = capsys.readouterr().out
    assert "The rules map 3 license(s):" in out and "Customer 2" in out
    assert "They cannot map 1" in out and "no active agreement of type 'Microsoft 365'" in out
    assert out.rstrip().endswith("Nothing was changed.") and world.ctx.uow.mappings.all() == []

    assert main(["rules", "apply", "--yes", "--by", "alice"]) == 0
    assert "3 license(s) mapped by rule; the next sync bills them." in capsys.readouterr().out
    assert len(world.ctx.uow.mappings.all()) == 3
    assert main(["rules", "apply", "--yes", "--json"]) == 0  # nothing left to map; the one it cannot stays
    result = json.loads(capsys.readouterr().out)
    assert result["mapped"] == [] and [r["company"] for r in result["not_mapped"]] == ["Block time only"]


def test_remove_keeps_the_mappings_the_rule_made(world, capsys):
    rule = world.ctx.rules.add(world.rule())
    assert main(["rules", "apply", "--yes"]) == 0
    assert main(["rules", "remove", str(rule.id), "--by", "bob"]) == 0
    assert "Rule 1 removed; the mappings it made stay." in capsys.readouterr().out
    assert world.ctx.rules.rules() == [] and len(world.ctx.uow.mappings.all()) == 3
