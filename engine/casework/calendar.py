"""Meeting dates: the regular cadences of meetings.yaml, on-demand 支援会議, and iCal.

Regular meetings fall on the ``week``-th ``weekday`` of their months. A date that is a
public holiday (jpholiday) or inside the year-end closure (12/29–1/3) moves to the
previous (``holiday_shift: earlier``) or next (``later``) open day. An open day is a
weekday that is neither a holiday nor a closure day; a meeting configured for a
Saturday or Sunday (草の根ネットワーク meets on Saturdays) may also land on that same
weekday. Weekends themselves never move a meeting: only holidays and the closure do.

The dates come from the config's placeholder weekdays until the city sets real ones.
``per_year`` is only checked by the loader: the months follow from ``kind`` and
``start_month`` (bimonthly: the months of the same parity as ``start_month``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

import jpholiday
from dateutil.relativedelta import relativedelta
from dateutil.rrule import FR, MO, MONTHLY, SA, SU, TH, TU, WE, rrule
from icalendar import Calendar, Event

from engine.errors import ConflictError, TsunaguError, did_you_mean
from engine.pack.model import Choice, Pack

ON_DEMAND_KEY = "meetings.on_demand"
WEEKDAYS = {"monday": MO, "tuesday": TU, "wednesday": WE, "thursday": TH, "friday": FR, "saturday": SA, "sunday": SU}
WEEKDAY_JA = "月火水木金土日"
CLOSURE = {(12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3)}
CLOSURE_REASON = "年末年始の閉庁日"
# Bimonthly meetings without start_month follow the fiscal year (April, June, …).
DEFAULT_START_MONTH = 4


class CalendarError(TsunaguError):
    """A meeting the pack does not have, or an on-demand meeting that cannot be opened."""


@dataclass(frozen=True)
class Occurrence:
    """One session of a meeting. ``original_date`` is the configured date before any move."""

    meeting_id: str
    label: str
    date: dt.date
    original_date: dt.date
    shifted: bool = False
    reason: str = ""                     # why it moved (the holiday's name), "" when it did not

    @property
    def uid(self) -> str:
        """Stable iCal UID: the same meeting on the same day is the same event."""
        return f"{self.meeting_id}-{self.date.isoformat()}@tsunagu"

    def note(self) -> str:
        """Japanese note for a moved date, "" otherwise.

        >>> Occurrence("m", "会議", dt.date(2026, 11, 24), dt.date(2026, 11, 23), True, "勤労感謝の日").note()
        '勤労感謝の日のため 11月23日（月） から移動'
        """
        if not self.shifted:
            return ""
        d = self.original_date
        return f"{self.reason}のため {d.month}月{d.day}日（{WEEKDAY_JA[d.weekday()]}） から移動"


def by_date(o: Occurrence) -> tuple[dt.date, str]:
    """Sort key: by date, then meeting id (a stable order for sessions on one day)."""
    return o.date, o.meeting_id


@lru_cache(maxsize=8192)
def closed_reason(day: dt.date) -> str:
    """Why city hall is closed on ``day`` (a holiday's name or the year-end closure), or "".

    Weekends are not reported: they move no meeting.

    >>> closed_reason(dt.date(2026, 11, 23))
    '勤労感謝の日'
    >>> closed_reason(dt.date(2026, 12, 29))
    '年末年始の閉庁日'
    >>> closed_reason(dt.date(2026, 11, 21))
    ''
    """
    if (day.month, day.day) in CLOSURE:
        return CLOSURE_REASON
    return jpholiday.is_holiday_name(day) or ""


def is_open_day(day: dt.date, weekend_ok: int | None = None) -> bool:
    """Not closed and a weekday; ``weekend_ok`` (0=Mon … 6=Sun) also admits that weekend day.

    >>> is_open_day(dt.date(2026, 11, 24)), is_open_day(dt.date(2026, 11, 28)), is_open_day(dt.date(2026, 11, 28), 5)
    (True, False, True)
    """
    if closed_reason(day):
        return False
    return day.weekday() < 5 or day.weekday() == weekend_ok


@lru_cache(maxsize=8192)
def add_working_days(day: dt.date, n: int) -> dt.date:
    """The ``n``-th open weekday after ``day`` (``day`` itself when ``n`` is 0).

    Weekends, public holidays and the year-end closure (12/29–1/3) are skipped.

    >>> add_working_days(dt.date(2026, 11, 20), 1)      # Fri → Mon 11/23 is 勤労感謝の日 → Tue
    datetime.date(2026, 11, 24)
    >>> add_working_days(dt.date(2026, 12, 25), 3)      # Fri → 12/28, then 1/4, 1/5
    datetime.date(2027, 1, 5)
    """
    out = day
    for _ in range(n):
        out += dt.timedelta(days=1)
        while not is_open_day(out):
            out += dt.timedelta(days=1)
    return out


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Open weekdays after ``start`` up to and including ``end`` (0 when ``end`` <= ``start``).

    >>> working_days_between(dt.date(2026, 12, 28), dt.date(2027, 1, 4))
    1
    """
    days, out = 0, start
    while out < end:
        out += dt.timedelta(days=1)
        days += is_open_day(out)
    return days


def shift(day: dt.date, direction: str, weekend_ok: int | None = None) -> dt.date:
    """``day`` itself when it is not closed, else the nearest open day ``earlier`` or ``later``.

    >>> shift(dt.date(2026, 11, 23), "later")
    datetime.date(2026, 11, 24)
    >>> shift(dt.date(2027, 1, 1), "earlier")
    datetime.date(2026, 12, 28)
    >>> shift(dt.date(2026, 11, 21), "later", 5)
    datetime.date(2026, 11, 21)
    """
    if not closed_reason(day):
        return day
    step = dt.timedelta(days=-1 if direction == "earlier" else 1)
    out = day + step
    # The closure plus adjoining holidays and a weekend span well under a month.
    while not is_open_day(out, weekend_ok):
        out += step
    return out


def meeting(pack: Pack, meeting_id: str) -> Choice:
    """The meeting ``meeting_id`` of the pack; ``CalendarError`` with a suggestion if unknown."""
    for m in pack.meetings:
        if m.id == meeting_id:
            return m
    hint = did_you_mean(meeting_id, [m.id for m in pack.meetings])
    raise CalendarError(f"会議「{meeting_id}」は meetings.yaml にありません。" + (f"（{hint}）" if hint else ""))


def is_on_demand(m: Choice) -> bool:
    return (m.get("cadence") or {}).get("kind") == "on_demand"


def _months(cadence: Any) -> list[int]:
    if cadence.get("kind") == "monthly":
        return list(range(1, 13))
    parity = int(cadence.get("start_month") or DEFAULT_START_MONTH) % 2
    return [m for m in range(1, 13) if m % 2 == parity]


def _configured_dates(cadence: Any, first: dt.date, last: dt.date) -> list[dt.date]:
    """The ``week``-th (or each of the ``weeks``-th) weekday of each meeting month from
    ``first`` to ``last`` (inclusive)."""
    weeks = [int(w) for w in cadence.get("weeks") or [cadence["week"]]]
    # "5th" means the last one: a month without a 5th Thursday still has its meeting.
    nth = [WEEKDAYS[cadence["weekday"]](-1 if week == 5 else week) for week in sorted(set(weeks))]
    rule = rrule(MONTHLY, dtstart=first, until=last, bymonth=_months(cadence), byweekday=nth)
    return [d.date() for d in rule]


def occurrences(pack: Pack, start: dt.date, months: int = 12) -> list[Occurrence]:
    """Regular sessions held from ``start`` (inclusive) for ``months`` months (exclusive end).

    A session belongs to the window by the date it is actually held (after any move).
    On-demand meetings have no regular sessions. Sorted by date, then meeting id.
    """
    end = start + relativedelta(months=months)
    # Look a month beyond both edges: a move may carry a session across them.
    first = (start - relativedelta(months=1)).replace(day=1)
    last = end + relativedelta(months=1)
    out = []
    for m in pack.meetings:
        cadence = m.get("cadence") or {}
        if cadence.get("kind") not in ("monthly", "bimonthly"):
            continue
        weekday = WEEKDAYS[cadence["weekday"]].weekday
        weekend_ok = weekday if weekday >= 5 else None
        for original in _configured_dates(cadence, first, last):
            held = shift(original, m.get("holiday_shift") or "later", weekend_ok)
            if start <= held < end:
                out.append(Occurrence(m.id, m.label, held, original, held != original, closed_reason(original)))
    return sorted(out, key=by_date)


def _entries(value: Any) -> list[dict]:
    """The stored on-demand list (None when nothing was ever opened)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise CalendarError(f"保存されている随時開催の会議（{ON_DEMAND_KEY}）の形式が壊れています。管理者に連絡してください。")
    return value


def open_on_demand(repo: Any, pack: Pack, meeting_id: str, held_on: dt.date, actor: str) -> dict:
    """Schedule a session of an on-demand meeting (支援会議) and return its stored entry.

    Opening the same meeting on the same day twice returns the first entry, so a
    double click adds nothing. The list is updated with compare-and-set; when another
    staff member changed it meanwhile, it is read again and retried once.
    """
    m = meeting(pack, meeting_id)
    if not is_on_demand(m):
        raise CalendarError(f"「{m.label}」は定例の会議です。随時に開けるのは cadence.kind: on_demand の会議だけです。")
    entry = {"id": f"{meeting_id}-{held_on.isoformat()}", "meeting_id": meeting_id, "label": m.label,
             "date": held_on.isoformat(), "opened_by": actor,
             "opened_at": dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")}
    try:
        return _append(repo, entry)
    except ConflictError:
        return _append(repo, entry)


def _append(repo: Any, entry: dict) -> dict:
    """Add ``entry`` to the stored list unless its id is there; ConflictError if the list changed meanwhile."""
    raw = repo.get_meta(ON_DEMAND_KEY)
    old = _entries(raw)
    for existing in old:
        if existing.get("id") == entry["id"]:
            return existing
    repo.set_meta(ON_DEMAND_KEY, [*old, entry], expected=raw)
    return entry


def on_demand_occurrences(repo: Any, since: dt.date | None = None) -> list[Occurrence]:
    """Sessions opened with :func:`open_on_demand` (from ``since`` on, when given), by date."""
    out = []
    for e in _entries(repo.get_meta(ON_DEMAND_KEY)):
        day = dt.date.fromisoformat(e["date"])
        if since is None or day >= since:
            out.append(Occurrence(e["meeting_id"], e.get("label", e["meeting_id"]), day, day))
    return sorted(out, key=by_date)


def next_occurrence(pack: Pack, meeting_id: str, today: dt.date,
                    extra: Iterable[Occurrence] = ()) -> Occurrence | None:
    """The first session of ``meeting_id`` on or after ``today`` (regular or in ``extra``), or None."""
    meeting(pack, meeting_id)
    found = [o for o in [*occurrences(pack, today, 12), *extra] if o.meeting_id == meeting_id and o.date >= today]
    return min(found, key=by_date, default=None)


def previous_occurrence(pack: Pack, meeting_id: str, today: dt.date,
                        extra: Iterable[Occurrence] = ()) -> Occurrence | None:
    """The latest session of ``meeting_id`` on or before ``today`` within two months, or None.

    The 会議記録 is usually written on the day or soon after; this is its default date.
    """
    meeting(pack, meeting_id)
    tomorrow = today + dt.timedelta(days=1)
    window = occurrences(pack, tomorrow - relativedelta(months=2), 2)
    found = [o for o in [*window, *extra] if o.meeting_id == meeting_id and o.date <= today]
    return max(found, key=by_date, default=None)


def to_ical(occurrences: Iterable[Occurrence], pack: Pack, stamp: dt.datetime | None = None) -> bytes:
    """An iCalendar file: one all-day event per session, named in Japanese.

    ``stamp`` (DTSTAMP, when the file was made) defaults to now.
    """
    stamp = stamp or dt.datetime.now(dt.timezone.utc)
    by_id = {m.id: m for m in pack.meetings}
    cal = Calendar()
    cal.add("prodid", f"-//Tsunagu//{pack.id} meetings//JA")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "つなぐ 会議予定")
    cal.add("x-wr-timezone", "Asia/Tokyo")
    for o in occurrences:
        m = by_id.get(o.meeting_id)
        lines = [m.get("purpose") or ""] if m else []
        if o.shifted:
            lines.append(f"祝日・閉庁日のため日程を変更しました（{o.note()}）。")
        if m and (m.get("cadence") or {}).get("placeholder"):
            lines.append("開催日は仮の設定です（meetings.yaml）。")
        event = Event()
        event.add("uid", o.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", o.date)
        event.add("dtend", o.date + dt.timedelta(days=1))
        event.add("summary", o.label)
        event.add("description", "\n".join(line for line in lines if line))
        if m and m.get("confidential"):
            # 社会福祉法 第106条の6: what the 支援会議 shares stays with its members.
            event.add("class", "CONFIDENTIAL")
        cal.add_component(event)
    return cal.to_ical()
