"""``decide(pack, case) -> Decision``: data in, data out.

The rule engine answers one question, which rules fire; turning fired rules into
programs, agencies and meetings, and explaining them, is plain Python here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from engine.pack.model import AgencyRef, Pack
from engine.rules.conditions import AnyMember, Condition, evaluate, referenced_facts
from engine.rules.durable_backend import CompiledRules, compile_rules, fired_rules
from engine.rules.facts import Facts, prepare


@dataclass(frozen=True)
class TraceEntry:
    rule: str
    label: str
    reason: str
    facts: Mapping[str, Any]


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
            "resources": named("resources", self.resources),
            "trace": [{"rule": t.rule, "label": t.label, "reason": t.reason, "facts": dict(t.facts)} for t in self.trace],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class _Plan:
    """Everything ``decide`` needs of a pack, worked out once per pack version."""

    compiled: CompiledRules
    ranks: Mapping[str, int]
    lowest: str
    order: Mapping[str, Mapping[str, int]]     # list name → id → position, for output order
    by_kind: Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]]   # kind → ((agency id, areas), ...)
    kind_label: Mapping[str, str]
    explain: Mapping[str, tuple[tuple[str, ...], tuple[AnyMember, ...]]]


_PLANS: dict[str, _Plan] = {}


def _plan(pack: Pack) -> _Plan:
    found = _PLANS.get(pack.version)
    if found is None:
        ranks = {p.id: p.get("rank", 0) for p in pack.choices("priorities")}
        by_kind: dict[str, list] = {}
        for a in pack.agencies:
            by_kind.setdefault(a.get("kind"), []).append((a.id, tuple(a.get("areas") or ())))
        found = _PLANS[pack.version] = _Plan(
            compiled=compile_rules(pack.rules), ranks=ranks, lowest=min(ranks, key=ranks.get),
            order={k: {item: i for i, item in enumerate(pack.ids(k))} for k in ("programs", "agencies", "meetings", "resources")},
            by_kind={k: tuple(v) for k, v in by_kind.items()},
            kind_label={a.get("kind"): a.label for a in reversed(pack.agencies)},
            explain={r.id: (referenced_facts(r.when), tuple(c for c in _walk(r.when) if isinstance(c, AnyMember)))
                     for r in pack.rules})
    return found


def _ordered(ids: set[str], order: Mapping[str, int]) -> tuple[str, ...]:
    """Ids in the order of their YAML list (unknown ids last)."""
    return tuple(sorted(ids, key=lambda i: order.get(i, len(order))))


def _matched_facts(plan: _Plan, rule_id: str, prepared: Facts, pack: Pack) -> dict:
    facts, quantifiers = plan.explain[rule_id]
    out = {f: prepared.facts[f] for f in facts if f in prepared.facts}
    for c in quantifiers:
        who = [pack.label("relations", m.get("relation", "")) for m in prepared.members if evaluate(c.where, m)]
        if who:
            out["該当する世帯員"] = who
    return out


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


def decide_prepared(pack: Pack, prepared: Facts, explain: bool = True) -> Decision:
    """Decide from prepared facts; ``explain=False`` skips the trace's facts (bulk previews)."""
    plan = _plan(pack)
    fired = fired_rules(plan.compiled, prepared.facts, prepared.members)
    programs: set[str] = set()
    agencies: set[str] = set()
    meetings: set[str] = set()
    resources: set[str] = set()
    warnings = list(prepared.warnings)
    ranks, priority = plan.ranks, plan.lowest
    trace = []
    for rule in pack.rules:
        if rule.id not in fired:
            continue
        act = rule.then
        programs.update(act.programs)
        meetings.update(act.meetings)
        resources.update(act.resources)
        for ref in act.agencies:
            agencies.update(_agencies(ref, prepared.facts, plan, pack, warnings))
        if act.priority and ranks[act.priority] > ranks[priority]:
            priority = act.priority
        trace.append(TraceEntry(rule.id, rule.label, act.reason,
                                _matched_facts(plan, rule.id, prepared, pack) if explain else {}))
    order = plan.order
    return Decision(pack.version, priority, _ordered(programs, order["programs"]), _ordered(agencies, order["agencies"]),
                    _ordered(meetings, order["meetings"]), _ordered(resources, order["resources"]),
                    tuple(trace), tuple(dict.fromkeys(warnings)))


def decide(pack: Pack, case: Mapping) -> Decision:
    """Route one consultation under ``pack``. Raises ``CaseError`` for a value of the wrong type."""
    return decide_prepared(pack, prepare(pack, case))
