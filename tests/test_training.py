"""研修 material from the live pack: the training scenarios, the narration, and the explanations."""
from __future__ import annotations

import re

import pytest

from engine.pack import load_pack
from engine.pack.model import thawed
from engine.rules.decide import decide
from engine.training.lessons import (
    describe,
    meeting_lesson,
    narrate,
    quiz_history,
    record_quiz,
    route_steps,
    training_scenarios,
    why,
)
from storage import open_repository

# The CSW leaflet's examples and the くらし丸ごと相談室's four typical consultations.
SEED_EXAMPLES = ["ひきこもり", "物が散らかっている", "虐待", "心の病", "お金がなくて生活できない", "子育てが不安",
                 "アルコール依存", "福祉サービスを知りたい", "しんどそうね", "くらし", "仕事", "お金", "住まい"]


@pytest.fixture(scope="module")
def pack():
    return load_pack()


@pytest.fixture(scope="module")
def scenarios(pack):
    return training_scenarios(pack)


def test_at_least_15_training_scenarios_carry_an_explanation(scenarios):
    assert len(scenarios) >= 15
    assert all(s.explanation.strip() for s in scenarios)


@pytest.mark.parametrize("example", SEED_EXAMPLES)
def test_every_seed_example_is_taught(scenarios, example):
    assert any(example in s.name or example in s.explanation for s in scenarios), example


def test_narrate_tells_the_case_in_japanese_with_age_and_concerns(pack, scenarios):
    s = next(s for s in scenarios if s.file.endswith("02_8050_consent.yaml"))
    text = narrate(pack, thawed(s.case))
    assert text.startswith("82歳の方から相談がありました。")
    assert "「介護が必要」" in text and "長男（52歳、「ひきこもり」、同意は未確認）" in text
    assert "第2圏域" in text and "同意しています" in text
    assert not re.search(r"care_need|withdrawal|eldest_son|area2", text)      # ids never leak


def test_narrate_names_who_called_for_a_third_party_report(pack):
    case = {"channel": "neighbour", "reporter": "隣に住む人", "resident": True, "area": "area1", "consent": "no",
            "person": {"age": 74, "concerns": ["isolation"]}}
    text = narrate(pack, case)
    assert text.startswith("隣に住む人（近隣住民）から、74歳の方について連絡がありました。")
    assert "まだ同意していません" in text


def test_narrate_of_a_non_resident_with_unknown_consent(pack):
    text = narrate(pack, {"channel": "self", "resident": False, "consent": "unknown",
                          "person": {"age": 80, "concerns": ["care_need"]}})
    assert "阪南市の外にお住まいです" in text and "まだ確認できていません" in text


def test_route_steps_say_which_rule_added_what(pack, scenarios):
    s = next(s for s in scenarios if s.file.endswith("03_8050_no_consent.yaml"))
    steps = {st.rule: st for st in route_steps(pack, decide(pack, thawed(s.case)))}
    assert steps["field_kaigo"].agencies == ("houkatsu_a",)              # the area's center, not every center
    assert steps["shien_kaigi_no_consent"].meetings == ("shien_kaigi",)
    assert steps["multi_field"].programs == ("multi_agency",)


def test_why_explains_a_meeting_that_is_not_there(pack, scenarios):
    s = next(s for s in scenarios if s.file.endswith("03_8050_no_consent.yaml"))
    decision = decide(pack, thawed(s.case))
    text = why(pack, decision, "meetings", "juso_kaigi")
    assert "どのルールも「重層的支援会議」を加えません" in text and "複雑化・複合化・同意のある人" in text
    other = why(pack, decide(pack, thawed(scenarios[0].case)), "agencies", "houkatsu_b")
    assert "成り立ちましたが" in other                # field_kaigo fired, but for the other area


def test_meeting_lesson_contrasts_the_two_case_meetings(pack, scenarios):
    s = next(s for s in scenarios if s.file.endswith("02_8050_consent.yaml"))
    text = "\n".join(meeting_lesson(pack, decide(pack, thawed(s.case)), thawed(s.case)))
    # The mother consented, her son has not been met: each person's consent is shown, and the
    # lesson contrasts the meeting that needs consent with the one that does not.
    assert "本人 **同意あり**" in text and "長男 **未確認**" in text
    assert "本人の同意が必要です" in text and "本人の同意がなくても開けます" in text
    assert "要保護児童対策地域協議会（個別ケース検討会議）にかけない理由" in text


def test_describe_uses_the_yaml(pack):
    agency = "\n".join(describe(pack, "agencies", "houkatsu_a"))
    assert "委託" in agency and "介護保険課" in agency and "第1圏域" in agency and "権利擁護" in agency
    meeting = "\n".join(describe(pack, "meetings", "shien_kaigi"))
    assert "守秘義務" in meeting and "社会福祉法 第106条の6" in meeting and "随時" in meeting
    program = "\n".join(describe(pack, "programs", "multi_agency"))
    assert program.startswith("### 4. 多機関協働事業") and "くらし丸ごと相談室" in program


def test_quiz_history_is_kept_per_trainee(tmp_path):
    with open_repository(tmp_path) as repo:
        record_quiz(repo, "研修 一郎", {"points": 100})
        record_quiz(repo, "研修 一郎", {"points": 50})
        record_quiz(repo, "研修 花子", {"points": 75})
        assert [h["points"] for h in quiz_history(repo, "研修 一郎")] == [100, 50]
        assert quiz_history(repo, "だれか") == []


def test_hidden_fields_are_not_required(pack):
    from engine.rules.facts import missing_required
    non_resident = {"received_on": "2026-11-01", "channel": "self", "resident": False,
                    "person": {"age": 70, "concerns": ["care_need"], "consent": "yes"}}
    assert missing_required(pack.intake.fields, non_resident) == []
    assert [i.key for i in missing_required(pack.intake.fields, {**non_resident, "resident": True})] == ["area"]


def test_narrative_wording_comes_from_the_pack():
    """ななうみ市 (the fictional example) words the same case its own way: pack.yaml narrative."""
    from engine.pack import DEFAULT_PACK
    nanaumi = load_pack(DEFAULT_PACK.parent / "nanaumi")
    case = {"received_on": "2026-11-20", "channel": "honnin", "resident": True, "area": "ku_higashi",
            "consent": "mikakunin", "person": {"age": 82, "concerns": ["kaigo"]}}
    text = narrate(nanaumi, case)
    assert text.startswith("82歳の方が区役所の窓口に来られました。ななうみ市（東区）にお住まいです。")
    assert text.endswith("ご本人に、関係機関で情報を共有してよいかはまだ聞けていません。")
    assert "阪南市" not in text
