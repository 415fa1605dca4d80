"""Dates as staff read them: 和暦 with 西暦, e.g. 令和8年11月26日 (2026-11-26)."""
from __future__ import annotations

import datetime as dt

_ERAS = ((dt.date(2019, 5, 1), "令和"), (dt.date(1989, 1, 8), "平成"), (dt.date(1926, 12, 25), "昭和"),
         (dt.date(1912, 7, 30), "大正"), (dt.date(1868, 1, 25), "明治"))


def wareki(day: dt.date | str | None) -> str:
    """和暦 and 西暦 together; 元年 for the first year of an era.

    >>> wareki("2026-11-26")
    '令和8年11月26日 (2026-11-26)'
    >>> wareki(dt.date(2019, 5, 1))
    '令和元年5月1日 (2019-05-01)'
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
            return f"{era}{'元' if year == 1 else year}年{day.month}月{day.day}日 ({day.isoformat()})"
    return day.isoformat()
