"""Impact preview: every stored case decided under the live pack and under a draft.

Staff see, before publishing, which cases a change would route differently. Nothing is
saved: stored decisions stay as they were until someone re-decides a case.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable, Mapping

from engine.errors import CaseError
from engine.pack.model import Pack
from engine.rules.decide import covering_facts, decide_prepared, routed_ids
from engine.rules.durable_backend import compile_rules, fired_rules, input_key
from engine.rules.facts import Facts, derived_needed, prepare
from storage.collector import collection_paused

KEYS = ("programs", "agencies", "meetings", "priority")


@dataclass(frozen=True)
class Impact:
    evaluated: int
    changed: tuple[dict, ...]              # {"case_id", "before", "after"} with ids
    counts: Mapping[str, int]              # "会議: +重層的支援会議" → number of cases
    errors: tuple[dict, ...]               # {"case_id", "message"}: cases the draft cannot read

    def to_json(self) -> dict:
        return {"evaluated": self.evaluated, "changed": list(self.changed), "counts": dict(self.counts),
                "errors": list(self.errors)}


def summary(decision) -> dict:
    return {"programs": list(decision.programs), "agencies": list(decision.agencies),
            "meetings": list(decision.meetings), "priority": decision.priority}


def change_labels(pack: Pack, before: Mapping, after: Mapping) -> list[str]:
    """What changed, in words: 「会議: +重層的支援会議」「優先度: 通常 → 緊急」."""
    out = []
    for key, kind, title in (("programs", "programs", "事業"), ("agencies", "agencies", "機関"), ("meetings", "meetings", "会議")):
        for item in after[key]:
            if item not in before[key]:
                out.append(f"{title}: +{pack.label(kind, item)}")
        for item in before[key]:
            if item not in after[key]:
                out.append(f"{title}: −{pack.label(kind, item)}")
    if before["priority"] != after["priority"]:
        out.append(f"優先度: {pack.label('priorities', before['priority'])} → {pack.label('priorities', after['priority'])}")
    return out


def _same_reading(live: Pack, draft: Pack) -> bool:
    """Do both packs read a case the same way (same form and choices)? Then coerce once."""
    names = {f.choices for f in live.intake.fields} | {c.choices for f in live.intake.fields for c in f.fields}
    return live.intake == draft.intake and all(live.choices(n) == draft.choices(n) for n in names if n)


class _RuleDelta:
    """A draft that changes only rules, actions or lists: which rules still fire as they did.

    A rule whose condition and switch are unchanged fires for exactly the cases it fired
    for under live (the stored trace says which); only new or changed conditions are run,
    once per distinct input they read.
    """

    def __init__(self, live: Pack, draft: Pack):
        before = {r.id: r for r in live.rules}
        self.kept = frozenset(r.id for r in draft.rules if r.enabled and r.id in before
                              and before[r.id].enabled and before[r.id].when == r.when)
        changed = [r for r in draft.rules if r.enabled and r.id not in self.kept]
        self.compiled = compile_rules(changed) if changed else None
        self.answers: dict[tuple, frozenset[str]] = {}
        # The only facts read here: those the changed conditions send the engine, and the 圏域 an
        # agency action looks up. The derived facts nothing reads are not worked out at all.
        read = (self.compiled.facts if self.compiled else frozenset()) | set(covering_facts(draft))
        self.derived = derived_needed(live, read)

    def fired(self, stored: Iterable[str], prepared: Facts) -> frozenset[str]:
        fired = self.kept.intersection(stored)
        if self.compiled is None:
            return frozenset(fired)
        key = input_key(self.compiled, prepared.facts, prepared.members)
        found = self.answers.get(key)
        if found is None:
            found = self.answers[key] = frozenset(fired_rules(self.compiled, prepared.facts, prepared.members))
        return frozenset(fired | found)


class _Kept:
    """Per-case work kept from one preview to the next while the case is the same stored object.

    Staff preview edit after edit of the same rules, and a case's prepared facts and stored
    decision do not change in between. An entry is used only while the case's part it was made
    from (the intake, the decision) is the very same object: the embedded store hands out the same
    objects until the case is saved or its file read again, and then there are new ones, so a
    changed case is always worked out again. A store that hands out copies (PostgreSQL, a masked
    case) never hits, and is only not quicker. One ``key`` (the live version and what is worked
    out) is kept at a time.
    """

    def __init__(self) -> None:
        self._slot: tuple[Hashable, dict] = (None, {})

    def items(self, key: Hashable, cases: int) -> dict:
        slot = self._slot                      # one read: the key and its items always go together
        if slot[0] != key or len(slot[1]) > 2 * cases + 1_000:
            slot = self._slot = (key, {})
        return slot[1]

    @staticmethod
    def get(items: dict, source: Any, make: Callable[[], Any], check: Hashable = None) -> Any:
        """``make()``, or what it gave for this very ``source`` (and an equal ``check``) before."""
        hit = items.get(id(source))
        if hit is not None and hit[0] is source and hit[1] == check:
            return hit[2]
        value = make()
        items[id(source)] = (source, check, value)     # holding ``source`` keeps its id from being reused
        return value


_PREPARED, _STORED = _Kept(), _Kept()


def _incremental(live: Pack, draft: Pack) -> bool:
    """Facts are read and derived the same way under both packs: only rules and lists differ."""
    return _same_reading(live, draft) and live.derived == draft.derived and live.members == draft.members


def _stored(case: Mapping, live: Pack) -> tuple[dict, tuple[str, ...]] | None:
    """The stored decision's summary and fired rules, when it is what live decides for the case."""
    stored = case.get("decision")
    if case.get("config_version") != live.version or not isinstance(stored, Mapping) or not stored:
        return None
    try:
        before = {k: [x["id"] for x in stored.get(k) or []] for k in KEYS[:3]}
        fired = tuple(t["rule"] for t in stored.get("trace") or [])
    except (TypeError, KeyError):
        return None          # a decision of another shape (older, or edited by hand): decided afresh
    before["priority"] = stored.get("priority")
    return before, fired


