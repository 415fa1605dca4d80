"""The configuration draft as the 設定 pages share it.

Every editor reads the draft (or starts one from the live version) and applies one
change to the NEWEST draft text (items are changed by id, so two editors changing
different items both keep their work); the save is compare-and-set, so a draft changed
between that read and the save is refused. The raw YAML tab, which replaces a whole
file, also refuses when that file changed since the page showed it.
"""
from __future__ import annotations

from typing import Callable, Mapping

import streamlit as st

from engine.casework.wareki import wareki_time
from engine.changes.versions import ensure_live, get_draft, pack_of, save_draft, version_labels
from engine.errors import ConfigError, ConflictError
from engine.pack import load_sources
from engine.pack.model import Pack
from ui import auth, state


def current() -> tuple[dict, str, dict | None]:
    """(sources, base version id, the stored draft or None if editing starts from live)."""
    repo = auth.repo()
    live_id = ensure_live(repo, state.config_dir())
    draft = get_draft(repo)
    if draft:
        return dict(draft["sources"]), draft["base"], draft
    return dict(repo.get_version(live_id)["sources"]), live_id, None


def draft_pack(sources: Mapping[str, str]) -> tuple[Pack | None, ConfigError | None]:
    """The draft loaded, or the reason it does not load (shown inline, never raised)."""
    try:
        return load_sources(sources, "下書き"), None
    except ConfigError as err:
        return None, err


def change(edit: Callable[[dict], dict], message: str) -> bool:
    """Apply ``edit`` (sources → new sources) to the draft and save it; report the outcome."""
    sources, base, stored = current()
    new = edit(dict(sources))
    if new == sources:
        st.info("変更はありませんでした。")
        return False
    author = st.session_state.get("user", "staff")
    try:
        save_draft(auth.repo(), new, base, author, expected=stored)
    except ConflictError as err:
        st.error(str(err))
        return False
    st.session_state["draft.__notice"] = message
    return True


def banner() -> None:
    """Tell the editor where they stand: draft or live, and any notice of the last change."""
    notice = st.session_state.pop("draft.__notice", None)
    if notice:
        st.success(notice)
    sources, base, stored = current()
    version = version_labels(auth.repo()).get(base, "記録のない版")     # 「第3版 2026年11月30日 田中」, never the id
    if stored:
        st.info(f"下書きを編集中です（元の版: {version}、最終更新 {stored.get('author', '')} {wareki_time(stored.get('updated_at'))}）。"
                "公開するまで、受付や振り分けは公開中の設定のままです。「公開」で確かめてから公開してください。")
    else:
        st.caption(f"公開中の版（{version}）を表示しています。変更すると下書きが作られます。")


def live() -> Pack:
    repo = auth.repo()
    return pack_of(repo, ensure_live(repo, state.config_dir()))


def pack_or_stop(what: str) -> Pack:
    """The banner, then the draft's pack; a draft that does not load stops the page with its issues."""
    banner()
    sources, _, _ = current()
    pack, error = draft_pack(sources)
    if error:
        st.error(f"下書きの設定にエラーがあるため、{what}を編集できません。次の点を直してください。\n\n"
                 + "\n".join(f"- {i.render()}" for i in error.issues))
        st.stop()
    return pack


def save_file(name: str, edit: Callable[[str], str], message: str) -> None:
    """Apply ``edit`` to one file of the draft; save only if the whole pack still loads."""
    from engine.changes.editing import EditError
    newest, _, _ = current()
    try:
        text = edit(newest[name])
    except EditError as err:
        st.error(str(err))
        return
    _, problem = draft_pack({**newest, name: text})
    if problem:
        st.error("この変更は保存できません。次の点を直してください。\n\n" + "\n".join(f"- {i.render()}" for i in problem.issues))
        return
    if change(lambda src: {**src, name: text}, message):
        st.rerun()
