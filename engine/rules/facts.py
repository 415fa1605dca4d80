"""From a consultation as typed or uploaded to the facts the rules see.

Every value is coerced to the type the form declares *before* any rule runs: the rule
engine would happily find ``"70" >= 65`` true by comparing strings. Hidden fields
(``show_if`` false) are dropped, so they count as unanswered, as the form promises.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import CaseError, CaseIssue, did_you_mean
from engine.pack.model import FormField, Pack
from engine.rules.coerce import compiled_form
from engine.rules.conditions import AnyMember, evaluate, referenced_facts
from engine.rules.predicate import member_counter, predicate
from engine.pack.vocab import alias_text

_TRUE = {"true", "yes", "1", "はい", "有", "あり", "在住"}
_FALSE = {"false", "no", "0", "いいえ", "無", "なし"}


@dataclass(frozen=True)
class Facts:
    """What ``decide`` works on: the cleaned case, flat facts, and the household members."""

    case: dict
    facts: dict
    members: tuple[dict, ...]
    warnings: tuple[str, ...] = ()


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


_LOOKUPS: dict[tuple[str, str], dict[str, str]] = {}
_FIELDS_OF: dict[str, tuple[dict, tuple[str, ...]]] = {}


def _concern_fields(pack: Pack) -> tuple[dict, tuple[str, ...]]:
    found = _FIELDS_OF.get(pack.version)
    if found is None:
        found = _FIELDS_OF[pack.version] = ({c.id: c.get("field") for c in pack.choices("concerns")}, pack.ids("fields"))
    return found


def _choice_lookup(pack: Pack, name: str) -> dict[str, str]:
    """id → id, label → id and alias → id for a choice list; staff may type the label
    (続柄「長男」) or a word the list declares as an alias (「夫」→ 配偶者)."""
    key = (pack.version, name)
    found = _LOOKUPS.get(key)
    if found is None:
        options = pack.choices(name)
        found = {unicodedata.normalize("NFKC", a): c.id for c in options for a in c.get("aliases") or ()}
        found.update({unicodedata.normalize("NFKC", c.label): c.id for c in options})
        found.update({c.id: c.id for c in options})
        _LOOKUPS[key] = found
    return found


class Coercer:
    def __init__(self, pack: Pack):
        self.pack = pack
        self.issues: list[CaseIssue] = []
        self.warnings: list[str] = []

    def _bad(self, key: str, message: str, hint: str = "") -> None:
        self.issues.append(CaseIssue(key, message, hint))

    def choice(self, f: FormField, value: Any, key: str) -> str | None:
        lookup = _choice_lookup(self.pack, f.choices or "")
        if isinstance(value, bool):  # YAML reads an unquoted yes / no as true / false
            value = "yes" if value else "no"
        found = lookup.get(value) if isinstance(value, str) else None
        if found is not None:
            return found
        text = unicodedata.normalize("NFKC", str(value)).strip() if not isinstance(value, bool) else str(value).lower()
        found = lookup.get(text)
        if found is not None:
            return found
        aliases = alias_text(self.pack.choices(f.choices or ""))
        self._bad(key, f"「{f.label}」に「{_shown(value, repr_=False)}」という選択肢はありません",
                  (did_you_mean(text, self.pack.ids(f.choices or "")) or "選択肢から選んでください")
                  + (f"（ほかの言い方: {aliases}）" if aliases else ""))
        return None

    def scalar(self, f: FormField, value: Any, key: str) -> Any:
        kind = f.type
        if kind in ("text", "textarea"):
            if isinstance(value, (list, tuple, dict)):
                self._bad(key, f"「{f.label}」は文字で入力してください（一覧や「項目: 値」は入れられません）")
                return None
            text = str(value).strip()
            if f.pattern and text and not re.search(f.pattern, text):
                self._bad(key, f"「{f.label}」の形式が違います", f.help or "入力の形式を確かめてください")
                return None
            return text or None
        if kind == "integer":
            if isinstance(value, bool):
                number = None
            elif isinstance(value, int):
                number = value
            elif isinstance(value, float) and value.is_integer():
                number = int(value)
            else:
                text = unicodedata.normalize("NFKC", str(value)).strip().removesuffix("歳")
                # At most 20 digits: int() of thousands of digits is refused (or slow) by Python itself.
                number = int(text) if re.fullmatch(r"-?\d{1,20}", text) else None
            if number is None:
                self._bad(key, f"「{f.label}」は整数で入力してください（入力: {_shown(value)}）")
                return None
            if (f.min is not None and number < f.min) or (f.max is not None and number > f.max):
                bounds = (f"{f.min}〜{f.max} の範囲" if f.min is not None and f.max is not None
                          else f"{f.min} 以上" if f.min is not None else f"{f.max} 以下")
                self._bad(key, f"「{f.label}」は {bounds}で入力してください（入力: {number}）")
                return None
            return number
        if kind == "date":
            if isinstance(value, dt.datetime):
                return value.date().isoformat()
            if isinstance(value, dt.date):
                return value.isoformat()
            try:
                return dt.date.fromisoformat(unicodedata.normalize("NFKC", str(value)).strip()).isoformat()
            except ValueError:
                self._bad(key, f"「{f.label}」は日付（例: 2026-11-20）で入力してください（入力: {value!r}）")
                return None
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            text = unicodedata.normalize("NFKC", str(value)).strip().lower()
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            self._bad(key, f"「{f.label}」は はい / いいえ（true / false）で入力してください（入力: {value!r}）")
            return None
        if kind == "select":
            return self.choice(f, value, key)
        if kind == "multiselect":
            values = value if isinstance(value, (list, tuple)) else [value]
            out = [self.choice(f, v, f"{key}[{i}]") for i, v in enumerate(values) if not _empty(v)]
            return list(dict.fromkeys(v for v in out if v is not None)) or None
        raise ValueError(kind)

    def fields(self, fields: tuple[FormField, ...], data: Any, path: str) -> dict:
        """``data`` cleaned to ``fields``' types by the form's compiled coercer (``coerce.py``)."""
        return compiled_form(self.pack, fields, _choice_lookup).run(self, data, path)


def _shown(value: Any, repr_: bool = True, limit: int = 40) -> str:
    """A typed value as a message quotes it: a hostile megabyte is cut to its first characters.

    >>> _shown("x" * 100).endswith("x…'"), _shown("abc")
    (True, "'abc'")
    """
    text = repr(value) if repr_ else str(value)
    return text if len(text) <= limit else text[:limit] + "…" + (text[-1] if repr_ else "")


def flat_facts(pack: Pack, case: Mapping) -> dict:
    """Case-level facts: top-level fields, and group fields as ``group.field``."""
    out = {}
    for f in pack.intake.fields:
        if f.id not in case:
            continue
        if f.type == "group":
            for k, v in case[f.id].items():
                out[f"{f.id}.{k}"] = v
        elif f.type != "repeat":
            out[f.id] = case[f.id]
    return out


_SHOWN_IF: dict[str, tuple[tuple[str, Any], ...]] = {}


def _hide(pack: Pack, case: dict) -> tuple[dict, dict]:
    """Drop fields whose ``show_if`` is false, until nothing changes (one may hide another).

    Returns the case and its flat facts.
    """
    conditional = _SHOWN_IF.get(pack.version)
    if conditional is None:
        conditional = _SHOWN_IF[pack.version] = tuple(
            (f.id, predicate(f.show_if)) for f in pack.intake.fields if f.show_if is not None)
    for _ in range(len(conditional) + 1):
        facts = flat_facts(pack, case)
        hidden = {fid for fid, shown in conditional if fid in case and not shown(facts)}
        if not hidden:
            break
        case = {k: v for k, v in case.items() if k not in hidden}
    return case, facts


def members_of(pack: Pack, case: Mapping) -> tuple[dict, ...]:
    """The person and each household row, with only the answered fields: a ``None`` an odd stored
    record may hold is unanswered, as it is for every condition."""
    m = pack.members
    me = {"relation": m.self_relation, **_answered(case.get(m.self_group))}
    return (me, *[_answered(row) for row in case.get(m.repeat) or () if isinstance(row, Mapping)])


def _answered(row: Any) -> dict:
    return {k: v for k, v in row.items() if v is not None} if isinstance(row, Mapping) else {}


def _listed(value: Any) -> list:
    """A member's answer as a list: none for an empty answer (``None``, as an odd stored record
    may hold), one for a single value."""
    return value if isinstance(value, list) else [] if value is None else [value]


def _deriver(pack: Pack, d) -> Any:
    """One derived fact as a function of (facts, members); None means "not answered"."""
    field_of, field_order = _concern_fields(pack)
    if d.fn == "member_values":
        def value(facts, members):
            values = [v for m in members for v in _listed(m.get(d.field))]
            return list(dict.fromkeys(values)) or None
    elif d.fn == "member_fields":
        def value(facts, members):
            present = {field_of.get(c) for m in members for c in _listed(m.get(d.field))}
            return [f for f in field_order if f in present] or None
    elif d.fn == "count":
        def value(facts, members):
            return len(_listed(facts.get(d.of)))
    elif d.fn in ("max_member", "min_member"):
        pick = max if d.fn == "max_member" else min

        def value(facts, members):
            ages = [m[d.field] for m in members if m.get(d.field) is not None]
            return pick(ages) if ages else None
    elif d.fn == "any_member":
        value = predicate(AnyMember(d.where))
    elif d.fn == "count_members":
        value = member_counter(d.where)
    else:
        value = predicate(d.when)
    return value


_DERIVERS: dict[tuple[str, frozenset[str] | None], tuple[tuple[str, Any], ...]] = {}


def derived_needed(pack: Pack, facts: Iterable[str]) -> frozenset[str]:
    """The derived facts that ``facts`` are, or are worked out from (a count ``of`` one, a
    condition reading one), however deep. Member-level values are not derived facts.

    >>> from engine.pack import load_pack
    >>> sorted(derived_needed(load_pack(), ["resident", "field_count"]))
    ['field_count', 'fields']
    """
    by_id = {d.id: d for d in pack.derived}
    out: set[str] = set()
    todo = [f for f in facts if f in by_id]
    while todo:
        fact = todo.pop()
        if fact in out:
            continue
        out.add(fact)
        d = by_id[fact]
        reads = [d.of] if d.fn == "count" else list(referenced_facts(d.when)) if d.when is not None else []
        todo.extend(r for r in reads if r in by_id)
    return frozenset(out)


def derive(pack: Pack, facts: dict, members: tuple[dict, ...], only: frozenset[str] | None = None) -> dict:
    """Add the derived facts declared in rules.yaml, in declaration order (each built once per pack version).

    ``only``: just these (closed under :func:`derived_needed`), for a reader that needs no others.
    """
    derivers = _DERIVERS.get((pack.version, only))
    if derivers is None:
        if len(_DERIVERS) > 1_000:          # selections of drafts long gone
            _DERIVERS.clear()
        derivers = _DERIVERS[(pack.version, only)] = tuple(
            (d.id, _deriver(pack, d)) for d in pack.derived if only is None or d.id in only)
    for fact, value_of in derivers:
        value = value_of(facts, members)
        if value is not None:
            facts[fact] = value
    return facts


LEGACY_CONSENT = "consent"


def legacy_contract(pack: Pack, raw_case: Mapping) -> tuple[Mapping, list[CaseIssue]]:
    """The old contract's top-level ``consent`` is the person's own: it becomes ``person.consent``.

    Only when the intake form has no top-level ``consent`` and its self group has one.

    >>> from engine.pack import load_pack
    >>> legacy_contract(load_pack(), {"consent": "no", "person": {"age": 40}})[0]
    {'person': {'age': 40, 'consent': 'no'}}
    """
    group = pack.intake.field(pack.members.self_group)
    if (LEGACY_CONSENT not in raw_case or pack.intake.field(LEGACY_CONSENT) is not None or group is None
            or not any(f.id == LEGACY_CONSENT for f in group.fields)):
        return raw_case, []
    case = {k: v for k, v in raw_case.items() if k != LEGACY_CONSENT}
    value, person = raw_case[LEGACY_CONSENT], case.get(group.id)
    if _empty(value):
        return case, []
    if person is None:
        person = {}
    if not isinstance(person, Mapping):
        return case, []          # the coercer reports the broken group
    own = person.get(LEGACY_CONSENT)
    if not _empty(own) and own != value:
        return case, [CaseIssue(LEGACY_CONSENT, f"本人同意が2か所で違います（consent: {value!r}、{group.id}.consent: {own!r}）",
                                f"{group.id}.consent だけを書いてください")]
    case[group.id] = {**person, LEGACY_CONSENT: value}
    return case, []


def prepare(pack: Pack, raw_case: Mapping, trusted: bool = False, derived: frozenset[str] | None = None) -> Facts:
    """Coerce, hide, flatten and derive; raise ``CaseError`` naming every bad value.

    ``trusted``: the case was coerced by this very pack before (a stored intake decided
    under the same version), so its values already have their declared types.
    ``derived``: work out only these derived facts (see :func:`derived_needed`); all when None.
    """
    coercer = Coercer(pack)
    raw_case, legacy = legacy_contract(pack, raw_case)
    coercer.issues += legacy
    if trusted:
        case = {f.id: raw_case[f.id] for f in pack.intake.fields if f.id in raw_case}
    else:
        case = coercer.fields(pack.intake.fields, raw_case, "")
    if coercer.issues:
        raise CaseError(coercer.issues)
    case, facts = _hide(pack, case)
    members = members_of(pack, case)
    facts = derive(pack, facts, members, derived)
    return Facts(case, facts, members, tuple(coercer.warnings))


def missing_required(form_fields: tuple[FormField, ...], case: Mapping, path: str = "") -> list[CaseIssue]:
    """Required fields left empty; a field hidden by its ``show_if`` is not required."""
    shown: dict = {}
    for f in form_fields:
        value = case.get(f.id)
        if f.type == "group" and isinstance(value, Mapping):
            shown.update({f"{f.id}.{k}": v for k, v in value.items() if not _empty(v)})
        elif f.type != "repeat" and not _empty(value):
            shown[f.id] = value
    out = []
    for f in form_fields:
        if f.show_if is not None and not evaluate(f.show_if, shown):
            continue
        key = f"{path}.{f.id}" if path else f.id
        value = case.get(f.id)
        if f.type == "group":
            # The form always shows a group's fields, so its required ones are required even
            # when the group was left out altogether (a case file without ``person``).
            out += missing_required(f.fields, value if isinstance(value, Mapping) else {}, key)
        elif f.type == "repeat":
            for i, row in enumerate(value or []):
                out += missing_required(f.fields, row, f"{key}[{i}]")
        elif f.required and _empty(value):
            out.append(CaseIssue(key, f"「{f.label}」は必須です", "入力してください"))
    return out


def visible(pack: Pack, form_fields: tuple[FormField, ...], raw: Mapping) -> dict[str, bool]:
    """Which top-level fields a form shows for the values typed so far.

    Values that do not coerce yet (a half-typed age) simply count as unanswered here;
    the form reports them when it is submitted.
    """
    coercer = Coercer(pack)
    values: dict = {}
    for f in form_fields:
        value = raw.get(f.id)
        if _empty(value) or f.type == "repeat":
            continue
        if f.type == "group":
            for c in f.fields:
                if not _empty((value or {}).get(c.id)):
                    v = coercer.scalar(c, value[c.id], c.id)
                    if v is not None:
                        values[f"{f.id}.{c.id}"] = v
        else:
            v = coercer.scalar(f, value, f.id)
            if v is not None:
                values[f.id] = v
    return {f.id: f.show_if is None or evaluate(f.show_if, values) for f in form_fields}


def coerce_form(pack: Pack, form_fields: tuple[FormField, ...], raw: Mapping, require: bool = True) -> dict:
    """Values of any form (支援プラン, 会議記録) cleaned to their declared types.

    Raises ``CaseError`` naming every bad or (with ``require``) missing value.
    """
    clean, problems = form_issues(pack, form_fields, raw, require)
    if problems:
        raise CaseError(problems)
    return clean


def form_issues(pack: Pack, form_fields: tuple[FormField, ...], raw: Mapping,
                require: bool = True) -> tuple[dict, list[CaseIssue]]:
    """The cleaned values and every problem at once: bad values, then (with ``require``)
    required fields left empty; one issue per field, so a bad age is not also "missing"."""
    coercer = Coercer(pack)
    clean = coercer.fields(form_fields, raw, "")
    problems = list(coercer.issues)
    if require:
        bad = {i.key.split("[")[0] if i.key.endswith("]") else i.key for i in problems}
        problems += [i for i in missing_required(form_fields, clean) if i.key not in bad]
    return clean, problems
