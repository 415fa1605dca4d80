"""What a stored record looks like, shared by every backend.

Pure functions: new ids, timestamps, JSON-safe copies, and the revision rule
(``next_case``) with its Japanese conflict messages. Backends only decide where
the bytes go; the rules for what they hold live here, once.
"""
from __future__ import annotations

import math
import secrets
from datetime import datetime, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from engine.errors import ConflictError, StorageError


def now_iso() -> str:
    """Current time as ISO 8601 with the local UTC offset, e.g. ``2026-05-09T16:35:25.123+09:00``."""
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="milliseconds")


def new_case_id(taken: Callable[[str], bool] = lambda _id: False) -> str:
    """A fresh case id ``C<yyyymmdd>-<6 hex>`` for which ``taken(id)`` is false.

    The date is Japan's date, the one staff see on paper forms, whatever the server's clock zone.
    """
    day = datetime.now(ZoneInfo("Asia/Tokyo")).strftime("%Y%m%d")
    while True:
        case_id = f"C{day}-{secrets.token_hex(3)}"
        if not taken(case_id):
            return case_id


def fast_copy(value: Any) -> Any:
    """Deep copy of data that is already known to be plain JSON (dicts, lists, scalars).

    Several times faster than ``copy.deepcopy``, which matters when
    ``list_cases`` hands out 20,000 records.

    >>> a = {"x": [1, {"y": 2}]}
    >>> b = fast_copy(a); b["x"][1]["y"] = 3; a["x"][1]["y"]
    2
    """
    kind = type(value)
    if kind is dict:
        return {k: fast_copy(v) for k, v in value.items()}
    if kind is list:
        return [fast_copy(v) for v in value]
    return value


_SCALARS = (str, int, float, bool, type(None))


class _NotPlain(Exception):
    """Raised by ``_plain_copy`` at anything it does not take as is."""


def _plain_copy(value: Any) -> Any:
    """``json_copy`` for the usual record: exact types only, no paths built on the way.

    Every save copies its case and events; building each key's path (for a message that is
    almost never shown) and the isinstance chains were a quarter of an intake's CPU time.
    Anything unusual (a subclass, a tuple, a bad value) raises ``_NotPlain`` and ``json_copy``
    goes the careful way, which accepts or refuses it exactly as before.
    """
    kind = type(value)
    if kind is str:
        if "\x00" in value:
            raise _NotPlain
        if not value.isascii():
            try:
                value.encode("utf-8")           # a lone surrogate (broken text) cannot be stored
            except UnicodeEncodeError:
                raise _NotPlain from None
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str or "\x00" in key:
                raise _NotPlain
            out[key] = _plain_copy(item)
        return out
    if kind is list:
        return [_plain_copy(item) for item in value]
    if kind is int or kind is bool or value is None or (kind is float and math.isfinite(value)):
        return value
    raise _NotPlain


def json_copy(value: Any, where: str = "") -> Any:
    """Deep copy of caller data, checked to be JSON (tuples become lists).

    Raises StorageError naming the key when something cannot be stored, so the
    error shows up at the call, not later when a file is half-written.

    >>> json_copy({"a": (1, "二")})
    {'a': [1, '二']}
    """
    try:
        return _plain_copy(value)
    except _NotPlain:
        return _checked_copy(value, where)


