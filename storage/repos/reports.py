"""Report queries: create with its first events, the timeline, a person's reports, and who
at a unit handles what."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    CADRE_ROLES,
    OPEN_STATUSES,
    CategoryCorrection,
    CategoryWord,
    ChatPurpose,
    GroupChat,
    Person,
    Report,
    ReportEvent,
    ReportFollower,
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
        """Append a step to the report's timeline (moving its status when `status` is given)
        and point the overdue sweep at the deadline the report now waits on."""
        if status is not None:
            report.status = status
        _follow_deadline(report)
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

    async def overdue(self, now: datetime, limit: int) -> Sequence[Report]:
        """Open reports whose deadline ladder has a step due, the longest waiting first;
        locked, and skipping those another sweep holds (PostgreSQL)."""
        stmt = (
            select(Report)
            .where(Report.chase_at <= now)
            .order_by(Report.chase_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self._s.scalars(stmt)).all()

    def photo(self, report: Report, media: str, *, event: ReportEvent, proof: bool) -> None:
        self._s.add(ReportPhoto(report_id=report.id, event_id=event.id, media=media, proof=proof))

    async def get(self, report_id: int, *, lock: bool = False) -> Report | None:
        """The report; with `lock`, held until the transaction ends (FOR UPDATE where the
        database has it; SQLite serialises writers anyway), so two cadres acting on one
        report at once act one after the other, each seeing what the other did."""
        return await self._s.get(Report, report_id, with_for_update=lock or None)

    async def followers(self, report_id: int) -> Sequence[ReportFollower]:
        stmt = select(ReportFollower).where(ReportFollower.report_id == report_id)
        return (await self._s.scalars(stmt.order_by(ReportFollower.id))).all()

    async def follow(self, report: Report, follower: ReportFollower) -> bool:
        """Link another reporter of the same problem; False if they already were."""
        if follower.person_id == report.reporter_id:
            return False
        known = await self._s.scalar(
            select(ReportFollower.id).where(
                ReportFollower.report_id == report.id,
                ReportFollower.person_id == follower.person_id,
            )
        )
        if known is not None:
            return False
        self._s.add(follower)
        await self._s.flush()
        return True

    async def link_of(self, person_id: int, report_id: int | None) -> ReportFollower | None:
        """The person's latest link to someone else's open report (to that one, if given)."""
        stmt = (
            select(ReportFollower)
            .join(Report, Report.id == ReportFollower.report_id)
            .where(ReportFollower.person_id == person_id, Report.status.in_(OPEN_STATUSES))
        )
        if report_id is not None:
            stmt = stmt.where(ReportFollower.report_id == report_id)
        found: ReportFollower | None = await self._s.scalar(
            stmt.order_by(ReportFollower.id.desc()).limit(1)
        )
        return found

    async def unfollow(self, follower: ReportFollower) -> list[str]:
        """Undo a link: the person no longer follows the report, and the photos they sent
        with it leave it (returned, for the report of their own)."""
        photos: list[ReportPhoto] = []
        if follower.event_id is not None:
            stmt = select(ReportPhoto).where(ReportPhoto.event_id == follower.event_id)
            photos = list((await self._s.scalars(stmt.order_by(ReportPhoto.id))).all())
        for photo in photos:
            await self._s.delete(photo)
        await self._s.delete(follower)
        await self._s.flush()
        return [p.media for p in photos]

    async def reporters(self, report_ids: Sequence[int]) -> dict[int, int]:
        """How many people reported each report: its reporter and those linked to it."""
        stmt = (
            select(ReportFollower.report_id, func.count())
            .where(ReportFollower.report_id.in_(report_ids))
            .group_by(ReportFollower.report_id)
        )
        counts = dict.fromkeys(report_ids, 1)
        for rid, n in (await self._s.execute(stmt)).tuples():
            counts[rid] += n
        return counts

    async def open_like(self, village_id: int, category: str, since: datetime) -> Sequence[Report]:
        """Open reports of a village and category made since then, newest first."""
        stmt = (
            select(Report)
            .where(
                Report.village_id == village_id,
                Report.category == category,
                Report.created_at >= since,
                Report.status.in_(OPEN_STATUSES),
            )
            .order_by(Report.id.desc())
            .limit(50)
        )
        return (await self._s.scalars(stmt)).all()

    async def of_villages(
        self, village_ids: Sequence[int], since: datetime | None
    ) -> Sequence[Report]:
        """The reports of these villages made since then (all of them when None)."""
        stmt = select(Report).where(Report.village_id.in_(village_ids))
        if since is not None:
            stmt = stmt.where(Report.created_at >= since)
        return (await self._s.scalars(stmt.order_by(Report.id))).all()

    async def unanswered(self, resolved_before: datetime, limit: int) -> Sequence[Report]:
        """Resolved reports the villager has not answered since before then, locked."""
        stmt = (
            select(Report)
            .where(Report.status == ReportStatus.RESOLVED, Report.resolved_at < resolved_before)
            .order_by(Report.resolved_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self._s.scalars(stmt)).all()

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

    async def category_words(self) -> Sequence[CategoryWord]:
        """The admins' changes to the category words, in the order they were made."""
        return (await self._s.scalars(select(CategoryWord).order_by(CategoryWord.id))).all()

    async def category_words_version(self) -> tuple[int, int]:
        """Changes so far and the newest: differs as soon as anyone changes a word."""
        count, newest = (
            await self._s.execute(select(func.count(), func.max(CategoryWord.id)))
        ).one()
        return int(count), int(newest or 0)

    def change_category_word(self, change: CategoryWord) -> None:
        self._s.add(change)

    def correct_category(self, correction: CategoryCorrection) -> None:
        self._s.add(correction)

    async def corrections(self) -> Sequence[CategoryCorrection]:
        """Every 改类, oldest first (for `villagebot export corrections`)."""
        stmt = select(CategoryCorrection).order_by(CategoryCorrection.id)
        return (await self._s.scalars(stmt)).all()

    async def cadres(self, unit_ids: Sequence[int]) -> Sequence[tuple[Person, RoleAssignment]]:
        """The people with a cadre role at these units, with that role."""
        stmt = (
            select(Person, RoleAssignment)
            .join(RoleAssignment, RoleAssignment.person_id == Person.id)
            .where(RoleAssignment.org_unit_id.in_(unit_ids), RoleAssignment.role.in_(CADRE_ROLES))
            .order_by(RoleAssignment.id)
        )
        return [(p, a) for p, a in (await self._s.execute(stmt)).tuples()]

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


def _follow_deadline(report: Report) -> None:
    """The accept deadline until someone accepts, then the resolve deadline; nothing once the
    report is not open. A new deadline starts the ladder again; the same one keeps its place
    (a reassignment or a tier up does not buy time)."""
    if report.status not in OPEN_STATUSES:
        report.chase_due, report.chase_step, report.chase_at = None, 0, None
        return
    due = report.accept_due_at if report.accepted_at is None else report.resolve_due_at
    if due != report.chase_due:
        report.chase_due, report.chase_step, report.chase_at = due, 0, due
