"""关爱空巢老人: each elder's watch (last activity, when to look again) and the alerts raised
when an elder goes quiet or calls for help."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, IntPk, enum_column


class ElderCare(Base):
    """One per elder (kept by the registry import): when they were last heard from."""

    __tablename__ = "elder_care"

    id: Mapped[IntPk]
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
    inactive_hours: Mapped[int] = mapped_column(default=24)  # quiet this long: an alert
    checkin_in_group: Mapped[bool] = mapped_column(default=False)  # prompt in the group
    last_active_at: Mapped[datetime] = mapped_column(index=True)
    # their own word or a visit; None: nothing since the registry listed them (the watch
    # then counts from the import)
    heard_at: Mapped[datetime | None]
    prompted_at: Mapped[datetime | None]  # the last daily check-in prompt
    # when the sweep looks again: last activity + inactive_hours; None while an alert is open
    watch_at: Mapped[datetime | None] = mapped_column(index=True)


class AlertKind(StrEnum):
    INACTIVE = "inactive"  # quiet past the threshold
    SOS = "sos"  # the elder called for help


class ElderAlert(Base):
    """An alert about one elder: at most one open at a time. The number is what caretakers
    answer with (已上门 N 情况)."""

    __tablename__ = "elder_alert"
    __table_args__ = (
        Index(
            "uq_elder_alert_open",
            "elder_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )

    id: Mapped[IntPk]
    elder_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[AlertKind] = mapped_column(enum_column(AlertKind, 16))
    opened_at: Mapped[datetime]
    last_active_at: Mapped[datetime]  # as it stood when raised
    step: Mapped[int] = mapped_column(default=0)  # 0 caretakers, 1 the secretary, 2 township
    next_at: Mapped[datetime | None] = mapped_column(index=True)  # the next step; None: done
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))  # None: the elder
    note: Mapped[str] = mapped_column(String(200), default="")  # what the visit found
