"""Dates as staff read them: 和暦 with 西暦, e.g. 令和8年11月26日 (2026-11-26)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")

_ERAS = ((dt.date(2019, 5, 1), "令和"), (dt.date(1989, 1, 8), "平成"), (dt.date(1926, 12, 25), "昭和"),
         (dt.date(1912, 7, 30), "大正"), (dt.date(1868, 1, 25), "明治"))


def wareki(day: dt.date | str | None, western: bool = True) -> str:
    """和暦 and 西暦 together (``western=False``: 和暦 only, for narrow list columns); 元年 for the
    first year of an era.

    >>> wareki("2026-11-26")
    '令和8年11月26日 (2026-11-26)'
    >>> wareki(dt.date(2019, 5, 1))
    '令和元年5月1日 (2019-05-01)'
    >>> wareki("2026-11-26", western=False)
    '令和8年11月26日'
    >>> wareki(None)
    ''
    """
    if day is None or day == "":
        return ""
    if isinstance(day, dt.datetime):
        day = day.date()
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day[:10])
        except ValueError:
            return day
    for start, era in _ERAS:
        if day >= start:
            year = day.year - start.year + 1
            text = f"{era}{'元' if year == 1 else year}年{day.month}月{day.day}日"
            return f"{text} ({day.isoformat()})" if western else text
    return day.isoformat()


def today() -> dt.date:
    """Today in Japan, whatever the server's clock zone (a UTC server is a day behind until 9:00)."""
    return dt.datetime.now(JST).date()


def wareki_time(stamp: str | None) -> str:
    """A stored timestamp (ISO 8601 with its offset) as staff read it, in Japan time.

    >>> wareki_time("2026-11-29T23:30:00+00:00")
    '令和8年11月30日 (2026-11-30) 08:30'
    >>> wareki_time("2026-11-30T08:30:00")
    '令和8年11月30日 (2026-11-30) 08:30'
    >>> wareki_time("")
    ''
    """
    if not stamp:
        return ""
    try:
        moment = dt.datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)
    if moment.tzinfo is None:            # written without an offset: taken as Japan time
        moment = moment.replace(tzinfo=JST)
    moment = moment.astimezone(JST)
    return f"{wareki(moment.date())} {moment:%H:%M}"
