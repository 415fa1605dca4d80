"""Configuration versions: the live pack, the draft staff edit, publish and rollback.

The live pointer and the publish history are ONE value in the store (meta ``config``),
changed by compare-and-set. Publishing saves the new version first and then flips that
pointer, so a crash mid-publish leaves the old version live, and two editors who both
started from version N cannot both publish: the second is refused, not merged.
"""
from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from engine.casework.cases import now_iso
from engine.casework.wareki import JST
from engine.changes.scenarios import run_all
from engine.errors import ConflictError, TsunaguError
from engine.pack import load_sources, read_sources
from engine.pack.model import Pack
from engine.rules.sentences import rule_text

LIVE_KEY = "config"
DRAFT_KEY = "config.draft"
_PACKS: dict[str, Pack] = {}


class PublishError(TsunaguError):
    """A publish the guardrails refuse (no reason given, failing scenarios, nothing changed)."""


@dataclass(frozen=True)
class VersionInfo:
    id: str
    pack_version: str
    author: str
    reason: str
    created_at: str
    kind: str                 # initial / publish / rollback
    parent: str | None
    rolled_back_to: str | None
    live: bool = False


def content_hash(sources: Mapping[str, str]) -> str:
    """Hash of every file, scenarios included (a version is the whole pack).

    >>> content_hash({"a.yaml": "x"}) == content_hash({"a.yaml": "x"}) != content_hash({"a.yaml": "y"})
    True
    """
    return hashlib.sha256(json.dumps(dict(sorted(sources.items())), ensure_ascii=False).encode()).hexdigest()


def _info(record: Mapping, live: str | None) -> VersionInfo:
    return VersionInfo(record["id"], record.get("pack_version", ""), record.get("author", ""), record.get("reason", ""),
                       record.get("created_at", ""), record.get("kind", ""), record.get("parent"),
                       record.get("rolled_back_to"), record["id"] == live)


def _state(repo: Any) -> dict:
    return repo.get_meta(LIVE_KEY) or {}


def live_version_id(repo: Any) -> str | None:
    """The live version id, or None for a store nothing was published to yet."""
    return _state(repo).get("live")


def ensure_live(repo: Any, config_dir: Path | str) -> str:
    """The live version id; a new store starts from the bundled pack in ``config_dir``."""
    state = _state(repo)
    if state.get("live"):
        return state["live"]
    sources = read_sources(Path(config_dir))
    pack = load_sources(sources, str(config_dir))
    record = {"id": f"v001-{content_hash(sources)[:8]}", "sources": sources, "pack_version": pack.version,
              "author": "system", "reason": f"同梱の設定パック「{pack.name}」から開始", "created_at": now_iso(),
              "kind": "initial", "parent": None, "rolled_back_to": None}
    repo.save_version(record)
    try:
        repo.set_meta(LIVE_KEY, {"live": record["id"], "history": [record["id"]]}, expected=None)
    except ConflictError:
        pass  # another process started the store at the same moment; its choice stands
    return _state(repo)["live"]


def pack_of(repo: Any, version_id: str) -> Pack:
    """The validated pack of a stored version (cached: versions never change)."""
    found = _PACKS.get(version_id)
    if found is None:
        record = repo.get_version(version_id)
        if record is None:
            raise TsunaguError(f"設定の版 {version_id} は保存されていません。tsunagu versions で版を確かめてください。")
        found = _PACKS[version_id] = load_sources(record["sources"], f"版 {version_id}")
    return found


def live_pack(repo: Any, config_dir: Path | str) -> Pack:
    return pack_of(repo, ensure_live(repo, config_dir))


def version_label(info: VersionInfo, with_author: bool = True) -> str:
    """The one name staff see for a version: number, day (Japan time) and who published it.

    >>> version_label(VersionInfo("v003-1a2b3c4d", "d320829a5399", "田中", "閾値", "2026-11-30T01:00:00+00:00",
    ...                           "publish", "v002-00000000", None))
    '第3版 2026年11月30日 田中'
    """
    number = info.id[1:].split("-")[0].lstrip("0") or "0"
    try:
        day = dt.datetime.fromisoformat(info.created_at).astimezone(JST).date()
        when = f"{day.year}年{day.month}月{day.day}日"
    except ValueError:
        when = ""
    who = ("同梱の設定" if info.author == "system" else info.author) if with_author else ""
    return " ".join(part for part in (f"第{number}版", when, who) if part)


def version_labels(repo: Any) -> dict[str, str]:
    """Labels by version id and by pack version (what a decision records); a pack version
    published more than once is named by the version that first made it live."""
    out: dict[str, str] = {}
    for v in history(repo):
        label = version_label(v)
        out[v.id] = label
        out.setdefault(v.pack_version, label)
    return out


def history(repo: Any) -> list[VersionInfo]:
    """Published versions, oldest first; the live one is marked."""
    state = _state(repo)
    return [_info(repo.get_version(v), state.get("live")) for v in state.get("history", [])]


