"""政策咨询: the knowledge base's entries, the villagers' questions for the cadres, and the
admins' keywords."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import KbEntry, KeywordChange, Question, QuestionKind


class PolicyRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    # --- the knowledge base ----------------------------------------------------------------

    async def entries_version(self) -> tuple[int, datetime | None]:
        """How many entries and the newest change: differs as soon as anyone changes one."""
        count, newest = (
            await self._s.execute(select(func.count(), func.max(KbEntry.updated_at)))
        ).one()
        return int(count), newest

    async def entries(self) -> Sequence[KbEntry]:
        """Every entry not removed, in the order they were made."""
        stmt = select(KbEntry).where(KbEntry.removed.is_(False)).order_by(KbEntry.id)
        return (await self._s.scalars(stmt)).all()

    async def entry(self, entry_id: int) -> KbEntry | None:
        return await self._s.get(KbEntry, entry_id)

    async def entry_titled(self, unit_id: int | None, title: str) -> KbEntry | None:
        scope = KbEntry.unit_id.is_(None) if unit_id is None else KbEntry.unit_id == unit_id
        stmt = select(KbEntry).where(scope, KbEntry.title == title)
        return (await self._s.scalars(stmt)).first()

    async def add_entry(self, entry: KbEntry) -> KbEntry:
        self._s.add(entry)
        await self._s.flush()
        return entry

    # --- questions ---------------------------------------------------------------------------

    async def add_question(self, question: Question) -> Question:
        self._s.add(question)
        await self._s.flush()  # its number, for the cadres
        return question

    async def question(self, question_id: int, *, lock: bool = False) -> Question | None:
        stmt = select(Question).where(Question.id == question_id)
        return (await self._s.scalars(stmt.with_for_update() if lock else stmt)).first()

    async def waiting(
        self, village_ids: Collection[int], kinds: Collection[QuestionKind], limit: int = 20
    ) -> Sequence[Question]:
        """Unanswered questions of these villages, of these kinds, oldest first."""
        stmt = (
            select(Question)
            .where(
                Question.answered_at.is_(None),
                Question.village_id.in_(village_ids),
                Question.kind.in_(kinds),
            )
            .order_by(Question.id)
            .limit(limit)
        )
        return (await self._s.scalars(stmt)).all()

    async def overdue(self, now: datetime, limit: int) -> Sequence[Question]:
        """Unanswered questions whose next ladder step is due; locked, skipping those another
        sweep holds (PostgreSQL)."""
        stmt = (
            select(Question)
            .where(Question.answered_at.is_(None), Question.chase_at <= now)
            .order_by(Question.chase_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self._s.scalars(stmt)).all()

    async def reply_counts(
        self, village_ids: Collection[int], since: datetime, until: datetime, now: datetime
    ) -> tuple[int, int]:
        """Of the questions of these villages due in [since, until) and by now answered or
        past due: how many, and how many answered by their deadline (按期回复率)."""
        due = (
            Question.village_id.in_(village_ids),
            Question.due_at >= since,
            Question.due_at < until,
        )
        settled = (Question.answered_at.is_not(None)) | (Question.due_at <= now)
        on_time = Question.answered_at.is_not(None) & (Question.answered_at <= Question.due_at)
        total, kept = (
            await self._s.execute(
                select(func.count(), func.count().filter(on_time)).where(*due, settled)
            )
        ).one()
        return int(total), int(kept)

    # --- keywords ----------------------------------------------------------------------------

    async def keywords_version(self) -> tuple[int, int]:
        count, newest = (
            await self._s.execute(select(func.count(), func.max(KeywordChange.id)))
        ).one()
        return int(count), int(newest or 0)

    async def keyword_changes(self) -> Sequence[KeywordChange]:
        return (await self._s.scalars(select(KeywordChange).order_by(KeywordChange.id))).all()

    def change_keyword(self, change: KeywordChange) -> None:
        self._s.add(change)
