"""The 会議 page, driven with Streamlit's AppTest: calendar, agenda, and the 会議記録."""
from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.casework.cases import take_intake
from engine.pack import load_pack
from storage import open_repository

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")

# Fictional 8050 household with consent: routed to 重層的支援会議 (scenario 02).
CASE_8050 = {
    "received_on": "2026-11-20", "channel": "self", "resident": True, "area": "area2", "consent": "yes",
    "person": {"age": 82, "concerns": ["care_need"]},
    "household": [{"relation": "長男", "age": 52, "concerns": ["withdrawal"], "consent": "yes"}],
    "summary": "架空の相談: 自分の介護と、同居の息子が長く家から出ていないことが心配。",
}


@pytest.fixture(scope="module")
def pack():
    return load_pack()


@pytest.fixture
def data(tmp_path, monkeypatch):
    # ui.state caches one repository per path: every test gets its own directory.
    path = tmp_path / "data"
    monkeypatch.setenv("TSUNAGU_DATA", str(path))
    monkeypatch.delenv("TSUNAGU_CONFIG", raising=False)
    return path


@pytest.fixture
def repo(data):
    repository = open_repository(data)
    yield repository
    repository.close()


@pytest.fixture
def case_8050(pack, repo):
    stored, decision = take_intake(repo, pack, copy.deepcopy(CASE_8050))
    assert "juso_kaigi" in decision.meetings
    return stored


def meetings_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=10)
    at.run()
    at.switch_page("views/meetings/meetings.py").run()
    assert not at.exception
    return at


def widget(widgets, label):
    found = [w for w in widgets if w.label == label]
    assert len(found) == 1, [w.label for w in widgets]
    return found[0]


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def open_record_form(at: AppTest, case_id: str) -> AppTest:
    widget(at.selectbox, "会議").select("juso_kaigi").run()
    widget(at.selectbox, "記録するケース").select(case_id).run()
    assert not at.exception
    return at


def test_empty_store_shows_a_friendly_message(data):
    at = meetings_page()
    assert at.title[0].value == "会議"
    assert "まだケースがありません" in texts(at.info)
    assert not at.error
    # The calendar still shows: 重層的支援会議 and a download of the iCal file.
    assert any("重層的支援会議" in str(df.value) for df in at.dataframe)
    assert not at.exception


def test_agenda_lists_the_8050_case(data, case_8050):
    at = meetings_page()
    assert widget(at.selectbox, "会議").value == "juso_kaigi"
    agenda = at.dataframe[-1].value
    assert list(agenda["ケース番号"]) == [case_8050["id"]]
    assert list(agenda["支援プラン"]) == ["なし"]
    assert "多機関協働事業" in agenda["事業"][0]
    assert case_8050["id"] in widget(at.selectbox, "記録するケース").options[0]


def test_support_meeting_shows_the_duty_of_confidentiality_and_opens_a_session(data, repo):
    at = meetings_page()
    widget(at.selectbox, "会議").select("shien_kaigi").run()
    assert "社会福祉法 第106条の6" in texts(at.warning)
    widget(at.date_input, "開催する日").set_value(dt.date(2031, 6, 5))
    widget(at.button, "支援会議を開催する").click().run()
    assert not at.exception
    assert "支援会議を 令和13年6月5日" in texts(at.success)
    assert [e["date"] for e in repo.get_meta("meetings.on_demand")] == ["2031-06-05"]


def test_recording_plan_approved_moves_the_case_to_support(data, repo, case_8050):
    at = open_record_form(meetings_page(), case_8050["id"])
    # Pre-filled: the meeting chosen above and the date of its latest session.
    assert widget(at.selectbox, "会議（必須）").value == "juso_kaigi"
    assert widget(at.date_input, "開催日（必須）").value is not None
    widget(at.selectbox, "結果（必須）").select("plan_approved")
    widget(at.text_area, "協議内容").input("役割分担を確認した。")
    widget(at.button, "結果を記録する").click().run()
    assert not at.exception
    assert not at.error
    assert "状態: 支援実施" in texts(at.success)
    stored = repo.get_case(case_8050["id"])
    assert stored["status"] == "support"
    assert stored["meetings_done"][0]["meeting"] == "juso_kaigi"
    assert stored["meetings_done"][0]["outcome"] == "plan_approved"
    # Discussed: the case has left the agenda.
    assert "協議を待っているケースはありません" in texts(at.info)


