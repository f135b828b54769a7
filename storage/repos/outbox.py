"""Outbox queries: add in the caller's transaction, claim what is due, record what happened."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import OutboxMessage, OutboxStatus

PENDING = OutboxStatus.PENDING


class OutboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def add(
        self,
        *,
        channel: str,
        target: str,
        is_group: bool,
        reply: dict[str, Any],
        at: datetime,
        purpose: str = "",
        not_before: datetime | None = None,
        urgent: bool = False,
    ) -> OutboxMessage:
        row = OutboxMessage(
            channel=channel,
            target=target,
            is_group=is_group,
            reply=reply,
            purpose=purpose,
            urgent=urgent,
            status=PENDING,
            attempts=0,
            not_before=not_before or at,
            claim_token="",
            created_at=at,
            last_error="",
            answer="",
        )
        self._s.add(row)
        return row

    async def claim(
        self, *, now: datetime, until: datetime, token: str, limit: int
    ) -> Sequence[OutboxMessage]:
        """Claim up to `limit` due rows, each the head of its target's due queue: its oldest
        urgent row, else its oldest row. So a target's messages go out in order and never two
        at once, an urgent alert overtakes whatever waits for the same person, and a row not
        yet due (news held by quiet hours, a retry backing off) holds nothing back. Rows
        other workers hold are skipped, not waited for (FOR UPDATE SKIP LOCKED on PostgreSQL;
        SQLite has one writer, which serialises claims by itself)."""
        earlier = aliased(OutboxMessage)
        ahead = (
            select(earlier.id)
            .where(
                earlier.channel == OutboxMessage.channel,
                earlier.target == OutboxMessage.target,
                earlier.status == PENDING,
                earlier.not_before <= now,
                earlier.id != OutboxMessage.id,
                or_(
                    and_(earlier.urgent, ~OutboxMessage.urgent),
                    and_(earlier.urgent == OutboxMessage.urgent, earlier.id < OutboxMessage.id),
                ),
            )
            .exists()
        )
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == PENDING,
                OutboxMessage.not_before <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
                ~ahead,
            )
            .order_by(OutboxMessage.urgent.desc(), OutboxMessage.not_before, OutboxMessage.id)
            .limit(limit)
        )
        if self._s.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=OutboxMessage)
        rows = (await self._s.scalars(stmt)).all()
        for row in rows:
            row.claimed_until, row.claim_token = until, token
        return rows

    async def _finish(self, row_id: int, token: str, **values: Any) -> bool:
        """Update a row only while the caller's claim is the row's claim: a worker whose
        claim ran out (and was taken over) cannot overwrite the new owner's result."""
        result = await self._s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row_id,
                OutboxMessage.claim_token == token,
                OutboxMessage.status == PENDING,
            )
            .values(claimed_until=None, claim_token="", **values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def sent(self, row_id: int, token: str, *, at: datetime, answer: str) -> bool:
        return await self._finish(
            row_id, token, status=OutboxStatus.SENT, sent_at=at, answer=answer[:500]
        )

    async def later(
        self, row_id: int, token: str, *, not_before: datetime, error: str | None, attempts: int
    ) -> bool:
        """Try again from `not_before`; `error` None keeps the last one (a rate-limit wait
        is not an error)."""
        values: dict[str, Any] = {"not_before": not_before, "attempts": attempts}
        if error is not None:
            values["last_error"] = error[:500]
        return await self._finish(row_id, token, **values)

    async def dead(self, row_id: int, token: str, *, error: str, attempts: int) -> bool:
        return await self._finish(
            row_id, token, status=OutboxStatus.DEAD, last_error=error[:500], attempts=attempts
        )

    async def hold_target(self, channel: str, target: str, until: datetime) -> None:
        """Nothing more to this target before `until` (its rate limit, or a platform ban)."""
        await self._s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.target == target,
                OutboxMessage.status == PENDING,
                OutboxMessage.not_before < until,
            )
            .values(not_before=until)
            .execution_options(synchronize_session=False)
        )

    async def merge(self, head_id: int, ids: Sequence[int]) -> None:
        """These rows go out as part of `head_id` (a digest)."""
        await self._s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == PENDING)
            .values(status=OutboxStatus.MERGED, merged_into=head_id)
            .execution_options(synchronize_session=False)
        )

    async def backlogs(self, targets: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """How many rows wait for each of these (channel, target)s."""
        if not targets:
            return {}
        stmt = (
            select(OutboxMessage.channel, OutboxMessage.target, func.count())
            .where(
                OutboxMessage.status == PENDING,
                OutboxMessage.target.in_({t for _, t in targets}),
            )
            .group_by(OutboxMessage.channel, OutboxMessage.target)
        )
        rows = (await self._s.execute(stmt)).all()
        return {(c, t): int(n) for c, t, n in rows if (c, t) in targets}

    async def queued_behind(
        self, channel: str, target: str, due_by: datetime | None = None
    ) -> Sequence[OutboxMessage]:
        """The pending rows of one target (those due by `due_by`, when given), oldest first
        (for merging a backlog: what is held for later stays for later)."""
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.target == target,
                OutboxMessage.status == PENDING,
            )
            .order_by(OutboxMessage.id)
        )
        if due_by is not None:
            stmt = stmt.where(OutboxMessage.not_before <= due_by)
        return (await self._s.scalars(stmt)).all()

    async def depth(self) -> tuple[int, datetime | None]:
        """How many rows wait, and since when the oldest."""
        count, oldest = (
            await self._s.execute(
                select(func.count(), func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.status == PENDING
                )
            )
        ).one()
        return int(count), oldest

    async def listing(self, status: OutboxStatus, limit: int = 50) -> Sequence[OutboxMessage]:
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.status == status)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return (await self._s.scalars(stmt)).all()

    async def retry(self, ids: Sequence[int] | None, *, now: datetime) -> int:
        """Dead rows back to pending, to be tried afresh (all of them when `ids` is None)."""
        stmt = update(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DEAD)
        if ids is not None:
            stmt = stmt.where(OutboxMessage.id.in_(ids))
        result = await self._s.execute(
            stmt.values(
                status=PENDING, attempts=0, not_before=now, last_error=""
            ).execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0))
