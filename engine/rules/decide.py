"""``decide(pack, case) -> Decision``: data in, data out.

The rule engine answers one question, which rules fire; turning fired rules into
programs, agencies and meetings, and explaining them, is plain Python here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple

from engine.pack.model import AgencyRef, Pack, Rule
from engine.rules.conditions import AnyMember, Condition, referenced_facts
from engine.rules.durable_backend import CompiledRules, compile_rules, fired_rules
from engine.rules.facts import Facts, prepare
from engine.rules.predicate import predicate


class TraceEntry(NamedTuple):
    """One fired rule: why it fired and the facts it read (a tuple: cheap to build per case)."""

    rule: str
    label: str
    reason: str
    facts: Mapping[str, Any]
    source: str = ""                     # the source's words the rule follows
    law: str = ""                        # the law that requires it; neither: the city's policy


@dataclass(frozen=True)
class Decision:
    config_version: str
    priority: str
    programs: tuple[str, ...]
    agencies: tuple[str, ...]
    meetings: tuple[str, ...]
    resources: tuple[str, ...]
    trace: tuple[TraceEntry, ...]
    warnings: tuple[str, ...] = field(default=())
    proposed: tuple[str, ...] = field(default=())   # programs proposed for a meeting to decide, not decided

    def to_json(self, pack: Pack) -> dict:
        """The CLI's and the store's form, with Japanese names from the roster."""
        def named(kind: str, ids: tuple[str, ...]) -> list[dict]:
            return [{"id": i, "name": pack.label(kind, i)} for i in ids]
        return {
            "config_version": self.config_version,
            "priority": self.priority,
            "programs": named("programs", self.programs),
            "agencies": named("agencies", self.agencies),
            "meetings": named("meetings", self.meetings),
            "proposed_programs": named("programs", self.proposed),
            "resources": named("resources", self.resources),
            "trace": [{"rule": t.rule, "label": t.label, "reason": t.reason, "facts": dict(t.facts),
                       **({"source": t.source} if t.source else {"law": t.law} if t.law else {"policy": "city"})}
                      for t in self.trace],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class _Routing:
    """What a set of fired rules routes to, for one value of each ``covering`` fact."""

    programs: tuple[str, ...]
    agencies: tuple[str, ...]
    meetings: tuple[str, ...]
    resources: tuple[str, ...]
    priority: str
    warnings: tuple[str, ...]
    trace: tuple[tuple, ...]                  # (id, label, reason, facts, quantifiers, source, law)
    bare: tuple[TraceEntry, ...]              # the trace without facts (explain=False)
    proposed: tuple[str, ...]                 # programs proposed for a meeting to decide


@dataclass(frozen=True)
class _Plan:
    """Everything ``decide`` needs of a pack, worked out once per pack version."""

    compiled: CompiledRules
    ranks: Mapping[str, int]
    lowest: str
    order: Mapping[str, Mapping[str, int]]     # list name → id → position, for output order
    by_kind: Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]]   # kind → ((agency id, areas), ...)
    kind_label: Mapping[str, str]
    explain: Mapping[str, tuple[tuple[str, ...], tuple]]   # rule id → (facts it reads, member predicates)
    covering: tuple[str, ...]                  # facts an agency action looks up (圏域)
    relation_labels: Mapping[str, str]         # relation id → 続柄, for 該当する世帯員
    actions: Mapping[str, tuple[int, Any]]     # rule id → (its place in the rules, its action)
    routings: dict = field(default_factory=dict)   # (fired ids, covering values) → _Routing
    routed: dict = field(default_factory=dict)     # (fired ids, covering values) → routed_ids' answer


_PLANS: dict[str, _Plan] = {}


def _plan(pack: Pack) -> _Plan:
    found = _PLANS.get(pack.version)
    if found is None:
        ranks = {p.id: p.get("rank", 0) for p in pack.choices("priorities")}
        by_kind: dict[str, list] = {}
        for a in pack.agencies:
            by_kind.setdefault(a.get("kind"), []).append((a.id, tuple(a.get("areas") or ())))
        covering = {ref.covering for r in pack.rules for ref in r.then.agencies if not ref.id}
        found = _PLANS[pack.version] = _Plan(
            compiled=compile_rules(pack.rules), ranks=ranks, lowest=min(ranks, key=ranks.get),
            order={k: {item: i for i, item in enumerate(pack.ids(k))} for k in ("programs", "agencies", "meetings", "resources")},
            by_kind={k: tuple(v) for k, v in by_kind.items()},
            kind_label={a.get("kind"): a.label for a in reversed(pack.agencies)},
            explain={r.id: (referenced_facts(r.when), tuple(predicate(c.where) for c in _member_tests(pack, r.when)))
                     for r in pack.rules},
            covering=tuple(sorted(c for c in covering if c)),
            relation_labels={c.id: c.label for c in pack.choices("relations")},
            actions={r.id: (n, r.then) for n, r in reversed(list(enumerate(pack.rules)))})
    return found


def covering_facts(pack: Pack) -> tuple[str, ...]:
    """The facts an agency action looks up to pick the agency covering the case (its 圏域)."""
    return _plan(pack).covering


def _member_tests(pack: Pack, cond: Condition) -> tuple[AnyMember, ...]:
    """The member conditions a rule reads, its own and those of derived "any member" facts it uses,
    so the trace can name who matched (「該当する世帯員: 母」)."""
    own = [c for c in _walk(cond) if isinstance(c, AnyMember)]
    used = set(referenced_facts(cond))
    derived = [AnyMember(d.where) for d in pack.derived if d.fn == "any_member" and d.id in used]
    return tuple(own + derived)


def _ordered(ids: set[str], order: Mapping[str, int]) -> tuple[str, ...]:
    """Ids in the order of their YAML list (unknown ids last)."""
    return tuple(sorted(ids, key=lambda i: order.get(i, len(order))))


def _walk(cond: Condition):
    yield cond
    for child in getattr(cond, "items", ()) or ():
        yield from _walk(child)
    for attr in ("item", "where"):
        if getattr(cond, attr, None) is not None:
            yield from _walk(getattr(cond, attr))


def _agencies(ref: AgencyRef, facts: Mapping[str, Any], plan: _Plan, pack: Pack, warnings: list[str]) -> list[str]:
    if ref.id:
        return [ref.id]
    area = facts.get(ref.covering)
    kind_label = plan.kind_label.get(ref.kind, ref.kind)
    if area is None:
        warnings.append(f"圏域（{ref.covering}）が未入力のため「{kind_label}」の担当機関を決められません。圏域を入力して再判定してください。")
        return []
    found = [agency for agency, areas in plan.by_kind.get(ref.kind, ()) if area in areas]
    if not found:
        warnings.append(f"{pack.label('areas', area)}を担当する「{kind_label}」が名簿にありません。名簿を確かめてください。")
    return found


def _gathered(pack: Pack, plan: _Plan, fired: frozenset[str], covering: Mapping[str, Any],
              warnings: list[str]) -> tuple[dict[str, set[str]], str, list[Rule]]:
    """What the fired rules give, in rule order: ({programs, proposed, agencies, meetings,
    resources: ids}, the highest priority, the fired rules); agency warnings go to ``warnings``."""
    out: dict[str, set[str]] = {k: set() for k in ("programs", "proposed", "agencies", "meetings", "resources")}
    ranks, priority, rules = plan.ranks, plan.lowest, []
    for n, act in sorted(plan.actions[r] for r in fired if r in plan.actions):
        out["programs"].update(act.programs)
        out["proposed"].update(act.proposed)
        out["meetings"].update(act.meetings)
        out["resources"].update(act.resources)
        for ref in act.agencies:
            out["agencies"].update(_agencies(ref, covering, plan, pack, warnings))
        if act.priority and ranks[act.priority] > ranks[priority]:
            priority = act.priority
        rules.append(pack.rules[n])
    return out, priority, rules


def _routing(pack: Pack, plan: _Plan, fired: frozenset[str], covering: Mapping[str, Any]) -> _Routing:
    """Programs, agencies, meetings, priority and agency warnings of the fired rules, in rule order."""
    warnings: list[str] = []
    ids, priority, rules = _gathered(pack, plan, fired, covering, warnings)
    trace = [(rule.id, rule.label, rule.then.reason, *plan.explain[rule.id], rule.source, rule.law) for rule in rules]
    order = plan.order
    return _Routing(_ordered(ids["programs"], order["programs"]), _ordered(ids["agencies"], order["agencies"]),
                    _ordered(ids["meetings"], order["meetings"]), _ordered(ids["resources"], order["resources"]),
                    priority, tuple(warnings), tuple(trace),
                    tuple(TraceEntry(t[0], t[1], t[2], _NO_FACTS, t[5], t[6]) for t in trace),
                    _ordered(ids["proposed"] - ids["programs"], order["programs"]))


_NO_FACTS: Mapping[str, Any] = MappingProxyType({})


def _trace(routing: _Routing, prepared: Facts, pack: Pack) -> tuple[TraceEntry, ...]:
    """Each fired rule with the facts it read and, for a member condition, who matched."""
    known, labels = prepared.facts, _plan(pack).relation_labels
    out = []
    for rule_id, label, reason, read, quantifiers, source, law in routing.trace:
        facts = {f: known[f] for f in read if f in known}
        for holds in quantifiers:
            who = [labels.get(r) or pack.label("relations", r)
                   for r in (m.get("relation", "") for m in prepared.members if holds(m))]
            if who:
                facts["該当する世帯員"] = who
        out.append(TraceEntry(rule_id, label, reason, facts, source, law))
    return tuple(out)


def route(pack: Pack, fired: frozenset[str], facts: Mapping[str, Any]) -> _Routing:
    """What the rules ``fired`` route a case with ``facts`` to under ``pack`` (programs, agencies, …).

    Resources come unfiltered: whether the household is in a resource's target group is
    checked per case by ``for_household``.
    """
    plan = _plan(pack)
    return _once(plan, plan.routings, fired, facts, lambda covering: _routing(pack, plan, fired, covering))


def routed_ids(pack: Pack, fired: frozenset[str], facts: Mapping[str, Any]) -> tuple:
    """(programs, agencies, meetings, priority) of ``route``, without its trace and warnings: what
    the impact preview compares, worked out once per combination of fired rules and 圏域 from the
    fired rules alone (``route`` walks every rule and builds the explanation)."""
    plan = _plan(pack)
    return _once(plan, plan.routed, fired, facts, lambda covering: _routed_ids(pack, plan, fired, covering))


def _once(plan: _Plan, memo: dict, fired: frozenset[str], facts: Mapping[str, Any], make: Any) -> Any:
    """``make(covering facts)``, remembered in ``memo`` per fired rules and 圏域 (at most 50,000)."""
    covering = tuple(facts.get(c) for c in plan.covering)
    key = (fired, covering)
    found = memo.get(key)
    if found is None:
        if len(memo) > 50_000:
            memo.clear()
        found = memo[key] = make(dict(zip(plan.covering, covering)))
    return found


def _routed_ids(pack: Pack, plan: _Plan, fired: frozenset[str], covering: Mapping[str, Any]) -> tuple:
    ids, priority, _ = _gathered(pack, plan, fired, covering, [])
    order = plan.order
    return (_ordered(ids["programs"], order["programs"]), _ordered(ids["agencies"], order["agencies"]),
            _ordered(ids["meetings"], order["meetings"]), priority)


def for_household(pack: Pack, resources: tuple[str, ...], prepared: Facts) -> tuple[str, ...]:
    """A resource is suggested only to a household in its target group (age, disability, not fleeing DV)."""
    return tuple(r for r in resources if r not in pack.resource_for
                 or predicate(pack.resource_for[r])(prepared.facts, prepared.members))


def decide_prepared(pack: Pack, prepared: Facts, explain: bool = True) -> Decision:
    """Decide from prepared facts; ``explain=False`` skips the trace's facts (bulk previews).

    The rule engine says which rules fire; what those rules route to depends only on that
    set and the 圏域 an agency action looks up, so it is worked out once per combination.
    """
    plan = _plan(pack)
    routing = route(pack, frozenset(fired_rules(plan.compiled, prepared.facts, prepared.members)), prepared.facts)
    trace = _trace(routing, prepared, pack) if explain else routing.bare
    warnings = prepared.warnings + routing.warnings
    return Decision(pack.version, routing.priority, routing.programs, routing.agencies, routing.meetings,
                    for_household(pack, routing.resources, prepared), trace,
                    tuple(dict.fromkeys(warnings)) if warnings else (), routing.proposed)


def decide(pack: Pack, case: Mapping) -> Decision:
    """Route one consultation under ``pack``. Raises ``CaseError`` for a value of the wrong type."""
    return decide_prepared(pack, prepare(pack, case))
