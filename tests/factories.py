"""Small builders for tests: inbound messages, pictures, registry rows."""

from __future__ import annotations

import itertools
import struct
import zlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.message import InboundMessage, Kind
from storage.models import ChatPurpose, GroupChat, OrgUnit
from storage.repos import Store

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


def jpeg(width: int = 64, height: int = 48, *, size: int = 0) -> bytes:
    """A real baseline JPEG in blocks of colour (stripes), padded with comment segments to
    at least `size` bytes: a phone photo's weight without a camera."""
    stripes = ((200, 40, 40), (40, 160, 60), (40, 80, 200), (230, 200, 40))
    blocks_x, blocks_y = -(-width // 8), -(-height // 8)
    bits = _Bits()
    previous = [0, 0, 0]
    for by in range(blocks_y):
        for bx in range(blocks_x):
            for c, value in enumerate(_ycbcr(stripes[(bx + by) // 2 % len(stripes)])):
                dc = round(value) - 128  # a flat block: DC = 8 x (mean - 128), quantised by 8
                diff, previous[c] = dc - previous[c], dc
                category = abs(diff).bit_length()
                bits.put(*_DC_CODES[category])
                bits.put(diff if diff >= 0 else diff + (1 << category) - 1, category)
                bits.put(0b0, 1)  # end of block: every AC coefficient is zero
    components = b"".join(bytes((i, 0x11, 0)) for i in (1, 2, 3))
    head = (
        b"\xff\xd8"
        + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _segment(0xDB, b"\x00" + bytes([8] * 64))
        + _segment(0xC0, struct.pack(">BHHB", 8, height, width, 3) + components)
        + _segment(0xC4, b"\x00" + bytes(_DC_COUNTS) + bytes(range(12)))
        + _segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
    )
    scan = _segment(0xDA, b"\x03" + b"".join(bytes((i, 0)) for i in (1, 2, 3)) + b"\x00\x3f\x00")
    padding = b""
    room = size - len(head) - len(scan) - len(bits.done()) - 2
    while room > 4:
        chunk = min(room - 4, 65533)
        padding += _segment(0xFE, b"village" * (chunk // 7) + b"v" * (chunk % 7))
        room -= chunk + 4
    return head + padding + scan + bits.done() + b"\xff\xd9"


# the standard luminance DC table (ITU T.81 K.3): code lengths, and each category's code
_DC_COUNTS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_CODES = (
    (0b00, 2), (0b010, 3), (0b011, 3), (0b100, 3), (0b101, 3), (0b110, 3),
    (0b1110, 4), (0b11110, 5), (0b111110, 6), (0b1111110, 7), (0b11111110, 8),
    (0b111111110, 9),
)  # fmt: skip


def _ycbcr(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    r, g, b = rgb
    return (
        0.299 * r + 0.587 * g + 0.114 * b,
        128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
        128 + 0.5 * r - 0.418688 * g - 0.081312 * b,
    )


def _segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


class _Bits:
    """An entropy-coded segment: bits packed high first, 0xFF bytes stuffed with 0x00."""

    def __init__(self) -> None:
        self._value, self._count = 0, 0

    def put(self, value: int, count: int) -> None:
        self._value = (self._value << count) | (value & ((1 << count) - 1))
        self._count += count

    def done(self) -> bytes:
        pad = -self._count % 8
        raw = ((self._value << pad) | ((1 << pad) - 1)).to_bytes((self._count + pad) // 8, "big")
        return raw.replace(b"\xff", b"\xff\x00")


async def add_wecom_group(
    store: Store, *, code: str, chat: str, key: str | None = None, name: str = "柳树村两委群"
) -> None:
    """柳树村 (V1)'s cadre group on the WeCom smart robot `wbot`, with its group robot's
    webhook key when `key` is given; in the caller's transaction."""
    village = await store.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "V1"))
    assert village is not None, "import the test registry first"
    store.session.add(
        GroupChat(
            code=code,
            name=name,
            channel="wbot",
            external_id=chat,
            org_unit_id=village,
            purpose=ChatPurpose.CADRES,
            robot_token=key,
        )
    )
