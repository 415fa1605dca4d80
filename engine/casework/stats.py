"""Counts and the figures a city reports for the 重層的支援体制整備事業.

Pure functions over stored case records. Cases belong to a period by their 受付日
(``intake.received_on``); meetings by the day they were held (``meetings_done[].held_on``);
plans by the day they were made (``plan.made_on``, else the 受付日). The CSV is what
Excel opens without garbling Japanese: UTF-8 with a BOM, CRLF line ends.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.casework.caselist import (as_mapping, as_str, ids_of, is_mapping, priority_of, received_on, routing_of,
                                      status_of)
from engine.casework.wareki import wareki
from engine.pack.model import Pack

#: Dimensions :func:`counts` knows: dimension → (Japanese name, pack list for labels or None).
DIMENSIONS: Mapping[str, tuple[str, str | None]] = {
    "program": ("事業", "programs"),
    "agency": ("機関", "agencies"),
    "area": ("圏域", "areas"),
    "month": ("受付月", None),
    "status": ("状態", "statuses"),
    "channel": ("相談経路", "channels"),
    "priority": ("優先度", "priorities"),
}

#: The key a case without a value is counted under (a non-resident's area, an old record).
NONE = ""


@dataclass(frozen=True)
class Figure:
    """A report figure the pack declares (pack.yaml ``report.figures``): cases routed to
    any of ``programs`` or ``meetings``."""

    label: str
    programs: tuple[str, ...] = ()
    meetings: tuple[str, ...] = ()


def pack_figures(pack: Pack) -> tuple[Figure, ...]:
    """The report figures of ``pack``, in its order."""
    return tuple(Figure(f["label"], tuple(f.get("programs") or ()), tuple(f.get("meetings") or ()))
                 for f in pack.info["report"]["figures"])


@dataclass(frozen=True)
class Report:
    """The figures for one period. ``routed`` holds the pack's figures as (label, count);
    ``*_by_meeting`` map a meeting id to its count."""

    new_cases: int = 0
    plans: int = 0
    meetings_held: int = 0
    discussed: int = 0
    routed: tuple[tuple[str, int], ...] = ()
    held_by_meeting: Mapping[str, int] = field(default_factory=dict)
    discussed_by_meeting: Mapping[str, int] = field(default_factory=dict)

    def figures(self) -> list[tuple[str, int]]:
        """(Japanese name, value) in the order a report lists them: the common four, then the pack's."""
        return [("新規相談件数", self.new_cases), ("プラン作成件数", self.plans),
                ("会議開催件数", self.meetings_held), ("会議で協議した件数", self.discussed), *self.routed]


def in_period(day: str, date_from: str | None = None, date_to: str | None = None) -> bool:
    """Is the ISO ``day`` inside the period (both ends included; None = open)?

    A record with no date belongs to no bounded period, but to the open one.

    >>> in_period("2026-04-01", "2026-04-01", "2027-03-31"), in_period("", "2026-04-01")
    (True, False)
    >>> in_period("")
    True
    """
    if not date_from and not date_to:
        return True
    return day != "" and (date_from or "") <= day[:10] <= (date_to or "9999-12-31")


def fiscal_year(day: str) -> int | None:
    """The 年度 (April to March) an ISO day falls in.

    >>> fiscal_year("2027-03-31"), fiscal_year("2027-04-01"), fiscal_year("")
    (2026, 2027, None)
    """
    try:
        year, month = int(day[:4]), int(day[5:7])
    except (TypeError, ValueError):
        return None
    return year if month >= 4 else year - 1


def fiscal_years(cases: Iterable[Mapping]) -> list[int]:
    """The 年度 the cases were received in, newest first."""
    found = {fiscal_year(received_on(c)) for c in cases if is_mapping(c)}
    return sorted((y for y in found if y is not None), reverse=True)


def fiscal_period(year: int) -> tuple[str, str]:
    """First and last day of the 年度, e.g. ``("2026-04-01", "2027-03-31")``."""
    return f"{year:04d}-04-01", f"{year + 1:04d}-03-31"


def fiscal_label(year: int) -> str:
    """The 年度 as staff say it, with the months.

    >>> fiscal_label(2026)
    '令和8年度（2026年4月〜2027年3月）'
    """
    era = wareki(f"{year:04d}-04-01").split("年")[0]
    return f"{era}年度（{year}年4月〜{year + 1}年3月）"


