"""AppTest flows for ケース一覧 and ダッシュボード."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.casework import stats
from engine.casework.cases import new_record
from engine.casework.demo import demo_cases
from engine.casework.wareki import today as japan_today
from engine.pack import load_pack
from storage import open_repository

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
DEMO = "デモデータを作る（架空の200件）"


@pytest.fixture(scope="module")
def pack():
    return load_pack()




def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=10).run()
    return at.switch_page(page).run()


def demo_store() -> None:
    """Mark the test's data folder as a demo store: the only kind that offers the button."""
    import os
    from engine.casework.demo import mark_store
    with open_repository(os.environ["TSUNAGU_DATA"]) as repo:
        mark_store(repo, "demo")


def with_demo(page: str = "views/consult/cases.py") -> AppTest:
    demo_store()
    at = open_page("views/consult/cases.py")
    next(b for b in at.button if b.label == DEMO).click().run()
    assert not at.exception
    return at if page == "views/consult/cases.py" else at.switch_page(page).run()


def expected_demo(pack) -> list[dict]:
    """The intakes the button made (engine.casework.demo.save_demo): same generator, seed and day."""
    return list(demo_cases(pack, 200, end=japan_today()))


def shown(at: AppTest) -> str:
    return next(c.value for c in at.caption if "件中" in c.value)


def table(at: AppTest):
    return at.dataframe[0].value


# -- ケース一覧 ---------------------------------------------------------------------
def test_empty_store_offers_demo_data_which_makes_200_cases(data):
    demo_store()
    at = open_page("views/consult/cases.py")
    assert not at.exception
    assert "まだケースがありません" in at.info[0].value
    next(b for b in at.button if b.label == DEMO).click().run()
    assert not at.exception
    assert shown(at) == "200 件中 1–50 件"
    assert len(table(at)) == 50
    with open_repository(data) as repo:
        cases = repo.list_cases()
        events = [e["type"] for e in repo.events(cases[0]["id"])]
    assert len(cases) == 200 and all(c["demo"] is True and c["decision"]["programs"] for c in cases)
    assert events[:2] == ["received", "decided"]        # then, for most, what staff did (test_handoff_cli.py)
    assert not any(b.label == DEMO for b in at.button)


def test_a_live_store_never_offers_demo_data_even_to_an_administrator(data):
    at = open_page("views/consult/cases.py")
    assert not at.exception and "まだケースがありません" in at.info[0].value
    assert not any(b.label == DEMO for b in at.button)


def test_demo_data_button_is_for_administrators_only(data, monkeypatch):
    import ui.auth
    from storage.users import User
    demo_store()
    staff = User("sato", "佐藤（架空）", ("agency_staff",), "houkatsu_a")
    monkeypatch.setattr(ui.auth, "current_user", lambda: staff)
    at = open_page("views/consult/cases.py")
    assert not at.exception and not any(b.label == DEMO for b in at.button)
    with open_repository(data) as repo:
        assert repo.count_cases() == 0


def test_a_filter_narrows_the_rows(data, pack):
    at = with_demo()
    at.sidebar.multiselect(key="cases.areas").set_value(["area1"]).run()
    assert not at.exception
    expected = sum(c.get("area") == "area1" for c in expected_demo(pack))
    assert 0 < expected < 200
    assert shown(at).startswith(f"{expected} 件中 1–")
    assert set(table(at)["圏域"]) == {"第1圏域"}
    at.sidebar.multiselect(key="cases.priorities").set_value(["urgent"]).run()
    assert not at.exception
    assert set(table(at)["優先度"]) == {"🚨 緊急"}


def test_search_by_hiragana_finds_katakana_kana(data, pack):
    at = with_demo()
    at.sidebar.text_input(key="cases.text").set_value("はなこ").run()
    assert not at.exception
    expected = sum("ハナコ" in c["person"]["kana"] for c in expected_demo(pack))
    assert shown(at).startswith(f"{expected} 件中")
    assert all(name.endswith("花子") for name in table(at)["氏名"])
    at.sidebar.text_input(key="cases.text").set_value("存在しない名前").run()
    assert not at.exception and "条件に合うケースはありません" in at.info[0].value


def test_pages_move_and_clamp(data):
    at = with_demo()
    at.button(key="cases.next").click().run()
    assert shown(at) == "200 件中 51–100 件"
    at.number_input(key="cases.page").set_value(4).run()
    assert shown(at) == "200 件中 151–200 件" and at.button(key="cases.next").disabled
    at.button(key="cases.prev").click().run()
    assert shown(at) == "200 件中 101–150 件"
    # A new filter starts at page 1 (every status: still all 200, so page 3 would still exist).
    at.sidebar.multiselect(key="cases.statuses").set_value(list(at.sidebar.multiselect(key="cases.statuses").options)).run()
    assert shown(at) == "200 件中 1–50 件"
    assert not at.exception


def test_open_a_case_from_the_list(data):
    at = with_demo()
    at.sidebar.selectbox(key="cases.sort").set_value("priority").run()
    case_id = table(at)["ID"][0]
    at.selectbox(key="cases.open").set_value(case_id).run()
    assert not at.exception
    assert at.session_state["case_id"] == case_id
    assert at.title[0].value == "ケース詳細"


def test_old_and_odd_records_still_list(data, pack):
    record, _ = new_record(pack, next(demo_cases(pack, 1)))
    record["decision"]["agencies"] = [{"id": "deleted_agency", "name": "廃止された機関"}]
    with open_repository(data) as repo:
        repo.save_cases_bulk([record, {"id": "C00000000-000001", "status": "received"}, {"id": "C00000000-000002"}])
    at = open_page("views/consult/cases.py")
    assert not at.exception
    assert shown(at) == "3 件中 1–3 件"
    assert "" in set(table(at)["状態"]) and "受付" in set(table(at)["状態"])
    at.switch_page("views/status/dashboard.py").run()
    assert not at.exception


# -- ダッシュボード --------------------------------------------------------------------
def metrics(at: AppTest) -> dict:
    return {m.label: m.value for m in at.metric}


def test_dashboard_with_no_cases(data):
    at = open_page("views/status/dashboard.py")
    assert not at.exception
    assert "まだケースがない" in at.info[0].value


def test_dashboard_with_demo_cases(data, pack):
    at = with_demo("views/status/dashboard.py")
    assert not at.exception
    assert metrics(at)["新規相談件数"] == "200"
    intakes = expected_demo(pack)
    year = stats.fiscal_year(max(c["received_on"] for c in intakes))
    at.selectbox(key="dashboard.period").set_value(year).run()
    assert not at.exception
    in_year = sum(stats.fiscal_year(c["received_on"]) == year for c in intakes)
    assert metrics(at)["新規相談件数"] == f"{in_year:,}"
    assert len(at.get("download_button")) == 2


def test_dashboard_custom_period_without_cases(data):
    at = with_demo("views/status/dashboard.py")
    at.selectbox(key="dashboard.period").set_value("custom").run()
    at.date_input(key="dashboard.from").set_value(dt.date(2000, 1, 1)).run()
    at.date_input(key="dashboard.to").set_value(dt.date(2000, 12, 31)).run()
    assert not at.exception
    assert metrics(at)["新規相談件数"] == "0"
    assert any("この期間に受け付けたケースはありません" in i.value for i in at.info)
