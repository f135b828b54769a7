"""The org tree (county > township > village > grid) and the group chats bound to it."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Code, IntPk, enum_column


class Level(StrEnum):
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"
    GRID = "grid"


# Which level may sit under which: a tree of exactly this shape.
PARENT_LEVEL: dict[Level, Level | None] = {
    Level.COUNTY: None,
    Level.TOWNSHIP: Level.COUNTY,
    Level.VILLAGE: Level.TOWNSHIP,
    Level.GRID: Level.VILLAGE,
}


class ChatPurpose(StrEnum):
    RESIDENTS = "residents"
    CADRES = "cadres"


class OrgUnit(Base):
    __tablename__ = "org_unit"

    id: Mapped[IntPk]
    code: Mapped[Code] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[Level] = mapped_column(enum_column(Level, 16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)


class GroupChat(Base):
    """A platform group chat, bound to one org unit and a purpose: that makes its tier."""

    __tablename__ = "group_chat"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[IntPk]
    code: Mapped[Code] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    purpose: Mapped[ChatPurpose] = mapped_column(enum_column(ChatPurpose, 16))
    # A group robot that pushes into this chat (DingTalk custom robot: access token and
    # signing secret; WeCom group robot: key). Secrets: never logged, never shown.
    robot_token: Mapped[str] = mapped_column(String(256), default="")
    robot_secret: Mapped[str] = mapped_column(String(256), default="")
