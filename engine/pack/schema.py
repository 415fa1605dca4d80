"""Cerberus validation with errors turned into Japanese ``ConfigIssue``s.

Cerberus reports codes (rule names) and document paths; the wording is ours, so a
staff member reads 「必須の項目がありません」, with the file, key and line.
"""
from __future__ import annotations

from typing import Any, Iterable

from cerberus import Validator

from engine.errors import ConfigIssue, did_you_mean
from engine.yamlio import YamlDoc, join

_TYPES = {
    "string": "文字列", "integer": "整数", "boolean": "true / false", "list": "一覧（- で始まる行）",
    "dict": "項目の集まり（キー: 値）", "number": "数値", "float": "数値",
}


def _type_names(constraint: Any) -> str:
    names = constraint if isinstance(constraint, (list, tuple)) else [constraint]
    return "・".join(_TYPES.get(n, str(n)) for n in names)


def _path(parts: Iterable[Any]) -> str:
    path = ""
    for part in parts:
        path = join(path, part)
    return path


def _leaf(error: Any, doc: YamlDoc, schema_keys: Iterable[str]) -> ConfigIssue:
    key = _path(error.document_path)
    rule, constraint, value = error.rule, error.constraint, error.value
    hint = ""
    if rule == "required":
        message = "必須の項目がありません"
        hint = f"「{error.document_path[-1]}」を書いてください"
    elif error.code == 0x03 or rule == "unknown":  # UNKNOWN_FIELD
        message = f"知らない項目「{error.document_path[-1]}」です"
        hint = did_you_mean(error.document_path[-1], schema_keys) or "綴りを確かめるか、この行を消してください"
    elif rule == "type":
        message = f"型が違います（必要: {_type_names(constraint)}、書かれた値: {value!r}）"
        hint = "値の書き方を確かめてください（数字は引用符なし、ID は英数字）"
    elif rule == "allowed":
        bad = [v for v in (value if isinstance(value, list) else [value]) if v not in constraint]
        message = f"使えない値 {bad[0] if bad else value!r} です"
        hint = did_you_mean(str(bad[0] if bad else value), [str(c) for c in constraint])
    elif rule in ("min", "max"):
        message = f"値 {value!r} は{'小さすぎ' if rule == 'min' else '大きすぎ'}ます（{'最小' if rule == 'min' else '最大'} {constraint}）"
    elif rule == "regex":
        message = f"値 {value!r} の形式が違います"
        hint = "ID は半角英小文字・数字・_ で書いてください" if "a-z" in str(constraint) else ""
    elif rule == "empty":
        message = "空にはできません"
    elif rule in ("minlength", "maxlength"):
        message = f"数が{'足りません（最小' if rule == 'minlength' else '多すぎます（最大'} {constraint}）"
    elif rule == "nullable":
        message = "値がありません"
        hint = "値を書くか、この行を消してください"
    else:
        message = f"書き方が違います（{rule}）"
    return ConfigIssue(doc.file, key, message, doc.line(key), hint)


def _schema_keys(schema: dict, path: tuple) -> list[str]:
    """The keys the schema allows at ``path`` (for もしかして on an unknown key)."""
    node: Any = {"type": "dict", "schema": schema}
    for part in path:
        if isinstance(part, int):
            node = node.get("schema", {})
        else:
            node = node.get("schema", {}).get(part, {})
    sub = node.get("schema", {})
    return list(sub.keys()) if isinstance(sub, dict) and "type" not in sub else []


def _flatten(errors: Iterable[Any]) -> Iterable[Any]:
    for error in errors:
        if error.is_group_error:
            yield from _flatten(error.child_errors)
        else:
            yield error


def check(doc: YamlDoc, schema: dict, allow_unknown: bool = False) -> list[ConfigIssue]:
    """Validate ``doc`` against a Cerberus ``schema``; every problem, in file order."""
    if not isinstance(doc.data, dict):
        return [ConfigIssue(doc.file, "", "ファイルの一番上は「キー: 値」の形である必要があります", 1,
                            "見本のファイルと同じ形にしてください")]
    validator = Validator(schema, allow_unknown=allow_unknown)
    if validator.validate(doc.data):
        return []
    issues = []
    for error in _flatten(validator._errors):
        parent = error.document_path[:-1] if error.document_path else ()
        issues.append(_leaf(error, doc, _schema_keys(schema, parent)))
    issues.sort(key=lambda i: (i.line or 0, i.key))
    return issues


# Reusable schema fragments ------------------------------------------------------------
ID = {"type": "string", "regex": r"^[a-z][a-z0-9_]*$"}
LABEL = {"type": "string", "required": True, "empty": False}
ID_LIST = {"type": "list", "schema": ID}


def items(fields: dict, **extra: Any) -> dict:
    """A required list of mappings with the given fields."""
    return {"type": "list", "required": True, "schema": {"type": "dict", "schema": fields}, **extra}
