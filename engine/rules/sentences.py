"""Rules as Japanese sentences, for staff who never read YAML.

阪南市在住、かつ世帯の分野の数が2以上、かつ本人同意が「同意あり」なら → 事業: 多機関協働事業
"""
from __future__ import annotations

from typing import Any

from engine.pack.model import Action, Pack, Rule
from engine.rules.conditions import All, AnyMember, AnyOf, Atom, Condition, CountMembers, FactInfo, Not

_CMP = {"<": "未満", "<=": "以下", ">": "より大きい", ">=": "以上"}


def proposed_note(pack: Pack) -> str:
    """How a proposed program is decided: in the pack's case meeting that needs consent."""
    meeting = next((m for m in pack.meetings if m.get("consent_required")), None)
    return f"{meeting.label if meeting else '会議'}で利用の適否を協議"

POLICY_TEXT = "市の方針（変更できます）"


def provenance_text(rule: Rule) -> str:
    """Where a rule comes from: the source's words, or the city's own policy.

    >>> provenance_text(Rule("r", "r", None, Action(), source="支援会議は本人同意がない人"))
    '出典: 『支援会議は本人同意がない人』'
    >>> provenance_text(Rule("r", "r", None, Action()))
    '市の方針（変更できます）'
    """
    return basis_text(rule.source, rule.law)


def basis_text(source: str | None, law: str | None) -> str:
    """The words for a basis: a quote of the source, a law, else the city's policy."""
    if source:
        return f"出典: 『{source}』"
    return f"法令: {law}" if law else POLICY_TEXT


def _value(pack: Pack, info: FactInfo | None, value: Any) -> str:
    if info is not None and info.choices:
        return f"「{pack.label(info.choices, value)}」"
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if info is not None and info.type == "integer" and "年齢" in info.label:
        return f"{value}歳"
    return str(value)


def _atom(pack: Pack, a: Atom, member: bool) -> str:
    catalog = pack.member_facts if member else pack.facts
    info = catalog.get(a.fact)
    label = info.label if info else a.fact
    op, v = a.op, a.value
    if op == "unanswered":
        return f"{label}が未回答"
    if op == "answered":
        return f"{label}が回答済み"
    if info is not None and info.type == "boolean" and op in ("=", "!=") and isinstance(v, bool):
        yes = (op == "=") == v
        return label if yes else f"{label}ではない"
    if op == "=":
        return f"{label}が{_value(pack, info, v)}"
    if op == "!=":
        return f"{label}が{_value(pack, info, v)}ではない"
    if op in _CMP:
        return f"{label}が{_value(pack, info, v)}{_CMP[op]}"
    if op in ("in", "not_in"):
        values = "".join(_value(pack, info, x) for x in v)
        return f"{label}が{values}のいずれか" + ("" if op == "in" else "ではない")
    if op == "contains":
        return f"{label}に{_value(pack, info, v)}を含む"
    if op == "not_contains":
        return f"{label}に{_value(pack, info, v)}を含まない"
    return f"{label} {op} {v}"


def _quote(text: str) -> str:
    """「…」 around a clause; quotes inside it become 『』, as Japanese writing does.

    >>> _quote("本人同意が「同意あり」")
    '「本人同意が『同意あり』」'
    """
    return "「" + text.replace("「", "『").replace("」", "』") + "」"


def condition_text(pack: Pack, cond: Condition, member: bool = False) -> str:
    """One condition as Japanese.

    >>> from engine.pack import load_pack
    >>> condition_text(load_pack(), All((Atom("field_count", ">=", 2), Atom("person.consent", "=", "yes"))))
    '世帯の分野の数が2以上、かつ相談対象者（本人）の本人同意（関係機関での情報共有）が「同意あり」'
    >>> condition_text(load_pack(), AnyMember(All((Atom("age", ">=", 65), Not(Atom("consent", "=", "yes"))))))
    '世帯員（本人を含む）のだれかが「年齢が65歳以上、かつ同意が得られていない（未確認を含む）」'
    """
    if isinstance(cond, Atom):
        return _atom(pack, cond, member)
    if isinstance(cond, All):
        if not cond.items:
            return "いつでも"
        return "、かつ".join(condition_text(pack, c, member) for c in cond.items)
    if isinstance(cond, AnyOf):
        if not cond.items:
            return "決して成り立たない"
        return "（" + "、または".join(condition_text(pack, c, member) for c in cond.items) + "）"
    if isinstance(cond, Not):
        inner = cond.item
        info = (pack.member_facts if member else pack.facts).get(inner.fact) if isinstance(inner, Atom) else None
        if info is not None and info.choices == "consent" and inner.op == "=" and inner.value == "yes":
            # a member's consent is that member's own, whatever the person group calls it
            return f"{'同意' if member else info.label.split('（')[0]}が得られていない（{pack.label('consent', 'unknown')}を含む）"
        if isinstance(inner, Atom) and inner.op == "=" and not isinstance(inner.value, bool):
            return _atom(pack, Atom(inner.fact, "!=", inner.value), member) + "（未回答を含む）"
        return f"{_quote(condition_text(pack, inner, member))}ではない"
    if isinstance(cond, AnyMember):
        return f"世帯員（本人を含む）のだれかが{_quote(condition_text(pack, cond.where, True))}"
    if isinstance(cond, CountMembers):
        return f"{_quote(condition_text(pack, cond.where, True))}世帯員が{cond.value}人{_CMP.get(cond.op, cond.op)}"
    return str(cond)


def action_text(pack: Pack, action: Action) -> str:
    parts = []
    if action.programs:
        parts.append("事業: " + "・".join(pack.label("programs", p) for p in action.programs))
    if action.proposed:
        parts.append("提案: " + "・".join(f"{pack.label('programs', p)}（{proposed_note(pack)}）" for p in action.proposed))
    if action.agencies:
        names = []
        for ref in action.agencies:
            if ref.id:
                names.append(pack.label("agencies", ref.id))
            else:
                kind = next((a.label for a in pack.agencies if a.get("kind") == ref.kind), ref.kind)
                names.append(f"圏域を担当する{kind.split('（')[0].rstrip('AB')}")
        parts.append("機関: " + "・".join(names))
    if action.meetings:
        parts.append("会議: " + "・".join(pack.label("meetings", m) for m in action.meetings))
    if action.priority:
        parts.append("優先度: " + pack.label("priorities", action.priority))
    if action.resources:
        parts.append("地域資源の提案: " + "・".join(pack.label("resources", r) for r in action.resources))
    return "、".join(parts) or "理由の表示のみ"


def rule_text(pack: Pack, rule: Rule) -> str:
    """「条件なら → 動作」"""
    head = condition_text(pack, rule.when)
    text = f"{head}なら → {action_text(pack, rule.then)}" if head != "いつでも" else f"すべての相談 → {action_text(pack, rule.then)}"
    return text if rule.enabled else f"（無効）{text}"
