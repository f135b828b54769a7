"""Points queries: append to a household's ledger (its balance moved in the same
transaction, an event's source earning once), the balance and its rank in the village, the
latest entries, what a rule gave this month, and the claims a cadre reviews."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ClaimStatus,
    Good,
    Household,
    HouseholdPoints,
    PointClaim,
    PointClaimPhoto,
    PointEntry,
    PointRuleChange,
    Redemption,
)


class PointsRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, entry: PointEntry) -> bool:
        """Append the entry and move the household's balance by its points, both in this
        transaction; False (nothing written) when its source has earned already."""
        if not await self._append(entry):
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

    async def spend(self, entry: PointEntry) -> bool:
        """Append a deduction the balance must cover (a redemption): False, and nothing
        written, when the household has fewer points than it takes. Of two at once on one
        balance, the second waits for the first and sees what it left."""
        cost = -entry.points
        moved = await self._s.execute(
            update(HouseholdPoints)
            .where(HouseholdPoints.household_id == entry.household_id)
            .where(HouseholdPoints.balance >= cost)
            .values(balance=HouseholdPoints.balance - cost)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return False
        if not await self._append(entry):
            raise RuntimeError(f"{entry.source} was spent already")  # rolls the transaction back
        return True

    async def _append(self, entry: PointEntry) -> bool:
        if entry.source is not None and await self.earned(entry.source):
            return False
        try:
            async with self._s.begin_nested():  # a concurrent twin fails alone
                self._s.add(entry)
                await self._s.flush()
        except IntegrityError:
            return False
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

    # --- the 爱心超市 ---------------------------------------------------------------------------

    async def goods(self, village_id: int) -> Sequence[Good]:
        stmt = select(Good).where(Good.village_id == village_id).order_by(Good.code, Good.id)
        return (await self._s.scalars(stmt)).all()

    async def good(self, village_id: int, words: str) -> Good | None:
        """A good of the village's shelf by its code or its name."""
        word = words.strip()
        stmt = select(Good).where(
            Good.village_id == village_id, (Good.code == word.upper()) | (Good.name == word)
        )
        found: Good | None = await self._s.scalar(stmt.limit(1))
        return found

    def shelve(self, good: Good) -> None:
        self._s.add(good)

    async def first_shelf(self, goods: Sequence[Good]) -> None:
        """Put the goods on an empty shelf; when another did it at the same moment, theirs
        stays."""
        try:
            async with self._s.begin_nested():
                self._s.add_all(goods)
        except IntegrityError:
            pass

    async def take(self, good_id: int, quantity: int) -> bool:
        """Set `quantity` aside from the stock; False when fewer are left. Of two takers of
        the last one, exactly one gets it."""
        moved = await self._s.execute(
            update(Good)
            .where(Good.id == good_id, Good.stock >= quantity)
            .values(stock=Good.stock - quantity)
        )
        return bool(moved.rowcount == 1)  # type: ignore[attr-defined]

    async def restock(self, good_id: int, quantity: int) -> None:
        await self._s.execute(
            update(Good).where(Good.id == good_id).values(stock=Good.stock + quantity)
        )

    async def redeem(self, redemption: Redemption) -> Redemption:
        self._s.add(redemption)
        await self._s.flush()
        return redemption

    async def redemption(self, code: str, *, lock: bool = False) -> Redemption | None:
        stmt = select(Redemption).where(Redemption.code == code.strip())
        found: Redemption | None = await self._s.scalar(stmt.with_for_update() if lock else stmt)
        return found

    async def code_taken(self, code: str) -> bool:
        found = await self._s.scalar(select(Redemption.id).where(Redemption.code == code))
        return found is not None

    async def entry_of(self, source: str) -> PointEntry | None:
        found: PointEntry | None = await self._s.scalar(
            select(PointEntry).where(PointEntry.source == source)
        )
        return found

    # --- the admins' changes to the rules -----------------------------------------------------

    async def rule_changes(self) -> Sequence[PointRuleChange]:
        stmt = select(PointRuleChange).order_by(PointRuleChange.id)
        return (await self._s.scalars(stmt)).all()

    def change_rule(self, change: PointRuleChange) -> None:
        self._s.add(change)
