"""The group-committed inbound log: one bad row never takes its batch down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from storage.db import create_engine, session_factory
from storage.logwriter import InboundLogWriter
from storage.models import InboundLog, InboundResult
from storage.repos import UnitOfWork, unit_of_work
from storage.repos.inbound import LogRow, log_row
from tests.conftest import database_url

SECRET = "王秀英家门口的水管爆了"


@pytest.fixture
async def pg_uow(tmp_path: Path) -> AsyncIterator[UnitOfWork]:
    engine = create_engine(await database_url("pg", tmp_path))
    yield unit_of_work(session_factory(engine))
    await engine.dispose()


def _row(msg_id: str, text: str, clock: FixedClock) -> LogRow:
    return log_row(
        channel="sim",
        msg_id=msg_id,
        chat_id="dm",
        sender_id="u1",
        person_id=None,
        kind="text",
        text=text,
        handler="help.show_menu",
        result=InboundResult.HANDLED,
        replies=[],
        received_at=clock.now(),
        handled_at=clock.now(),
    )


async def test_rows_written_together_are_all_committed(uow: UnitOfWork, clock: FixedClock) -> None:
    writer = InboundLogWriter(uow)
    done = await asyncio.gather(*(writer.write(_row(f"m{i}", "帮助", clock)) for i in range(20)))
    assert all(done)
    again = await writer.write(_row("m3", "帮助", clock))
    assert again is False  # logged already: a second handling is refused


@pytest.mark.pg
async def test_a_row_postgresql_refuses_fails_alone_and_its_text_is_not_logged(
    pg_uow: UnitOfWork, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL refuses a NUL in text. (The channels never hand one over; a row that
    fails for any reason must still not take the messages committed with it down.)"""
    writer = InboundLogWriter(pg_uow)
    rows = [_row(f"ok{i}", "帮助", clock) for i in range(5)]
    bad = _row("bad", SECRET + "\x00", clock)
    with caplog.at_level(logging.ERROR):
        results = await asyncio.gather(
            *(writer.write(r) for r in [*rows[:2], bad, *rows[2:]]), return_exceptions=True
        )
    assert [r for r in results if isinstance(r, Exception)]
    assert results.count(True) == 5
    async with pg_uow() as store:
        kept = set(await store.session.scalars(select(InboundLog.msg_id)))
    assert kept == {f"ok{i}" for i in range(5)}
    assert "sim/bad" in caplog.text
    assert SECRET not in caplog.text
