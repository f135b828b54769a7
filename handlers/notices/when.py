"""Times as cadres type them: "明天 8:00", "3天", "11-30", "11月30日 17点", "2026-12-05 9:30".

A day without a time of day takes the caller's default (a deadline the end of the working
day, a publishing time the start of it). A month-day already past means next year's.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

_DAY_WORDS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "today": 0, "tomorrow": 1}
_PATTERN = re.compile(
    r"""
    (?:
        (?P<word>今天|今日|明天|明日|后天|today|tomorrow)
      | (?P<days>\d{1,3})\s*(?:天|days?)(?:后|以后|之后|内|以内)?
      | (?:(?P<year>\d{4})[-/.年])?(?P<month>\d{1,2})[-/.月](?P<day>\d{1,2})[日号]?
    )?
    \s*
    (?:
        (?P<hour>\d{1,2})
        (?: [:：](?P<minute>\d{2}) | 点(?:(?P<half>半)|(?P<pminute>\d{1,2})分?)? | 时 )
    )?
    """,
    re.VERBOSE,
)


def parse_when(text: str, now: datetime, zone: ZoneInfo, default: time) -> datetime | None:
    """The moment `text` names, in UTC-aware form, or None if it names none. Whether it is
    in the past is the caller's question."""
    m = _PATTERN.fullmatch(text.strip().lower())
    if m is None or not any(m.groupdict().values()):
        return None
    local = now.astimezone(zone)
    day = local.date()
    if m["word"]:
        day += timedelta(days=_DAY_WORDS[m["word"]])
    elif m["days"]:
        day += timedelta(days=int(m["days"]))
    elif m["month"]:
        year = int(m["year"]) if m["year"] else day.year
        try:
            named = day.replace(year=year, month=int(m["month"]), day=int(m["day"]))
        except ValueError:
            return None
        if not m["year"] and named < day:
            named = named.replace(year=year + 1)
        day = named
    at = default
    if m["hour"]:
        minute = 30 if m["half"] else int(m["minute"] or m["pminute"] or 0)
        if int(m["hour"]) > 23 or minute > 59:
            return None
        at = time(int(m["hour"]), minute)
    return datetime.combine(day, at, tzinfo=zone).astimezone(now.tzinfo)
