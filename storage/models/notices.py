"""通知 and 督办: what a cadre publishes to the units below, and where each unit stands
with it. The deadlines live here (publish_at, due_at, chase_at) for the sweeps to find."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, IntPk, enum_column


class NoticeKind(StrEnum):
    NOTICE = "notice"  # read it (and, if asked, say 已学习)
    TASK = "task"  # do it by the deadline and say 完成 with evidence


class Notice(Base):
    """A notice or task, published by a cadre on behalf of their unit. The number is what
    cadres answer with (已学习 N, 完成 N)."""

    __tablename__ = "notice"
    __table_args__ = (
        # what the publish sweep looks for: the scheduled notices not yet sent
        Index(
            "ix_notice_unpublished",
            "publish_at",
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[IntPk]
    kind: Mapped[NoticeKind] = mapped_column(enum_column(NoticeKind, 16))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    photo: Mapped[str] = mapped_column(String(200), default="")  # a stored media name
    ack_required: Mapped[bool] = mapped_column(default=False)
    due_at: Mapped[datetime | None]
    publish_at: Mapped[datetime]
    published_at: Mapped[datetime | None]  # None until the pushes are queued
    created_at: Mapped[datetime]


class NoticeTarget(Base):
    """One receiving unit of a notice or task: whether it has acknowledged (or completed) it,
    and where it stands on the reminder ladder. A village's share of a county task split by
    its township points at the township's row (`via_id`)."""

    __tablename__ = "notice_target"
    __table_args__ = (UniqueConstraint("notice_id", "unit_id"),)

    id: Mapped[IntPk]
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    via_id: Mapped[int | None] = mapped_column(ForeignKey("notice_target.id"), index=True)
    due_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]  # acknowledged, or completed
    done_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    evidence: Mapped[str] = mapped_column(String(500), default="")
    photo: Mapped[str] = mapped_column(String(200), default="")
    split_at: Mapped[datetime | None]  # a township handed it to its villages (分派)
    chase_step: Mapped[int] = mapped_column(default=0)  # 0 not reminded, 1 reminded, 2 told above
    chase_at: Mapped[datetime | None] = mapped_column(index=True)  # the next step; None: none


class SweepMark(Base):
    """That a sweep did something once for good (a day's digest to a group): inserted in
    the transaction that queues the pushes, so a second run finds it and does nothing."""

    __tablename__ = "sweep_mark"
    __table_args__ = (UniqueConstraint("job", "key"),)

    id: Mapped[IntPk]
    job: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime]
