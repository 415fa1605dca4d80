"""Rule wording a draft may have made untrue: a rule's label or reason that still quotes a
number its condition no longer uses (「2分野以上」 after the threshold became 1)."""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import Any, Iterator

from engine.pack.model import Pack


def _numbers(condition: Any) -> Iterator[int | float]:
    """Every number in a condition tree (thresholds, ages, counts), booleans excepted."""
    if isinstance(condition, bool) or condition is None:
        return
    if isinstance(condition, (int, float)):
        yield condition
    elif isinstance(condition, (list, tuple, set, frozenset)):
        for item in condition:
            yield from _numbers(item)
    elif dataclasses.is_dataclass(condition):
        for f in dataclasses.fields(condition):
            yield from _numbers(getattr(condition, f.name))


def _shown(number: int | float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def stale_wording(old: Pack, new: Pack) -> list[str]:
    """A Japanese warning per changed rule whose label or reason (in ``new``) still mentions a
    number that was in its old condition and is not in its new one.

    Only a hint: 「2」 may be there for another reason, so staff read and decide.
    """
    before = {r.id: r for r in old.rules}
    warnings = []
    for rule in new.rules:
        was = before.get(rule.id)
        if was is None or was.when == rule.when:
            continue
        now = {_shown(n) for n in _numbers(rule.when)}
        gone = sorted({_shown(n) for n in _numbers(was.when)} - now)
        for where, text in (("名前", rule.label), ("理由", rule.then.reason)):
            text = unicodedata.normalize("NFKC", text or "")
            for number in gone:
                if re.search(rf"(?<![\d.]){re.escape(number)}(?![\d.])", text):
                    warnings.append(f"ルール「{rule.label}」の{where}に「{number}」とありますが、条件の値は"
                                    f"{number}ではなくなりました（今の条件の値: {'、'.join(sorted(now)) or 'なし'}）。"
                                    f"{where}がまだ正しいか確かめてください。")
    return warnings
