"""Per-form compiled coercers: a form's fields turned into small functions once per pack version.

``facts.Coercer`` reads the form definition and looks up vocabularies for every value of
every case. Most values arrive already clean (an ``int`` age, a choice id, an ISO date): the
compiled coercer takes those on a fast path with the vocabulary lookup bound in advance,
and hands anything else (a label typed for an id, full-width digits, a bad value) to
``Coercer.scalar``, so every message and every unusual conversion stays exactly where it was.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable, Mapping

from engine.errors import did_you_mean
from engine.pack.model import FormField, Pack

#: What a fast path returns when it leaves the value to ``Coercer.scalar``.
SLOW = object()

Fast = Callable[[Any], Any]
_EMPTY = (str, list, dict)
_COMPILED: dict[tuple[str, int], "CompiledForm"] = {}
#: Rows a repeat field takes when the form sets no max_items (a household is never 100 people).
MAX_REPEAT = 100
#: Unknown keys named one by one (with a suggestion) before the rest are only counted.
MAX_UNKNOWN_NAMED = 20


def _text(f: FormField) -> Fast:
    pattern = re.compile(f.pattern) if f.pattern else None

    def text(value: Any) -> Any:
        if value.__class__ is not str:
            return SLOW
        stripped = value.strip()
        if pattern is not None and stripped and not pattern.search(stripped):
            return SLOW
        return stripped or None
    return text


def _integer(f: FormField) -> Fast:
    low = f.min if f.min is not None else float("-inf")
    high = f.max if f.max is not None else float("inf")

    def integer(value: Any) -> Any:
        return value if value.__class__ is int and low <= value <= high else SLOW
    return integer


def _date(value: Any) -> Any:
    if value.__class__ is str and value.isascii():
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            return SLOW
    return SLOW


def _boolean(value: Any) -> Any:
    return value if value.__class__ is bool else SLOW


def _select(lookup: Mapping[str, str]) -> Fast:
    get = lookup.get

    def select(value: Any) -> Any:
        found = get(value) if value.__class__ is str else None
        return SLOW if found is None else found
    return select


def _multiselect(lookup: Mapping[str, str]) -> Fast:
    get = lookup.get

    def multiselect(values: Any) -> Any:
        if values.__class__ is not list:
            return SLOW
        out = []
        for value in values:
            found = get(value) if value.__class__ is str else None
            if found is None:
                return SLOW
            out.append(found)
        return list(dict.fromkeys(out)) or None
    return multiselect


class CompiledForm:
    """One form's fields as fast paths; ``run`` has the contract of ``Coercer.fields``."""

    def __init__(self, pack: Pack, fields: tuple[FormField, ...], lookup: Callable[[Pack, str], Mapping[str, str]]):
        self.known = frozenset(f.id for f in fields)
        self.plan: list[tuple[str, FormField, Fast | None, CompiledForm | None]] = []
        for f in fields:
            sub = CompiledForm(pack, f.fields, lookup) if f.type in ("group", "repeat") else None
            fast: Fast | None
            if f.type in ("text", "textarea"):
                fast = _text(f)
            elif f.type == "integer":
                fast = _integer(f)
            elif f.type == "date":
                fast = _date
            elif f.type == "boolean":
                fast = _boolean
            elif f.type == "select":
                fast = _select(lookup(pack, f.choices or ""))
            elif f.type == "multiselect":
                fast = _multiselect(lookup(pack, f.choices or ""))
            else:
                fast = None
            self.plan.append((f.id, f, fast, sub))

    def run(self, coercer, data: Any, path: str) -> dict:
        """Clean ``data``; problems and warnings go to ``coercer`` (a ``facts.Coercer``)."""
        if data.__class__ is not dict and not isinstance(data, Mapping):
            coercer._bad(path or "ケース", "「項目: 値」の形で入力してください")
            return {}
        known = self.known
        if not known.issuperset(data):
            extras = [e for e in data if e not in known and not str(e).startswith("_")]
            for extra in extras[:MAX_UNKNOWN_NAMED]:
                hint = did_you_mean(str(extra)[:100], known)
                coercer.warnings.append(f"フォームにない項目「{path + '.' if path else ''}{str(extra)[:100]}」は判定に使いません"
                                        + (f"（{hint}）" if hint else ""))
            if len(extras) > MAX_UNKNOWN_NAMED:     # a hostile file: naming 50,000 keys only costs time
                coercer.warnings.append(f"ほかにもフォームにない項目が {len(extras) - MAX_UNKNOWN_NAMED} 件あり、判定に使いません")
        out: dict = {}
        for fid, f, fast, sub in self.plan:
            value = data.get(fid)
            if not value and (value is None or value.__class__ in _EMPTY):   # None, "", [], {}
                continue
            if fast is not None:
                coerced = fast(value)
                if coerced is SLOW:
                    coerced = coercer.scalar(f, value, f"{path}.{fid}" if path else fid)
                if coerced is not None:
                    out[fid] = coerced
                continue
            key = f"{path}.{fid}" if path else fid
            if f.type == "group":
                found = sub.run(coercer, value, key)
                if found:
                    out[fid] = found
            else:  # repeat
                items = value if isinstance(value, list) else [value]
                limit = f.max_items or MAX_REPEAT
                if len(items) > limit:
                    coercer._bad(key, f"「{f.label}」は {limit} 件までです")
                    items = items[:limit]     # refused anyway: checking 5,000 more rows only costs time
                rows = [sub.run(coercer, item, f"{key}[{i}]") for i, item in enumerate(items)]
                rows = [r for r in rows if r]
                if rows:
                    out[fid] = rows
        return out


def compiled_form(pack: Pack, fields: tuple[FormField, ...],
                  lookup: Callable[[Pack, str], Mapping[str, str]]) -> CompiledForm:
    """The compiled coercer of ``fields`` (a form of ``pack``), built once per pack version."""
    key = (pack.version, id(fields))
    found = _COMPILED.get(key)
    if found is None or found.fields is not fields:
        found = CompiledForm(pack, fields, lookup)
        found.fields = fields          # kept alive, so its id() is not reused while cached
        _COMPILED[key] = found
    return found