def in_period_cases(cases: Iterable[Mapping], date_from: str | None = None, date_to: str | None = None) -> list[Mapping]:
    """The cases received in the period."""
    return [c for c in cases if is_mapping(c) and in_period(received_on(c), date_from, date_to)]


def _unique(ids: list[str]) -> list[str]:
    return sorted(set(ids)) or [NONE]


# dimension → what one case counts under, from (case, intake, decision). Lists count each id once;
# programs, agencies and meetings are counted as confirmed (the recommendation until then).
_KEYS = {
    "program": lambda c, i, d: _unique(ids_of(routing_of(c).get("programs"))),
    "agency": lambda c, i, d: _unique(ids_of(routing_of(c).get("agencies"))),
    "meeting": lambda c, i, d: _unique(ids_of(routing_of(c).get("meetings"))),
    "area": lambda c, i, d: [as_str(i.get("area")) or NONE],
    "month": lambda c, i, d: [received_on(c)[:7] or NONE],
    "status": lambda c, i, d: [status_of(c) or NONE],
    "channel": lambda c, i, d: [as_str(i.get("channel")) or NONE],
    "priority": lambda c, i, d: [as_str(d.get("priority")) or NONE],
}


def _count(cases: Iterable[Mapping], dimensions: Sequence[str]) -> dict[str, dict[str, int]]:
    """One pass over ``cases`` for all ``dimensions``."""
    keys = [(dimension, _KEYS[dimension], Counter()) for dimension in dimensions]
    for case in cases:
        if is_mapping(case):
            intake, decision = as_mapping(case.get("intake")), as_mapping(case.get("decision"))
            for _, key, counter in keys:
                for value in key(case, intake, decision):
                    counter[value] += 1
    return {dimension: dict(counter) for dimension, _, counter in keys}


def count_by(cases: Iterable[Mapping], dimension: str) -> dict[str, int]:
    """How many cases fall under each id of ``dimension`` (a key of :data:`DIMENSIONS`, or "meeting").

    >>> count_by([{"status": "received"}, {"status": "received"}, {}], "status")
    {'received': 2, '': 1}
    """
    return _count(cases, [dimension])[dimension]


def counts(cases: Iterable[Mapping], date_from: str | None = None, date_to: str | None = None) -> dict[str, dict[str, int]]:
    """Every dimension's counts over the cases received in the period."""
    return _count(in_period_cases(cases, date_from, date_to), list(DIMENSIONS))


def _done(case: Mapping) -> list[Mapping]:
    done = case.get("meetings_done")
    return [d for d in done if is_mapping(d)] if isinstance(done, list) else []


@dataclass(frozen=True)
class Tally:
    """What one group of cases adds to a period's figures and counts (see :func:`tally`).

    Tallies of disjoint groups (the shards of a store) add up with :func:`summed`: numbers
    add, and the meeting sessions, which two cases in different groups may share, unite.
    A tally may be kept and reused while its group is unchanged: nothing in it is changed later.
    """

    new_cases: int
    plans: int
    sessions: frozenset[tuple[str, str]]           # (meeting, day) held in the period
    discussed_by_meeting: Mapping[str, int]         # one case at one meeting on one day, per meeting
    routed: tuple[int, ...]                         # per figure
    counts: Mapping[str, Mapping[str, int]]         # dimension → id → cases


