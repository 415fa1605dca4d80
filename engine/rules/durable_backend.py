"""The only module that touches durable_rules; every quirk of the library stays here.

We drive its C module ``durable_rules_engine`` directly: the Python ``Host`` starts two
timer threads per instance and spends most of its time turning JSON back and forth
(measured ~2.5x slower), and we need none of its state machinery. What this module
guarantees, whatever the rules say:

- every rule is guarded by ``$ex`` on a case marker, so no rule ever matches the
  engine's own state object (a bare ``$nex`` rule would, and loop forever);
- ``$or`` fires once per true branch, so fired rules are collected as a set;
- there is no ``$not``: negation is pushed down (De Morgan, and ``$ex``/``$nex`` for
  unanswered facts) at compile time;
- there is no ``$in`` and no counting: ``in`` becomes ``$or`` of equalities, and
  "number of members with ..." is computed before the fact is asserted;
- a ruleset name can be registered once and is never freed: rulesets are named by the
  hash of their definition and created only when that definition is new;
- one fixed session id and ``retract_fact`` after each case (``delete_state`` on a
  session whose fact matched nothing crashes the process);
- one lock around every call: Streamlit runs each browser session as a thread;
- no ``$iany`` over the members: inside it, an ``$or`` gave wrong answers
  (``any_member: {any: [age >= 65, concerns contains disability]}`` was false for a
  70-year-old whose concerns lacked ``disability``). "Some member ..." is counted before
  the fact is asserted, like "number of members with ...", and tested as a count >= 1.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import durable_rules_engine as _engine

from engine.errors import TsunaguError
from engine.pack.model import Rule
from engine.rules.conditions import All, AnyMember, AnyOf, Atom, Condition, CountMembers, Not
from engine.rules.predicate import predicate

_LOCK = threading.Lock()
_HANDLES: dict[str, int] = {}          # ruleset name → engine handle, for the process lifetime
_IDS = itertools.count(1)
_SESSION = "0"
_CASE = "__case"
_NEG = {"=": "!=", "!=": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">", "in": "not_in", "not_in": "in",
        "contains": "not_contains", "not_contains": "contains", "answered": "unanswered", "unanswered": "answered"}
_DR_OPS = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


class EngineError(TsunaguError):
    """The rule engine refused a ruleset or a fact (its own errors are bare numbers)."""


def fact_key(fact: str) -> str:
    """Case facts as flat keys: durable_rules reads dots as paths.

    >>> fact_key("person.age")
    'person__age'
    """
    return fact.replace(".", "__")


@dataclass(frozen=True)
class CompiledRules:
    name: str
    handle: int
    counters: tuple[tuple[str, CountMembers], ...]   # synthetic fact → the count it stands for
    facts: frozenset[str]          # case facts the rules read: only these are sent to the engine
    keys: tuple[tuple[str, str], ...]   # (fact, its key in the engine) for each of them
    counters_where: tuple[tuple[str, Any], ...] = ()   # synthetic fact → its ``where`` as a predicate


class _Compiler:
    def __init__(self) -> None:
        self.counters: dict[CountMembers, str] = {}
        self.facts: set[str] = set()

    def key(self, fact: str) -> str:
        self.facts.add(fact)
        return fact_key(fact)

    def atom(self, a: Atom, neg: bool) -> dict:
        op = _NEG[a.op] if neg else a.op
        k = self.key(a.fact)
        exists, missing = {"$ex": {k: 1}}, {"$nex": {k: 1}}
        if op == "answered":
            return exists
        if op == "unanswered":
            return missing
        if op == "=":
            test = {k: a.value}
        elif op in _DR_OPS:
            test = {_DR_OPS[op]: {k: a.value}}
        elif op == "in":
            test = {"$or": [{k: v} for v in a.value]}
        elif op == "not_in":
            test = {"$and": [{"$neq": {k: v}} for v in a.value]}
        elif op == "contains":
            test = {"$iany": {k: {"$i": a.value}}}
        else:  # not_contains
            test = {"$iall": {k: {"$neq": {"$i": a.value}}}}
        # A comparison on an unanswered fact is false; its negation is therefore true.
        return {"$or": [missing, test]} if neg else {"$and": [exists, test]}

    def compile(self, c: Condition, neg: bool = False) -> dict | None:
        if isinstance(c, Atom):
            return self.atom(c, neg)
        if isinstance(c, Not):
            return self.compile(c.item, not neg)
        if isinstance(c, (All, AnyOf)):
            conj = isinstance(c, All) != neg
            parts = [self.compile(i, neg) for i in c.items]
            if not parts:  # all [] is true, any [] is false
                return None if conj else {"$nex": {_CASE: 1}}
            parts = [p for p in parts if p is not None] or [{"$ex": {_CASE: 1}}]
            return {"$and" if conj else "$or": parts}
        if isinstance(c, AnyMember):  # counted in Python (see the module doc), never $iany
            return self.compile(CountMembers(c.where, ">=", 1), neg)
        if isinstance(c, CountMembers):
            name = self.counters.setdefault(c, f"__count{len(self.counters)}")
            return self.atom(Atom(name, c.op, c.value), neg)
        raise EngineError(f"条件の形が不明です: {c!r}")


def compile_rules(rules: Iterable[Rule]) -> CompiledRules:
    """Compile enabled rules into one durable_rules ruleset (created once per content)."""
    compiler = _Compiler()
    definition = {}
    for rule in rules:
        if not rule.enabled:
            continue
        body = compiler.compile(rule.when)
        guard = {"$ex": {_CASE: 1}}
        definition[rule.id] = {"all": [{"m": {"$and": [guard, body]} if body else guard}]}
    text = json.dumps(definition, ensure_ascii=False, sort_keys=True)
    name = "tsunagu_" + hashlib.sha256(text.encode()).hexdigest()[:16]
    with _LOCK:
        handle = _HANDLES.get(name)
        if handle is None:
            try:
                handle = _engine.create_ruleset(name, text)
            except _engine.error as err:
                raise EngineError(f"ルールをルールエンジンに登録できませんでした（{err}）。"
                                  "tsunagu validate で設定を確かめてください") from err
            _HANDLES[name] = handle
    counters = tuple((n, c) for c, n in compiler.counters.items())
    return CompiledRules(name, handle, counters, frozenset(compiler.facts),
                         tuple((f, fact_key(f)) for f in sorted(compiler.facts)),
                         tuple((n, predicate(c.where)) for n, c in counters))


try:   # one C encoder for every case: json.dumps builds a new one per call
    from json.encoder import c_make_encoder as _make_encoder, encode_basestring as _encode_text
    def _unserializable(value: Any) -> Any:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    _ENCODER = _make_encoder(None, _unserializable, _encode_text, None, ":", ",", False, False, True)

    def _dumps(body: dict) -> str:
        return "".join(_ENCODER(body, 0))
except (ImportError, TypeError):  # no C accelerator
    def _dumps(body: dict) -> str:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _json_fact(compiled: CompiledRules, facts: Mapping[str, Any], members: tuple[Mapping, ...], fact_id: str) -> str:
    # Only what the rules read goes in: the engine parses and stores every byte it gets,
    # and the summary or a name is never a condition.
    body = {key: facts[fact] for fact, key in compiled.keys if fact in facts}
    for name, holds in compiled.counters_where:
        body[name] = sum(holds(m) for m in members)
    body.update({"sid": _SESSION, "id": fact_id, _CASE: 1})
    return _dumps(body)


_ABSENT = object()


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def input_key(compiled: CompiledRules, facts: Mapping[str, Any], members: tuple[Mapping, ...]) -> tuple:
    """What ``fired_rules`` would hand the engine for this case, as a hashable key.

    Two cases with equal keys send the engine the same fact, so the same rules fire.
    """
    values = tuple(_hashable(facts[fact]) if fact in facts else _ABSENT for fact, _ in compiled.keys)
    counts = tuple(sum(holds(m) for m in members) for _, holds in compiled.counters_where)
    return values, counts


def _rule_name(message: str) -> str:
    # Messages look like {"<rule id>":{"m":{...}}}; rule ids are ASCII without quotes.
    return message[2:message.index('"', 2)]


def fired_rules(compiled: CompiledRules, facts: Mapping[str, Any], members: tuple[Mapping, ...]) -> set[str]:
    """Ids of the rules whose condition holds for one case."""
    fact = _json_fact(compiled, facts, members, f"c{next(_IDS)}")
    fired: set[str] = set()
    handle = compiled.handle
    with _LOCK:
        try:
            state = _engine.assert_fact(handle, fact)[1]
        except _engine.error as err:
            raise EngineError(f"ルールエンジンがケースを受け付けませんでした（{err}）") from err
        try:
            result = _engine.start_action_for_state(handle, state)
            if result:
                fired.add(_rule_name(result[1]))
                message = _engine.complete_and_start_action(handle, state)
                while message:
                    fired.add(_rule_name(message))
                    message = _engine.complete_and_start_action(handle, state)
        except _engine.error as err:
            raise EngineError(f"ルールエンジンがケースを評価できませんでした（{err}）") from err
        finally:
            _engine.retract_fact(handle, fact)
    return fired
