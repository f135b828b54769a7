"""Small builders for inbound messages."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from bot.message import InboundMessage, Kind

_ids = itertools.count(1)


def message(
    text: str = "",
    *,
    sender: str = "u1",
    chat: str | None = None,
    channel: str = "sim",
    msg_id: str | None = None,
    kind: Kind = Kind.TEXT,
    mentioned: bool = False,
    at: datetime | None = None,
    **extra: Any,
) -> InboundMessage:
    return InboundMessage(
        channel=channel,
        msg_id=msg_id or f"m{next(_ids)}",
        chat_id=chat or sender,
        is_group=chat is not None,
        sender_id=sender,
        kind=kind,
        text=text,
        mentioned=mentioned,
        time=at or datetime(2026, 11, 24, 1, 0, tzinfo=UTC),
        **extra,
    )
