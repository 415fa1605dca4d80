"""A proposed program (参加支援: 「…で利用の適否を協議」) stays a proposal through the hand-over:
recommended and confirmed side by side as its own kind, never merged into the decided programs;
removing it needs a reason and counts against the rule that proposed it; the CSV and a scenario
saved from the case keep it apart."""
from __future__ import annotations

import datetime as dt

import pytest
import yaml

from engine.casework import overrides, stats
from engine.casework.cases import new_record
from engine.casework.handoff import confirm, differences, kind_label, recommended
from engine.casework.referrals import HandoffError
from engine.changes.scenario_edit import scenario_text
from engine.pack import load_pack
from engine.rules.decide import decide

PACK = load_pack()
DAY = dt.date(2026, 11, 20)
# Scenario 28: a withdrawn 29-year-old who consents; 参加支援 is proposed for the 重層的支援会議.
INTAKE = {"received_on": "2026-11-08", "channel": "family", "resident": True, "area": "area1", "consent": "yes",
          "person": {"age": 29, "concerns": ["withdrawal"]}, "household": [{"relation": "母", "age": 58}]}


def record() -> dict:
    rec, _ = new_record(PACK, INTAKE, actor="u1")
    return {**rec, "id": "C1"}


def test_the_recommendation_keeps_the_proposal_apart():
    rec = recommended(record())
    assert rec["proposed_programs"] == ["participation"] and "participation" not in rec["programs"]
    assert kind_label(PACK, "proposed_programs") == "提案する事業（重層的支援会議で利用の適否を協議）"


def test_confirming_as_recommended_keeps_it_a_proposal():
    case, events = confirm(PACK, record(), recommended(record()), {}, "u1", "csw_area1", DAY)
    assert [p["id"] for p in case["confirmed"]["proposed_programs"]] == ["participation"]
    assert "participation" not in [p["id"] for p in case["confirmed"]["programs"]]
    assert events[0]["confirmed"]["proposed_programs"] == ["participation"]
    assert differences(case) == []
    row = stats.case_row(PACK, case)
    assert row["提案する事業（会議で協議）"] == ["参加支援事業"] and "参加支援事業" not in row["事業"]


def test_a_program_both_decided_and_proposed_is_decided():
    rec = recommended(record())
    chosen = {**rec, "programs": [*rec["programs"], "participation"]}
    case, _ = confirm(PACK, record(), chosen, {"programs:participation": {"text": "すでに利用が決まっている"}},
                      "u1", None, DAY, owner={"agency": "csw_area1"})
    assert case["confirmed"]["proposed_programs"] == []
    assert [(c["kind"], c["change"]) for c in case["confirmed"]["changes"]] == [("programs", "added")]
    assert differences(case) == [{"kind": "programs", "id": "participation", "change": "added", "explained": True}]


def test_removing_the_proposal_needs_a_reason_and_counts_against_its_rule():
    chosen = {**recommended(record()), "proposed_programs": []}
    with pytest.raises(HandoffError, match="提案する事業「参加支援事業」の除外"):
        confirm(PACK, record(), chosen, {}, "u1", None, DAY, owner={"agency": "csw_area1"})
    case, events = confirm(PACK, record(), chosen, {"proposed_programs:participation": {"text": "本人が希望しない"}},
                           "u1", None, DAY, owner={"agency": "csw_area1"})
    change = next(e for e in events if e["type"] == "routing_changed")
    assert change["kind"] == "proposed_programs" and change["rules"] == ["participation_proposed"]
    counted = overrides.count([case], DAY)
    assert counted.by_rule["participation_proposed"].removed == 1
    assert overrides.rule_rows(PACK, counted)[[r.id for r in PACK.rules].index("participation_proposed")]["外されたもの"] \
        == "参加支援事業（提案）（1）"


def test_a_scenario_saved_from_the_confirmed_case_expects_the_proposal():
    case, _ = confirm(PACK, record(), recommended(record()), {}, "u1", "csw_area1", DAY)
    from engine.casework.handoff import confirmed
    text = scenario_text("ひきこもり", "解説", INTAKE, decide(PACK, INTAKE), confirmed(case))
    expect = yaml.safe_load(text)["expect"]
    assert expect["proposed"] == ["participation"] and "participation" not in expect["programs"]


def test_the_pages_keep_the_proposal_apart(data, monkeypatch):
    """相談受付's confirm form has the proposal in its own picker; ケース詳細 shows it on its own row."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    import ui.auth
    from engine.casework.cases import take_intake
    from storage import open_repository
    from storage.users import User

    staff = User("u_csw", "CSW 職員（架空）", ("agency_staff",), "csw_area1")
    monkeypatch.setattr(ui.auth, "current_user", lambda: staff)
    with open_repository(data) as repo:
        case, _ = take_intake(repo, PACK, {**INTAKE, "receiving_agency": "csw_area1"}, actor=staff.id)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "ui" / "app.py"), default_timeout=10)
    at.session_state["user"] = staff.id
    at.session_state["intake.__saved"] = case
    at.run().switch_page("views/consult/intake.py").run()
    picker = at.multiselect(key=f"intake.confirm.{case['id']}.proposed_programs")
    assert picker.value == ["participation"] and "重層的支援会議で利用の適否を協議" in picker.label
    assert "participation" not in at.multiselect(key=f"intake.confirm.{case['id']}.programs").value
    next(b for b in at.button if b.label == "振り分けを確定する").click().run()
    assert not at.exception
    with open_repository(data) as repo:
        stored = repo.get_case(case["id"])
    assert [p["id"] for p in stored["confirmed"]["proposed_programs"]] == ["participation"]
    at.session_state["case_id"] = case["id"]
    at.switch_page("views/consult/case.py").run()
    assert not at.exception
    table = at.table[0].value
    row = next(label for label in table.index if label.startswith("提案する事業"))
    assert table.loc[row].iloc[-1] == "参加支援事業"
    assert "参加支援事業" not in table.loc["事業"].iloc[-1]
