"""The monthly points boards: what each village's households earned in a month (its 红榜)
and lost under public rules (its 黑榜), in two grouped queries for any number of villages;
the boards themselves, drafted once per village and month."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import BoardStatus, Person, PointBoard, PointEntry

Totals = dict[int, list[tuple[int, str, int]]]  # village -> [(household, rule, points)]


class BoardRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def earned(
        self, village_ids: Sequence[int], since: datetime, until: datetime, skip: Sequence[str]
    ) -> dict[int, list[tuple[int, int]]]:
        """Each village's households by the points they earned in [since, until), most
        first (entries of the rules in `skip` not counted: redemptions)."""
        stmt = (
            select(PointEntry.village_id, PointEntry.household_id, func.sum(PointEntry.points))
            .where(PointEntry.village_id.in_(village_ids))
            .where(PointEntry.at >= since, PointEntry.at < until, PointEntry.points > 0)
            .where(PointEntry.rule.not_in(skip))
            .group_by(PointEntry.village_id, PointEntry.household_id)
        )
        found: dict[int, list[tuple[int, int]]] = {}
        for village, household, points in (await self._s.execute(stmt)).tuples():
            found.setdefault(village, []).append((household, int(points)))
        for rows in found.values():
            rows.sort(key=lambda r: (-r[1], r[0]))
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

    async def draft(self, board: PointBoard) -> bool:
        """Keep a new draft; False when the village has that month's board already."""
        try:
            async with self._s.begin_nested():
                self._s.add(board)
        except IntegrityError:
            return False
        return True

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
