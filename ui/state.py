"""Objects shared by every page and session, created once (``st.cache_resource``)."""
from __future__ import annotations

import os

import streamlit as st

from engine.changes.versions import live_pack, version_labels
from engine.errors import ConfigError, StorageError
from engine.pack import DEFAULT_PACK
from engine.pack.model import Pack
from engine.training.lessons import training_dir
from storage import Repository, is_url, location, open_repository, warm_up_later


def config_dir() -> str:
    return os.environ.get("TSUNAGU_CONFIG", str(DEFAULT_PACK))


def data_dir() -> str:
    """The local data folder (the embedded store, and the 研修 practice store in every setup)."""
    return os.environ.get("TSUNAGU_DATA", "./data")


def store_location() -> str:
    """Where cases, users and the audit log live: TSUNAGU_DATABASE_URL when set, else the data folder."""
    return location(data_dir())


@st.cache_resource(show_spinner=False)
def _repo(where: str) -> Repository:
    repo = open_repository(where)
    if not is_url(where):
        # Every shard parsed once, in the background: the app answers at once, the case list reads
        # the list index meanwhile, and later pages find the cases in memory.
        warm_up_later(repo)
    return repo


def raw_repo() -> Repository:
    """The whole store, unfiltered: only for configuration (versions, drafts), never case data."""
    try:
        return _repo(store_location())
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


def version_name(version: str | None) -> str:
    """「第3版 2026年11月30日 田中」 for a version id or the pack version a decision records."""
    return version_labels(raw_repo()).get(version or "", "記録のない版")


@st.cache_resource(show_spinner=False)
def _training_repo(path: str) -> Repository:
    from engine.casework.demo import mark_store, store_kind
    repo = open_repository(path)
    if not store_kind(repo):
        mark_store(repo, "training")
    return repo


def training_repo() -> Repository:
    """The practice store, ``<data>/training``: never the live lists, agendas or exports."""
    try:
        return _training_repo(str(training_dir(data_dir())))
    except StorageError as err:
        st.error(f"研修用のデータを開けません: {err}")
        st.stop()
