"""Points queries: append to a household's ledger (its balance moved in the same
transaction, an event's source earning once), the balance and its rank in the village, the
latest entries, what a rule gave this month, and the claims a cadre reviews."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ClaimStatus,
    Household,
    HouseholdPoints,
    PointClaim,
    PointClaimPhoto,
    PointEntry,
)


class PointsRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, entry: PointEntry) -> bool:
        """Append the entry and move the household's balance by its points, both in this
        transaction; False (nothing written) when its source has earned already."""
        if entry.source is not None and await self.earned(entry.source):
            return False
        try:
            async with self._s.begin_nested():  # a concurrent twin fails alone
                self._s.add(entry)
                await self._s.flush()
        except IntegrityError:
            return False
        values = {
            "household_id": entry.household_id,
            "village_id": entry.village_id,
            "balance": entry.points,
        }
        insert = pg_insert if self._s.bind.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(HouseholdPoints).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[HouseholdPoints.household_id],
            set_={"balance": HouseholdPoints.balance + entry.points},
        )
        await self._s.execute(stmt)
        return True

    async def earned(self, source: str) -> bool:
        found = await self._s.scalar(select(PointEntry.id).where(PointEntry.source == source))
        return found is not None

    async def balance(self, household_id: int) -> int:
        found = await self._s.scalar(
            select(HouseholdPoints.balance).where(HouseholdPoints.household_id == household_id)
        )
        return int(found or 0)

    async def rank(self, household_id: int, village_id: int) -> tuple[int, int]:
        """The household's place in its village by balance (1 = most; tied households share
        a place) and how many households the village has."""
        mine = await self.balance(household_id)
        above = await self._s.scalar(
            select(func.count()).where(
                HouseholdPoints.village_id == village_id, HouseholdPoints.balance > mine
            )
        )
        households = await self._s.scalar(
            select(func.count()).select_from(Household).where(Household.village_id == village_id)
        )
        return int(above or 0) + 1, int(households or 0)

    async def entries(self, household_id: int, limit: int) -> Sequence[PointEntry]:
        stmt = (
            select(PointEntry)
            .where(PointEntry.household_id == household_id)
            .order_by(PointEntry.at.desc(), PointEntry.id.desc())
            .limit(limit)
        )
        return (await self._s.scalars(stmt)).all()

    async def from_rule(self, household_id: int, rule: str, since: datetime) -> int:
        """What the rule gave (or took from) the household since then (for its monthly cap)."""
        total = await self._s.scalar(
            select(func.coalesce(func.sum(PointEntry.points), 0)).where(
                PointEntry.household_id == household_id,
                PointEntry.rule == rule,
                PointEntry.at >= since,
            )
        )
        return int(total or 0)

    async def claim(self, claim: PointClaim, photos: Sequence[str]) -> PointClaim:
        self._s.add(claim)
        await self._s.flush()
        for media in photos:
            self._s.add(PointClaimPhoto(claim_id=claim.id, media=media))
        return claim

    async def get_claim(self, claim_id: int, *, lock: bool = False) -> PointClaim | None:
        return await self._s.get(PointClaim, claim_id, with_for_update=lock or None)

    async def claim_photos(self, claim_id: int) -> list[str]:
        stmt = select(PointClaimPhoto.media).where(PointClaimPhoto.claim_id == claim_id)
        return list((await self._s.scalars(stmt.order_by(PointClaimPhoto.id))).all())

    async def pending(self, village_ids: Sequence[int], limit: int = 20) -> Sequence[PointClaim]:
        stmt = (
            select(PointClaim)
            .where(PointClaim.village_id.in_(village_ids))
            .where(PointClaim.status == ClaimStatus.PENDING)
            .order_by(PointClaim.id)
            .limit(limit)
        )
        return (await self._s.scalars(stmt)).all()
