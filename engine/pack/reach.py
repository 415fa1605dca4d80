"""Finding rules that can never fire: contradictions inside one ``all``.

Conservative on purpose: it only reports what is certainly impossible (a value outside
the field's range, two different required values, answered and unanswered at once),
so a reported rule is always a real mistake.
"""
from __future__ import annotations

import math
from typing import Mapping

from engine.rules.conditions import All, AnyMember, AnyOf, Atom, Condition, FactInfo


def _atoms(cond: All) -> list[Atom]:
    out = []
    for c in cond.items:
        if isinstance(c, Atom):
            out.append(c)
        elif isinstance(c, All):
            out.extend(_atoms(c))
    return out


def _fact_possible(info: FactInfo, atoms: list[Atom], choice_ids) -> str | None:
    """Why ``atoms`` (all on one fact) cannot hold together, or None."""
    ops = {a.op for a in atoms}
    if "unanswered" in ops and len(ops) > 1:
        return f"「{info.label}」が未回答であり、かつ値の条件もある"
    if info.type in ("select", "boolean"):
        domain = set(choice_ids(info.choices)) if info.type == "select" else {True, False}
        for a in atoms:
            if a.op == "=":
                domain &= {a.value}
            elif a.op == "!=":
                domain -= {a.value}
            elif a.op == "in":
                domain &= set(a.value)
            elif a.op == "not_in":
                domain -= set(a.value)
        return None if domain else f"「{info.label}」がとれる値が残らない"
    if info.type == "integer":
        lo = info.min if info.min is not None else -math.inf
        hi = info.max if info.max is not None else math.inf
        allowed = None
        for a in atoms:
            v = a.value
            if a.op == "=":
                lo, hi = max(lo, v), min(hi, v)
            elif a.op == ">":
                lo = max(lo, v + 1)
            elif a.op == ">=":
                lo = max(lo, v)
            elif a.op == "<":
                hi = min(hi, v - 1)
            elif a.op == "<=":
                hi = min(hi, v)
            elif a.op == "in":
                allowed = set(v) if allowed is None else allowed & set(v)
        if allowed is not None:
            allowed = {v for v in allowed if lo <= v <= hi}
            return None if allowed else f"「{info.label}」がとれる値が残らない"
        if lo > hi:
            rng = f"{'' if info.min is None else info.min}〜{'' if info.max is None else info.max}"
            return f"「{info.label}」の条件を満たす数がない（とれる範囲 {rng}）"
        return None
    if info.type == "multiselect":
        need = {a.value for a in atoms if a.op == "contains"}
        forbid = {a.value for a in atoms if a.op == "not_contains"}
        return f"「{info.label}」に同じ値を含み、かつ含まない" if need & forbid else None
    return None


def why_never(cond: Condition, facts: Mapping[str, FactInfo], choice_ids,
              member_facts: Mapping[str, FactInfo] | None = None) -> str | None:
    """A Japanese reason why ``cond`` can never hold, or None if it may hold."""
    if isinstance(cond, Atom):
        return _fact_possible(facts[cond.fact], [cond], choice_ids) if cond.fact in facts else None
    if isinstance(cond, AnyOf):
        reasons = [why_never(c, facts, choice_ids, member_facts) for c in cond.items]
        return reasons[0] if reasons and all(reasons) else None
    if isinstance(cond, All):
        by_fact: dict[str, list[Atom]] = {}
        for a in _atoms(cond):
            by_fact.setdefault(a.fact, []).append(a)
        for fact, atoms in by_fact.items():
            if fact in facts:
                why = _fact_possible(facts[fact], atoms, choice_ids)
                if why:
                    return why
        for c in cond.items:
            if not isinstance(c, Atom):     # atoms were checked together above
                why = why_never(c, facts, choice_ids, member_facts)
                if why:
                    return why
        return None
    if isinstance(cond, AnyMember) and member_facts is not None:
        return why_never(cond.where, member_facts, choice_ids)
    return None
