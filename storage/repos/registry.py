"""Questions about the registry: org units, people, their chat identities and roles."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChatPurpose, GroupChat, Identity, OrgUnit, Person, Role, RoleAssignment


class OrgRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, unit_id: int) -> OrgUnit | None:
        return await self._s.get(OrgUnit, unit_id)

    async def all(self) -> Sequence[OrgUnit]:
        return (await self._s.scalars(select(OrgUnit).order_by(OrgUnit.id))).all()

    async def lineage(self, unit_id: int) -> list[OrgUnit]:
        """The unit and its ancestors, nearest first (grid, village, township, county)."""
        chain: list[OrgUnit] = []
        next_id: int | None = unit_id
        while next_id is not None and len(chain) < 8:
            unit = await self._s.get(OrgUnit, next_id)
            if unit is None:
                break
            chain.append(unit)
            next_id = unit.parent_id
        return chain

    async def below(self, unit_id: int) -> list[OrgUnit]:
        """Every unit under this one, level by level (a county's townships, villages, grids)."""
        found: list[OrgUnit] = []
        parents = [unit_id]
        while parents and len(found) < 100_000:
            stmt = select(OrgUnit).where(OrgUnit.parent_id.in_(parents)).order_by(OrgUnit.id)
            children = (await self._s.scalars(stmt)).all()
            found += children
            parents = [c.id for c in children]
        return found


class PeopleRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, person_id: int) -> Person | None:
        return await self._s.get(Person, person_id)

    async def all(self) -> Sequence[Person]:
        return (await self._s.scalars(select(Person).order_by(Person.id))).all()

    async def roles(self, person_id: int) -> Sequence[RoleAssignment]:
        rows = await self._s.scalars(
            select(RoleAssignment).where(RoleAssignment.person_id == person_id)
        )
        return rows.all()

    async def reachable_with_role(self, role: Role) -> list[tuple[str, str, str]]:
        """(channel, external id, locale) of every chat account of people holding `role`."""
        stmt = (
            select(Identity.channel, Identity.external_id, Person.locale)
            .join(Person, Person.id == Identity.person_id)
            .join(RoleAssignment, RoleAssignment.person_id == Person.id)
            .where(RoleAssignment.role == role)
            .distinct()
            .order_by(Identity.channel, Identity.external_id)
        )
        return [(c, e, loc) for c, e, loc in (await self._s.execute(stmt)).all()]

    async def named_in(self, village_ids: Sequence[int], name: str) -> Sequence[Person]:
        """The people of those villages with that name, who belong to a household."""
        stmt = select(Person).where(
            Person.village_id.in_(village_ids),
            Person.name == name,
            Person.household_id.is_not(None),
        )
        return (await self._s.scalars(stmt.order_by(Person.id))).all()

    async def named(self, name: str) -> Sequence[Person]:
        """Everyone of that name: whom a binding's guess is at, whatever its digits."""
        rows = await self._s.scalars(select(Person).where(Person.name == name).order_by(Person.id))
        return rows.all()

    async def matching(self, name: str, phone_last4: str) -> Sequence[Person]:
        rows = await self._s.scalars(
            select(Person).where(Person.name == name, Person.phone_last4 == phone_last4)
        )
        return rows.all()

    async def all_with_roles(self) -> list[tuple[Person, list[RoleAssignment]]]:
        people = (await self._s.scalars(select(Person).order_by(Person.id))).all()
        roles = (await self._s.scalars(select(RoleAssignment))).all()
        by_person: dict[int, list[RoleAssignment]] = {}
        for role in roles:
            by_person.setdefault(role.person_id, []).append(role)
        return [(p, by_person.get(p.id, [])) for p in people]


class IdentityRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def person_for(self, channel: str, external_id: str) -> Person | None:
        stmt = (
            select(Person)
            .join(Identity, Identity.person_id == Person.id)
            .where(Identity.channel == channel, Identity.external_id == external_id)
        )
        return (await self._s.scalars(stmt)).first()

    async def person_with_roles(self, channel: str, external_id: str) -> Sequence[Row[Any]]:
        """The bound person's columns with each of their role assignments, in one query
        (one row with null roles for a person without any; no rows for an unbound id)."""
        stmt = (
            select(
                *(c for c in Person.__table__.c),
                RoleAssignment.role,
                RoleAssignment.org_unit_id,
                RoleAssignment.categories,
            )
            .select_from(Identity)
            .join(Person, Identity.person_id == Person.id)
            .outerjoin(RoleAssignment, RoleAssignment.person_id == Person.id)
            .where(Identity.channel == channel, Identity.external_id == external_id)
            .order_by(RoleAssignment.id)
        )
        return (await self._s.execute(stmt)).all()

    async def external_ids(self, channel: str) -> set[str]:
        """Every account of the channel that is bound to someone."""
        rows = await self._s.scalars(
            select(Identity.external_id).where(Identity.channel == channel)
        )
        return set(rows.all())

    async def first_of(self, person_id: int) -> Identity | None:
        """The person's first bound chat account, on whichever platform."""
        stmt = select(Identity).where(Identity.person_id == person_id).order_by(Identity.id)
        return (await self._s.scalars(stmt)).first()

    async def of_person(self, person_id: int, channel: str) -> Identity | None:
        stmt = select(Identity).where(Identity.person_id == person_id, Identity.channel == channel)
        return (await self._s.scalars(stmt)).first()

    async def bind(
        self, channel: str, external_id: str, person_id: int, *, by: str, at: datetime
    ) -> Identity:
        identity = Identity(
            channel=channel, external_id=external_id, person_id=person_id, bound_by=by, bound_at=at
        )
        self._s.add(identity)
        await self._s.flush()
        return identity


class ChatRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def by_external(self, channel: str, external_id: str) -> GroupChat | None:
        stmt = select(GroupChat).where(
            GroupChat.channel == channel, GroupChat.external_id == external_id
        )
        return (await self._s.scalars(stmt)).first()

    async def of_unit(self, unit_id: int, purpose: ChatPurpose) -> Sequence[GroupChat]:
        stmt = select(GroupChat).where(
            GroupChat.org_unit_id == unit_id, GroupChat.purpose == purpose
        )
        return (await self._s.scalars(stmt.order_by(GroupChat.id))).all()

    async def of_units(
        self, unit_ids: Collection[int], purposes: Collection[ChatPurpose]
    ) -> Sequence[GroupChat]:
        """The group chats of these purposes of all these units, in one query."""
        stmt = select(GroupChat).where(
            GroupChat.org_unit_id.in_(list(unit_ids)), GroupChat.purpose.in_(list(purposes))
        )
        return (await self._s.scalars(stmt.order_by(GroupChat.id))).all()

    async def robots(
        self, channel: str, external_ids: Sequence[str]
    ) -> dict[str, tuple[str, str]]:
        """The push robot (token, secret) of each of these group chats that has one."""
        stmt = select(GroupChat.external_id, GroupChat.robot_token, GroupChat.robot_secret).where(
            GroupChat.channel == channel, GroupChat.external_id.in_(external_ids)
        )
        return {e: (t, s) for e, t, s in (await self._s.execute(stmt)).all()}

    async def of_channel(self, channel: str) -> Sequence[GroupChat]:
        stmt = select(GroupChat).where(GroupChat.channel == channel).order_by(GroupChat.id)
        return (await self._s.scalars(stmt)).all()
