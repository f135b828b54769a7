"""The bot without Redis: every message still answered, once, and service back by itself."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.app import SERVICES, create_app
from bot.clock import FixedClock
from bot.i18n import Translations
from bot.store import Keys, RedisStore
from bot.store_guard import GuardedStore
from storage.importer import import_registry, read_registry
from storage.models import InboundLog
from tests.conftest import ADMIN, DATA, database_url, make_settings
from tests.sim_support import enroll, say
from tests.wechat_support import PLAIN, deliver, open_reply, text_xml

ZH = Translations("zh_CN").for_locale(None)
NOBODY = "redis://127.0.0.1:1/0"  # nothing listens on port 1

Client = TestClient[Any, Any]


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
async def no_redis(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock, aiohttp_client: Any
) -> Client:
    """The app with its Redis unreachable from the start."""
    url = await database_url(request.param, tmp_path)
    settings = make_settings(url, NOBODY, "vbtest:gone", tmp_path / "media")
    client: Client = await aiohttp_client(create_app(settings, clock))
    return client


async def test_messages_are_answered_without_redis(no_redis: Client) -> None:
    replies = await say(no_redis, "sim-guest-1", "帮助")
    assert replies
    assert ZH.t("error.apology") not in replies
    assert ZH.t("degraded.flow_lost") not in replies[-1]  # a command is whole: no step lost


async def test_a_retried_callback_is_handled_once_by_the_database(
    no_redis: Client, clock: FixedClock
) -> None:
    at = int(clock.now().timestamp())
    xml = text_xml("帮助", msg_id=4242, at=at)
    first = await open_reply(await deliver(no_redis, PLAIN, xml, at), PLAIN)
    again = await open_reply(await deliver(no_redis, PLAIN, xml, at), PLAIN)
    assert first["Content"] == again["Content"]  # the retry carries the same answer
    uow = no_redis.app[SERVICES].uow
    async with uow() as store:
        rows = await store.session.scalar(
            select(func.count()).select_from(InboundLog).where(InboundLog.msg_id == "4242")
        )
    assert rows == 1


async def test_a_flow_started_without_redis_says_it_may_not_continue(no_redis: Client) -> None:
    services = no_redis.app[SERVICES]
    await import_registry(
        services.uow, read_registry(DATA / "registry.yaml"), services.clock.now()
    )
    await enroll(services)
    replies = await say(no_redis, "sim-P1", "随手拍")
    assert ZH.t("degraded.flow_lost") in replies[-1]


async def test_no_binding_while_guesses_cannot_be_counted(no_redis: Client) -> None:
    """Without Redis the lock-outs could not count: guessing would be unlimited."""
    for _ in range(5):
        assert await say(no_redis, "sim-guest-1", "绑定 王秀英 0000") == [ZH.t("bind.later")]
    assert await say(no_redis, "sim-guest-1", "我的信息") != [ZH.t("bind.later")]


async def test_health_says_degraded_and_the_metric_counts_it(no_redis: Client) -> None:
    await say(no_redis, "sim-guest-1", "帮助")
    resp = await no_redis.get("/healthz")
    assert resp.status == 503
    assert await resp.json() == {"status": "degraded", "failing": ["redis"]}
    metrics = await (await no_redis.get("/metrics", headers=ADMIN)).text()
    assert 'villagebot_degraded_handlings_total{channel="sim"} 1.0' in metrics


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def redis_port() -> int:
    """A free port where a Redis of the test's own may be started (and nothing runs yet)."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed")
    return _free_port()


def _start_redis(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )


@pytest.mark.redis
async def test_service_resumes_by_itself_when_redis_comes_back(redis_port: int) -> None:
    store = GuardedStore(RedisStore(f"redis://127.0.0.1:{redis_port}/0", Keys("t")), pause=0.2)
    server = None
    try:
        assert await store.set_if_absent("k", "v", 60) is True  # no Redis: "first"
        assert store.degraded
        assert await store.incr("n", 60) == 0  # rate limits skipped
        assert await store.acquire_lock("lock", "me", 60) is False  # nobody leads
        server = _start_redis(redis_port)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if await store.get("k") is None and not store.degraded:
                break
        assert not store.degraded
        assert await store.set_if_absent("k", "v", 60) is True
        assert await store.set_if_absent("k", "v", 60) is False  # dedup is Redis's again
        assert await store.acquire_lock("lock", "me", 60) is True
    finally:
        await store.close()
        if server is not None:
            server.kill()
            server.wait()
