"""A case after intake: transitions, plans, outcomes, re-decisions, conflicts."""
from __future__ import annotations

import pytest

from engine.casework.cases import take_intake
from engine.casework.workflow import (
    WorkflowError,
    add_note,
    agenda,
    change_status,
    connect_resource,
    record_outcome,
    redecide,
    save_plan,
)
from engine.errors import CaseError, ConflictError
from engine.pack import load_pack
from storage import open_repository

CASE_8050 = {"received_on": "2026-11-20", "channel": "self", "resident": True, "area": "area2", "consent": "yes",
             "person": {"age": 82, "concerns": ["care_need"]},
             "household": [{"relation": "長男", "age": 52, "concerns": ["withdrawal"], "consent": "yes"}]}


@pytest.fixture(scope="module")
def pack():
    return load_pack()


@pytest.fixture
def repo(tmp_path):
    with open_repository(tmp_path) as r:
        yield r


def test_only_transitions_the_lifecycle_allows(pack, repo):
    case, _ = take_intake(repo, pack, CASE_8050)
    with pytest.raises(WorkflowError, match="移れる先: アセスメント、他機関へ引継ぎ（終結）"):
        change_status(repo, pack, case["id"], "support", "staff")
    moved = change_status(repo, pack, case["id"], "assessment", "staff", expected_revision=case["revision"])
    assert moved["status"] == "assessment"
    assert [e["type"] for e in repo.events(case["id"])] == ["received", "decided", "status_changed"]


def test_second_save_from_a_stale_page_is_refused(pack, repo):
    case, _ = take_intake(repo, pack, CASE_8050)
    change_status(repo, pack, case["id"], "assessment", "first", expected_revision=case["revision"])
    with pytest.raises(ConflictError):
        change_status(repo, pack, case["id"], "referred_out", "second", expected_revision=case["revision"])
    assert repo.get_case(case["id"])["status"] == "assessment"


def test_the_same_change_from_two_stale_pages_is_told_as_a_conflict(pack, repo):
    """Both chose アセスメント on pages drawn at the same version: the second is told someone saved
    first (with both versions), not that アセスメント cannot move to アセスメント."""
    case, _ = take_intake(repo, pack, CASE_8050)
    change_status(repo, pack, case["id"], "assessment", "first", expected_revision=case["revision"])
    with pytest.raises(ConflictError, match=f"あなたが開いた版: {case['revision']}、現在の版: {case['revision'] + 1}"):
        change_status(repo, pack, case["id"], "assessment", "second", expected_revision=case["revision"])
    assert [e["type"] for e in repo.events(case["id"])].count("status_changed") == 1


def test_plan_is_validated_against_the_plan_form(pack, repo):
    case, _ = take_intake(repo, pack, CASE_8050)
    with pytest.raises(CaseError) as err:
        save_plan(repo, pack, case["id"], {"made_on": "2026-11-21"}, "staff")
    assert {i.key for i in err.value.issues} == {"needs", "goal"}
    saved = save_plan(repo, pack, case["id"], {"made_on": "2026-11-21", "needs": ["care_need", "withdrawal"],
                                               "goal": "母の介護サービス利用と長男の居場所づくり"}, "staff")
    assert saved["plan"]["needs"] == ["care_need", "withdrawal"]


def test_meeting_outcome_moves_status_and_leaves_the_agenda(pack, repo):
    case, _ = take_intake(repo, pack, CASE_8050)
    assert [c["id"] for c in agenda(pack, repo.list_cases(), "juso_kaigi")] == [case["id"]]
    after = record_outcome(repo, pack, case["id"], {"meeting": "juso_kaigi", "held_on": "2026-12-17",
                                                    "outcome": "plan_approved"}, "staff")
    assert after["status"] == "support"
    assert agenda(pack, repo.list_cases(), "juso_kaigi") == []


