"""Overrides teach the rules: how often staff removed what a rule gave, or added what no rule gave.

Counted from the reasons kept in each case's confirmed routing (``confirmed.changes``,
written by ``handoff.confirm``), over a window of days ending today (90 by default). A
removal counts for every rule that gave the item in that case's recommendation; an
addition counts for the item, with the rules that fired in those cases as a hint of
which rule might have given it.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from engine.casework.caselist import as_mapping, is_mapping
from engine.casework.handoff import marked_label

WINDOW_DAYS = 90


@dataclass(frozen=True)
class RuleOverrides:
    rule: str
    removed: int                                   # items this rule gave that staff removed
    items: Mapping[tuple[str, str], int]           # (kind, id) → times removed
    cases: tuple[str, ...]


@dataclass(frozen=True)
class Overrides:
    since: str
    by_rule: Mapping[str, RuleOverrides] = field(default_factory=dict)
    added: Mapping[tuple[str, str], int] = field(default_factory=dict)     # (kind, id) → times added
    added_with: Mapping[tuple[str, str], Mapping[str, int]] = field(default_factory=dict)   # … → rule → n
    added_cases: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    confirmed: int = 0                             # cases confirmed in the window

    def total(self) -> int:
        return sum(r.removed for r in self.by_rule.values()) + sum(self.added.values())


def window_start(today: dt.date, days: int = WINDOW_DAYS) -> str:
    """The first day (ISO) of the window ``count`` counts over.

    >>> window_start(dt.date(2026, 6, 30))
    '2026-04-01'
    """
    return (today - dt.timedelta(days=days)).isoformat()


@dataclass
class _Tally:
    """What ``count`` and ``merged`` add up, and the Overrides it makes."""

    removed: dict[str, Counter] = field(default_factory=dict)           # rule → (kind, id) → n
    removed_cases: dict[str, list[str]] = field(default_factory=dict)
    added: Counter = field(default_factory=Counter)
    added_with: dict[tuple[str, str], Counter] = field(default_factory=dict)
    added_cases: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    confirmed: int = 0

    def result(self, since: str) -> Overrides:
        by_rule = {rule: RuleOverrides(rule, sum(c.values()), dict(c), tuple(dict.fromkeys(self.removed_cases[rule])))
                   for rule, c in self.removed.items()}
        return Overrides(since, by_rule, dict(self.added), {k: dict(v) for k, v in self.added_with.items()},
                         {k: tuple(dict.fromkeys(v)) for k, v in self.added_cases.items()}, self.confirmed)


def count(cases: Iterable[Mapping], today: dt.date, days: int = WINDOW_DAYS) -> Overrides:
    """Override counts over the changes made from ``today - days`` to ``today`` (inclusive)."""
    since = window_start(today, days)
    until = today.isoformat()
    t = _Tally()
    for case in cases:
        if not is_mapping(case):
            continue
        conf = as_mapping(case.get("confirmed"))
        if not conf:
            continue
        cid = str(case.get("id"))
        if since <= str(conf.get("on") or "") <= until:
            t.confirmed += 1
        fired = [r.get("rule") for r in as_mapping(case.get("decision")).get("trace") or () if is_mapping(r)]
        for change in conf.get("changes") or ():
            if not is_mapping(change) or not since <= str(change.get("on") or "") <= until:
                continue
            item = (str(change.get("kind")), str(change.get("id")))
            if change.get("change") == "removed":
                for rule in change.get("rules") or ():
                    t.removed.setdefault(rule, Counter())[item] += 1
                    t.removed_cases.setdefault(rule, []).append(cid)
            elif change.get("change") == "added":
                t.added[item] += 1
                t.added_cases.setdefault(item, []).append(cid)
                hint = t.added_with.setdefault(item, Counter())
                for rule in fired:
                    hint[rule] += 1
    return t.result(since)


def merged(parts: Iterable[Overrides], since: str) -> Overrides:
    """``count`` over several groups of cases (the store's shards) from each group's own count:
    numbers summed, case lists joined in the groups' order, as one pass over them all gives.

    >>> a = Overrides("2026-01-01", added={("meetings", "m"): 1}, added_cases={("meetings", "m"): ("C1",)}, confirmed=2)
    >>> b = Overrides("2026-01-01", added={("meetings", "m"): 2}, added_cases={("meetings", "m"): ("C2", "C3")}, confirmed=1)
    >>> m = merged([a, b], "2026-01-01")
    >>> m.added, m.added_cases, m.confirmed
    ({('meetings', 'm'): 3}, {('meetings', 'm'): ('C1', 'C2', 'C3')}, 3)
    """
    t = _Tally()
    for part in parts:
        t.confirmed += part.confirmed
        for rule, found in part.by_rule.items():
            t.removed.setdefault(rule, Counter()).update(found.items)
            t.removed_cases.setdefault(rule, []).extend(found.cases)
        t.added.update(part.added)
        for item, rules in part.added_with.items():
            t.added_with.setdefault(item, Counter()).update(rules)
        for item, cases in part.added_cases.items():
            t.added_cases.setdefault(item, []).extend(cases)
    return t.result(since)


def rule_rows(pack, result: Overrides) -> list[dict]:
    """Per rule, in the order of rules.yaml: Japanese columns for a table (rules never overridden included)."""
    rows = []
    for rule in pack.rules:
        found = result.by_rule.get(rule.id)
        rows.append({"ルール": rule.label, "外された回数": found.removed if found else 0,
                     "外されたもの": "、".join(f"{marked_label(pack, k, i)}（{n}）" for (k, i), n in sorted(found.items.items()))
                     if found else "",
                     "ケース": "、".join(found.cases) if found else ""})
    return rows


def added_rows(pack, result: Overrides) -> list[dict]:
    """Items staff added that no rule gave, most frequent first, with the rules that fired alongside."""
    rows = []
    for (kind, item), n in sorted(result.added.items(), key=lambda kv: (-kv[1], kv[0])):
        hint = sorted(result.added_with.get((kind, item), {}).items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        labels = {r.id: r.label for r in pack.rules}
        rows.append({"加えられたもの": marked_label(pack, kind, item), "回数": n,
                     "そのとき働いたルール": "、".join(f"{labels.get(r, r)}（{c}）" for r, c in hint),
                     "ケース": "、".join(result.added_cases.get((kind, item), ()))})
    return rows
