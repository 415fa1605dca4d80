"""管理 > アカウント with the real login: create, change role and agency, reset, unlock,
disable (which logs the person out); every change in the audit log; other roles refused."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from storage.audit import AuditLog
from storage.sessions import SessionStore
from storage.users import MAX_FAILURES, AuthError, UserStore

pytestmark = pytest.mark.real_auth
APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
PASSWORD = "ながいパスワードを日本語で書く"


def logged_in(data, user_id: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].set_value(user_id)
    at.text_input[1].set_value(PASSWORD)
    at.button[0].click().run()
    return at.switch_page("views/admin/accounts.py").run()


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_an_administrator_manages_accounts_in_the_browser_and_every_change_is_audited(data):
    users = UserStore(data)
    users.add("kanri", "管理（架空）", ["admin"], PASSWORD)
    at = logged_in(data, "kanri")
    assert not at.exception and at.title[0].value == "アカウント"
    form = {w.label: w for w in at.text_input}
    form["ログインID（半角英小文字で始まる2〜32文字）"].set_value("sato")
    form["氏名（表示名）"].set_value("佐藤（架空）")
    next(m for m in at.multiselect if m.label == "役割").set_value(["agency_staff"])
    next(s for s in at.selectbox if s.label.startswith("所属機関")).set_value("houkatsu_a")
    form["パスワード（10文字以上）"].set_value(PASSWORD)
    form["パスワード（確認）"].set_value(PASSWORD)
    button(at, "アカウントを作る").click().run()
    assert not at.exception and at.success[0].value == "アカウントを作りました。"
    assert "対象: 佐藤（架空）（ログインID: sato）" in [t.value for t in at.text]        # the typed name as text
    form = {w.label: w for w in at.text_input}
    assert form["パスワード（10文字以上）"].value == form["パスワード（確認）"].value == ""   # not left on the screen
    sato = users.get("sato")
    assert sato.roles == ("agency_staff",) and sato.agency == "houkatsu_a"
    shown = str(at.dataframe[0].value.to_dict())
    assert "支援機関の職員" in shown and "agency_staff" not in shown          # labels, not ids

    next(s for s in at.selectbox if s.label == "アカウント").set_value("sato").run()
    at.multiselect(key="accounts.sato.roles").set_value(["welfare_division"])
    at.selectbox(key="accounts.sato.agency").set_value("")
    button(at, "役割と所属機関を保存する").click().run()
    assert users.get("sato").roles == ("welfare_division",) and users.get("sato").agency is None

    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthError):
            users.authenticate("sato", "まちがったパスワードです")
    at.run()
    button(at, "ロックを解除する").click().run()
    assert not users.locked("sato")

    token = SessionStore(data).start("sato")
    reset = [w for w in at.text_input if w.label.startswith("新しいパスワード")]
    reset[0].set_value("あたらしいながいパスワード")
    reset[1].set_value("あたらしいながいパスワード")
    button(at, "パスワードを再設定する").click().run()
    assert users.authenticate("sato", "あたらしいながいパスワード").id == "sato"
    assert SessionStore(data).user_of(token) is None                     # logged out by the reset

    token = SessionStore(data).start("sato")
    button(at, "無効にする（ログイン中のセッションも終わります）").click().run()
    assert users.get("sato").disabled and SessionStore(data).user_of(token) is None
    assert not at.exception

    audited = [(e["actor"], e["action"], e.get("target")) for e in AuditLog(data).entries() if e["action"].startswith("user_")]
    assert audited == [("kanri", a, "sato") for a in ("user_add", "user_roles", "user_unlock", "user_reset", "user_disable")]
    assert AuditLog(data).verify().ok


def test_only_manage_users_opens_the_page(data):
    UserStore(data).add("sato", "佐藤（架空）", ["welfare_division"], PASSWORD)
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].set_value("sato")
    at.text_input[1].set_value(PASSWORD)
    at.button[0].click().run()
    # Its URL, outside the role: AppTest switches only to files, so pick the page by its URL.
    at._page_hash = next(h for h, page in at._registered_pages.items() if page.get("url_pathname") == "accounts")
    at.run()
    assert not at.exception and "開く権限がありません" in at.error[0].value
    assert not at.dataframe
