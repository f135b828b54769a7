"""三务公开: the disclosures villages publish."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Disclosure, DisclosureKind

LONGEST_PERIOD = 3  # months: a quarter


class DisclosureRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, disclosure: Disclosure) -> Disclosure:
        self._s.add(disclosure)
        await self._s.flush()  # its number, for the residents' groups
        return disclosure

    async def get(self, disclosure_id: int) -> Disclosure | None:
        return await self._s.get(Disclosure, disclosure_id)

    async def latest(
        self, village_id: int, kinds: Collection[DisclosureKind], limit: int = 10
    ) -> Sequence[Disclosure]:
        """The village's newest disclosures of these kinds, newest first."""
        stmt = (
            select(Disclosure)
            .where(Disclosure.village_id == village_id, Disclosure.kind.in_(list(kinds)))
            .order_by(Disclosure.published_at.desc(), Disclosure.id.desc())
            .limit(limit)
        )
        return (await self._s.scalars(stmt)).all()

    async def finance_covering(self, village_ids: Collection[int], month: date) -> set[int]:
        """Which of these villages have a finance disclosure whose period covers the month
        (`month` its first day): a month's own, or its quarter's."""
        earliest = _months_before(month, LONGEST_PERIOD - 1)
        stmt = select(
            Disclosure.village_id, Disclosure.period_start, Disclosure.period_months
        ).where(
            Disclosure.village_id.in_(list(village_ids)),
            Disclosure.kind == DisclosureKind.FINANCE,
            Disclosure.period_start >= earliest,
            Disclosure.period_start <= month,
        )
        return {
            village
            for village, start, months in (await self._s.execute(stmt)).tuples()
            if _months_between(start, month) < months
        }


def _months_before(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def _months_between(start: date, month: date) -> int:
    return (month.year - start.year) * 12 + month.month - start.month