def _checked_copy(value: Any, where: str = "") -> Any:
    """``json_copy`` one value at a time, with the key path for the message."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise StorageError(
                    f"{where or '記録'} のキー {key!r} が文字列ではないため保存できません。"
                    "キーは文字列にしてください。")
            if "\x00" in key:
                raise StorageError(f"{where or '記録'} のキーに NUL 文字が含まれているため保存できません。")
            out[key] = _checked_copy(item, f"{where}.{key}" if where else key)
        return out
    if isinstance(value, (list, tuple)):
        return [_checked_copy(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, str) and "\x00" in value:
        # PostgreSQL's JSONB cannot hold it, and no staff member types it: refused everywhere.
        raise StorageError(f"{where or '記録'} の文字列に NUL 文字（\\x00）が含まれているため保存できません。入力し直してください。")
    if isinstance(value, float) and not math.isfinite(value):
        raise StorageError(f"{where or '記録'} の数値 {value!r} は JSON にできないため保存できません。有限の数にしてください。")
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise StorageError(
                f"{where or '記録'} の文字列に保存できない文字（壊れた文字コード）が含まれています。"
                "入力し直してください。") from None
        return value
    if isinstance(value, _SCALARS):
        return value
    raise StorageError(
        f"{where or '記録'} の値（{type(value).__name__}型）はJSONにできないため保存できません。"
        "文字列・数値・真偽値・リスト・辞書のいずれかにしてください。")


def require_dict(value: Any, what: str) -> None:
    """Refuse anything that is not a dict, naming what was expected."""
    if not isinstance(value, dict):
        raise StorageError(f"{what}は辞書（dict）で渡してください（渡された型: {type(value).__name__}）。")


def case_id_of(case: dict) -> str:
    """The case's id, or "" when it has none yet; refuses non-string ids."""
    case_id = case.get("id") or ""
    if not isinstance(case_id, str):
        raise StorageError(f"ケースの id は文字列にしてください（渡された値: {case_id!r}）。")
    return case_id


def check_revision(case_id: str, expected: int | None, current: dict | None) -> None:
    """Raise ConflictError when the caller edited a version that is no longer the stored one.

    ``expected`` None means "save regardless"; 0 means "I am creating it".
    """
    if expected is None:
        return
    if current is None:
        if expected == 0:
            return
        raise ConflictError(
            f"ケース {case_id} は見つかりません（あなたが開いた版: {expected}）。"
            "他の職員が削除した可能性があります。一覧を開き直して確認してください。")
    stored = current.get("revision", 0)
    if stored != expected:
        raise ConflictError(
            f"このケースは他の職員が先に保存しました（あなたが開いた版: {expected}、現在の版: {stored}）。"
            "画面を開き直して最新の内容を確認してから、もう一度保存してください。")


def next_case(case: dict, case_id: str, current: dict | None, expected: int | None) -> dict:
    """The record to store for ``case``: checked, copied, with the next revision and a timestamp."""
    check_revision(case_id, expected, current)
    record = json_copy(case)
    record["id"] = case_id
    record["revision"] = (current or {}).get("revision", 0) + 1
    record["updated_at"] = now_iso()
    return record


def next_event(case_id: str, event: dict, seq: int) -> dict:
    """The event to store: the caller's fields plus ``case_id``, ``seq`` and ``at`` (unless given)."""
    require_dict(event, "出来事（event）")
    if not isinstance(event.get("type"), str) or not event["type"]:
        raise StorageError("出来事（event）には種類 \"type\"（空でない文字列）を入れてください。")
    record = json_copy(event)
    record["case_id"] = case_id
    record["seq"] = seq
    record.setdefault("at", now_iso())
    return record


def version_id_of(version: dict) -> str:
    """The config version's id (its content hash); refuses a missing or non-string id."""
    require_dict(version, "設定の版（version）")
    version_id = version.get("id")
    if not isinstance(version_id, str) or not version_id:
        raise StorageError("設定の版（version）には id（内容のハッシュ文字列）を入れてください。")
    return version_id


def check_meta(key: str, expected: Any, current: Any) -> None:
    """Compare-and-set guard for ``set_meta``: a missing key compares as None."""
    if expected != current:
        def brief(value: Any) -> str:
            # A value may be a whole configuration draft: name it, don't print it.
            text = repr(value)
            return text if len(text) <= 60 else f"{type(value).__name__}（{len(text)}文字）"
        raise ConflictError(
            f"設定値「{key}」は他の職員が先に変更しました（あなたが見た値: {brief(expected)}、現在の値: {brief(current)}）。"
            "画面を開き直して確認してから、もう一度操作してください。")


def missing_case(case_id: str) -> StorageError:
    """Error for an event added to a case that is not stored."""
    return StorageError(f"ケース {case_id} は保存されていません。先にケースを保存してから記録を追加してください。")
