"""The case list: filter, search, sort and page stored case records.

Pure functions over the plain dicts the store hands out, so the page, the tests and
the benchmark all ask the same question the same way. Records may be old or odd
(a missing ``decision``, an agency the roster no longer has): such a record is
listed, never a crash.
"""
from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from engine.casework.wareki import wareki
from engine.errors import TsunaguError
from engine.pack.model import Pack
# How a case's fields are read lives in storage, shared with the PostgreSQL store's columns.
from storage.case_fields import (DEFAULT_RANKS, as_mapping, as_str, fold, ids_of,  # noqa: F401
                                 is_mapping, priority_of, received_on, routing_of, status_of)

#: Sort orders, in the order the page offers them, with their Japanese names.
SORTS: Mapping[str, str] = {
    "received_on_desc": "受付日（新しい順）",
    "received_on_asc": "受付日（古い順）",
    "priority": "優先度（緊急が先）",
    "status": "状態（流れの順）",
    "id": "ID順",
}

# Used when no pack is given; a pack's own ranks (vocabularies.yaml) win.
_DEFAULT_RANKS = DEFAULT_RANKS
_URGENT = "urgent"


class QueryError(TsunaguError):
    """A case-list query that cannot be run (an unknown sort, a page below 1)."""


@dataclass(frozen=True)
class CaseQuery:
    """What the case list shows. Each id tuple is "any of these"; empty means no filter.

    Filters combine with AND. Dates are ISO strings compared with
    ``intake.received_on``, both ends included.
    """

    statuses: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    meetings: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    text: str = ""
    sort: str = "received_on_desc"
    page: int = 1
    per_page: int = 50

    def __post_init__(self) -> None:
        # Streamlit widgets return lists; keep the query hashable and immutable.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (list, set, frozenset)):
                object.__setattr__(self, f.name, tuple(value))
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                if not hasattr(value, "isoformat"):
                    raise QueryError(f"{name} は日付（YYYY-MM-DD）で指定してください（渡された値: {value!r}）。")
                object.__setattr__(self, name, value.isoformat())   # a datetime.date from a widget
        if self.sort not in SORTS:
            raise QueryError(f"並べ替え {self.sort!r} はありません。{'、'.join(SORTS)} のどれかを指定してください。")
        if self.page < 1 or self.per_page < 1:
            raise QueryError("ページ番号と1ページの件数は1以上にしてください。")


@dataclass(frozen=True)
class Page:
    """One page of the result: the records themselves, and where it sits in the whole."""

    rows: list[dict]
    total: int
    page: int
    pages: int
    per_page: int = 50

    @property
    def first(self) -> int:
        """1-based position of the first row (0 when empty), for "N 件中 a–b 件"."""
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last(self) -> int:
        """1-based position of the last row (0 when empty)."""
        return self.first + len(self.rows) - 1 if self.rows else 0


def _matcher(query: CaseQuery) -> Callable[[Mapping], bool]:
    """One predicate for the whole query, with the empty filters left out."""
    tests: list[Callable[[Mapping], bool]] = []
    if query.statuses:
        statuses = set(query.statuses)
        tests.append(lambda c: status_of(c) in statuses)
    if query.areas:
        areas = set(query.areas)
        tests.append(lambda c: as_str(as_mapping(c.get("intake")).get("area")) in areas)
    if query.priorities:
        priorities = set(query.priorities)
        tests.append(lambda c: priority_of(c) in priorities)
    for key in ("programs", "agencies", "meetings"):
        wanted = set(getattr(query, key))
        if wanted:
            tests.append(lambda c, key=key, wanted=wanted:
                         not wanted.isdisjoint(ids_of(routing_of(c).get(key))))
    if query.date_from or query.date_to:
        low, high = query.date_from or "", query.date_to or "9999-12-31"
        tests.append(lambda c: received_on(c) != "" and low <= received_on(c) <= high)
    needle = fold(query.text)
    if needle:
        def found(c: Mapping) -> bool:
            person = as_mapping(as_mapping(c.get("intake")).get("person"))
            return needle in fold(person.get("name")) or needle in fold(person.get("kana"))
        tests.append(found)
    return lambda c: all(t(c) for t in tests)


