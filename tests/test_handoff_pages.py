"""AppTest flows of the hand-over: confirm at intake with a reason, the receiving agency's inbox and
acceptance, the sender's view, overdue referrals, and the override counts on the dashboard and 設定 > ルール."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui.auth
from engine.casework.cases import take_intake
from engine.casework.wareki import today as japan_today
from engine.pack import load_pack
from storage import open_repository
from storage.users import User

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
PACK = load_pack()
# care_need + debt in area1: recommended to houkatsu_a, jiritsu_soudan and kurashi_marugoto.
INTAKE = {"received_on": "2026-11-20", "channel": "self", "resident": True, "area": "area1", "consent": "yes",
          "person": {"name": "架空 花子", "kana": "カクウ ハナコ", "age": 82, "concerns": ["care_need", "debt"]}}
SENDER = User("u_houkatsu", "包括A 職員", ("agency_staff",), "houkatsu_a")
RECEIVER = User("u_kurashi", "くらし 職員", ("agency_staff",), "kurashi_marugoto")


def as_user(monkeypatch, user: User) -> None:
    monkeypatch.setattr(ui.auth, "current_user", lambda: user)


def page(path: str, user: User, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=10)
    at.session_state["user"] = user.id
    for key, value in state.items():
        at.session_state[key] = value
    # Run once first: switching before the first run lands on the default page for some pages.
    return at.run().switch_page(path).run()


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


@pytest.fixture
def received(data):
    with open_repository(data) as repo:
        case, _ = take_intake(repo, PACK, {**INTAKE, "receiving_agency": "houkatsu_a"}, actor=SENDER.id)
    return case


def stored(data, case_id):
    with open_repository(data) as repo:
        return repo.get_case(case_id)


def confirm_without_jiritsu(data, monkeypatch, case) -> AppTest:
    as_user(monkeypatch, SENDER)
    at = page("views/consult/intake.py", SENDER, **{"intake.__saved": case})
    assert not at.exception
    prefix = f"intake.confirm.{case['id']}"
    at.multiselect(key=f"{prefix}.agencies").set_value(["houkatsu_a", "kurashi_marugoto"]).run()
    button(at, "振り分けを確定する").click().run()
    assert any("理由が必要です" in e.value and "自立相談" in e.value for e in at.error)
    assert "confirmed" not in stored(data, case["id"])
    at.text_input(key=f"{prefix}.reason.agencies.jiritsu_soudan").set_value("借金は別の窓口で相談中")
    at.selectbox(key=f"{prefix}.reason.agencies.jiritsu_soudan.code").set_value("already_supported")
    button(at, "振り分けを確定する").click().run()
    assert not at.exception and any("確定しました" in s.value for s in at.success)
    return at


def test_confirm_at_intake_with_an_agency_removed_and_a_reason(data, monkeypatch, received):
    confirm_without_jiritsu(data, monkeypatch, received)
    case = stored(data, received["id"])
    assert [a["id"] for a in case["confirmed"]["agencies"]] == ["houkatsu_a", "kurashi_marugoto"]
    assert [a["id"] for a in case["decision"]["agencies"]] == ["houkatsu_a", "jiritsu_soudan", "kurashi_marugoto"]
    assert case["confirmed"]["changes"][0]["reason"] == "借金は別の窓口で相談中"
    assert case["owner"]["agency"] == "houkatsu_a"
    assert {r["agency"]: r["state"] for r in case["referrals"]} == {"houkatsu_a": "accepted", "kurashi_marugoto": "pending"}
    with open_repository(data) as repo:
        assert "routing_changed" in [e["type"] for e in repo.events(received["id"])]


def test_receiving_agency_sees_its_inbox_accepts_and_the_sender_sees_it(data, monkeypatch, received):
    confirm_without_jiritsu(data, monkeypatch, received)
    as_user(monkeypatch, RECEIVER)
    at = page("views/consult/todo.py", RECEIVER)
    assert not at.exception
    inbox = next(d.value for d in at.dataframe if "受理の期限" in d.value.columns and "送った人" in d.value.columns)
    assert list(inbox["ケース"]) == [received["id"]]
    at = page("views/consult/case.py", RECEIVER, case_id=received["id"])
    button(at, "受理する").click().run()
    assert not at.exception and any("受理しました" in s.value for s in at.success)
    assert {r["agency"]: r["state"] for r in stored(data, received["id"])["referrals"]}["kurashi_marugoto"] == "accepted"
    # The sender's list shows 受理.
    as_user(monkeypatch, SENDER)
    at = page("views/consult/todo.py", SENDER)
    sent = next(d.value for d in at.dataframe if "つなぎ先" in d.value.columns)
    row = sent[sent["つなぎ先"] == PACK.label("agencies", "kurashi_marugoto")].iloc[0]
    assert row["状態"] == "受理"


def test_returning_needs_a_reason(data, monkeypatch, received):
    confirm_without_jiritsu(data, monkeypatch, received)
    as_user(monkeypatch, RECEIVER)
    at = page("views/consult/case.py", RECEIVER, case_id=received["id"])
    button(at, "返送する").click().run()
    assert any("理由を書いてください" in e.value for e in at.error)
    ref = next(r for r in stored(data, received["id"])["referrals"] if r["agency"] == "kurashi_marugoto")
    at.text_input(key=f"case.ref.{ref['id']}.reason").set_value("対象の方の状況から別の機関が適している")
    button(at, "返送する").click().run()
    assert {r["agency"]: r["state"] for r in stored(data, received["id"])["referrals"]}["kurashi_marugoto"] == "returned"
    as_user(monkeypatch, SENDER)                 # the sender is asked to look at the return
    at = page("views/consult/todo.py", SENDER)
    assert {m.label: m.value for m in at.metric}["返送されたつなぎ"] == "1"
    items = next(d.value for d in at.dataframe if "やること" in d.value.columns)
    assert any("くらし丸ごと相談室がつなぎを返送しました" in w for w in items["やること"])


def test_an_overdue_referral_is_flagged_for_the_sender_and_in_the_case_list(data, monkeypatch, received):
    confirm_without_jiritsu(data, monkeypatch, received)
    with open_repository(data) as repo:        # the referral was sent a month ago
        case = repo.get_case(received["id"])
        for r in case["referrals"]:
            if r["state"] == "pending":
                r.update(sent_on="2026-10-01", due="2026-10-08")
        repo.save_case(case)
    as_user(monkeypatch, SENDER)
    at = page("views/consult/todo.py", SENDER)
    items = next(d.value for d in at.dataframe if "やること" in d.value.columns)
    assert any("受理していません" in w for w in items["やること"])
    sent = next(d.value for d in at.dataframe if "つなぎ先" in d.value.columns)
    assert any("期限切れ" in s for s in sent["状態"])
    at = page("views/consult/cases.py", SENDER)
    at.sidebar.checkbox(key="cases.overdue").check().run()
    rows = at.dataframe[0].value
    assert list(rows["ID"]) == [received["id"]] and "⚠" in rows["つなぎ"].iloc[0]


def test_override_counts_on_the_dashboard_and_the_rules_page(data, monkeypatch, received):
    confirm_without_jiritsu(data, monkeypatch, received)
    monkeypatch.setattr(ui.auth, "current_user", lambda: User("test_admin", "管理者", ("admin",)))
    at = page("views/status/dashboard.py", SENDER)
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["推薦を変えた数"] == "1" and metrics["確定した件数"] == "1"
    table = next(d.value for d in at.dataframe if "外された回数" in d.value.columns)
    assert received["id"] in " ".join(table["ケース"]) and "自立相談" in " ".join(table["外されたもの"])
    at = page("views/settings/rules.py", SENDER)
    assert not at.exception
    assert any("このルールの推薦を外した回数: 1" in c.value for c in at.caption)
    counted = at.table[0].value
    assert received["id"] in " ".join(counted["ケース"]) and "自立相談" in " ".join(counted["外されたもの"])


def test_case_list_shows_what_is_mine_and_due_this_week(data, monkeypatch, received):
    confirm_without_jiritsu(data, monkeypatch, received)       # 主担当: the 包括A (the sender's agency)
    with open_repository(data) as repo:                        # a second case nobody confirmed
        other, _ = take_intake(repo, PACK, {**INTAKE, "received_on": japan_today().isoformat(),
                                            "receiving_agency": "kurashi_marugoto"}, actor=RECEIVER.id)
        repo.save_case({**other, "status": "support", "status_since": japan_today().isoformat()})   # next: in 3 months
        case = repo.get_case(received["id"])                   # its referrals are due in three days
        for r in case["referrals"]:
            r.update(sent_on=japan_today().isoformat(), due=(japan_today() + dt.timedelta(days=3)).isoformat())
        repo.save_case({**case, "status": "support", "status_since": japan_today().isoformat()})
    as_user(monkeypatch, RECEIVER)
    at = page("views/consult/cases.py", RECEIVER)
    assert set(at.dataframe[0].value["ID"]) == {received["id"], other["id"]}
    at.sidebar.checkbox(key="cases.mine").check().run()        # neither is the くらし's to own
    assert not at.exception and "条件に合うケースはありません" in at.info[0].value
    as_user(monkeypatch, SENDER)
    at = page("views/consult/cases.py", SENDER)
    at.sidebar.checkbox(key="cases.mine").check().run()
    assert list(at.dataframe[0].value["ID"]) == [received["id"]]
    at.sidebar.checkbox(key="cases.mine").uncheck().run()
    at.sidebar.checkbox(key="cases.due_week").check().run()   # the other one is not due for 3 months
    assert list(at.dataframe[0].value["ID"]) == [received["id"]]
