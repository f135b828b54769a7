"""随手拍 reports: the report, its append-only timeline, and its photos."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, IntPk, enum_column


class ReportStatus(StrEnum):
    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    ESCALATED = "escalated"
    REJECTED = "rejected"


OPEN_STATUSES = frozenset(
    {
        ReportStatus.SUBMITTED,
        ReportStatus.ASSIGNED,
        ReportStatus.IN_PROGRESS,
        ReportStatus.REOPENED,
        ReportStatus.ESCALATED,
    }
)


class Report(Base):
    __tablename__ = "report"
    __table_args__ = (
        # a village's open reports of a category, for the duplicate check and 本村统计
        Index("ix_report_village_category", "village_id", "category", "created_at"),
        # resolved reports waiting for the villager's word, for the auto-close sweep
        Index("ix_report_status_resolved", "status", "resolved_at"),
    )

    id: Mapped[IntPk]  # the report number villagers and cadres see (#12)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))  # where the reporter wrote from
    chat_id: Mapped[str] = mapped_column(String(128))  # …and answers go back to
    chat_is_group: Mapped[bool] = mapped_column(default=False)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # the tier that holds it
    category: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(1000), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    place: Mapped[str] = mapped_column(String(128), default="")
    anonymous: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ReportStatus] = mapped_column(enum_column(ReportStatus, 16))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    created_at: Mapped[datetime]
    accept_due_at: Mapped[datetime]
    resolve_due_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # the reporter's last word on the fix: 满意 (True), 不满意 (False); None: not given
    # (an auto-closed report stays None: silence is not satisfaction)
    satisfied: Mapped[bool | None]
    # The overdue sweep's ladder on the current deadline (accept, then resolve): the deadline,
    # the steps taken (a reminder, then a tier up each grace period), and when to look next.
    # Kept by ReportRepo.event, moved on by the sweep; None once the report is not open.
    chase_due: Mapped[datetime | None]
    chase_step: Mapped[int] = mapped_column(default=0, server_default="0")
    chase_at: Mapped[datetime | None] = mapped_column(index=True)


class ReportEvent(Base):
    """One step of a report's life; never updated, never deleted."""

    __tablename__ = "report_event"

    id: Mapped[IntPk]
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))  # None: the system
    kind: Mapped[str] = mapped_column(String(24))  # submitted, assigned, accepted, …
    status: Mapped[ReportStatus] = mapped_column(enum_column(ReportStatus, 16))  # after it
    note: Mapped[str] = mapped_column(String(500), default="")


class ReportPhoto(Base):
    __tablename__ = "report_photo"

    id: Mapped[IntPk]
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("report_event.id"))
    media: Mapped[str] = mapped_column(String(80))  # content-addressed name in the media dir
    proof: Mapped[bool] = mapped_column(default=False)  # the cadre's photo of the fix


class ReportFollower(Base):
    """Someone else who reported the same problem: linked to the open report instead of a
    new one, and told of its progress as the reporter is."""

    __tablename__ = "report_follower"
    __table_args__ = (UniqueConstraint("report_id", "person_id"),)

    id: Mapped[IntPk]
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(128))
    chat_is_group: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime]
    # what they said, kept so that 不是同一件 makes it a report of its own
    text: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    place: Mapped[str] = mapped_column(String(128), default="", server_default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    event_id: Mapped[int | None] = mapped_column(ForeignKey("report_event.id"))  # its photos'


class CategoryWord(Base):
    """An admin's change to the words of a report category (分类词), on top of the defaults
    in locales/report_categories.yaml; applied in order, never edited."""

    __tablename__ = "report_category_word"

    id: Mapped[IntPk]
    category: Mapped[str] = mapped_column(String(16))
    word: Mapped[str] = mapped_column(String(16))
    removed: Mapped[bool] = mapped_column(default=False)  # False: added
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    at: Mapped[datetime]


class CategoryCorrection(Base):
    """A cadre's 改类: the report's words and the category the bot gave and the one it is,
    kept so that admins can export them to grow the understanding corpus."""

    __tablename__ = "report_category_correction"

    id: Mapped[IntPk]
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), index=True)
    text: Mapped[str] = mapped_column(String(1000))
    old: Mapped[str] = mapped_column(String(16))
    new: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    at: Mapped[datetime]
