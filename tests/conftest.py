"""Fixtures: real databases (SQLite and PostgreSQL), real stores (memory and Redis), a clock,
the app over real HTTP, and the small test registry.

PostgreSQL and Redis are the machine's own (VB_TEST_PG_URL, VB_TEST_REDIS_URL). When one
cannot be reached its tests skip locally, and fail under CI=true: CI must prove them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import SERVICES, Services, create_app
from bot.clock import FixedClock
from bot.config import (
    AdminSettings,
    DatabaseSettings,
    DingTalkChannelSettings,
    MediaSettings,
    RedisSettings,
    SchedulerSettings,
    Settings,
    SimChannelSettings,
    SimSettings,
    WeChatChannelSettings,
)
from bot.store import Keys, KeyValue, MemoryStore, RedisStore
from storage.db import create_engine, session_factory
from storage.importer import import_registry, read_registry
from storage.migrate import upgrade_to_head
from storage.models import Base
from storage.repos import UnitOfWork, unit_of_work
from understanding import Understanding

PG_URL = os.environ.get("VB_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
PG_DATABASE = os.environ.get("VB_TEST_PG_DATABASE", "villagebot_test")  # one per concurrent run
REDIS_URL = os.environ.get("VB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"
DATA = Path(__file__).parent / "data"
TZ = ZoneInfo("Asia/Shanghai")

WECHAT_TOKEN = "villagetoken"
WECHAT_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WECHAT_APP_ID = "wx1234567890abcdef"
DINGTALK_APP_KEY = "dingAPPKEY"
DINGTALK_APP_SECRET = "testAppSecret_village"  # PROTOCOLS.md 7.5
ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}  # what /metrics on the main port needs


def unreachable(service: str, exc: BaseException) -> None:
    message = f"{service} is not reachable: {exc!r}"
    if IN_CI:
        pytest.fail(message + " (under CI every service must be up)")
    pytest.skip(message)


# --- databases --------------------------------------------------------------------------

_pg_ready = False


def _pg_test_url() -> str:
    return PG_URL.rsplit("/", 1)[0] + "/" + PG_DATABASE


async def _prepare_pg() -> str:
    """Create the test database and migrate it, once a session; empty it before each test."""
    global _pg_ready
    url = _pg_test_url()
    if not _pg_ready:
        admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                exists = await conn.scalar(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": PG_DATABASE}
                )
                if not exists:
                    await conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
        finally:
            await admin.dispose()
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()
        _pg_ready = True
    engine = create_engine(url)
    try:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()
    return url


@asynccontextmanager
async def fresh_pg_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test (migrations, the CLI), dropped after."""
    name = f"vb_fresh_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        await admin.dispose()
        unreachable("PostgreSQL", exc)
        raise
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def _prepare_sqlite(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'villagebot.db'}"
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    return url


async def database_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return await _prepare_sqlite(tmp_path)
    try:
        return await _prepare_pg()
    except (OSError, Exception) as exc:  # asyncpg raises several kinds when the server is down
        unreachable("PostgreSQL", exc)
        raise


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return await database_url(request.param, tmp_path)


@pytest.fixture
async def uow(db_url: str) -> AsyncIterator[UnitOfWork]:
    engine = create_engine(db_url)
    yield unit_of_work(session_factory(engine))
    await engine.dispose()


# --- understanding ----------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def trained_model() -> None:
    """Train the model on the corpus's train split once, before the first test: every app
    of the session then finds it trained (it is kept for the process), and no test's first
    message waits seconds for it."""
    Understanding().categories  # noqa: B018 (builds it)


# --- key-value stores -------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 24, 9, 0, tzinfo=TZ))


async def _redis_store(prefix: str) -> RedisStore:
    store = RedisStore(REDIS_URL, Keys(prefix))
    try:
        await store.ping()
    except Exception as exc:
        await store.close()
        unreachable("Redis", exc)
    return store


async def _forget_prefix(prefix: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def kv(request: pytest.FixtureRequest, clock: FixedClock) -> AsyncIterator[KeyValue]:
    prefix = f"vbtest:{uuid.uuid4().hex[:12]}"
    if request.param == "memory":
        yield MemoryStore(clock, Keys(prefix))
        return
    store = await _redis_store(prefix)
    yield store
    await store.close()
    await _forget_prefix(prefix)


# --- the whole app ----------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    """Embedded defaults (SQLite + in-process store) or production (PostgreSQL + Redis)."""

    name: str
    db: str
    redis: bool


STACKS = [
    Stack("embedded", "sqlite", redis=False),
    pytest.param(Stack("production", "pg", redis=True), marks=[pytest.mark.pg, pytest.mark.redis]),
]


def make_settings(db_url: str, redis_url: str, prefix: str, media: Path) -> Settings:
    return Settings(
        database=DatabaseSettings(url=db_url),
        redis=RedisSettings(url=redis_url, prefix=prefix),
        media=MediaSettings(dir=media),
        admin=AdminSettings(token=ADMIN_TOKEN),
        # the simulator beside the fake platforms: their pushes go to the local fakes
        sim=SimSettings(allow_real_pushes=True),
        # sweeps run when a test says so (run-job), never at a real minute's turn mid-test
        scheduler=SchedulerSettings(enabled=False),
        channels=[
            WeChatChannelSettings(
                type="wechat", name="oa", token=WECHAT_TOKEN, app_id=WECHAT_APP_ID
            ),
            WeChatChannelSettings(
                type="wechat",
                name="oa-aes",
                token=WECHAT_TOKEN,
                app_id=WECHAT_APP_ID,
                encoding_aes_key=WECHAT_AES_KEY,
            ),
            DingTalkChannelSettings(
                type="dingtalk",
                name="ding",
                app_key=DINGTALK_APP_KEY,
                app_secret=DINGTALK_APP_SECRET,
            ),
            SimChannelSettings(type="sim"),
        ],
    )


@pytest.fixture(params=STACKS, ids=lambda s: s.name)
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    stack: Stack = request.param
    url = await database_url(stack.db, tmp_path)
    prefix = f"vbtest:{uuid.uuid4().hex[:12]}"
    if stack.redis:
        await (await _redis_store(prefix)).close()
    yield make_settings(url, REDIS_URL if stack.redis else "", prefix, tmp_path / "media")
    if stack.redis:
        await _forget_prefix(prefix)


@pytest.fixture
async def client(
    settings: Settings, clock: FixedClock, aiohttp_client: Any
) -> TestClient[Any, Any]:
    app = create_app(settings, clock)
    test_client: TestClient[Any, Any] = await aiohttp_client(app)
    return test_client


@pytest.fixture
def services(client: TestClient[Any, Any]) -> Services:
    found: Services = client.app[SERVICES]
    return found


@pytest.fixture
async def registry(services: Services) -> None:
    """The small test registry, imported into the app's database."""
    await import_registry(
        services.uow, read_registry(DATA / "registry.yaml"), services.clock.now()
    )
