"""通知 and 督办: notices, tasks, and where each receiving unit stands."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Notice, NoticeKind, NoticeTarget


class NoticeRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, notice: Notice) -> Notice:
        self._s.add(notice)
        await self._s.flush()  # its number, for the answer
        return notice

    async def get(self, notice_id: int, *, lock: bool = False) -> Notice | None:
        stmt = select(Notice).where(Notice.id == notice_id)
        return (await self._s.scalars(stmt.with_for_update() if lock else stmt)).first()

    async def remove(self, notice: Notice) -> None:
        """Delete a notice not yet published (it has no rows and no pushes)."""
        assert notice.published_at is None, "a published notice is kept"
        await self._s.delete(notice)

    async def to_publish(self, now: datetime, limit: int) -> Sequence[Notice]:
        """Scheduled notices whose time has come; locked, skipping those another sweep
        holds (PostgreSQL)."""
        stmt = (
            select(Notice)
            .where(Notice.published_at.is_(None), Notice.publish_at <= now)
            .order_by(Notice.publish_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self._s.scalars(stmt)).all()

    def add_targets(self, targets: Sequence[NoticeTarget]) -> None:
        """Many rows at once (written with the transaction's next flush)."""
        self._s.add_all(targets)

    async def targets(self, notice_id: int) -> Sequence[NoticeTarget]:
        """Every receiving unit's row, the units the notice went to first, then the villages
        townships handed a task to."""
        stmt = (
            select(NoticeTarget)
            .where(NoticeTarget.notice_id == notice_id)
            .order_by(NoticeTarget.via_id.is_not(None), NoticeTarget.id)
        )
        return (await self._s.scalars(stmt)).all()

    async def target(
        self, notice_id: int, unit_ids: Collection[int], *, lock: bool = False
    ) -> NoticeTarget | None:
        """The row of one of these units (the nearest first: a village before its township)."""
        stmt = (
            select(NoticeTarget)
            .where(NoticeTarget.notice_id == notice_id, NoticeTarget.unit_id.in_(unit_ids))
            .order_by(NoticeTarget.via_id.is_(None), NoticeTarget.id)
        )
        return (await self._s.scalars(stmt.with_for_update() if lock else stmt)).first()

    async def split(self, target_id: int, *, lock: bool = False) -> Sequence[NoticeTarget]:
        """The village rows a township's row was handed down to."""
        stmt = select(NoticeTarget).where(NoticeTarget.via_id == target_id)
        return (await self._s.scalars(stmt.with_for_update() if lock else stmt)).all()

    async def target_by_id(self, target_id: int, *, lock: bool = False) -> NoticeTarget | None:
        stmt = select(NoticeTarget).where(NoticeTarget.id == target_id)
        return (await self._s.scalars(stmt.with_for_update() if lock else stmt)).first()

    async def pending(
        self, unit_ids: Collection[int], limit: int = 20
    ) -> Sequence[tuple[Notice, NoticeTarget]]:
        """What these units still owe (an acknowledgement or a completion), oldest first."""
        stmt = (
            select(Notice, NoticeTarget)
            .join(NoticeTarget, NoticeTarget.notice_id == Notice.id)
            .where(
                NoticeTarget.unit_id.in_(unit_ids),
                NoticeTarget.done_at.is_(None),
                NoticeTarget.split_at.is_(None),
            )
            .order_by(Notice.id)
            .limit(limit)
        )
        return [(n, t) for n, t in (await self._s.execute(stmt)).tuples()]

    async def recent(
        self, unit_ids: Collection[int], above: Collection[int], limit: int = 10
    ) -> Sequence[Notice]:
        """The latest published notices and tasks these units sent or were asked to answer,
        and the notices units `above` them sent to everyone below."""
        received = select(NoticeTarget.notice_id).where(NoticeTarget.unit_id.in_(unit_ids))
        stmt = (
            select(Notice)
            .where(
                Notice.published_at.is_not(None),
                or_(
                    Notice.unit_id.in_(unit_ids),
                    Notice.id.in_(received),
                    and_(Notice.unit_id.in_(above), Notice.kind == NoticeKind.NOTICE),
                ),
            )
            .order_by(Notice.id.desc())
            .limit(limit)
        )
        return (await self._s.scalars(stmt)).all()

    async def published_by(self, unit_ids: Collection[int], limit: int) -> Sequence[Notice]:
        """The latest notices (not tasks) these units published: what a village's residents
        were sent from their village, township and county."""
        stmt = (
            select(Notice)
            .where(
                Notice.unit_id.in_(unit_ids),
                Notice.kind == NoticeKind.NOTICE,
                Notice.published_at.is_not(None),
            )
            .order_by(Notice.published_at.desc(), Notice.id.desc())
            .limit(limit)
        )
        return (await self._s.scalars(stmt)).all()

    async def chase_due(self, now: datetime, limit: int) -> Sequence[NoticeTarget]:
        """Rows past their deadline with a reminder step due; locked, skipping those another
        sweep holds."""
        stmt = (
            select(NoticeTarget)
            .where(NoticeTarget.chase_at <= now, NoticeTarget.done_at.is_(None))
            .order_by(NoticeTarget.chase_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self._s.scalars(stmt)).all()
