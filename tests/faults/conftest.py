"""Fixtures of the fault tests: a Redis of the test's own, the fake platforms over real HTTP,
the processes killed at teardown, and each test's figures, printed in the terminal summary
(lost, duplicated, 5xx, slowest answer…) whether it passed or failed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.clock import SystemClock
from tests.conftest import PG_DATABASE, PG_URL, WECHAT_APP_ID, unreachable
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.wechat import FakeWeChat
from tests.faults.services import PgCluster, RedisServer
from tests.faults.support import Instance
from tests.faults.traffic import figures_line

FIGURES = "fault figures"


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Record the test's figures (one line in the summary)."""

    def record(**values: object) -> None:
        request.node.user_properties.append((FIGURES, figures_line(request.node.name, **values)))

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            for key, value in getattr(report, "user_properties", ()):
                if key == FIGURES and getattr(report, "when", "") == "call":
                    lines.append(value)
    if lines:
        terminalreporter.section("fault figures")
        for line in sorted(set(lines)):
            terminalreporter.write_line(line)


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    await server.start()
    try:
        yield server
    finally:
        await server.kill()


@pytest.fixture
async def pg_url() -> str:
    """A database of this run's own on the machine's PostgreSQL (named after the run's test
    database), emptied before each test: its schema dropped, not the database, since a
    DROP DATABASE waits for a checkpoint of the whole shared server."""
    name = f"{PG_DATABASE}_faults"
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            found = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            )
            if not found:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # asyncpg raises several kinds when the server is down
        unreachable("PostgreSQL", exc)
    finally:
        await admin.dispose()
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()
    return url


@pytest.fixture
async def pg_cluster() -> AsyncIterator[PgCluster]:
    """A PostgreSQL cluster of the test's own, to stop and start; removed after."""
    cluster = PgCluster()
    try:
        await cluster.init()
        await cluster.start()
        yield cluster
    finally:
        await cluster.destroy()


@pytest.fixture
def wechat() -> FakeWeChat:
    return FakeWeChat(SystemClock(), WECHAT_APP_ID, "oa-secret")


@pytest.fixture
async def wechat_api(wechat: FakeWeChat, aiohttp_server: Any) -> str:
    server = await aiohttp_server(wechat.app())
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
def dingtalk() -> FakeDingTalk:
    return FakeDingTalk(SystemClock(), limit=False)


@pytest.fixture
async def ding_api(dingtalk: FakeDingTalk, aiohttp_server: Any) -> str:
    server = await aiohttp_server(dingtalk.app())
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def instances(
    wechat_api: str, ding_api: str, redis_server: RedisServer
) -> Iterator[list[Instance]]:
    """Every `serve` the test starts goes here: all killed at teardown, pass or fail, and
    before the fakes and Redis they use are (a fake server waits for open connections)."""
    started: list[Instance] = []
    try:
        yield started
    finally:
        for instance in started:
            instance.kill()
