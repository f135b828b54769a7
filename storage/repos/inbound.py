"""The inbound message log: what came in, what became of it, what was answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboundLog, InboundResult


class InboundRepo:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def record(
        self,
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
    ) -> None:
        """Add the log row; the unique (channel, msg_id) refuses a second handling at commit."""
        self._s.add(
            InboundLog(
                channel=channel,
                msg_id=msg_id,
                chat_id=chat_id,
                sender_id=sender_id,
                person_id=person_id,
                kind=kind,
                text=text[:4000],
                handler=handler,
                result=result,
                replies=replies,
                received_at=received_at,
                handled_at=handled_at,
            )
        )

    async def get(self, channel: str, msg_id: str) -> InboundLog | None:
        stmt = select(InboundLog).where(InboundLog.channel == channel, InboundLog.msg_id == msg_id)
        return (await self._s.scalars(stmt)).first()

    async def count(self, channel: str, msg_id: str) -> int:
        stmt = select(InboundLog.id).where(
            InboundLog.channel == channel, InboundLog.msg_id == msg_id
        )
        return len((await self._s.scalars(stmt)).all())
