"""Redis killed (SIGKILL) and restarted empty while WeChat callbacks flow to two `serve`
instances: every callback is answered in time, no message is handled twice or lost (the
inbound log's unique key stands in for the dedup keys), the bot says it is degraded, and
the scheduler's leader lock is taken again once Redis is back."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from storage.models import InboundLog
from tests.faults.deployment import (
    ADMIN_TOKEN,
    Deployment,
    database,
    prepare,
    registry,
    reports,
    villagers,
)
from tests.faults.services import RedisServer
from tests.faults.support import Instance, healthz, metric, wait_for
from tests.faults.traffic import WECHAT_RETRY_SECONDS, Traffic

pytestmark = [pytest.mark.slow, pytest.mark.pg, pytest.mark.redis]

BEFORE, OUTAGE, AFTER = 3.0, 6.0, 3.0  # seconds of traffic before, during and after
NUMBER = re.compile(r"编号 #(\d+)")  # the report's own number (a reply may cite another)
DEGRADED = "villagebot_degraded_handlings_total"


async def test_redis_killed_and_restarted_while_callbacks_flow(
    tmp_path: Path,
    redis_server: RedisServer,
    pg_url: str,
    instances: list[Instance],
    wechat_api: str,
    ding_api: str,
    http: aiohttp.ClientSession,
    figures: Callable[..., None],
) -> None:
    await prepare(pg_url, registry(villages=2, people=3))
    deployment = Deployment(pg_url, redis_server.url, wechat_api, ding_api)
    a, b = deployment.instance(tmp_path, "a"), deployment.instance(tmp_path, "b")
    instances += [a, b]
    for instance in instances:
        instance.start()
    await asyncio.gather(a.ready(), b.ready())
    lock_key = f"{deployment.prefix}:lock:scheduler"
    probe = Redis.from_url(redis_server.url, socket_timeout=1)

    async def lock_held() -> bool:
        try:
            return await probe.get(lock_key) is not None
        except (RedisError, OSError):  # killed: not held, as far as anyone can tell
            return False

    await wait_for("a leader takes the lock", lock_held, within=10)
    senders = [code for v in range(2) for code in villagers(v, 3)]
    traffic = Traffic(http, [a, b], senders, rate=12)
    traffic.start()
    try:
        await asyncio.sleep(BEFORE)
        killed_at = time.time()
        await redis_server.kill()
        await asyncio.sleep(2)
        during = [await healthz(http, i) for i in (a, b)]
        await asyncio.sleep(OUTAGE - 2)
        back_at = time.time()  # Redis may answer (and the lock be taken) from here on
        await redis_server.start()
        relocked = await wait_for("a leader takes the lock again", lock_held, within=10)
        await asyncio.sleep(AFTER)
    finally:
        await traffic.stop()
        await probe.aclose()
    after = [await healthz(http, i) for i in (a, b)]
    degraded = sum([await metric(http, i, DEGRADED, ADMIN_TOKEN) for i in (a, b)])
    async with database(pg_url) as uow:
        made = await reports(uow)
        async with uow() as store:
            logged = Counter((await store.session.scalars(select(InboundLog.msg_id))).all())

    # what a villager saw: each message's report number, however many times it was sent
    numbers: dict[int, set[str]] = {}
    for d in traffic.deliveries:
        numbers.setdefault(d.msg_id, set()).update(NUMBER.findall(d.reply))
    sent = {d.msg_id: d.text for d in traffic.deliveries}
    lost = [n for n, text in sent.items() if made[text] == 0]
    duplicated = sum(count - 1 for count in made.values() if count > 1)
    two_numbers = [n for n, found in numbers.items() if len(found) > 1]
    statuses = traffic.statuses()
    in_outage = traffic.between(killed_at, back_at)
    figures(
        messages=len(sent),
        deliveries=len(traffic.deliveries),
        in_outage=len(in_outage),
        lost=len(lost),
        duplicated=duplicated,
        five_xx=sum(c for s, c in statuses.items() if s >= 500),
        not_2xx=sum(c for s, c in statuses.items() if not 200 <= s < 300),
        max_latency=traffic.max_seconds(),
        degraded_handlings=int(degraded),
        relock_seconds=relocked,
    )

    assert len(in_outage) > 30, "traffic flowed through the outage"
    assert all(200 <= d.status < 300 for d in traffic.deliveries), statuses
    assert traffic.late(WECHAT_RETRY_SECONDS) == []  # no callback WeChat would have retried
    assert lost == [], traffic.about(lost)  # every message made its report
    assert duplicated == 0  # and only one, however many times it came
    assert logged == Counter(str(n) for n in sent)  # each message in the inbound log, once
    assert two_numbers == [], traffic.about(two_numbers)  # a repeat: the same number
    unnumbered = [d.msg_id for d in traffic.firsts() if not NUMBER.search(d.reply)]
    assert unnumbered == [], traffic.about(unnumbered)  # each first answered with its #
    for status, body in during:
        assert (status, body) == (503, {"status": "degraded", "failing": ["redis"]})
    assert after == [(200, {"status": "ok"})] * 2
    assert degraded > 0  # the operator sees how many messages went without Redis
    # leadership: given up with Redis (no lock can be held: sweeps pause rather than risk two
    # leaders), taken again once it is back
    events = [(t, leads) for i in (a, b) for t, leads in i.leadership()]
    assert [leads for t, leads in events if killed_at < t < back_at] == [False]
    assert [leads for t, leads in events if t > back_at] == [True]
