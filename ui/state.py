"""Objects shared by every page and session, created once (``st.cache_resource``)."""
from __future__ import annotations

import os

import streamlit as st

from engine.errors import ConfigError, StorageError
from engine.access import ScopedRepository
from engine.model import Pack
from engine.pack import DEFAULT_PACK
from engine.versions import live_pack
from storage import Repository, open_repository


def config_dir() -> str:
    return os.environ.get("TSUNAGU_CONFIG", str(DEFAULT_PACK))


def data_dir() -> str:
    return os.environ.get("TSUNAGU_DATA", "./data")


@st.cache_resource(show_spinner=False)
def _repo(path: str) -> Repository:
    repo = open_repository(path)
    repo.read_cases(len)          # parse every shard once, here, not in the first staff member's list
    return repo


def raw_repo() -> Repository:
    """The whole store, unfiltered: only for configuration (versions, drafts), never case data."""
    try:
        return _repo(data_dir())
    except StorageError as err:
        st.error(f"データを開けません: {err}")
        st.stop()


def pack() -> Pack:
    """The live (published) pack, or a page that says what is wrong with it (and stops).

    A new store starts from the bundled pack (TSUNAGU_CONFIG); after that, what is live
    is whatever was last published from 設定.
    """
    try:
        return live_pack(raw_repo(), config_dir())
    except ConfigError as err:
        st.error("設定パックにエラーがあるため、画面を表示できません。設定を直してから再読み込みしてください。")
        st.code(err.render(), language=None)
        st.stop()


def repo() -> ScopedRepository:
    """The store as the logged-in user may use it: cases filtered and masked, writes checked,
    views audited (each case once per session)."""
    from ui import auth
    access = auth.access()
    logged = st.session_state.setdefault("auth.__viewed", set())
    return ScopedRepository(raw_repo(), pack(), access, auth.audit_log(), logged)


def visible_total(repo: ScopedRepository) -> int:
    """How many cases this user may see; the number they may not see is shown, nothing more
    (支援会議 cases without consent, other agencies' cases: 社会福祉法 第106条の6)."""
    total, hidden = repo.counts()
    if hidden:
        st.caption(f"このほかに、閲覧の権限がないケースが {hidden} 件あります（件数のみ表示）。")
    return total
