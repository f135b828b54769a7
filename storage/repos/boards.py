"""The monthly points boards: what each village's households earned in a month (its 红榜)
and lost under public rules (its 黑榜), in two grouped queries for any number of villages;
the boards themselves, drafted once per village and month."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    BoardStatus,
    Household,
    HouseholdPoints,
    Person,
    PointBoard,
    PointEntry,
)

Totals = dict[int, list[tuple[int, str, int]]]  # village -> [(household, rule, points)]


class BoardRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def earned(
        self,
        village_ids: Sequence[int],
        since: datetime,
        until: datetime,
        skip: Sequence[str],
        top: int,
    ) -> dict[int, list[tuple[int, int]]]:
        """Each village's `top` households by the points they earned in [since, until), most
        first (entries of the rules in `skip` not counted: redemptions); ranked in the
        database, so only the boards' lines travel."""
        total = func.sum(PointEntry.points).label("total")
        grouped = (
            select(
                PointEntry.village_id,
                PointEntry.household_id,
                total,
                func.row_number()
                .over(
                    partition_by=PointEntry.village_id,
                    order_by=(total.desc(), PointEntry.household_id),
                )
                .label("place"),
            )
            .where(PointEntry.village_id.in_(village_ids))
            .where(PointEntry.at >= since, PointEntry.at < until, PointEntry.points > 0)
            .where(PointEntry.rule.not_in(skip))
            .group_by(PointEntry.village_id, PointEntry.household_id)
            .subquery()
        )
        stmt = (
            select(grouped.c.village_id, grouped.c.household_id, grouped.c.total)
            .where(grouped.c.place <= top)
            .order_by(grouped.c.village_id, grouped.c.place)
        )
        found: dict[int, list[tuple[int, int]]] = {}
        for village, household, points in (await self._s.execute(stmt)).tuples():
            found.setdefault(village, []).append((household, int(points)))
        return found

    async def deducted(
        self, village_ids: Sequence[int], since: datetime, until: datetime, rules: Sequence[str]
    ) -> Totals:
        """Each village's deductions in [since, until) under the rules shown on a 黑榜, by
        household and rule."""
        if not rules:
            return {}
        stmt = (
            select(
                PointEntry.village_id,
                PointEntry.household_id,
                PointEntry.rule,
                func.sum(PointEntry.points),
            )
            .where(PointEntry.village_id.in_(village_ids))
            .where(PointEntry.at >= since, PointEntry.at < until, PointEntry.points < 0)
            .where(PointEntry.rule.in_(rules))
            .group_by(PointEntry.village_id, PointEntry.household_id, PointEntry.rule)
        )
        found: Totals = {}
        for village, household, rule, points in (await self._s.execute(stmt)).tuples():
            found.setdefault(village, []).append((household, rule, int(points)))
        for rows in found.values():
            rows.sort(key=lambda r: (r[2], r[0]))
        return found

    async def names(self, household_ids: Sequence[int]) -> dict[int, str]:
        """Each household by the name of its first registered member."""
        stmt = (
            select(Person.household_id, Person.name)
            .where(Person.household_id.in_(household_ids))
            .order_by(Person.id)
        )
        names: dict[int, str] = {}
        for household, name in (await self._s.execute(stmt)).tuples():
            if household is not None:
                names.setdefault(household, name)
        return names

    async def draft(self, boards: Sequence[PointBoard]) -> set[int]:
        """Keep the new drafts in one statement; the villages whose draft was kept (not one
        that has that month's board already, as another run may have just made)."""
        if not boards:
            return set()
        rows = [
            {
                "village_id": b.village_id,
                "month": b.month,
                "lines": b.lines,
                "status": b.status,
                "made_at": b.made_at,
            }
            for b in boards
        ]
        insert = pg_insert if self._s.bind.dialect.name == "postgresql" else sqlite_insert
        stmt = (
            insert(PointBoard)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["village_id", "month"])
            .returning(PointBoard.village_id)
        )
        return set((await self._s.scalars(stmt)).all())

    async def drafted(self, village_ids: Sequence[int], month: str) -> set[int]:
        stmt = select(PointBoard.village_id).where(
            PointBoard.village_id.in_(village_ids), PointBoard.month == month
        )
        return set((await self._s.scalars(stmt)).all())

    async def latest(self, village_id: int, status: BoardStatus) -> PointBoard | None:
        stmt = (
            select(PointBoard)
            .where(PointBoard.village_id == village_id, PointBoard.status == status)
            .order_by(PointBoard.month.desc())
            .limit(1)
        )
        found: PointBoard | None = await self._s.scalar(stmt)
        return found

    async def village_stats(
        self, village_ids: Sequence[int], since: datetime
    ) -> dict[int, tuple[int, int, int, int]]:
        """Per village: (points held by its households, its households, households with an
        entry since then, entries since then)."""
        held_stmt = (
            select(HouseholdPoints.village_id, func.sum(HouseholdPoints.balance))
            .where(HouseholdPoints.village_id.in_(village_ids))
            .group_by(HouseholdPoints.village_id)
        )
        held = dict((await self._s.execute(held_stmt)).tuples().all())
        homes_stmt = (
            select(Household.village_id, func.count())
            .where(Household.village_id.in_(village_ids))
            .group_by(Household.village_id)
        )
        homes = dict((await self._s.execute(homes_stmt)).tuples().all())
        month = (
            select(
                PointEntry.village_id,
                func.count(func.distinct(PointEntry.household_id)),
                func.count(),
            )
            .where(PointEntry.village_id.in_(village_ids), PointEntry.at >= since)
            .group_by(PointEntry.village_id)
        )
        active = {v: (h, n) for v, h, n in (await self._s.execute(month)).tuples()}
        return {
            v: (int(held.get(v) or 0), int(homes.get(v) or 0), *active.get(v, (0, 0)))
            for v in village_ids
        }
