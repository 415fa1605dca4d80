"""``tsunagu case list / show``: both routings, referrals, owner and next date as JSON, on demo data."""
from __future__ import annotations

import json

import pytest

from engine.casework.wareki import today as japan_today
from engine.cli import main

KEYS = {"recommendation", "confirmed", "referrals", "owner", "next_due"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("data")
    assert main(["demo-data", "--data", str(path), "--cases", "120"]) == 0
    return path


def run(capsys, *argv) -> list | dict:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_case_list_prints_both_routings_referrals_owner_and_next_date(demo, capsys):
    cases = run(capsys, "case", "list", "--data", str(demo))
    assert len(cases) == 120 and all(KEYS <= set(c) for c in cases)
    confirmed = [c for c in cases if c["confirmed"]]
    assert 0 < len(confirmed) < 120                       # demo data has confirmed and unconfirmed cases
    assert all(c["owner"]["agency"] for c in confirmed)
    states = [r["state"] for c in cases for r in c["referrals"]]
    assert {"accepted", "pending"} <= set(states) and set(states) <= {"pending", "accepted", "returned"}
    assert all({"agency", "state", "due"} <= set(r) for c in cases for r in c["referrals"])
    assert any(r["overdue"] for c in cases for r in c["referrals"])
    assert all(c["recommendation"]["config_version"] for c in cases)
    # A confirmed routing that differs from the recommendation says why.
    changed = [c for c in confirmed if c["confirmed"]["agencies"] != c["recommendation"]["agencies"]]
    assert changed and all(ch["reason"] for c in changed for ch in c["confirmed"]["changes"])


def test_overdue_and_agency_filters(demo, capsys):
    today = japan_today().isoformat()
    overdue = run(capsys, "case", "list", "--overdue", "--data", str(demo))
    assert overdue and all(c["overdue"] for c in overdue)
    assert all((c["next_due"] and c["next_due"] < today) or any(r["overdue"] for r in c["referrals"]) for c in overdue)
    everything = run(capsys, "case", "list", "--data", str(demo))
    assert len(overdue) == sum(c["overdue"] for c in everything)
    mine = run(capsys, "case", "list", "--agency", "houkatsu_a", "--data", str(demo))
    assert mine and len(mine) < len(everything)
    assert all(c["owner"]["agency"] == "houkatsu_a" or "houkatsu_a" in (c["confirmed"] or c["recommendation"])["agencies"]
               or any(r["agency"] == "houkatsu_a" for r in c["referrals"]) for c in mine)


def test_case_show(demo, capsys):
    first = run(capsys, "case", "list", "--data", str(demo))[0]
    shown = run(capsys, "case", "show", first["id"], "--data", str(demo))
    assert KEYS <= set(shown) and shown["id"] == first["id"] and shown == first


def test_unknown_case_and_agency_are_clear_errors(demo, capsys):
    assert main(["case", "show", "C00000000-000000", "--data", str(demo)]) == 2
    assert "見つかりません" in capsys.readouterr().err
    assert main(["case", "list", "--agency", "houkatsu", "--data", str(demo)]) == 2
    assert "もしかして" in capsys.readouterr().err
