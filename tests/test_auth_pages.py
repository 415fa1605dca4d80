"""The real login: first administrator, refusal before login, lockout, logout, timeout,
and an agency's staff member who tries to open another agency's case."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.casework.cases import take_intake
from engine.pack import load_pack
from storage import open_repository
from storage.audit import AuditLog
from storage.users import MAX_FAILURES, UserStore

pytestmark = pytest.mark.real_auth
APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
PASSWORD = "ながいパスワードを日本語で書く"




def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=10)


def login(at: AppTest, user_id: str, password: str = PASSWORD) -> AppTest:
    at.text_input[0].set_value(user_id)
    at.text_input[1].set_value(password)
    at.button[0].click().run()
    return at


def test_new_store_asks_for_the_first_administrator(data):
    at = app().run()
    assert not at.exception and at.title[0].value == "つなぐ　ログイン"
    assert "最初の管理者" in at.warning[0].value
    for widget, value in zip(at.text_input, ["admin1", "管理者（架空）", PASSWORD, PASSWORD]):
        widget.set_value(value)
    at.button[0].click().run()
    assert not at.exception
    assert "管理者（架空）（管理者）" in [t.value for t in at.sidebar.text]          # typed by a person: text
    assert UserStore(data).get("admin1").roles == ("admin",)


def test_nothing_but_login_before_login(data):
    UserStore(data).add("sato", "佐藤", ["welfare_division"], PASSWORD)
    for page in ("views/consult/cases.py", "views/consult/case.py", "views/settings/rules.py", "views/admin/audit.py"):
        at = app().switch_page(page).run()
        assert at.title[0].value == "つなぐ　ログイン"
        assert not at.dataframe and not at.sidebar.caption and not at.sidebar.text


def test_wrong_password_lockout_and_logout(data):
    UserStore(data).add("sato", "佐藤", ["welfare_division"], PASSWORD)
    for _ in range(MAX_FAILURES):
        at = login(app().run(), "sato", "まちがったパスワードです")
        assert "違います" in at.error[0].value
    at = login(app().run(), "sato")
    assert "ロック" in at.error[0].value
    UserStore(data).reset_password("sato", PASSWORD)
    at = login(app().run(), "sato")
    assert at.title[0].value == "相談受付"
    next(b for b in at.sidebar.button if b.label == "ログアウト").click().run()
    assert at.title[0].value == "つなぐ　ログイン" and "ログアウトしました" in at.info[0].value
    actions = [e["action"] for e in AuditLog(data).entries()]
    assert actions.count("login_failure") == MAX_FAILURES + 1 and actions[-2:] == ["login", "logout"]


def test_idle_session_times_out(data):
    UserStore(data).add("sato", "佐藤", ["welfare_division"], PASSWORD)
    at = login(app().run(), "sato")
    at.session_state["auth"]["last_seen"] -= 31 * 60
    at.run()
    assert at.title[0].value == "つなぐ　ログイン" and "ログアウトしました" in at.info[0].value


def test_agency_staff_cannot_open_another_agencys_case_by_session_state(data):
    pack = load_pack()
    users = UserStore(data)
    users.add("houkatsu", "包括A職員", ["agency_staff"], PASSWORD, agency="houkatsu_a")
    with open_repository(data) as repo:
        other, _ = take_intake(repo, pack, {"received_on": "2026-11-20", "channel": "self", "resident": True,
                                            "area": "area3", "consent": "yes", "receiving_agency": "jiritsu_soudan",
                                            "person": {"name": "架空 一郎", "age": 40, "concerns": ["debt"]}})
    at = login(app().run(), "houkatsu")
    at.session_state["case_id"] = other["id"]          # the "session-state trick"
    at.switch_page("views/consult/case.py").run()
    assert not at.exception
    # the same words as for an id that does not exist: a refusal does not confirm the case is there
    assert at.error[0].value == "このケースは見つからないか、見る権限がありません。ケース一覧から開き直してください。"
    assert "架空 一郎" not in " ".join(m.value for m in at.markdown)
    at.switch_page("views/consult/cases.py").run()
    assert other["id"] not in str([df.value for df in at.dataframe])
    assert AuditLog(data).verify().ok


def test_trainee_sees_only_training(data):
    UserStore(data).add("kenshu", "研修生", ["trainee"], PASSWORD)
    at = login(app().run(), "kenshu")
    with pytest.raises(ValueError, match="Known pages") as err:
        at.switch_page("views/consult/cases.py")
    assert "training/sandbox.py" in str(err.value) and "consult/intake.py" not in str(err.value)
    at.switch_page("views/training/sandbox.py").run()
    assert any("研修モード" in w.value for w in at.warning)


def test_others_see_only_the_count_and_cannot_export(data):
    pack = load_pack()
    UserStore(data).add("houkatsu", "包括A職員", ["agency_staff"], PASSWORD, agency="houkatsu_a")
    with open_repository(data) as repo:
        take_intake(repo, pack, {"received_on": "2026-11-20", "channel": "self", "resident": True, "area": "area3",
                                 "consent": "yes", "receiving_agency": "jiritsu_soudan",
                                 "person": {"name": "架空 一郎", "age": 40, "concerns": ["debt"]}})
        take_intake(repo, pack, {"received_on": "2026-11-21", "channel": "self", "resident": True, "area": "area1",
                                 "consent": "yes", "person": {"age": 80, "concerns": ["care_need"]}})
    at = login(app().run(), "houkatsu")
    at.switch_page("views/status/dashboard.py").run()
    assert not at.exception
    assert any("閲覧の権限がないケースが 1 件" in c.value for c in at.caption)
    assert not at.get("download_button") and any("出力の権限がある役割（管理者・市民福祉課）" in t.value for t in at.text)


def test_failed_logins_log_a_digest_of_the_typed_id_and_every_refusal_reads_the_same(data):
    store = UserStore(data)
    store.add("sato", "佐藤", ["welfare_division"], PASSWORD)
    store.add("kato", "加藤", ["welfare_division"], PASSWORD)
    store.set_disabled("kato")
    typed_password = "=HYPERLINK(\"http://evil.example/\",\"x\")ひみつのパス"
    answers = [login(app().run(), who, pw).error[0].value
               for who, pw in ((typed_password, PASSWORD), ("sato", "まちがったパスワードです"), ("kato", PASSWORD))]
    assert len(set(answers)) == 1                          # unknown, wrong password, disabled: one answer
    text = (data / "audit" / "log.jsonl").read_text(encoding="utf-8")
    assert "ひみつのパス" not in text and "HYPERLINK" not in text
    failures = [e for e in AuditLog(data).entries() if e["action"] == "login_failure"]
    assert [e["result"] for e in failures] == ["unknown", "password", "disabled"]
    assert failures[0]["actor"].startswith("unknown:") and [e["actor"] for e in failures[1:]] == ["sato", "kato"]
    # Typing the same wrong text twice gives the same digest, so repeated attempts group together.
    login(app().run(), typed_password, PASSWORD)
    again = [e for e in AuditLog(data).entries() if e["action"] == "login_failure"][-1]
    assert again["actor"] == failures[0]["actor"]