def preview(cases: Iterable[Mapping[str, Any]], live: Pack, draft: Pack,
            progress: Callable[[int, int], None] | None = None) -> Impact:
    """Decide every case under both packs and list those whose routing would change.

    The answer is that of deciding every case afresh under both packs; the work is what
    the change implies. A draft that changes only rules or lists starts from each stored
    decision (made under live) and runs only the new or changed conditions; a change to
    the form, its choices, the derived facts or the household layout decides every case again.
    """
    cases = list(cases)
    # Hundreds of thousands of short-lived objects, none in a cycle: the collector would walk them
    # (and every case kept in memory) again and again, doubling the time (storage/collector.py).
    with collection_paused():
        return _preview(cases, live, draft, progress)


def _preview(cases: list[Mapping[str, Any]], live: Pack, draft: Pack,
             progress: Callable[[int, int], None] | None) -> Impact:
    shared = _same_reading(live, draft)
    delta = _RuleDelta(live, draft) if _incremental(live, draft) else None
    changed, errors, counts = [], [], Counter()
    stored_of = _STORED.items(live.version, len(cases))
    prepared = _PREPARED.items((live.version, delta.derived), len(cases)) if delta is not None else {}
    for i, case in enumerate(cases, 1):
        intake = case.get("intake", {})
        try:
            stored = _Kept.get(stored_of, case.get("decision"), lambda: _stored(case, live), case.get("config_version"))
            if delta is not None and stored is not None:
                before, fired = stored
                facts = _Kept.get(prepared, intake, lambda: prepare(live, intake, trusted=True, derived=delta.derived))
                programs, agencies, meetings, priority = routed_ids(draft, delta.fired(fired, facts), facts.facts)
                after = {"programs": list(programs), "agencies": list(agencies), "meetings": list(meetings),
                         "priority": priority}
            else:
                before, after = _decide_both(intake, stored, live, draft, shared)
        except CaseError as err:
            errors.append({"case_id": case.get("id"), "message": "; ".join(x.render() for x in err.issues)})
        else:
            if before != after:
                changed.append({"case_id": case.get("id"), "before": before, "after": after})
                counts.update(change_labels(draft, before, after))
        if progress and (i % 500 == 0 or i == len(cases)):
            progress(i, len(cases))
    return Impact(len(cases), tuple(changed), dict(counts.most_common()), tuple(errors))


def _decide_both(intake: Mapping, stored, live: Pack, draft: Pack, shared: bool) -> tuple[dict, dict]:
    """Before and after by deciding the case again (under live only when no stored decision is live's).

    With the same form and choices, the stored intake (coerced under live) is read by the
    draft as it is: only hiding, the household and derived facts are worked out again.
    """
    if stored is not None:
        before = stored[0]
        new = prepare(draft, intake, trusted=shared)
    else:
        before = summary(decide_prepared(live, prepare(live, intake), explain=False))
        new = prepare(draft, intake)
    return before, summary(decide_prepared(draft, new, explain=False))
