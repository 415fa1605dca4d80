"""Conditions compiled to Python functions, for the plain-Python checks that run on every case.

``conditions.evaluate`` walks the condition tree and dispatches on the operator each time;
``show_if``, derived facts, member counts and the trace's 該当する世帯員 ask the same
questions of every case, so each condition is turned once into one function whose body is a
single expression with the same meaning (a comparison on an unanswered fact is false; ``not``
turns that around). Nested closures cost a call per node; the expression costs none.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from engine.rules.conditions import All, AnyMember, AnyOf, Atom, Condition, CountMembers, Not

Predicate = Callable[[Mapping[str, Any], tuple], bool]

_COMPARE = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
# ``{v}`` is the fact's value, ``{w}`` the value the condition wants.
_TESTS = {**{op: "{v} %s {w}" % py for op, py in _COMPARE.items()},
          "in": "{v} in {w}", "not_in": "{v} not in {w}", "contains": "{w} in {v}", "not_contains": "{w} not in {v}"}
_CACHE: dict[int, tuple[Condition, Predicate]] = {}


class _Source:
    """Conditions as Python source: one function per scope (the case, or one member).

    A function reads each fact it tests once, at its top (``a0 = f.get(k0, _missing)``), and
    returns one expression; a member quantifier calls the member's own function per member.
    Fact names and wanted values never enter the source: each is a constant of the namespace
    (``k0``, ``k1``, …), so a value typed in the rule editor is data, not code.
    """

    def __init__(self) -> None:
        self.constants: dict[str, Any] = {"_missing": object()}
        self.functions: list[str] = []

    def constant(self, value: Any) -> str:
        name = f"k{len(self.constants)}"
        self.constants[name] = value
        return name

    def function(self, expression: Callable[[dict[str, str]], str]) -> str:
        """Define ``def fN(f, ms=())`` returning ``expression(reads)``; ``reads`` maps a fact to its local."""
        reads: dict[str, str] = {}
        body = expression(reads)
        name = f"f{len(self.functions)}"
        prologue = "".join(f"    {local} = f.get({self.constant(fact)}, _missing)\n" for fact, local in reads.items())
        self.functions.append(f"def {name}(f, ms=()):\n{prologue}    return {body}\n")
        return name

    def expr(self, c: Condition, reads: dict[str, str], members: str) -> str:
        if isinstance(c, Atom):
            value = reads.setdefault(c.fact, f"a{len(reads)}")
            if c.op == "unanswered":
                return f"({value} is _missing)"
            if c.op == "answered":
                return f"({value} is not _missing)"
            return f"({value} is not _missing and {_TESTS[c.op].format(v=value, w=self.constant(c.value))})"
        if isinstance(c, All):
            return "(" + " and ".join(self.expr(i, reads, members) for i in c.items) + ")" if c.items else "True"
        if isinstance(c, AnyOf):
            return "(" + " or ".join(self.expr(i, reads, members) for i in c.items) + ")" if c.items else "False"
        if isinstance(c, Not):
            return f"(not {self.expr(c.item, reads, members)})"
        if isinstance(c, AnyMember):
            return f"any({self.matching(c.where, members)})"
        if isinstance(c, CountMembers):
            return f"(len({self.matching(c.where, members)}) {_COMPARE[c.op]} {self.constant(c.value)})"
        raise TypeError(f"not a condition: {c!r}")

    def matching(self, where: Condition, members: str) -> str:
        """A list with one ``True`` per member ``where`` holds for (a member has no members of its own)."""
        holds = self.function(lambda inner: self.expr(where, inner, "()"))
        return f"[True for _m in {members} if {holds}(_m)]"

    def build(self, expression: Callable[[dict[str, str]], str]) -> Callable:
        name = self.function(expression)
        namespace = dict(self.constants)
        exec(compile("".join(self.functions), "<condition>", "exec"), namespace)
        return namespace[name]


def _build(c: Condition) -> Predicate:
    source = _Source()
    return source.build(lambda reads: source.expr(c, reads, "ms"))


def member_counter(where: Condition) -> Callable[[Mapping[str, Any], tuple], int]:
    """How many of the members ``where`` holds for, as a function of ``(facts, members)``.

    >>> from engine.rules.conditions import Atom
    >>> member_counter(Atom("age", ">=", 65))({}, ({"age": 70}, {"age": 40}, {}, {"age": 81}))
    2
    """
    source = _Source()
    return source.build(lambda reads: f"len({source.matching(where, 'ms')})")


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
