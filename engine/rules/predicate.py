"""Conditions compiled to Python closures, for the plain-Python checks that run on every case.

``conditions.evaluate`` walks the condition tree and dispatches on the operator each time;
``show_if``, derived facts, member counts and the trace's 該当する世帯員 ask the same
questions of every case, so each condition is turned once into a closure with the same
meaning (a comparison on an unanswered fact is false; ``not`` turns that around).
"""
from __future__ import annotations

import operator
from typing import Any, Callable, Mapping

from engine.rules.conditions import All, AnyMember, AnyOf, Atom, Condition, CountMembers, Not

Predicate = Callable[[Mapping[str, Any], tuple], bool]

_COMPARE = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}
_TESTS = {**_COMPARE,
          "in": lambda value, want: value in want, "not_in": lambda value, want: value not in want,
          "contains": lambda value, want: want in value, "not_contains": lambda value, want: want not in value}
_CACHE: dict[int, tuple[Condition, Predicate]] = {}


def _atom(a: Atom) -> Predicate:
    fact, want = a.fact, a.value
    if a.op == "unanswered":
        return lambda facts, members=(): fact not in facts
    if a.op == "answered":
        return lambda facts, members=(): fact in facts
    missing, test = object(), _TESTS[a.op]

    def holds(facts, members=()):
        value = facts.get(fact, missing)
        return value is not missing and test(value, want)
    return holds


def _build(c: Condition) -> Predicate:
    if isinstance(c, Atom):
        return _atom(c)
    if isinstance(c, All):
        parts = tuple(_build(i) for i in c.items)
        return lambda facts, members=(): all(p(facts, members) for p in parts)
    if isinstance(c, AnyOf):
        parts = tuple(_build(i) for i in c.items)
        return lambda facts, members=(): any(p(facts, members) for p in parts)
    if isinstance(c, Not):
        inner = _build(c.item)
        return lambda facts, members=(): not inner(facts, members)
    if isinstance(c, AnyMember):
        where = _build(c.where)
        return lambda facts, members=(): any(where(m) for m in members)
    if isinstance(c, CountMembers):
        where, compare, want = _build(c.where), _COMPARE[c.op], c.value
        return lambda facts, members=(): compare(sum(where(m) for m in members), want)
    raise TypeError(f"not a condition: {c!r}")


def predicate(cond: Condition) -> Predicate:
    """``cond`` as a function of ``(facts, members=())``, equal to ``conditions.evaluate``.

    >>> from engine.rules.conditions import Atom, Not
    >>> holds = predicate(Not(Atom("consent", "=", "yes")))
    >>> holds({}), holds({"consent": "yes"}), holds({"consent": "no"})
    (True, False, True)
    """
    found = _CACHE.get(id(cond))
    if found is None or found[0] is not cond:
        if len(_CACHE) > 20_000:      # conditions of drafts long gone
            _CACHE.clear()
        found = _CACHE[id(cond)] = (cond, _build(cond))
    return found[1]
