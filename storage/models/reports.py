"""随手拍 reports: the report, its append-only timeline, and its photos."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
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
