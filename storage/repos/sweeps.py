"""What the digests count, a GROUP BY per figure over the units asked about, and the marks
that make a sweep's once-only work happen once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.models import (
    OPEN_STATUSES,
    ChatPurpose,
    ElderAlert,
    GroupChat,
    Level,
    Notice,
    NoticeTarget,
    OrgUnit,
    Person,
    Report,
    SweepMark,
)


@dataclass(slots=True)
class DayCounts:
    new: int = 0
    resolved: int = 0
    overdue: int = 0
    alerts: int = 0  # elder alerts still open
    notices: int = 0  # notices and tasks still owed

    def __bool__(self) -> bool:
        return any((self.new, self.resolved, self.overdue, self.alerts, self.notices))


@dataclass(slots=True)
class WeekCounts:
    notices: int = 0  # rows of notices and tasks published in the week
    answered: int = 0  # of those, acknowledged or completed
    alerts_raised: int = 0
    alerts_closed: int = 0


class SweepRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def mark(self, job: str, key: str, at: datetime) -> bool:
        """Record that `job` did `key`; False if it already had (this run or another's). In
        the transaction of what was done, so the mark and the work commit together."""
        dialect = self._s.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(SweepMark)
            .values(job=job, key=key, at=at)
            .on_conflict_do_nothing(index_elements=["job", "key"])
        )
        result = await self._s.execute(stmt)
        return bool(getattr(result, "rowcount", 0))

    async def marked(self, job: str, keys: Collection[str]) -> set[str]:
        """Which of these keys `job` has already done."""
        stmt = select(SweepMark.key).where(SweepMark.job == job, SweepMark.key.in_(list(keys)))
        return set((await self._s.scalars(stmt)).all())

    async def units_with_groups(
        self, levels: Collection[Level], after_id: int, limit: int
    ) -> Sequence[OrgUnit]:
        """Units of these levels that have a cadre group, by id from `after_id` on."""
        has_group = select(GroupChat.org_unit_id).where(GroupChat.purpose == ChatPurpose.CADRES)
        stmt = (
            select(OrgUnit)
            .where(OrgUnit.level.in_(levels), OrgUnit.id > after_id, OrgUnit.id.in_(has_group))
            .order_by(OrgUnit.id)
            .limit(limit)
        )
        return (await self._s.scalars(stmt)).all()

    async def day(
        self, village_ids: Collection[int], start: datetime, now: datetime
    ) -> dict[int, DayCounts]:
        """Each village's day so far: reports made, reports fixed, reports past a deadline,
        elder alerts open, notices owed."""
        counts: defaultdict[int, DayCounts] = defaultdict(DayCounts)
        ids = list(village_ids)
        overdue = and_(
            Report.status.in_(OPEN_STATUSES),
            or_(
                and_(Report.accepted_at.is_(None), Report.accept_due_at < now),
                and_(Report.resolved_at.is_(None), Report.resolve_due_at < now),
            ),
        )
        for field, where in (
            ("new", and_(Report.created_at >= start, Report.created_at < now)),
            ("resolved", and_(Report.resolved_at >= start, Report.resolved_at < now)),
            ("overdue", overdue),
        ):
            for unit_id, n in await self._count(Report.village_id, ids, where):
                setattr(counts[unit_id], field, n)
        alerts = (
            select(Person.village_id, func.count(ElderAlert.id))
            .join(Person, Person.id == ElderAlert.elder_id)
            .where(ElderAlert.closed_at.is_(None), Person.village_id.in_(ids))
            .group_by(Person.village_id)
        )
        for village_id, n in (await self._s.execute(alerts)).tuples():
            if village_id is not None:
                counts[village_id].alerts = n
        owed = and_(NoticeTarget.done_at.is_(None), NoticeTarget.split_at.is_(None))
        for unit_id, n in await self._count(NoticeTarget.unit_id, ids, owed):
            counts[unit_id].notices = n
        return dict(counts)

    async def week(
        self,
        village_ids: Collection[int],
        unit_ids: Collection[int],
        start: datetime,
        end: datetime,
    ) -> dict[int, WeekCounts]:
        """Per unit, the notices and tasks published to it in the week and how many it
        answered (by `unit_ids`); the elder alerts raised and closed (by village)."""
        counts: defaultdict[int, WeekCounts] = defaultdict(WeekCounts)
        rows = (
            select(
                NoticeTarget.unit_id,
                func.count(NoticeTarget.id),
                func.count(NoticeTarget.done_at),
            )
            .join(Notice, Notice.id == NoticeTarget.notice_id)
            .where(
                NoticeTarget.unit_id.in_(list(unit_ids)),
                Notice.published_at >= start,
                Notice.published_at < end,
            )
            .group_by(NoticeTarget.unit_id)
        )
        for unit_id, total, done in (await self._s.execute(rows)).tuples():
            counts[unit_id].notices, counts[unit_id].answered = total, done
        for field, column in (
            ("alerts_raised", ElderAlert.opened_at),
            ("alerts_closed", ElderAlert.closed_at),
        ):
            stmt = (
                select(Person.village_id, func.count(ElderAlert.id))
                .join(Person, Person.id == ElderAlert.elder_id)
                .where(Person.village_id.in_(list(village_ids)), column >= start, column < end)
                .group_by(Person.village_id)
            )
            for village_id, n in (await self._s.execute(stmt)).tuples():
                if village_id is not None:
                    setattr(counts[village_id], field, n)
        return dict(counts)

    async def _count(
        self, by: InstrumentedAttribute[int], ids: list[int], where: ColumnElement[bool]
    ) -> list[tuple[int, int]]:
        stmt = select(by, func.count()).where(by.in_(ids), where).group_by(by)
        return [(u, n) for u, n in (await self._s.execute(stmt)).tuples()]
