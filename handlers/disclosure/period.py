"""The period a disclosure covers, as cadres write it: "2026年11月", "2026年11", "11月",
"2026年第四季度", "第4季度", "2026-11".

Without a year it is the latest such month or quarter that has begun (this year's, or
last year's when this year's is still to come: "12月" written in January is December's).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

FIRST_YEAR = 2000  # an earlier year is a slip of the keyboard
_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMERALS |= {"十": 10, "十一": 11, "十二": 12}
_YEAR = r"(?:(?P<year>\d{4})(?:年|[-/.])?)?"
_MONTH = re.compile(_YEAR + r"(?P<month>\d{1,2}|十[一二]?|[一二三四五六七八九])(?:月份?)?")
_QUARTER = re.compile(_YEAR + r"(?:第?(?P<quarter>[1-4一二三四])季度?|q(?P<q>[1-4]))")

Words = Callable[..., str]  # (key, **values) -> text


@dataclass(frozen=True, slots=True)
class Period:
    start: date  # the first day of the month or quarter
    months: int  # 1 a month, 3 a quarter

    @property
    def quarter(self) -> int:
        return (self.start.month - 1) // 3 + 1

    def covers(self, month: date) -> bool:
        """Whether the month (its first day) is in the period."""
        after = (month.year - self.start.year) * 12 + month.month - self.start.month
        return 0 <= after < self.months

    def shown(self, words: Words) -> str:
        """The period in the reader's words: 2026年11月, 2026年第四季度."""
        if self.months == 3:
            return words(f"disclosure.period.quarter_{self.quarter}", year=self.start.year)
        return words("disclosure.period.month", year=self.start.year, month=self.start.month)


def parse_period(text: str, today: date) -> Period | None:
    """The month or quarter `text` names, or None if it names none. Whether it has begun
    is the caller's question when a year is written."""
    said = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()
    if m := _QUARTER.fullmatch(said):
        written = m["quarter"] or m["q"]
        quarter = _NUMERALS.get(written) or int(written)
        return _dated(m["year"], (quarter - 1) * 3 + 1, 3, today)
    if m := _MONTH.fullmatch(said):
        month = _NUMERALS.get(m["month"]) or int(m["month"])
        if not 1 <= month <= 12:
            return None
        return _dated(m["year"], month, 1, today)
    return None


def _dated(year: str | None, month: int, months: int, today: date) -> Period | None:
    if year is not None:
        if int(year) < FIRST_YEAR:
            return None
        return Period(date(int(year), month, 1), months)
    start = date(today.year, month, 1)
    if start > today:  # this year's has not begun: last year's
        start = start.replace(year=today.year - 1)
    return Period(start, months)


def month_before(day: date) -> Period:
    """The calendar month before the one `day` is in."""
    first = day.replace(day=1)
    if first.month == 1:
        return Period(first.replace(year=first.year - 1, month=12), 1)
    return Period(first.replace(month=first.month - 1), 1)
