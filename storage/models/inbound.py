"""The inbound message log: one row per (channel, msg_id), whatever became of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, IntPk, enum_column


class InboundResult(StrEnum):
    HANDLED = "handled"
    IGNORED = "ignored"  # a group message not addressed to the bot
    RATE_LIMITED = "rate_limited"
    ERROR = "error"


class InboundLog(Base):
    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("channel", "msg_id"),)

    id: Mapped[IntPk]
    channel: Mapped[str] = mapped_column(String(32))
    msg_id: Mapped[str] = mapped_column(String(128))
    chat_id: Mapped[str] = mapped_column(String(128))
    sender_id: Mapped[str] = mapped_column(String(128))
    person_id: Mapped[int | None]
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(4000), default="")
    handler: Mapped[str] = mapped_column(String(64), default="")
    result: Mapped[InboundResult] = mapped_column(enum_column(InboundResult, 16))
    # The replies given, so that a platform's retry of this message gets the same answer.
    replies: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime]
    handled_at: Mapped[datetime]
