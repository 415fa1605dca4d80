"""AppTest flows for the 研修 pages: they teach from the live pack and never touch the live store."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.pack import load_pack
from engine.pack.model import thawed
from engine.rules.decide import decide
from engine.training.lessons import BANNER, quiz_history, training_scenarios
from storage import open_repository

UI = Path(__file__).resolve().parents[1] / "ui"
APP = str(UI / "app.py")
# The live ケース一覧 (pages are moving from ui/pages to ui/views).
CASES_PAGE = "views/consult/cases.py" if (UI / "views" / "cases.py").exists() else "views/consult/cases.py"
PAGES = ["views/training/overview.py", "views/training/cases.py", "views/training/quiz.py", "views/training/sandbox.py"]


@pytest.fixture(scope="module")
def pack():
    return load_pack()


@pytest.fixture
def data(tmp_path, monkeypatch):
    # A directory per test: ui.state caches one repository per data path.
    monkeypatch.setenv("TSUNAGU_DATA", str(tmp_path))
    monkeypatch.delenv("TSUNAGU_CONFIG", raising=False)
    return tmp_path


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=10).run()
    return at.switch_page(page).run()


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def text(at: AppTest) -> str:
    return " ".join(m.value for m in [*at.markdown, *at.info, *at.success, *at.warning, *at.caption, *at.error])


@pytest.mark.parametrize("page", PAGES)
def test_every_training_page_runs_and_says_it_is_training(data, page):
    at = open_page(page)
    assert not at.exception
    assert at.warning[0].value == BANNER


# -- クイズ -------------------------------------------------------------------------
def current_decision(at: AppTest, pack):
    files = at.session_state["quiz.order"]
    scenario = next(s for s in training_scenarios(pack) if s.file == files[at.session_state["quiz.index"] % len(files)])
    return scenario, decide(pack, thawed(scenario.case))


def answer(at: AppTest, programs, agencies, meetings, priority) -> None:
    at.multiselect(key="quiz.programs").set_value(list(programs))
    at.multiselect(key="quiz.agencies").set_value(list(agencies))
    at.multiselect(key="quiz.meetings").set_value(list(meetings))
    at.radio(key="quiz.priority").set_value(priority)
    button(at, "答え合わせ").click().run()
    assert not at.exception


def test_quiz_scores_right_and_partly_right_answers_and_keeps_history(data, pack):
    at = open_page("views/training/quiz.py")
    assert "名前を入れると" in at.info[0].value
    at.text_input(key="quiz.trainee").set_value("研修 一郎").run()
    scenario, decision = current_decision(at, pack)
    assert at.info[0].value.split("\n")[0] in text(at) and "歳の方" in at.info[0].value
    answer(at, decision.programs, decision.agencies, decision.meetings, decision.priority)
    assert at.success[0].value == "正解です！　100 点"
    assert any(scenario.name in e.label for e in at.expander)

    button(at, "次の問題へ").click().run()
    assert not at.exception and at.subheader[0].value.startswith("問題 2 / ")
    scenario2, decision2 = current_decision(at, pack)
    assert scenario2.file != scenario.file
    # Partly right: every program, the right priority, but one agency too many and no meetings.
    answer(at, decision2.programs, (*decision2.agencies, "kosodate_kyoten"), (), decision2.priority)
    assert at.warning[1].value.startswith("惜しい！")
    assert "「地域子育て支援拠点（一般型）」を加えるルールはありません" in text(at)

    with open_repository(data / "training") as repo:
        history = quiz_history(repo, "研修 一郎")
    assert [h["scenario"] for h in history] == [scenario.file, scenario2.file]
    assert history[0]["points"] == 100 and history[0]["correct"] and 0 < history[1]["points"] < 100
    assert len(at.dataframe[0].value) == 2
    with open_repository(data) as live:
        assert live.get_meta("training.quiz_history") is None


def test_quiz_order_is_shuffled_per_trainee_session(data, pack):
    at = open_page("views/training/quiz.py")
    at.session_state["quiz.seed"] = "fixed"
    at.text_input(key="quiz.trainee").set_value("研修 花子").run()
    first = at.session_state["quiz.order"]
    assert sorted(first) == sorted(s.file for s in training_scenarios(pack))
    at.text_input(key="quiz.trainee").set_value("研修 次郎").run()
    assert at.session_state["quiz.order"] != first and at.session_state["quiz.index"] == 0


# -- 練習の相談受付 ------------------------------------------------------------------
def test_sandbox_intake_goes_to_the_training_store_only(data):
    at = open_page("views/training/sandbox.py")
    at.radio(key="sandbox.resident").set_value("はい").run()
    at.selectbox(key="sandbox.channel").set_value("self")
    at.selectbox(key="sandbox.area").set_value("area2")
    at.selectbox(key="sandbox.person.consent").set_value("yes")
    at.number_input(key="sandbox.person.age").set_value(82)
    at.multiselect(key="sandbox.person.concerns").set_value(["care_need", "no_income"]).run()
    button(at, "練習として受け付けて振り分ける").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("練習ケース ") and "多機関協働事業" in text(at)
    with open_repository(data / "training") as repo:
        assert repo.count_cases() == 1
    with open_repository(data) as live:
        assert live.count_cases() == 0
    at.switch_page("views/consult/cases.py").run()
    assert not at.exception
    assert "まだケースがありません" in at.info[0].value


def test_sandbox_refuses_a_case_with_missing_fields(data):
    at = open_page("views/training/sandbox.py")
    button(at, "練習として受け付けて振り分ける").click().run()
    assert not at.exception and "「相談経路」は必須です" in text(at)
    with open_repository(data / "training") as repo:
        assert repo.count_cases() == 0


# -- ケースで学ぶ / 全体図 ------------------------------------------------------------
def test_walkthrough_reveals_one_step_at_a_time(data, pack):
    first = training_scenarios(pack)[0]
    at = open_page("views/training/cases.py")
    assert "歳の方から" in at.info[0].value and "ステップ2" not in text(at)
    for _ in range(3):
        at.button(key="tcases.next").click().run()
    assert not at.exception
    body = text(at)
    assert "ステップ2" in body and "ステップ3" in body and first.explanation.strip() in at.success[0].value
    assert "すべての相談を受け止める" in body and "この相談は会議にはかけません" in body
    at.button(key="tcases.next").click().run()
    assert at.session_state["tcases.index"] == 1 and "ステップ2" not in text(at)
    at.button(key="tcases.prev").click().run()
    assert at.session_state["tcases.index"] == 0 and "解説" in text(at)


def test_overview_explains_a_node_and_draws_a_case_path(data):
    at = open_page("views/training/overview.py")
    at.selectbox(key="overview.item").set_value("meetings:shien_kaigi").run()
    assert not at.exception and "社会福祉法 第106条の6" in text(at)
    at.selectbox(key="overview.scenario").set_value("scenarios/03_8050_no_consent.yaml").run()
    assert "複数の機関が関わる・同意が得られていない人がいる → 支援会議" in text(at)
    at.radio(key="overview.source").set_value("相談を入力する").run()
    at.radio(key="overview.case.resident").set_value("いいえ").run()
    at.selectbox(key="overview.case.channel").set_value("self")
    at.selectbox(key="overview.case.person.consent").set_value("yes")
    at.number_input(key="overview.case.person.age").set_value(70)
    at.multiselect(key="overview.case.person.concerns").set_value(["care_need"]).run()
    button(at, "道すじを描く").click().run()
    assert not at.exception and "阪南市外に住んでいる場合 → 居住地の市町村へつなぐ" in text(at)
