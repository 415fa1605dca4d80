"""Scoring a trainee's routing: right, partly right, wrong — each difference with the rule's reason."""
from __future__ import annotations

import pytest

from engine.pack import bundled_packs, load_pack
from engine.pack.model import thawed
from engine.rules.decide import decide
from engine.training.lessons import training_scenarios
from engine.training.quiz import Answer, history_entry, question_order, score


@pytest.fixture(scope="module")
def pack():
    return load_pack()


def scenario(pack, suffix):
    return next(s for s in training_scenarios(pack) if s.file.endswith(suffix))


@pytest.fixture(scope="module")
def case_8050(pack):
    """02: 8050 with consent → 多機関協働, 重層的支援会議."""
    return decide(pack, thawed(scenario(pack, "02_8050_consent.yaml").case))


def right(decision) -> Answer:
    return Answer(decision.programs, decision.agencies, decision.meetings, decision.priority)


def test_all_correct(pack, case_8050):
    result = score(pack, case_8050, right(case_8050))
    assert result.correct and result.points == 100
    assert all(p.correct and not p.notes for p in result.parts)


def test_partly_right_names_the_rule_that_adds_the_missed_item(pack, case_8050):
    answer = Answer(case_8050.programs, ("houkatsu_a", "kurashi_marugoto"), ("juso_kaigi", "shien_kaigi", "yotaikyo"),
                    "normal")
    result = score(pack, case_8050, answer)
    assert not result.correct and 0 < result.points < 100
    agencies = result.part("agencies")
    assert agencies.missing == ("csw_area2",) and agencies.score == pytest.approx(2 / 3)
    assert "ルール「ひきこもり・孤立 → 圏域のCSW」で加わります" in agencies.notes[0]
    assert "圏域担当のCSWが関わります" in agencies.notes[0]          # the rule's reason
    assert "まだ会えていない世帯員 → CSWのアウトリーチ" in agencies.notes[0]    # every rule that adds it
    meetings = result.part("meetings")
    assert meetings.extra == ("yotaikyo",) and meetings.score == pytest.approx(2 / 3)
    assert "どのルールも「要保護児童対策地域協議会（個別ケース検討会議）」を加えません" in meetings.notes[0]
    assert "子どもへの虐待の疑い（子どもの前でのDVを含む）" in meetings.notes[0]       # the rule that would, and why not
    assert result.part("programs").correct and result.part("priority").correct
    assert result.points == round((1 + 2 / 3 + 2 / 3 + 1) / 4 * 100)


def test_wrong_answer_explains_every_difference(pack):
    decision = decide(pack, thawed(scenario(pack, "11_abuse_elderly_self.yaml").case))
    result = score(pack, decision, Answer(("multi_agency",), ("residence_municipality",), ("juso_kaigi",), "normal"))
    assert not result.correct
    programs, agencies = result.part("programs"), result.part("agencies")
    # Elder abuse is complex in one 分野 (city policy), so 多機関協働 is right; the answer misses the rest.
    assert programs.missing == ("comprehensive", "outreach") and programs.extra == ()
    assert programs.score == pytest.approx(1 / 3)
    assert "すべての相談を受け止める" in programs.notes[0] and "断らない相談支援" in programs.notes[0]
    assert "本人の同意が得られていない" in programs.notes[1]
    assert "虐待" in agencies.notes[0] and "介護保険課" in agencies.notes[0]
    assert "阪南市外に住んでいる場合" in agencies.notes[-1] and "成り立ちません" in agencies.notes[-1]
    meetings = result.part("meetings")
    assert meetings.missing == ("shien_kaigi",) and meetings.extra == ("juso_kaigi",)
    assert "同意が得られていない" in meetings.notes[0] and "成り立ちません" in meetings.notes[1]
    priority = result.part("priority")
    assert priority.score == 0 and "正しくは「緊急」" in priority.notes[0] and "虐待の疑いがあるため" in priority.notes[0]
    assert result.points == round(1 / 3 / 4 * 100)


def test_an_extra_item_no_rule_can_add(pack, case_8050):
    result = score(pack, case_8050, Answer(case_8050.programs, case_8050.agencies + ("kosodate_kyoten",),
                                           case_8050.meetings, case_8050.priority))
    assert "「地域子育て支援拠点（一般型）」を加えるルールはありません" in result.part("agencies").notes[0]


def test_no_priority_chosen_scores_zero_for_that_part(pack, case_8050):
    result = score(pack, case_8050, Answer(case_8050.programs, case_8050.agencies, case_8050.meetings, None))
    assert result.part("priority").score == 0 and result.points == 75
    assert "優先度を上げるルールはこの相談では成り立ちません" in result.part("priority").notes[0]


def test_order_is_a_shuffle_fixed_by_the_seed():
    files = [f"{i:02d}.yaml" for i in range(42)]
    assert question_order(files, "花子:1") == question_order(files, "花子:1")
    assert sorted(question_order(files, "花子:1")) == files
    assert question_order(files, "花子:1") != question_order(files, "花子:2")


def test_history_entry_is_plain_data(pack, case_8050):
    entry = history_entry("2026-01-01T10:00:00+09:00", "scenarios/02.yaml", "8050", score(pack, case_8050, right(case_8050)))
    assert entry["points"] == 100 and entry["correct"] is True and entry["agencies"] == 1.0


# -- every bundled pack: each training case scores 100 when answered as the rules decide,
# and loses points, with a note naming a rule, when one agency is left out ------------------
@pytest.mark.parametrize("root", bundled_packs(), ids=lambda p: p.name)
def test_quiz_scores_every_training_case_of_every_bundled_pack(root):
    pack = load_pack(root)
    cases = training_scenarios(pack)
    assert len(cases) >= 20
    for s in cases:
        decision = decide(pack, thawed(s.case))
        assert score(pack, decision, right(decision)).points == 100, s.file
        if decision.agencies:
            short = Answer(decision.programs, decision.agencies[1:], decision.meetings, decision.priority)
            result = score(pack, decision, short)
            agencies = result.part("agencies")
            assert result.points < 100 and agencies.missing == decision.agencies[:1], s.file
            assert any(r.label in agencies.notes[0] for r in pack.rules), (s.file, agencies.notes)