def _sorted(found: list[dict], query: CaseQuery, pack: Pack | None) -> list[dict]:
    """``found`` in ``query.sort`` order; ties always end in a fixed order (by id)."""
    def cid(c: Mapping) -> str:
        return as_str(c.get("id")) or ""
    if query.sort == "id":
        return sorted(found, key=cid)
    if query.sort == "received_on_asc":
        return sorted(found, key=lambda c: (received_on(c), cid(c)))
    # Newest first; the other sorts refine this with stable sorts, so inside a
    # priority or a status the newest case still comes first.
    found = sorted(found, key=lambda c: (received_on(c), cid(c)), reverse=True)
    if query.sort == "priority":
        ranks = {p.id: p.get("rank", 0) for p in pack.choices("priorities")} if pack else _DEFAULT_RANKS
        found.sort(key=lambda c: ranks.get(priority_of(c), -1), reverse=True)   # unknown ones last
    elif query.sort == "status":
        # Lifecycle order when the pack is known, else by id; unknown statuses last.
        order = {s.id: n for n, s in enumerate(pack.statuses)} if pack else {}
        found.sort(key=lambda c: (order.get(status_of(c), len(order)), status_of(c) or "\uffff"))
    return found


def run_query(cases: list[dict], query: CaseQuery = CaseQuery(), pack: Pack | None = None) -> Page:
    """Filter, sort and cut one page of ``cases``.

    ``pack`` gives the priority ranks and the lifecycle order for those two sorts;
    without it, urgent > high > normal and statuses sort by id. A page beyond the
    end shows the last page (the result may have shrunk since it was asked for).

    >>> cases = [{"id": "C1", "status": "received", "intake": {"received_on": "2026-04-01"}},
    ...          {"id": "C2", "status": "closed"}]
    >>> page = run_query(cases, CaseQuery(statuses=("received",)))
    >>> [c["id"] for c in page.rows], page.total, page.pages
    (['C1'], 1, 1)
    """
    match = _matcher(query)
    found = [c for c in cases if is_mapping(c) and match(c)]
    found = _sorted(found, query, pack)
    total = len(found)
    pages = max(1, math.ceil(total / query.per_page))
    page = min(query.page, pages)
    start = (page - 1) * query.per_page
    return Page(found[start:start + query.per_page], total, page, pages, query.per_page)


def column_px(texts: Iterable[Any], least: int, most: int) -> int:
    """Pixels for a table column that shows ``texts`` whole (a full-width character ~14 px, another
    ~8, and the cell's padding), within [least, most]: 「アセスメント」 was cut short at a fixed width.

    >>> column_px(["受付", "アセスメント"], 64, 170), column_px([], 64, 170), column_px(["他機関へ引継ぎ（終結）"], 64, 170)
    (102, 64, 170)
    """
    def width(text: Any) -> int:
        return sum(14 if unicodedata.east_asian_width(ch) in "WF" else 8 for ch in str(text))
    return max(least, min(most, max(map(width, texts), default=0) + 18))


def row_view(pack: Pack, case: Mapping) -> dict:
    """One row of the list as staff read it: Japanese column names and labels, 和暦 dates.

    Unknown ids show as "…（不明なID）" (``Pack.label``); missing values as "".
    """
    intake, decision = as_mapping(case.get("intake")), routing_of(case)
    person = as_mapping(intake.get("person"))
    area = as_str(intake.get("area"))
    priority = priority_of(case)
    if area:
        area_text = pack.label("areas", area)
    else:
        area_text = "市外" if intake.get("resident") is False else ""
    priority_text = pack.label("priorities", priority) if priority else ""
    if priority == _URGENT:
        priority_text = f"🚨 {priority_text}"
    return {
        "ID": as_str(case.get("id")) or "",
        "受付日": wareki(received_on(case) or None, western=False),      # a list column: 和暦 only, to fit
        "氏名": as_str(person.get("name")) or "",
        "圏域": area_text,
        "状態": pack.label("statuses", status_of(case)) if status_of(case) else "",
        "優先度": priority_text,
        "事業": _labels(pack, "programs", decision.get("programs")),
        "会議": _labels(pack, "meetings", decision.get("meetings")),
    }


def _labels(pack: Pack, kind: str, items: Any) -> str:
    return "、".join(pack.label(kind, i) for i in ids_of(items))
