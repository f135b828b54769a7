"""People, households, chat identities, roles and the elder-care contacts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Code, CreatedAt, IntPk, enum_column
from storage.models.org import Level


class Role(StrEnum):
    GUEST = "guest"  # derived, never assigned: a sender not bound to the registry
    VILLAGER = "villager"  # derived for every bound person
    # derived from the elder-care lists: an elder living alone, and those who look after one
    ELDER = "elder"
    CARETAKER = "caretaker"
    FAMILY = "family"

    GRID_WORKER = "grid_worker"
    VILLAGE_SECRETARY = "village_secretary"
    VILLAGE_CADRE = "village_cadre"
    TOWNSHIP_CADRE = "township_cadre"
    AGRI_TECHNICIAN = "agri_technician"
    COUNTY_CADRE = "county_cadre"
    ADMIN = "admin"


# The level of org unit each role is assigned at.
ROLE_LEVEL: dict[Role, Level] = {
    Role.GRID_WORKER: Level.GRID,
    Role.VILLAGE_SECRETARY: Level.VILLAGE,
    Role.VILLAGE_CADRE: Level.VILLAGE,
    Role.TOWNSHIP_CADRE: Level.TOWNSHIP,
    Role.AGRI_TECHNICIAN: Level.TOWNSHIP,
    Role.COUNTY_CADRE: Level.COUNTY,
}

CADRE_ROLES = frozenset(
    {
        Role.GRID_WORKER,
        Role.VILLAGE_SECRETARY,
        Role.VILLAGE_CADRE,
        Role.TOWNSHIP_CADRE,
        Role.AGRI_TECHNICIAN,
        Role.COUNTY_CADRE,
    }
)


class ContactRelation(StrEnum):
    CARETAKER = "caretaker"
    FAMILY = "family"


class Household(Base):
    __tablename__ = "household"

    id: Mapped[IntPk]
    code: Mapped[Code] = mapped_column(String(32))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    address: Mapped[str] = mapped_column(String(128), default="")


class Person(Base):
    """Someone in the registry. Only the last four phone digits are kept, for binding."""

    __tablename__ = "person"

    id: Mapped[IntPk]
    code: Mapped[Code] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(32), index=True)
    phone_masked: Mapped[str] = mapped_column(String(16), default="")
    phone_last4: Mapped[str] = mapped_column(String(4), default="")
    village_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    is_elder: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[CreatedAt]


class Identity(Base):
    """A chat account (channel + the platform's user id) bound to a person."""

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[IntPk]
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    bound_by: Mapped[str] = mapped_column(String(16))  # import | self | cadre
    bound_at: Mapped[datetime]


class RoleAssignment(Base):
    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("person_id", "org_unit_id", "role"),)

    id: Mapped[IntPk]
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, 24))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)


class ElderContact(Base):
    """Who looks after an elder: caretakers (grid worker, volunteer) and family."""

    __tablename__ = "elder_contact"
    __table_args__ = (UniqueConstraint("elder_id", "contact_id", "relation"),)

    id: Mapped[IntPk]
    elder_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    relation: Mapped[ContactRelation] = mapped_column(enum_column(ContactRelation, 16))