def publish(repo: Any, sources: Mapping[str, str], author: str, reason: str, base: str,
            kind: str = "publish", rolled_back_to: str | None = None,
            audit: Callable[[str], Any] | None = None) -> VersionInfo:
    """Validate, run every scenario, then make ``sources`` live; refuse a stale ``base``.

    ``audit`` gives the switch's audit entry (a ``PendingEntry``) for the new version's id, to be
    written with the switch (the CLI's; a ``ScopedRepository`` writes its own).
    """
    author, reason = (author or "").strip(), (reason or "").strip()
    if not author or not reason:
        raise PublishError("公開には、公開する人の名前と理由が必要です。両方を入力してください。")
    pack = load_sources(sources, "下書き")                     # ConfigError: the Japanese issues
    failed = [r.scenario.name for r in run_all(pack) if not r.passed]
    if failed:
        raise PublishError(f"シナリオが {len(failed)} 件失敗しているため公開できません: " + "、".join(failed)
                           + "。ルールを直すか、意図した変更ならシナリオの期待を直してください。")
    state = _state(repo)
    if state.get("live") != base:
        current = repo.get_version(state.get("live")) or {}
        raise ConflictError(f"この下書きの元の版 {base} は、もう公開中の版ではありません（公開中: {state.get('live')}、"
                            f"{current.get('author', '')}「{current.get('reason', '')}」）。"
                            "最新の版を確かめ、下書きを作り直してから公開してください。")
    live = repo.get_version(base)
    if live is not None and content_hash(live["sources"]) == content_hash(sources):
        raise PublishError("公開中の版と同じ内容です。変更してから公開してください。")
    version_id = f"v{len(state['history']) + 1:03d}-{content_hash(sources)[:8]}"
    record = {"id": version_id, "sources": dict(sources), "pack_version": pack.version, "author": author,
              "reason": reason, "created_at": now_iso(), "kind": kind, "parent": base, "rolled_back_to": rolled_back_to}
    from storage import one_change
    with one_change(repo):                                     # one transaction on PostgreSQL
        for attempt in range(2, 100):
            stored = repo.save_version(record)                 # elsewhere an orphan if we stop here: harmless
            if (stored.get("author"), stored.get("reason"), stored.get("kind")) == (author, reason, kind):
                break
            # A crashed attempt of the same content left its record under this id (versions never
            # change): this publish is a new attempt, and records who made it and why.
            record["id"] = version_id = f"v{len(state['history']) + 1:03d}-{content_hash(sources)[:8]}-{attempt}"
        else:
            raise PublishError("公開の記録を保存できませんでした（同じ内容の公開が何度も中断されています）。管理者に連絡してください。")
        repo.set_meta(LIVE_KEY, {"live": version_id, "history": [*state["history"], version_id]}, expected=state,
                      **({"audit": audit(version_id)} if audit is not None else {}))
    _PACKS[version_id] = pack
    return _info(record, version_id)


def rollback(repo: Any, version_id: str, author: str, reason: str,
             audit: Callable[[str], Any] | None = None) -> VersionInfo:
    """Make an earlier version's content live again, as a new version of its own."""
    state = _state(repo)
    if version_id not in state.get("history", []):
        raise TsunaguError(f"版 {version_id} は公開の履歴にありません。tsunagu versions で版を確かめてください。")
    if version_id == state.get("live"):
        raise PublishError(f"版 {version_id} はすでに公開中です。")
    target = repo.get_version(version_id)
    return publish(repo, target["sources"], author, reason, state["live"], kind="rollback", rolled_back_to=version_id,
                   audit=audit)


# -- the draft ----------------------------------------------------------------------------
def get_draft(repo: Any) -> dict | None:
    return repo.get_meta(DRAFT_KEY)


def save_draft(repo: Any, sources: Mapping[str, str], base: str, author: str, expected: Any) -> dict:
    """Store the draft; ``expected`` is the draft this editor started from (None for a new one)."""
    draft = {"base": base, "sources": dict(sources), "author": author, "updated_at": now_iso()}
    try:
        repo.set_meta(DRAFT_KEY, draft, expected=expected)
    except ConflictError:
        raise ConflictError("下書きは、あなたが開いた後に他の人が変更しました。画面を開き直して、最新の下書きに"
                            "もう一度変更を加えてください。") from None
    return draft


def discard_draft(repo: Any, expected: Any) -> None:
    repo.set_meta(DRAFT_KEY, None, expected=expected)


# -- readable differences -----------------------------------------------------------------
def rule_changes(old: Pack, new: Pack) -> list[tuple[str, str, str]]:
    """(kind, rule id, sentence) for rules added, removed or changed: 追加 / 削除 / 変更."""
    before = {r.id: rule_text(old, r) for r in old.rules}
    after = {r.id: rule_text(new, r) for r in new.rules}
    out = [("削除", rid, text) for rid, text in before.items() if rid not in after]
    for rid, text in after.items():
        if rid not in before:
            out.append(("追加", rid, text))
        elif before[rid] != text:
            out.append(("変更", rid, f"{before[rid]}\n　→ {text}"))
    old_order = [r for r in before if r in after]
    new_order = [r for r in after if r in before]
    if old_order != new_order:
        out.append(("並べ替え", "", "ルールの順番が変わりました"))
    return out


def yaml_diff(old: Mapping[str, str], new: Mapping[str, str], old_label: str = "公開中", new_label: str = "新") -> str:
    """Unified diff of every changed file."""
    parts = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name, ""), new.get(name, "")
        if a != b:
            parts.extend(difflib.unified_diff(a.splitlines(keepends=True), b.splitlines(keepends=True),
                                              fromfile=f"{old_label}/{name}", tofile=f"{new_label}/{name}"))
    return "".join(parts)
