"""Login, the first administrator, logout and session timeout.

Every page but login refuses an unauthenticated session: until someone has logged in,
``app.py`` maps every page's URL to the login page, so no URL reaches another page and a
bookmark opens the page it names once the user has logged in. A new store with no accounts
asks for the first 管理者 — there is no default password.

A login lasts across reloads, tabs and bookmarks: the browser keeps a random session token in
a cookie, the server keeps the session (``storage/sessions.py``). A new token is issued at
every login; logout, the idle timeout and disabling the account end it on the server.
"""
from __future__ import annotations

import json
import time

import streamlit as st

from engine.casework.access import Access, ScopedRepository
from engine.errors import StorageError
from storage import open_audit, open_sessions, open_users
from storage.audit import AuditLog, typed_id_digest
from storage.sessions import IDLE_SECONDS, SessionStore
from storage.users import AuthError, User, UserStore
from ui import state

TIMEOUT_SECONDS = IDLE_SECONDS
KEY = "auth"
COOKIE = "tsunagu_session"


@st.cache_resource(show_spinner=False)
def users(where: str) -> UserStore:
    return open_users(where)


@st.cache_resource(show_spinner=False)
def audit(where: str) -> AuditLog:
    return open_audit(where)


def _where() -> str:
    try:
        return state.store_location()
    except StorageError as err:
        st.error(f"データを開けません: {err}")
        st.stop()


@st.cache_resource(show_spinner=False)
def _sessions(where: str) -> SessionStore:
    return open_sessions(where)


def session_store() -> SessionStore:
    return _sessions(_where())


def user_store() -> UserStore:
    return users(_where())


def audit_log() -> AuditLog:
    return audit(_where())


def _cookie_token() -> str | None:
    try:
        token = st.context.cookies.get(COOKIE)
    except (AttributeError, RuntimeError):       # no browser request behind this run
        return None
    return token if isinstance(token, str) else None


def current_user() -> User | None:
    """The logged-in user, or None (never logged in, timed out, logged out elsewhere, or the
    account was disabled). A new tab or a reload picks the session up from the cookie."""
    session = st.session_state.get(KEY)
    now = time.time()
    if not session:
        token = _cookie_token()
        user_id = session_store().user_of(token)
        if user_id is None:
            return None
        session = st.session_state[KEY] = {"user_id": user_id, "token": token, "since": now, "last_seen": now}
        st.session_state["user"] = user_id
    if now - session.get("last_seen", 0) > TIMEOUT_SECONDS:
        audit_log().append(session["user_id"], "session_timeout")
        session_store().end(session.get("token"))
        st.session_state.clear()
        st.session_state["auth.__notice"] = "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。"
        return None
    user = user_store().get(session["user_id"])
    if user is None or user.disabled or session_store().user_of(session.get("token")) != user.id:
        st.session_state.clear()                  # revoked on the server: logout elsewhere, disabled, reset
        return None
    session["last_seen"] = now
    return user


def remember_in_browser() -> None:
    """After a login, put the new session token in the browser's cookie (once).

    Streamlit has no API to set a cookie, so a small script sets it on the app's own page;
    ``SameSite=Strict`` keeps other sites from sending it, ``Secure`` behind HTTPS.
    """
    token = st.session_state.pop("auth.__new_token", None)
    if token:
        st.html(f"""<script>
document.cookie = {json.dumps(COOKIE)} + "=" + {json.dumps(token)} + "; path=/; SameSite=Strict"
  + (location.protocol === "https:" ? "; Secure" : "");
</script>""", unsafe_allow_javascript=True)


def access() -> Access:
    user = current_user()
    if user is None:
        st.stop()
    return Access.of(state.pack(), user)


def _start(user: User) -> None:
    sessions = session_store()
    sessions.end(_cookie_token())                 # a login always gets a new token (no fixation)
    token = sessions.start(user.id)
    st.session_state[KEY] = {"user_id": user.id, "token": token, "since": time.time(), "last_seen": time.time()}
    st.session_state["user"] = user.id
    st.session_state["auth.__new_token"] = token
    audit_log().append(user.id, "login")


def login_page() -> None:
    st.title("つなぐ　ログイン")
    notice = st.session_state.pop("auth.__notice", None)
    if notice:
        st.info(notice)
    store = user_store()
    if store.count() == 0:
        first_admin(store)
        return
    with st.form("login"):
        user_id = st.text_input("ログインID")
        password = st.text_input("パスワード", type="password")
        submitted = st.form_submit_button("ログイン", type="primary")
    if submitted:
        try:
            user = store.authenticate(user_id.strip(), password)
        except AuthError as err:
            # What was typed may be a password in the wrong box: an unknown ID is logged as a
            # keyed digest, never as text.
            typed = user_id.strip()
            actor = typed if err.reason != "unknown" else typed_id_digest(typed) if typed else "(空)"
            audit_log().append(actor, "login_failure", result=err.reason)
            st.error(str(err))
            return
        _start(user)
        st.rerun()


def first_admin(store: UserStore) -> None:
    st.warning("まだアカウントがありません。最初の管理者のアカウントを作ってください（既定のパスワードはありません）。"
               "サーバーでは `tsunagu user add <ID> --role admin` でも作れます。")
    with st.form("first_admin"):
        user_id = st.text_input("ログインID（半角英小文字）")
        name = st.text_input("氏名（表示名）")
        password = st.text_input("パスワード（10文字以上）", type="password")
        again = st.text_input("パスワード（確認）", type="password")
        submitted = st.form_submit_button("管理者を作る", type="primary")
    if submitted:
        if password != again:
            st.error("確認のパスワードが一致しません。")
            return
        try:
            if store.count() != 0:   # someone else was faster: never create a second "first" admin
                st.error("すでに管理者が作られました。ログインしてください。")
                return
            user = store.add(user_id.strip(), name.strip(), ["admin"], password)
        except AuthError as err:
            st.error(str(err))
            return
        audit_log().append(user.id, "user_add", target=user.id, role="admin")
        _start(user)
        st.rerun()


def logout() -> None:
    session = st.session_state.get(KEY)
    if session:
        session_store().end(session.get("token"))
        audit_log().append(session["user_id"], "logout")
    st.session_state.clear()
    st.session_state["auth.__notice"] = "ログアウトしました。"
    st.rerun()


def repo() -> ScopedRepository:
    """The store as the logged-in user may use it: cases filtered and masked, writes checked,
    views audited (each case once per session)."""
    scope = access()
    logged = st.session_state.setdefault("auth.__viewed", set())
    return ScopedRepository(state.raw_repo(), state.pack(), scope, audit_log(), logged)


def visible_total(repo: ScopedRepository) -> int:
    """How many cases this user may see; the number they may not see is shown, nothing more
    (支援会議 cases without consent, other agencies' cases: 社会福祉法 第106条の6)."""
    total, hidden = repo.counts()
    if hidden:
        st.caption(f"このほかに、閲覧の権限がないケースが {hidden:,} 件あります（件数のみ表示）。")
    return total
