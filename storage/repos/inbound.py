"""The inbound message log: what came in, what became of it, what was answered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboundLog, InboundResult

LogRow = dict[str, Any]
TEXT_LIMIT = 4000


def log_row(
    *,
    channel: str,
    msg_id: str,
    chat_id: str,
    sender_id: str,
    person_id: int | None,
    kind: str,
    text: str,
    handler: str,
    result: InboundResult,
    replies: list[dict[str, Any]],
    received_at: datetime,
    handled_at: datetime,
) -> LogRow:
    return {
        "channel": channel,
        "msg_id": msg_id,
        "chat_id": chat_id,
        "sender_id": sender_id,
        "person_id": person_id,
        "kind": kind,
        "text": text[:TEXT_LIMIT],
        "handler": handler,
        "result": result,
        "replies": replies,
        "received_at": received_at,
        "handled_at": handled_at,
    }


class InboundRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def add(self, row: LogRow) -> None:
        """Add the log row to this transaction; the unique (channel, msg_id) refuses a second
        handling of the same message when it commits."""
        self._s.add(InboundLog(**row))

    async def insert_new(self, rows: Sequence[LogRow]) -> set[tuple[str, str]]:
        """Insert the rows not logged yet, in one statement; the (channel, msg_id) of those
        inserted. A row already there (another instance handled it) is left alone."""
        table = cast(Table, InboundLog.__table__)
        dialect = self._s.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(table)
            .on_conflict_do_nothing(index_elements=["channel", "msg_id"])
            .returning(table.c.channel, table.c.msg_id)
        )
        result = await self._s.execute(stmt, list(rows))
        return {(r.channel, r.msg_id) for r in result}

    async def get(self, channel: str, msg_id: str) -> InboundLog | None:
        stmt = select(InboundLog).where(InboundLog.channel == channel, InboundLog.msg_id == msg_id)
        return (await self._s.scalars(stmt)).first()

    async def count(self, channel: str, msg_id: str) -> int:
        stmt = select(InboundLog.id).where(
            InboundLog.channel == channel, InboundLog.msg_id == msg_id
        )
        return len((await self._s.scalars(stmt)).all())
