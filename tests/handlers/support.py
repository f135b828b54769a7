"""Shared by the 随手拍 tests: the reports as stored, roles given in a test, people by code,
whom the pushes to a chat @mention and the photos they carry."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Services
from storage.importer import read_registry
from storage.models import (
    ChatPurpose,
    GroupChat,
    OrgUnit,
    OutboxMessage,
    Person,
    Report,
    Role,
    RoleAssignment,
)
from storage.registry_file import PersonIn, RegistryIn, RoleIn, UnitIn
from tests.conftest import DATA


async def reports(services: Services) -> list[Report]:
    async with services.uow() as store:
        return list((await store.session.scalars(select(Report).order_by(Report.id))).all())


async def person_id(services: Services, code: str) -> int:
    async with services.uow() as store:
        pid = await store.session.scalar(select(Person.id).where(Person.code == code))
    assert pid is not None
    return pid


async def unit_id(services: Services, code: str) -> int:
    async with services.uow() as store:
        uid = await store.session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
    assert uid is not None
    return uid


async def give_role(services: Services, code: str, unit: str, role: Role, *cats: str) -> None:
    pid, uid = await person_id(services, code), await unit_id(services, unit)
    async with services.uow() as store:
        store.session.add(
            RoleAssignment(person_id=pid, org_unit_id=uid, role=role, categories=list(cats))
        )


async def add_cadre_group(services: Services, unit: str, external_id: str) -> None:
    uid = await unit_id(services, unit)
    async with services.uow() as store:
        store.session.add(
            GroupChat(
                code=f"GC-{unit}-C",
                name=f"{unit} cadres",
                org_unit_id=uid,
                purpose=ChatPurpose.CADRES,
                channel="sim",
                external_id=external_id,
            )
        )


async def mentions_in(services: Services, chat: str) -> list[list[str]]:
    """Whom each push queued for the chat @mentions (the simulator shows no mentions)."""
    async with services.uow() as store:
        rows = await store.session.scalars(
            select(OutboxMessage).where(OutboxMessage.target == chat).order_by(OutboxMessage.id)
        )
        return [list(r.reply.get("mentions", [])) for r in rows]


async def images_in(services: Services, chat: str) -> list[str]:
    """The photo (a stored media name) each push queued for the chat carries, or ""."""
    async with services.uow() as store:
        rows = await store.session.scalars(
            select(OutboxMessage).where(OutboxMessage.target == chat).order_by(OutboxMessage.id)
        )
        return [str(r.reply.get("image", "")) for r in rows]


def two_villages() -> RegistryIn:
    """The test registry with a second village, 杨庄村, and its secretary 杨书记 (sim-P9)."""
    reg = read_registry(DATA / "registry.yaml")
    assert reg.org is not None
    township = reg.org.children[0]
    township.children.append(UnitIn(code="V2", name="杨庄村", level="village"))
    reg.people.append(
        PersonIn(
            code="P9",
            name="杨书记",
            phone="13900009999",
            village="V2",
            roles=[RoleIn(role="village_secretary", unit="V2")],
        )
    )
    return reg
