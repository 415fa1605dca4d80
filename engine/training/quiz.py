"""クイズ: score a trainee's routing of a consultation against what the live rules decide.

Scoring, per part (事業・機関・会議・優先度):

- a list part scores its Jaccard index, |正解 ∩ 回答| / |正解 ∪ 回答| (both empty: 1.0),
  so a missed item and an extra item cost the same and guessing everything does not pay;
- 優先度 scores 1 or 0;
- the question's score is the mean of the four parts, shown as 0–100 点;
  it is 正解 only when every part matches exactly.

Every difference comes with the rule's own reason: which rule added a missed item, or
that no rule adds the extra one here (and which rule would, and on what condition).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from engine.pack.model import Pack
from engine.rules.decide import Decision
from engine.training.lessons import why

PARTS = (("programs", "事業"), ("agencies", "機関"), ("meetings", "会議"))


@dataclass(frozen=True)
class Answer:
    """What the trainee picked."""

    programs: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()
    meetings: tuple[str, ...] = ()
    priority: str | None = None


@dataclass(frozen=True)
class PartResult:
    key: str                      # programs / agencies / meetings / priority
    title: str                    # 事業 / 機関 / 会議 / 優先度
    expected: tuple[str, ...]
    given: tuple[str, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    score: float                  # 0.0–1.0
    notes: tuple[str, ...]        # one Japanese explanation per difference

    @property
    def correct(self) -> bool:
        return not self.missing and not self.extra


@dataclass(frozen=True)
class QuizResult:
    parts: tuple[PartResult, ...]

    @property
    def score(self) -> float:
        """Mean of the parts' scores, 0.0–1.0."""
        return sum(p.score for p in self.parts) / len(self.parts)

    @property
    def points(self) -> int:
        """The score as 0–100 点.

        >>> QuizResult((PartResult("x", "x", (), (), (), (), 0.5, ()),)).points
        50
        """
        return round(self.score * 100)

    @property
    def correct(self) -> bool:
        return all(p.correct for p in self.parts)

    def part(self, key: str) -> PartResult:
        return next(p for p in self.parts if p.key == key)


def jaccard(expected: Iterable[str], given: Iterable[str]) -> float:
    """|expected ∩ given| / |expected ∪ given|; two empty sets agree fully.

    >>> jaccard(["a", "b"], ["b", "c"]), jaccard([], []), jaccard(["a"], [])
    (0.3333333333333333, 1.0, 0.0)
    """
    e, g = set(expected), set(given)
    return 1.0 if not e | g else len(e & g) / len(e | g)


def _part(pack: Pack, decision: Decision, key: str, title: str, given: Sequence[str]) -> PartResult:
    expected = tuple(getattr(decision, key))
    given = tuple(dict.fromkeys(given))
    missing = tuple(i for i in expected if i not in given)
    extra = tuple(i for i in given if i not in expected)
    notes = [f"足りない: 「{pack.label(key, i)}」 — {why(pack, decision, key, i)}" for i in missing]
    notes += [f"余分: 「{pack.label(key, i)}」 — {why(pack, decision, key, i)}" for i in extra]
    return PartResult(key, title, expected, given, missing, extra, jaccard(expected, given), tuple(notes))


def _priority(pack: Pack, decision: Decision, given: str | None) -> PartResult:
    expected = decision.priority
    if given == expected:
        return PartResult("priority", "優先度", (expected,), (given,), (), (), 1.0, ())
    name = pack.label("priorities", expected)
    reasons = [t for t in decision.trace if any(r.id == t.rule and r.then.priority == expected for r in pack.rules)]
    if reasons:
        note = f"正しくは「{name}」 — " + why(pack, decision, "priorities", expected)
    else:
        note = f"正しくは「{name}」 — 優先度を上げるルールはこの相談では成り立ちません。"
    if given is not None:
        note += f" 「{pack.label('priorities', given)}」について: {why(pack, decision, 'priorities', given)}"
    else:
        note += " （優先度が選ばれていません）"
    return PartResult("priority", "優先度", (expected,), (given,) if given else (), (expected,), (given,) if given else (),
                      0.0, (note,))


def score(pack: Pack, decision: Decision, answer: Answer) -> QuizResult:
    """Compare ``answer`` with ``decision`` part by part, explaining every difference."""
    parts = [_part(pack, decision, key, title, getattr(answer, key)) for key, title in PARTS]
    parts.append(_priority(pack, decision, answer.priority))
    return QuizResult(tuple(parts))


def question_order(items: Sequence[Any], seed: str) -> list[Any]:
    """``items`` shuffled the same way for the same seed (one trainee session).

    >>> question_order([1, 2, 3, 4], "a") == question_order([1, 2, 3, 4], "a")
    True
    """
    out = list(items)
    random.Random(seed).shuffle(out)
    return out


def history_entry(at: str, scenario_file: str, scenario_name: str, result: QuizResult) -> dict[str, Any]:
    """A plain, storable record of one answered question."""
    return {"at": at, "scenario": scenario_file, "name": scenario_name, "points": result.points,
            "correct": result.correct, **{p.key: round(p.score, 3) for p in result.parts}}


def history_rows(history: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """History records as table rows with Japanese column names, newest first."""
    return [{"日時": h.get("at", ""), "問題": h.get("name", h.get("scenario", "")), "得点": h.get("points", 0),
             "結果": "正解" if h.get("correct") else "—"} for h in reversed(history)]
