"""Elder care: each elder's watch and the alerts about them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AlertKind, ContactRelation, ElderAlert, ElderCare, ElderContact, Person


class ElderRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def care(self, person_id: int, *, lock: bool = False) -> ElderCare | None:
        stmt = select(ElderCare).where(ElderCare.person_id == person_id)
        return (await self._s.scalars(stmt.with_for_update() if lock else stmt)).first()

    async def keep(
        self, person_id: int, inactive_hours: int, in_group: bool, at: datetime
    ) -> bool:
        """Watch this elder (from `at` if new); True if anything changed."""
        care = await self.care(person_id)
        if care is None:
            self._s.add(
                ElderCare(
                    person_id=person_id,
                    inactive_hours=inactive_hours,
                    checkin_in_group=in_group,
                    last_active_at=at,
                    watch_at=at + timedelta(hours=inactive_hours),
                )
            )
            return True
        if (care.inactive_hours, care.checkin_in_group) == (inactive_hours, in_group):
            return False
        care.inactive_hours, care.checkin_in_group = inactive_hours, in_group
        if care.watch_at is not None:
            care.watch_at = care.last_active_at + timedelta(hours=inactive_hours)
        return True

    async def forget(self, person_id: int, at: datetime) -> bool:
        """No longer watch this person; a quiet-alert still climbing is closed (an SOS stays
        open until someone visits)."""
        result = await self._s.execute(delete(ElderCare).where(ElderCare.person_id == person_id))
        await self._s.execute(
            update(ElderAlert)
            .where(
                ElderAlert.elder_id == person_id,
                ElderAlert.closed_at.is_(None),
                ElderAlert.kind == AlertKind.INACTIVE,
            )
            .values(closed_at=at, next_at=None)
        )
        return bool(getattr(result, "rowcount", 0))

    async def quiet(self, now: datetime, limit: int) -> Sequence[ElderCare]:
        """Elders silent past their threshold with no alert open yet; locked, skipping those
        another sweep holds (PostgreSQL)."""
        stmt = (
            select(ElderCare)
            .where(ElderCare.watch_at <= now)
            .order_by(ElderCare.watch_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self._s.scalars(stmt)).all()

    async def to_prompt(
        self, quiet_since: datetime, not_prompted_since: datetime, limit: int
    ) -> Sequence[ElderCare]:
        """Elders not heard from since `quiet_since` (the last daily prompt) and not prompted
        since `not_prompted_since`; locked, skipping those another sweep holds."""
        stmt = (
            select(ElderCare)
            .where(
                ElderCare.last_active_at <= quiet_since,
                or_(
                    ElderCare.prompted_at.is_(None),
                    ElderCare.prompted_at < not_prompted_since,
                ),
            )
            .order_by(ElderCare.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self._s.scalars(stmt)).all()

    async def open_alert(self, elder_id: int) -> ElderAlert | None:
        stmt = select(ElderAlert).where(
            ElderAlert.elder_id == elder_id, ElderAlert.closed_at.is_(None)
        )
        return (await self._s.scalars(stmt.with_for_update())).first()

    async def alert(self, alert_id: int) -> ElderAlert | None:
        stmt = select(ElderAlert).where(ElderAlert.id == alert_id).with_for_update()
        return (await self._s.scalars(stmt)).first()

    async def add_alert(self, alert: ElderAlert) -> ElderAlert:
        self._s.add(alert)
        await self._s.flush()
        return alert

    async def alerts_due(self, now: datetime, limit: int) -> Sequence[ElderAlert]:
        """Open alerts with a step of their ladder due; locked, skipping held ones."""
        stmt = (
            select(ElderAlert)
            .where(ElderAlert.next_at <= now)
            .order_by(ElderAlert.next_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self._s.scalars(stmt)).all()

    async def contacts(self, elder_id: int) -> Sequence[tuple[Person, ContactRelation]]:
        stmt = (
            select(Person, ElderContact.relation)
            .join(ElderContact, ElderContact.contact_id == Person.id)
            .where(ElderContact.elder_id == elder_id)
            .order_by(ElderContact.id)
        )
        return [(p, r) for p, r in (await self._s.execute(stmt)).tuples()]

    async def relations_of(self, person_id: int) -> set[ContactRelation]:
        """How this person looks after elders (caretaker, family), if they do."""
        stmt = select(ElderContact.relation).where(ElderContact.contact_id == person_id)
        return set((await self._s.scalars(stmt.distinct())).all())

    async def elders_named(self, name: str) -> Sequence[Person]:
        stmt = select(Person).where(Person.name == name, Person.is_elder.is_(True))
        return (await self._s.scalars(stmt.order_by(Person.id))).all()