def test_redecide_keeps_the_old_decision_in_the_timeline(pack, repo):
    nobody = {**CASE_8050, "consent": "no", "household": [{**CASE_8050["household"][0], "consent": "no"}]}
    case, _ = take_intake(repo, pack, nobody)
    assert [m["id"] for m in case["decision"]["meetings"]] == ["shien_kaigi"]
    new = redecide(repo, pack, case["id"], "staff", intake={**CASE_8050, "consent": "yes"})
    assert [m["id"] for m in new["decision"]["meetings"]] == ["juso_kaigi"]
    event = repo.events(case["id"])[-1]
    assert event["type"] == "redecided"
    assert [m["id"] for m in event["before"]["meetings"]] == ["shien_kaigi"]


def test_notes_and_connections_appear_in_the_timeline(pack, repo):
    case, _ = take_intake(repo, pack, CASE_8050)
    with pytest.raises(WorkflowError):
        add_note(repo, case["id"], "   ", "staff")
    add_note(repo, case["id"], "電話で様子を確認", "staff")
    connect_resource(repo, pack, case["id"], "kusanone_network", "staff", note="見学を提案")
    with pytest.raises(WorkflowError):
        connect_resource(repo, pack, case["id"], "no_such_resource", "staff")
    assert [e["type"] for e in repo.events(case["id"])][-2:] == ["note", "resource_connected"]


def test_unknown_case_gives_a_japanese_message(pack, repo):
    with pytest.raises(WorkflowError, match="見つかりません"):
        change_status(repo, pack, "C00000000-000000", "assessment", "staff")


def test_redecide_keeps_values_of_fields_the_form_no_longer_has(pack, repo):
    case, _ = take_intake(repo, pack, CASE_8050)
    case["intake"]["old_field"] = "旧フォームの値"
    repo.save_case(case)
    again = redecide(repo, pack, case["id"], "staff")
    assert again["intake"]["old_field"] == "旧フォームの値"


def test_an_intake_without_required_fields_is_stored_by_no_path(repo, pack):
    """The person group left empty still has required fields (年齢, 相談内容); the engine refuses
    the case whoever calls it, naming every problem at once, in Japanese labels."""
    from engine.casework.cases import new_record
    bare = {"received_on": "2026-11-30", "channel": "self", "resident": True, "consent": "yes", "person": {}}
    for attempt in (lambda: take_intake(repo, pack, bare), lambda: new_record(pack, bare)):
        with pytest.raises(CaseError) as err:
            attempt()
        assert {i.key for i in err.value.issues} == {"area", "person.age", "person.concerns"}
        assert {i.message for i in err.value.issues} >= {"「年齢」は必須です", "「相談内容」は必須です"}
    with pytest.raises(CaseError) as err:
        take_intake(repo, pack, {**CASE_8050, "person": {"age": 200, "concerns": ["care_need"]}})
    assert [i.message for i in err.value.issues] == ["「年齢」は 0〜120 の範囲で入力してください（入力: 200）"]
    assert repo.count_cases() == 0


def test_a_meeting_record_before_the_case_was_received_is_refused(pack, repo):
    case, _ = take_intake(repo, pack, CASE_8050)                          # received 2026-11-20
    with pytest.raises(CaseError) as err:
        record_outcome(repo, pack, case["id"], {"meeting": "juso_kaigi", "held_on": "2026-11-19",
                                                "outcome": "plan_approved"}, "staff")
    assert [i.key for i in err.value.issues] == ["held_on"]
    assert "受付日（令和8年11月20日" in err.value.issues[0].message
    assert repo.get_case(case["id"])["status"] == "received" and not repo.get_case(case["id"]).get("meetings_done")
    same_day = record_outcome(repo, pack, case["id"], {"meeting": "juso_kaigi", "held_on": "2026-11-20",
                                                       "outcome": "plan_approved"}, "staff")
    assert same_day["meetings_done"][0]["held_on"] == "2026-11-20"
