"""``settings list|set``: each setting a sync runs by, changed from a shell as the Settings view changes it."""

from __future__ import annotations

import json
from datetime import time
from decimal import Decimal

import pytest

from app.bootstrap import open_context
from app.cli import main
from app.commands.common import use_context
from app.services.preferences import NAMED_SETTINGS
from app.services.review.approvals import HistoryFilter
from app.services.settings import ApprovalPolicy


@pytest.fixture
def context(data_dir):
    ctx = open_context(data_dir)
    use_context(ctx)
    try:
        yield ctx
    finally:
        use_context(None)
        ctx.close()


def listed(capsys) -> dict[str, str]:
    assert main(["settings", "list", "--json"]) == 0
    return {entry["name"]: entry["value"] for entry in json.loads(capsys.readouterr().out)}


def test_list_shows_every_setting_with_its_value_what_it_means_and_takes(context, capsys):
    assert listed(capsys) == {"sync-time": "06:00", "daily-sync": "on", "approval-policy": "apply-all",
                              "max-seats-per-line": "50", "max-changes-per-run": "500", "max-amount-per-run": "none",
                              "minimum-margin": "0", "history-days": "400"}
    assert main(["settings", "list"]) == 0
    out = capsys.readouterr().out
    assert "minimum-margin       0          a billable row earning less, in % of its price, is reported" in out
    assert all(n.name in out and n.accepts in out for n in NAMED_SETTINGS)


@pytest.mark.parametrize(("name", "text", "shown", "stored"), [
    ("sync-time", " 7:30 ", "07:30", lambda s: s.sync_time == time(7, 30)),
    ("daily-sync", "OFF", "off", lambda s: s.sync_enabled is False),
    ("approval-policy", "Hold-Decreases", "hold-decreases",
     lambda s: s.approval_policy() is ApprovalPolicy.HOLD_DECREASES),
    ("max-seats-per-line", "none", "none", lambda s: s.max_seats_change_per_line is None),
    ("max-changes-per-run", "40", "40", lambda s: s.max_operations_per_run == 40),
    ("max-amount-per-run", "1500.50", "1500.50", lambda s: s.max_amount_per_run == Decimal("1500.50")),
    ("minimum-margin", "20%", "20", lambda s: s.minimum_margin == 20),
    ("history-days", "90", "90", lambda s: s.history_days == 90),
])
def test_set_changes_one_setting_and_history_names_who(context, capsys, name, text, shown, stored):
    assert main(["settings", "set", name, text, "--by", "alice"]) == 0
    assert capsys.readouterr().out == f"{name} is {shown}: from the next run\n"
    assert stored(context.settings)
    assert listed(capsys)[name] == shown
    [change] = context.review.config_history(HistoryFilter(), "setting")
    assert change.change.actor == "alice"


@pytest.mark.parametrize(("name", "text", "said"), [
    ("max-amount-per-run", "1,500.50", "max-amount-per-run takes an amount with at most two decimals and no "
                                       "separators (1500.50), or none, not '1,500.50'"),
    ("max-amount-per-run", "12.345", "not '12.345'"),
    ("max-amount-per-run", "-5", "not '-5'"),
    ("max-amount-per-run", "NaN", "not 'NaN'"),
    ("max-seats-per-line", "ten", "max-seats-per-line takes a whole number, or none, not 'ten'"),
    ("daily-sync", "maybe", "daily-sync takes on or off, not 'maybe'"),
    ("approval-policy", "approve", "approval-policy takes apply-all, hold-decreases or hold-all, not 'approve'"),
    ("sync-time", "25:00", "sync-time takes HH:MM, 24-hour, not '25:00'"),
    ("minimum-margin", "150", "the minimum margin is a whole percentage from 0 to 99, not 150"),
    ("history-days", "10", "history is kept for 31 to 3650 days, not 10"),
    ("margin", "20", "no setting 'margin'; there are sync-time, daily-sync, approval-policy"),
])
def test_a_wrong_value_or_name_is_refused_with_what_it_takes_and_nothing_changes(context, capsys, name, text, said):
    before = listed(capsys)
    assert main(["settings", "set", name, text]) == 1
    err = capsys.readouterr().err
    assert err.startswith("seatsync: The settings were not saved: (") and said in err
    assert listed(capsys) == before
    assert context.review.config_history(HistoryFilter(), "setting") == []
