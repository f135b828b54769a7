"""Small builders for inbound messages."""

from __future__ import annotations

import itertools
import struct
import zlib
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


def png(width: int = 2, height: int = 2) -> bytes:
    """A real, tiny PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
