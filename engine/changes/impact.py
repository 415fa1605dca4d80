"""Impact preview: every stored case decided under the live pack and under a draft.

Staff see, before publishing, which cases a change would route differently. Nothing is
saved: stored decisions stay as they were until someone re-decides a case.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from engine.errors import CaseError
from engine.pack.model import Pack
from engine.rules.decide import decide_prepared
from engine.rules.facts import Facts, derive, prepare

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


def preview(cases: Iterable[Mapping[str, Any]], live: Pack, draft: Pack,
            progress: Callable[[int, int], None] | None = None) -> Impact:
    """Decide every case under both packs and list those whose routing would change."""
    cases = list(cases)
    shared = _same_reading(live, draft)
    changed, errors, counts = [], [], Counter()
    for i, case in enumerate(cases, 1):
        intake = case.get("intake", {})
        try:
            decided_here = case.get("config_version") == live.version
            old = prepare(live, intake, trusted=decided_here)
            if shared and live.derived == draft.derived:
                new = old
            elif shared:
                new = Facts(old.case, derive(draft, {k: v for k, v in old.facts.items()
                                                     if k not in {d.id for d in live.derived}}, old.members),
                            old.members, old.warnings)
            else:
                new = prepare(draft, intake)
            stored = case.get("decision") or {}
            if decided_here and stored:
                # Decided under this very version: the stored decision is what live gives.
                before = {k: [x["id"] for x in stored.get(k, [])] for k in KEYS[:3]}
                before["priority"] = stored.get("priority")
            else:
                before = summary(decide_prepared(live, old, explain=False))
            after = summary(decide_prepared(draft, new, explain=False))
        except CaseError as err:
            errors.append({"case_id": case.get("id"), "message": "; ".join(x.render() for x in err.issues)})
        else:
            if before != after:
                changed.append({"case_id": case.get("id"), "before": before, "after": after})
                counts.update(change_labels(draft, before, after))
        if progress and (i % 500 == 0 or i == len(cases)):
            progress(i, len(cases))
    return Impact(len(cases), tuple(changed), dict(counts.most_common()), tuple(errors))