def tally(cases: Iterable[Mapping], date_from: str | None = None, date_to: str | None = None,
          figures: Sequence[Figure] = (), dimensions: Sequence[str] = tuple(DIMENSIONS)) -> Tally:
    """The period's figures (:func:`report`) and counts (:func:`counts`) of ``cases``, in a form that adds up."""
    cases = [c for c in cases if is_mapping(c)]
    received = in_period_cases(cases, date_from, date_to)
    wanted = [(frozenset(f.programs), frozenset(f.meetings)) for f in figures]
    routed = [0] * len(wanted)
    for case in received:
        routing = routing_of(case)          # as confirmed (the recommendation until then)
        programs, meetings = ids_of(routing.get("programs")), ids_of(routing.get("meetings"))
        for i, (want_programs, want_meetings) in enumerate(wanted):
            if not want_programs.isdisjoint(programs) or not want_meetings.isdisjoint(meetings):
                routed[i] += 1
    plans = 0
    sessions: set[tuple[str, str]] = set()
    discussions: set[tuple[str, str, str]] = set()
    for case in cases:
        plan = case.get("plan")
        if is_mapping(plan) and plan:
            made_on = as_str(plan.get("made_on")) or received_on(case)
            plans += 1 if in_period(made_on, date_from, date_to) else 0
        for done in _done(case):
            meeting, held_on = as_str(done.get("meeting")), as_str(done.get("held_on")) or ""
            if meeting and in_period(held_on, date_from, date_to):
                sessions.add((meeting, held_on[:10]))
                discussions.add((str(case.get("id") or id(case)), meeting, held_on[:10]))
    return Tally(len(received), plans, frozenset(sessions), dict(Counter(m for _, m, _ in discussions)),
                 tuple(routed), _count(received, dimensions))


def summed(tallies: Iterable[Tally], figures: Sequence[Figure] = ()) -> tuple[Report, dict[str, dict[str, int]]]:
    """The :class:`Report` and the counts of the groups ``tallies`` were made of, together.

    >>> a = tally([{"id": "C1", "status": "received", "meetings_done": [{"meeting": "m", "held_on": "2026-05-01"}]}])
    >>> b = tally([{"id": "C2", "status": "received", "meetings_done": [{"meeting": "m", "held_on": "2026-05-01"}]}])
    >>> report_, counted = summed([a, b])
    >>> report_.new_cases, report_.meetings_held, report_.discussed, counted["status"]
    (2, 1, 2, {'received': 2})
    """
    tallies = list(tallies)
    sessions = frozenset().union(*(t.sessions for t in tallies))
    discussed: Counter = Counter()
    counted: dict[str, Counter] = {}
    for t in tallies:
        discussed.update(t.discussed_by_meeting)
        for dimension, by_id in t.counts.items():
            counted.setdefault(dimension, Counter()).update(by_id)
    report_ = Report(
        new_cases=sum(t.new_cases for t in tallies),
        plans=sum(t.plans for t in tallies),
        meetings_held=len(sessions),
        discussed=sum(discussed.values()),
        routed=tuple((f.label, sum(t.routed[i] for t in tallies)) for i, f in enumerate(figures)),
        held_by_meeting=dict(Counter(m for m, _ in sessions)),
        discussed_by_meeting=dict(discussed),
    )
    return report_, {dimension: dict(c) for dimension, c in counted.items()}


def report(cases: Iterable[Mapping], date_from: str | None = None, date_to: str | None = None,
           figures: Iterable[Figure] = ()) -> Report:
    """The period's figures for the 重層的支援体制整備事業 report.

    会議開催件数 counts distinct (meeting, day) pairs; 会議で協議した件数 counts case
    discussions (one case at one meeting on one day).
    """
    figures = tuple(figures)
    return summed([tally(cases, date_from, date_to, figures, ())], figures)[0]


def labelled(pack: Pack, dimension: str, counted: Mapping[str, int]) -> list[tuple[str, int]]:
    """(Japanese label, count) in the pack's order, then unknown ids, then "（なし）".

    Months are in calendar order. Every pack entry is listed, with 0 when no case has it,
    so a chart shows what is missing too.
    """
    kind = "meetings" if dimension == "meeting" else DIMENSIONS[dimension][1]
    if kind is None:
        rows = [(key, n) for key, n in sorted(counted.items()) if key != NONE]
    else:
        known = [c.id for c in pack.choices(kind)]
        rows = [(pack.label(kind, key), counted.get(key, 0)) for key in known]
        rows += [(pack.label(kind, key), n) for key, n in sorted(counted.items()) if key not in known and key != NONE]
    if counted.get(NONE):
        rows.append(("（なし）", counted[NONE]))
    return rows


def count_rows(pack: Pack, counted: Mapping[str, Mapping[str, int]]) -> list[dict]:
    """All counts as rows ``{区分, 項目, 件数}``, for one CSV."""
    return [{"区分": DIMENSIONS[dimension][0], "項目": label, "件数": n}
            for dimension in DIMENSIONS if dimension in counted
            for label, n in labelled(pack, dimension, counted[dimension])]