def test_missing_required_field_shows_an_error_and_keeps_the_input(data, repo, case_8050):
    at = open_record_form(meetings_page(), case_8050["id"])
    widget(at.text_area, "協議内容").input("結果は次回に持ち越し。")
    widget(at.button, "結果を記録する").click().run()            # 結果 left empty
    assert not at.exception
    errors = texts(at.error)
    assert "「結果」は必須です" in errors
    assert "入力に 1 件の誤りがあります" in errors
    assert widget(at.text_area, "協議内容").value == "結果は次回に持ち越し。"
    assert widget(at.selectbox, "会議（必須）").value == "juso_kaigi"
    assert repo.get_case(case_8050["id"])["revision"] == case_8050["revision"]     # nothing saved


def test_stale_save_shows_the_conflict_and_then_saves_after_reload(data, repo, case_8050):
    at = open_record_form(meetings_page(), case_8050["id"])
    widget(at.selectbox, "結果（必須）").select("plan_approved")
    # Someone else saves the case while this form is open.
    other = repo.get_case(case_8050["id"])
    other["owner_note"] = "別の職員が更新"
    repo.save_case(other, expected_revision=other["revision"])
    widget(at.button, "結果を記録する").click().run()
    assert not at.exception
    assert "他の職員が先に保存しました" in texts(at.error)
    assert repo.get_case(case_8050["id"])["status"] == "received"
    assert widget(at.selectbox, "結果（必須）").value == "plan_approved"          # kept
    # Reloaded: a second try saves over the latest revision, keeping the other change.
    widget(at.button, "結果を記録する").click().run()
    assert not at.exception
    stored = repo.get_case(case_8050["id"])
    assert (stored["status"], stored["owner_note"]) == ("support", "別の職員が更新")


def test_record_date_defaults_to_today_refuses_before_reception_and_warns_on_a_future_day(data, repo, pack):
    from engine.casework.wareki import today as jst_today
    today = jst_today()
    stored, _ = take_intake(repo, pack, {**copy.deepcopy(CASE_8050), "received_on": today.isoformat()})
    at = open_record_form(meetings_page(), stored["id"])
    # Received today: an earlier session cannot be the one that discussed it.
    assert widget(at.date_input, "開催日（必須）").value == today
    widget(at.selectbox, "結果（必須）").select("plan_approved")
    widget(at.date_input, "開催日（必須）").set_value(today - dt.timedelta(days=1))
    widget(at.button, "結果を記録する").click().run()
    assert not at.exception
    assert "「開催日」は受付日" in texts(at.error) and "より前にはできません" in texts(at.error)
    assert repo.get_case(stored["id"])["revision"] == stored["revision"]            # nothing saved
    widget(at.date_input, "開催日（必須）").set_value(today + dt.timedelta(days=3)).run()
    assert "開催日が今日より後の日付" in texts(at.warning)
    widget(at.button, "結果を記録する").click().run()
    assert "「この開催日のまま記録する」にチェック" in texts(at.error)
    assert repo.get_case(stored["id"])["revision"] == stored["revision"]
    widget(at.date_input, "開催日（必須）").set_value(today).run()
    assert "開催日が今日より後の日付" not in texts(at.warning)
    widget(at.button, "結果を記録する").click().run()
    assert not at.exception and "状態: 支援実施" in texts(at.success)
    assert repo.get_case(stored["id"])["meetings_done"][0]["held_on"] == today.isoformat()
