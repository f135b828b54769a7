"""The outbox: every push the bot makes, written with the state change that causes it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, IntPk, enum_column


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # a permanent error or too many tries: waits for an operator
    MERGED = "merged"  # sent as part of a digest (merged_into)


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    __table_args__ = (
        # what is due, oldest first
        Index("ix_outbox_message_due", "status", "not_before"),
        # a target's queue, in order
        Index("ix_outbox_message_target", "channel", "target", "status", "id"),
    )

    id: Mapped[IntPk]
    channel: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(128))  # external chat or user id
    is_group: Mapped[bool]
    reply: Mapped[dict[str, Any]] = mapped_column(JSON)  # a Reply, as JSON
    purpose: Mapped[str] = mapped_column(String(32), default="")  # notice, reminder, alert…
    # goes ahead of everything else due for its target (an elder's SOS or quiet alert)
    urgent: Mapped[bool] = mapped_column(default=False, server_default=false())
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus, 16), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime]
    # A worker's claim: until then no other worker takes the row; a crashed worker's claim
    # simply runs out.
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    answer: Mapped[str] = mapped_column(String(500), default="")  # the platform's, on success
    merged_into: Mapped[int | None]
