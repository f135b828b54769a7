"""Household points (积分): the append-only ledger, each household's running balance, and the
villagers' claims with their evidence photos. The rules themselves are data
(locales/points.yaml); an entry names its rule by code."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, IntPk, enum_column

# ledger entries that no rule of locales/points.yaml gives: points spent at the 爱心超市 (and
# given back when a redemption is cancelled), and points carried over from a village's paper
# ledger by the registry import (期初积分)
REDEEM, OPENING = "REDEEM", "OPENING"


class PointEntry(Base):
    """One line of a household's ledger. Appended, never updated or deleted (the database
    refuses both); a correction is an entry of its own that `reverses` another. `source`
    names the event that earned it (claim:12, report:5, visit:7), so each earns once."""

    __tablename__ = "point_entry"
    __table_args__ = (
        Index("ix_point_entry_household_id_at", "household_id", "at"),
        Index("ix_point_entry_village_id_at", "village_id", "at"),
    )

    id: Mapped[IntPk]
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    rule: Mapped[str] = mapped_column(String(16))  # the rule's code
    points: Mapped[int]  # + earned, − deducted
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))  # None: the bot
    note: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str | None] = mapped_column(String(64), unique=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("point_entry.id"))


class HouseholdPoints(Base):
    """A household's balance: the sum of its ledger, kept in the transaction of each entry
    (so that 我的积分 and the village's ranking read one row each, not years of ledger)."""

    __tablename__ = "household_points"
    __table_args__ = (Index("ix_household_points_village_id_balance", "village_id", "balance"),)

    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    balance: Mapped[int] = mapped_column(default=0)


class ClaimStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class PointClaim(Base):
    """A villager's 申报积分: a claimable rule, what they did, photos; a village cadre
    approves it (one ledger entry) or refuses it with a reason, once."""

    __tablename__ = "point_claim"
    __table_args__ = (Index("ix_point_claim_village_id_status", "village_id", "status"),)

    id: Mapped[IntPk]
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    channel: Mapped[str] = mapped_column(String(32))  # where the claimant wrote from
    chat_id: Mapped[str] = mapped_column(String(128))
    chat_is_group: Mapped[bool] = mapped_column(default=False)
    rule: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[ClaimStatus] = mapped_column(enum_column(ClaimStatus, 16))
    at: Mapped[datetime]
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    reviewed_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(String(200), default="")


class PointClaimPhoto(Base):
    __tablename__ = "point_claim_photo"

    id: Mapped[IntPk]
    claim_id: Mapped[int] = mapped_column(ForeignKey("point_claim.id"), index=True)
    media: Mapped[str] = mapped_column(String(80))  # content-addressed name in the media dir


class Good(Base):
    """A good on a village's 爱心超市 shelf: its price in points and how many are left (what
    is reserved by a redemption not yet handed over is no longer left)."""

    __tablename__ = "point_good"
    __table_args__ = (UniqueConstraint("village_id", "code"),)

    id: Mapped[IntPk]
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(8), default="")
    price: Mapped[int]
    stock: Mapped[int]


class RedemptionStatus(StrEnum):
    RESERVED = "reserved"  # points deducted, the goods set aside, waiting for pickup
    HANDED = "handed"  # picked up at the 爱心超市
    CANCELLED = "cancelled"  # points and stock given back


class Redemption(Base):
    """兑换: points spent on goods, collected at the 爱心超市 with the pickup code."""

    __tablename__ = "point_redemption"

    id: Mapped[IntPk]
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    good_id: Mapped[int] = mapped_column(ForeignKey("point_good.id"))
    quantity: Mapped[int]
    points: Mapped[int]  # what it cost
    code: Mapped[str] = mapped_column(String(8), unique=True)  # the pickup code
    status: Mapped[RedemptionStatus] = mapped_column(enum_column(RedemptionStatus, 16))
    at: Mapped[datetime]
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    handled_at: Mapped[datetime | None]


class BoardStatus(StrEnum):
    DRAFT = "draft"  # in the village cadre group only
    PUBLISHED = "published"  # sent to the residents' groups by a village cadre


class PointBoard(Base):
    """A village's 红榜 (and 黑榜) of one month: drafted by the `points-boards` sweep for the
    village's cadres, published to villagers only by one of them (发布榜单). `lines`:
    [{"board": "red"|"black", "household": id, "name": "王秀英家", "points": 12}, …]."""

    __tablename__ = "point_board"
    __table_args__ = (UniqueConstraint("village_id", "month"),)

    id: Mapped[IntPk]
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    month: Mapped[str] = mapped_column(String(7))  # 2026-11
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[BoardStatus] = mapped_column(enum_column(BoardStatus, 16))
    made_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    published_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))


class PointRuleChange(Base):
    """An admin's change to the points rules (积分规则 加 / 删), on top of locales/points.yaml:
    applied in order, never edited. A rule added with a name already in use replaces it;
    one removed keeps its code and name for the entries that name it."""

    __tablename__ = "point_rule_change"

    id: Mapped[IntPk]
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(16))
    klass: Mapped[str] = mapped_column(String(16), default="")
    points: Mapped[int] = mapped_column(default=0)
    how: Mapped[str] = mapped_column(String(8), default="")
    monthly_cap: Mapped[int | None]
    black_board: Mapped[bool] = mapped_column(default=False)
    what: Mapped[str] = mapped_column(String(100), default="")
    removed: Mapped[bool] = mapped_column(default=False)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))  # None: an import
    at: Mapped[datetime]
    # the village whose rules it changes (the registry import); None: every village's
    village_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