#: Columns of the case-list CSV: the id and coded facts only, never a name or a story.
CASE_COLUMNS = ("ID", "受付日", "受付日（和暦）", "相談経路", "圏域", "状態", "優先度", "事業", "機関", "会議", "プラン", "会議で協議",
                "提案する事業（会議で協議）", "振り分けの確定", "推薦の事業", "推薦の機関", "推薦の会議", "推薦の設定の版", "主担当の機関", "つなぎ")

_REF_STATES = {"pending": "受理待ち", "accepted": "受理", "returned": "返送"}


def case_row(pack: Pack, case: Mapping) -> dict:
    """One case as a CSV row of :data:`CASE_COLUMNS`: no personal field except the id."""
    intake, decision = as_mapping(case.get("intake")), as_mapping(case.get("decision"))
    routing, confirmed = routing_of(case), as_mapping(case.get("confirmed"))
    area, channel, status = as_str(intake.get("area")), as_str(intake.get("channel")), status_of(case)
    priority = priority_of(case)
    day = received_on(case)
    owner = as_str(as_mapping(case.get("owner")).get("agency"))
    refs = [r for r in case.get("referrals") or () if is_mapping(r)] if isinstance(case.get("referrals"), list) else []
    return {
        "ID": as_str(case.get("id")) or "",
        "受付日": day,
        "受付日（和暦）": wareki(day).split(" (")[0] if day else "",
        "相談経路": pack.label("channels", channel) if channel else "",
        "圏域": pack.label("areas", area) if area else ("市外" if intake.get("resident") is False else ""),
        "状態": pack.label("statuses", status) if status else "",
        "優先度": pack.label("priorities", priority) if priority else "",
        "事業": [pack.label("programs", i) for i in ids_of(routing.get("programs"))],
        "機関": [pack.label("agencies", i) for i in ids_of(routing.get("agencies"))],
        "会議": [pack.label("meetings", i) for i in ids_of(routing.get("meetings"))],
        "プラン": "あり" if is_mapping(case.get("plan")) and case.get("plan") else "",
        "会議で協議": len(_done(case)),
        "提案する事業（会議で協議）": [pack.label("programs", i) for i in ids_of(routing.get("proposed_programs"))],
        "振り分けの確定": (as_str(confirmed.get("on")) or "確定") if confirmed else "未確定（推薦のまま）",
        "推薦の事業": [pack.label("programs", i) for i in ids_of(decision.get("programs"))],
        "推薦の機関": [pack.label("agencies", i) for i in ids_of(decision.get("agencies"))],
        "推薦の会議": [pack.label("meetings", i) for i in ids_of(decision.get("meetings"))],
        "推薦の設定の版": as_str(decision.get("config_version")) or as_str(case.get("config_version")) or "",
        "主担当の機関": pack.label("agencies", owner) if owner else "",
        "つなぎ": [f"{pack.label('agencies', str(r.get('agency')))}:{_REF_STATES.get(r.get('state'), r.get('state'))}"
                for r in refs],
    }


FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """``text`` as a spreadsheet shows it rather than runs it.

    >>> inert("=1+1"), inert("@SUM(A1)"), inert("介護")
    ("'=1+1", "'@SUM(A1)", '介護')
    """
    return "'" + text if text.startswith(FORMULA_LEADS) else text


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    r"""CSV bytes Excel opens as Japanese: BOM, CRLF, a header of ``columns``.

    Lists become "、"-joined text; None and missing keys become empty cells. Text that a
    spreadsheet would run as a formula (starting with = + - @, a tab or a CR) gets a leading
    apostrophe: anyone may type into a field or an ID box, and Excel must show it, not run it.

    >>> data = to_csv([{"項目": "介護", "件数": 3}], ["項目", "件数"])
    >>> data[:3], data.decode("utf-8-sig")
    (b'\xef\xbb\xbf', '項目,件数\r\n介護,3\r\n')
    >>> to_csv([{"a": '=HYPERLINK("http://x")', "b": -3}], ["a", "b"]).decode("utf-8-sig").splitlines()[1]
    '"\'=HYPERLINK(""http://x"")",-3'
    """
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, (list, tuple)):
            return inert("、".join(cell(v) for v in value))
        return inert(value) if isinstance(value, str) else str(value)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(column)) for column in columns])
    return buffer.getvalue().encode("utf-8-sig")
