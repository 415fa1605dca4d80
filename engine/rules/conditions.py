"""The condition language shared by rules, derived facts and ``show_if``.

A condition is parsed and checked once, when the pack loads (unknown fact, wrong
operator for the fact's type, unknown choice id), and then only evaluated. Comparisons
on an unanswered fact are false, whatever the operator; ``not`` turns that around, so
「同意ありでない」 (``not: consent = yes``) also holds when consent was never asked.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from engine.errors import ConfigIssue, did_you_mean
from engine.yamlio import YamlDoc, join

ALIASES = {"==": "=", "≠": "!=", "≤": "<=", "≥": ">=", "＝": "="}
ORDER_OPS = ("<", "<=", ">", ">=")
OPS_BY_TYPE = {
    "text": ("=", "!=", "in", "not_in"),
    "textarea": ("=", "!=", "in", "not_in"),
    "select": ("=", "!=", "in", "not_in"),
    "integer": ("=", "!=", *ORDER_OPS, "in", "not_in"),
    "date": ("=", "!=", *ORDER_OPS),
    "boolean": ("=", "!="),
    "multiselect": ("contains", "not_contains"),
}
PRESENCE_OPS = ("unanswered", "answered")


@dataclass(frozen=True)
class FactInfo:
    """What the rules may know of a fact: its type, and its choices if it has them."""

    id: str
    label: str
    type: str
    choices: str | None = None
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class Atom:
    fact: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class All:
    items: tuple


@dataclass(frozen=True)
class AnyOf:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: Any


@dataclass(frozen=True)
class AnyMember:
    where: Any


@dataclass(frozen=True)
class CountMembers:
    where: Any
    op: str
    value: int


Condition = Atom | All | AnyOf | Not | AnyMember | CountMembers


class Parser:
    """Turns YAML condition data into a ``Condition``, collecting issues with lines."""

    def __init__(self, doc: YamlDoc, facts: Mapping[str, FactInfo], member_facts: Mapping[str, FactInfo],
                 choice_ids: Callable[[str], tuple[str, ...]]):
        self.doc, self.facts, self.member_facts, self.choice_ids = doc, facts, member_facts, choice_ids
        self.issues: list[ConfigIssue] = []

    def _issue(self, key: str, message: str, hint: str = "") -> None:
        self.issues.append(ConfigIssue(self.doc.file, key, message, self.doc.line(key), hint))

    def parse(self, raw: Any, path: str, in_member: bool = False) -> Condition | None:
        if not isinstance(raw, dict) or not raw:
            self._issue(path, "条件は「fact / op / value」または all・any・not などの形で書いてください",
                        "例: {fact: consent, op: \"=\", value: \"yes\"}")
            return None
        keys = set(raw)
        for group, cls in (("all", All), ("any", AnyOf)):
            if keys == {group}:
                if not isinstance(raw[group], list):
                    self._issue(join(path, group), f"{group} には条件の一覧を書いてください")
                    return None
                parts = [self.parse(c, join(join(path, group), i), in_member) for i, c in enumerate(raw[group])]
                return cls(tuple(parts)) if None not in parts else None
        if keys == {"not"}:
            inner = self.parse(raw["not"], join(path, "not"), in_member)
            return Not(inner) if inner is not None else None
        if keys == {"any_member"} or keys == {"count_members", "op", "value"}:
            if in_member:
                self._issue(path, "世帯員の条件の中で世帯員の条件は使えません")
                return None
            if "any_member" in keys:
                inner = self.parse(raw["any_member"], join(path, "any_member"), True)
                return AnyMember(inner) if inner is not None else None
            inner = self.parse(raw["count_members"], join(path, "count_members"), True)
            op = ALIASES.get(str(raw["op"]), str(raw["op"]))
            if op not in ("=", "!=", *ORDER_OPS) or not isinstance(raw["value"], int) or isinstance(raw["value"], bool):
                self._issue(join(path, "op"), "人数の条件は op に = != < <= > >=、value に整数を書いてください")
                return None
            return CountMembers(inner, op, raw["value"]) if inner is not None else None
        if "fact" in keys and keys <= {"fact", "op", "value"}:
            return self._atom(raw, path, in_member)
        unknown = sorted(keys - {"fact", "op", "value"}) or sorted(keys)
        self._issue(join(path, unknown[0]), f"条件の書き方「{unknown[0]}」を知りません",
                    did_you_mean(unknown[0], ["fact", "op", "value", "all", "any", "not", "any_member", "count_members"]))
        return None

    def _atom(self, raw: dict, path: str, in_member: bool) -> Atom | None:
        catalog = self.member_facts if in_member else self.facts
        fact = raw.get("fact")
        info = catalog.get(fact) if isinstance(fact, str) else None
        if info is None:
            where = "世帯員の項目" if in_member else "項目"
            self._issue(join(path, "fact"), f"知らない{where}「{fact}」です", did_you_mean(str(fact), catalog))
            return None
        op = ALIASES.get(str(raw.get("op")), str(raw.get("op")))
        allowed = OPS_BY_TYPE.get(info.type, ()) + PRESENCE_OPS
        if op not in allowed:
            self._issue(join(path, "op"), f"「{info.label}」に演算子「{raw.get('op')}」は使えません",
                        "使える演算子: " + " ".join(allowed))
            return None
        if op in PRESENCE_OPS:
            if "value" in raw:
                self._issue(join(path, "value"), f"{op} には value を書きません", "value の行を消してください")
                return None
            return Atom(fact, op)
        if "value" not in raw:
            self._issue(path, f"「{info.label}」と比べる value がありません", "value: を書いてください")
            return None
        value = raw["value"]
        if info.type == "date":
            # YAML reads an unquoted 2026-01-01 as a date object; the engine compares ISO text.
            value = [str(v) for v in value] if isinstance(value, list) else str(value)
        values = value if op in ("in", "not_in") else [value]
        if op in ("in", "not_in") and (not isinstance(value, list) or not value):
            self._issue(join(path, "value"), f"{op} の value には値の一覧を書いてください", "例: value: [ID1, ID2]")
            return None
        for v in values:
            if not self._value_ok(info, v, join(path, "value")):
                return None
        return Atom(fact, op, tuple(value) if op in ("in", "not_in") else value)

    def _value_ok(self, info: FactInfo, v: Any, key: str) -> bool:
        kind = info.type
        if kind == "integer" and (not isinstance(v, int) or isinstance(v, bool)):
            self._issue(key, f"「{info.label}」は整数です（書かれた値: {v!r}）", "数字を引用符なしで書いてください")
            return False
        if kind == "boolean" and not isinstance(v, bool):
            self._issue(key, f"「{info.label}」は true か false です（書かれた値: {v!r}）")
            return False
        if kind == "date":
            try:
                dt.date.fromisoformat(str(v))
            except ValueError:
                self._issue(key, f"「{info.label}」は日付です（書かれた値: {v!r}）", "\"2026-11-20\" の形で書いてください")
                return False
        if info.choices:
            ids = self.choice_ids(info.choices)
            if str(v) not in ids:
                self._issue(key, f"「{info.label}」の選択肢に「{v}」はありません", did_you_mean(str(v), ids))
                return False
        return True


def evaluate(cond: Condition, facts: Mapping[str, Any], members: tuple[Mapping[str, Any], ...] = ()) -> bool:
    """Plain-Python evaluation (derived facts, ``show_if``, explanations).

    >>> evaluate(All((Atom("age", ">=", 65), Not(Atom("consent", "=", "yes")))), {"age": 70})
    True
    """
    if isinstance(cond, Atom):
        return _atom_holds(cond, facts)
    if isinstance(cond, All):
        return all(evaluate(c, facts, members) for c in cond.items)
    if isinstance(cond, AnyOf):
        return any(evaluate(c, facts, members) for c in cond.items)
    if isinstance(cond, Not):
        return not evaluate(cond.item, facts, members)
    if isinstance(cond, AnyMember):
        return any(evaluate(cond.where, m) for m in members)
    if isinstance(cond, CountMembers):
        return compare(sum(evaluate(cond.where, m) for m in members), cond.op, cond.value)
    raise TypeError(f"not a condition: {cond!r}")


def compare(left: Any, op: str, right: Any) -> bool:
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    if op == ">=":
        return left >= right
    raise ValueError(op)


def _atom_holds(atom: Atom, facts: Mapping[str, Any]) -> bool:
    present = atom.fact in facts
    if atom.op == "unanswered":
        return not present
    if atom.op == "answered":
        return present
    if not present:
        return False
    value = facts[atom.fact]
    if atom.op == "in":
        return value in atom.value
    if atom.op == "not_in":
        return value not in atom.value
    if atom.op == "contains":
        return atom.value in value
    if atom.op == "not_contains":
        return atom.value not in value
    return compare(value, atom.op, atom.value)


def referenced_facts(cond: Condition) -> tuple[str, ...]:
    """Case-level facts a condition reads, in first-use order (member facts excluded)."""
    out: list[str] = []

    def walk(c: Condition) -> None:
        if isinstance(c, Atom):
            out.append(c.fact)
        elif isinstance(c, (All, AnyOf)):
            for i in c.items:
                walk(i)
        elif isinstance(c, Not):
            walk(c.item)

    walk(cond)
    return tuple(dict.fromkeys(out))
