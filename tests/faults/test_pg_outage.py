"""PostgreSQL stopped (`pg_ctl stop -m fast`) and started again while WeChat callbacks flow
to a `serve` instance: no callback hangs, each is answered 200 with its report number or
with the apology (so the villager knows to send again), nothing committed is lost, and the
outbox and the scheduler resume: a push due during the outage, and a notice set for it, go
out once the database is back.

The scheduler fires on the minute: the outage is placed to end a few seconds before a
minute's turn, so that turn's sweep is the first after it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.i18n import Translations
from storage.models import Notice
from tests.fakes.dingtalk import FakeDingTalk, Robot
from tests.faults.deployment import (
    Deployment,
    add_notices,
    database,
    prepare,
    queue_push,
    registry,
    reports,
    robot_token,
    villagers,
)
from tests.faults.services import PgCluster, RedisServer
from tests.faults.support import Instance, healthz, next_minute_after, wait_for
from tests.faults.traffic import WECHAT_RETRY_SECONDS, Traffic

pytestmark = [pytest.mark.slow, pytest.mark.redis]

BEFORE, OUTAGE, MARGIN = 3.0, 6.0, 4.0  # traffic before; the outage; its end to the minute
NUMBER = re.compile(r"编号 #(\d+)")  # the report's own number (a reply may cite another)
APOLOGY = Translations().for_locale("zh_CN").t("error.apology")


async def test_postgres_stopped_and_started_while_callbacks_flow(
    tmp_path: Path,
    pg_cluster: PgCluster,
    redis_server: RedisServer,
    instances: list[Instance],
    dingtalk: FakeDingTalk,
    wechat_api: str,
    ding_api: str,
    http: aiohttp.ClientSession,
    figures: Callable[..., None],
) -> None:
    url = pg_cluster.url
    await prepare(url, registry(villages=2, people=3))
    for v in range(2):
        dingtalk.robot(robot_token(v, 0))
    deployment = Deployment(url, redis_server.url, wechat_api, ding_api, jobs=("publish-notices",))
    bot = deployment.instance(tmp_path, "bot")
    instances.append(bot)
    bot.start()
    await bot.ready()

    turn = next_minute_after(BEFORE + OUTAGE + MARGIN + 1)
    stop_at = turn - MARGIN - OUTAGE
    due = datetime.fromtimestamp(stop_at + 1, UTC)  # inside the outage
    async with database(url) as uow:
        await queue_push(uow, "cid-V1-0", "停水通知：故障前排队", not_before=due)
        await add_notices(uow, range(1), publish_at=due)
    await asyncio.sleep(max(0.0, stop_at - BEFORE - time.time()))

    senders = [code for v in range(2) for code in villagers(v, 3)]
    traffic = Traffic(http, [bot], senders, rate=10)
    traffic.start()
    try:
        await asyncio.sleep(max(0.0, stop_at - time.time()))
        stopped_at = time.time()
        await pg_cluster.stop("fast")
        await asyncio.sleep(2)
        during = await healthz(http, bot)
        # WeChat's retries of messages answered just before: their replies are in the
        # database, which cannot be read now
        answered = [d.msg_id for d in traffic.firsts() if NUMBER.search(d.reply)][-5:]
        retries = await traffic.resend(answered)
        await asyncio.sleep(max(0.0, stopped_at + OUTAGE - time.time()))
        await pg_cluster.start()
        started_at = time.time()
        before_robot = dingtalk.robots[robot_token(1, 0)]
        resumed = await wait_for("the queued push goes out", _got(before_robot), within=20)
        notice_robot = dingtalk.robots[robot_token(0, 0)]
        await wait_for(
            "the notice goes out at the minute's turn",
            _got(notice_robot),
            within=turn - time.time() + 15,
        )
        notice_at = time.time()
    finally:
        await traffic.stop()
    after = await healthz(http, bot)
    async with database(url) as uow:
        made = await reports(uow)
        async with uow() as store:
            (notice,) = (await store.session.scalars(select(Notice))).all()

    sent = {d.msg_id: d.text for d in traffic.deliveries}
    numbered = {d.msg_id for d in traffic.deliveries if NUMBER.search(d.reply)}
    apologised = {d.msg_id for d in traffic.deliveries if d.reply == APOLOGY} - numbered
    other = [d for d in traffic.firsts() if d.reply != APOLOGY and not NUMBER.search(d.reply)]
    # lost: answered 200 without the apology (a number, or "success"), yet not kept
    lost = [
        d.msg_id
        for d in traffic.deliveries
        if d.status == 200 and d.reply != APOLOGY and made[d.text] == 0
    ]
    kept_anyway = [n for n in apologised if made[sent[n]] > 0]
    duplicated = sum(count - 1 for count in made.values() if count > 1)
    statuses = traffic.statuses()
    figures(
        messages=len(sent),
        deliveries=len(traffic.deliveries),
        in_outage=len(traffic.between(stopped_at, started_at)),
        apologised=len(apologised),
        lost=len(lost),
        apologised_but_kept=len(kept_anyway),
        duplicated=duplicated,
        five_xx=sum(c for s, c in statuses.items() if s >= 500),
        not_2xx=sum(c for s, c in statuses.items() if not 200 <= s < 300),
        max_latency=traffic.max_seconds(),
        retries_in_outage=len(retries),
        retries_5xx=sum(1 for d in retries if d.status >= 500),
        five_xx_not_kept=sum(
            1 for d in traffic.deliveries if d.status >= 500 and not made[d.text]
        ),
        outbox_resumed_after=resumed,
        notice_after_turn=notice_at - turn,
    )

    # While the database is down, a message's first delivery is answered 200 with the
    # apology, which asks the villager to send it again (WeChat retries nothing answered);
    # else with its report's number.
    assert [d.status for d in traffic.firsts()] == [200] * len(traffic.firsts()), statuses
    assert other == []
    assert apologised, "some messages came while the database was down"
    assert traffic.late(WECHAT_RETRY_SECONDS) == []  # none hung past WeChat's patience
    # A retry (the same MsgId) whose replies cannot be read from the inbound log while the
    # database is down is answered too (with nothing: the first delivery had the answer);
    # what must never happen is a 200 that is not the apology for a message not kept.
    assert all(d.status == 200 for d in traffic.deliveries), statuses
    assert lost == [], traffic.about(lost)
    assert kept_anyway == [], traffic.about(kept_anyway)  # an apology means nothing was kept
    assert duplicated == 0
    assert during == (503, {"status": "unavailable", "failing": ["database"]})
    assert after == (200, {"status": "ok"})
    # the outbox and the scheduler resumed: the push, and the notice, each went out once
    assert before_robot.texts() == ["停水通知：故障前排队"]
    assert len(notice_robot.texts()) == 1
    assert "停水通知0" in notice_robot.texts()[0]
    assert notice.published_at is not None
    assert notice.published_at.timestamp() >= started_at


def _got(robot: Robot) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return bool(robot.received)

    return check
