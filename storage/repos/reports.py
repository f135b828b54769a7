"""Report queries: create with its first events, the timeline, a person's reports, and who
at a unit handles what."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    OPEN_STATUSES,
    ChatPurpose,
    GroupChat,
    Report,
    ReportEvent,
    ReportPhoto,
    ReportStatus,
    RoleAssignment,
)


class ReportRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def create(self, report: Report) -> Report:
        self._s.add(report)
        await self._s.flush()  # its number
        return report

    async def event(
        self,
        report: Report,
        kind: str,
        *,
        at: datetime,
        actor_id: int | None,
        note: str = "",
        status: ReportStatus | None = None,
    ) -> ReportEvent:
        """Append a step to the report's timeline (moving its status when `status` is given)."""
        if status is not None:
            report.status = status
        event = ReportEvent(
            report_id=report.id,
            at=at,
            actor_id=actor_id,
            kind=kind,
            status=report.status,
            note=note[:500],
        )
        self._s.add(event)
        await self._s.flush()
        return event

    def photo(self, report: Report, media: str, *, event: ReportEvent, proof: bool) -> None:
        self._s.add(ReportPhoto(report_id=report.id, event_id=event.id, media=media, proof=proof))

    async def get(self, report_id: int) -> Report | None:
        return await self._s.get(Report, report_id)

    async def of_reporter(self, person_id: int, limit: int = 5) -> Sequence[Report]:
        stmt = (
            select(Report)
            .where(Report.reporter_id == person_id)
            .order_by(Report.id.desc())
            .limit(limit)
        )
        return (await self._s.scalars(stmt)).all()

    async def timeline(self, report_id: int) -> Sequence[ReportEvent]:
        stmt = (
            select(ReportEvent).where(ReportEvent.report_id == report_id).order_by(ReportEvent.id)
        )
        return (await self._s.scalars(stmt)).all()

    async def photos(self, report_id: int) -> Sequence[ReportPhoto]:
        stmt = (
            select(ReportPhoto).where(ReportPhoto.report_id == report_id).order_by(ReportPhoto.id)
        )
        return (await self._s.scalars(stmt)).all()

    async def assigned_at(self, unit_id: int) -> Sequence[RoleAssignment]:
        """Every role held at this unit, oldest first."""
        stmt = (
            select(RoleAssignment)
            .where(RoleAssignment.org_unit_id == unit_id)
            .order_by(RoleAssignment.id)
        )
        return (await self._s.scalars(stmt)).all()

    async def cadre_groups(self, unit_id: int) -> Sequence[GroupChat]:
        """The unit's cadre group chats (one per platform it uses)."""
        stmt = select(GroupChat).where(
            GroupChat.org_unit_id == unit_id, GroupChat.purpose == ChatPurpose.CADRES
        )
        return (await self._s.scalars(stmt.order_by(GroupChat.id))).all()

    async def take(self, report_id: int, person_id: int, at: datetime) -> bool:
        """Accept the report for `person_id` if it is still waiting for someone: one
        conditional UPDATE, so of two cadres accepting at the same moment exactly one wins."""
        waiting = (
            ReportStatus.SUBMITTED,
            ReportStatus.ASSIGNED,
            ReportStatus.REOPENED,
            ReportStatus.ESCALATED,
        )
        result = await self._s.execute(
            update(Report)
            .where(Report.id == report_id, Report.status.in_(waiting))
            .values(
                status=ReportStatus.IN_PROGRESS,
                assignee_id=person_id,
                accepted_at=func.coalesce(Report.accepted_at, at),  # the first acceptance
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def todo(self, person_id: int, unit_ids: Sequence[int]) -> Sequence[Report]:
        """Open reports a cadre should act on: assigned to them, or held by their units
        with nobody assigned yet."""
        mine = Report.assignee_id == person_id
        unclaimed = Report.assignee_id.is_(None) & Report.unit_id.in_(unit_ids)
        stmt = select(Report).where(Report.status.in_(OPEN_STATUSES), mine | unclaimed)
        return (await self._s.scalars(stmt.order_by(Report.id))).all()
