"""The scheduler's leader SIGKILLed in the middle of a sweep (a fan-out of notices to every
village's residents' groups): the standby takes the lock, runs the sweep it missed and
finishes it; each notice is published once, every group gets it, and a push is sent twice
only inside the outbox's documented window (sent, not yet recorded: at most a batch)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from scheduler.sweeps.notices import PUBLISH_BATCH
from storage.models import Notice, OutboxMessage
from tests.fakes.dingtalk import FakeDingTalk
from tests.faults.deployment import (
    Deployment,
    add_notices,
    database,
    prepare,
    registry,
    robot_token,
)
from tests.faults.services import RedisServer
from tests.faults.support import Instance, next_minute_after, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.pg, pytest.mark.redis]

VILLAGES, GROUPS = 200, 2  # a notice from each village, to each of its residents' groups
BATCH = 20  # the outbox's pass: the most a crash may send twice
LOCK, RENEW = 3.0, 1.0
START_SECONDS = 15  # two instances listening, on a loaded machine


async def test_the_leader_killed_mid_sweep_the_standby_finishes_it(
    tmp_path: Path,
    pg_url: str,
    redis_server: RedisServer,
    instances: list[Instance],
    dingtalk: FakeDingTalk,
    wechat_api: str,
    ding_api: str,
    figures: Callable[..., None],
) -> None:
    dingtalk.delay = 0.02  # a platform that takes a moment: sends are in flight at the kill
    await prepare(pg_url, registry(villages=VILLAGES, residents_groups=GROUPS))
    for v in range(VILLAGES):
        for n in range(GROUPS):
            dingtalk.robot(robot_token(v, n))
    # due at a minute's turn the instances are surely up for: that turn's sweep has them all
    turn = next_minute_after(START_SECONDS)
    async with database(pg_url) as uow:
        await add_notices(uow, range(VILLAGES), publish_at=datetime.fromtimestamp(turn, UTC))
        deployment = Deployment(
            pg_url,
            redis_server.url,
            wechat_api,
            ding_api,
            jobs=("publish-notices",),
            scheduler={"lock_seconds": LOCK, "renew_seconds": RENEW},
            outbox={"batch": BATCH, "concurrency": 4, "lease_seconds": 5},
        )
        a, b = deployment.instance(tmp_path, "a"), deployment.instance(tmp_path, "b")
        instances += [a, b]
        for instance in instances:
            instance.start()
        await asyncio.gather(a.ready(understanding=False), b.ready(understanding=False))

        async def published() -> int:
            async with uow() as store:
                stmt = select(func.count()).where(Notice.published_at.is_not(None))
                return int(await store.session.scalar(stmt) or 0)

        # the sweep fires at the minute's turn, on the leader: kill it after its first batch
        async def under_way() -> bool:
            return await published() >= PUBLISH_BATCH

        await wait_for("the sweep starts", under_way, turn - time.time() + 15, every=0.02)
        leader = next(i for i in instances if i.leads())
        standby = b if leader is a else a
        leader.kill()
        killed_at = time.time()
        at_kill = await published()

        async def all_published() -> bool:
            return await published() == VILLAGES

        await wait_for("the standby finishes the sweep", all_published, within=30)

        def sent() -> int:
            return sum(len(r.received) for r in dingtalk.robots.values())

        async def all_sent() -> bool:
            return all(r.received for r in dingtalk.robots.values())

        await wait_for("every group gets its notice", all_sent, within=60)
        async with uow() as store:
            rows = Counter((await store.session.scalars(select(OutboxMessage.target))).all())
            times = (await store.session.scalars(select(Notice.published_at))).all()
    # a sweep's notices carry the time it started: one count per run
    runs = Counter(t for t in times if t is not None)
    takeover = [t - killed_at for t, leads in standby.leadership() if leads and t > killed_at]
    sent_twice = sent() - VILLAGES * GROUPS
    figures(
        notices=VILLAGES,
        groups=VILLAGES * GROUPS,
        published_at_kill=at_kill,
        sweep_runs=len(runs),
        takeover_seconds=takeover[0] if takeover else -1.0,
        lost=sum(1 for r in dingtalk.robots.values() if not r.received),
        duplicated=sent_twice,
        queued_twice=sum(n - 1 for n in rows.values() if n > 1),
    )

    assert 0 < at_kill < VILLAGES, "killed in the middle of the sweep"
    assert takeover, "the standby led after the kill"
    assert takeover[0] <= LOCK + RENEW + 1.5  # the lock ran out, and the standby took it
    # two runs (the leader's, cut short, and the standby's), each notice in one of them
    assert len(runs) == 2
    assert sum(runs.values()) == VILLAGES
    finished = runs[max(runs)]  # the later run: the standby's, with what was left
    assert f"sweep publish-notices: {finished} done" in standby.log()
    assert set(rows) == {f"cid-V{v}-{n}" for v in range(VILLAGES) for n in range(GROUPS)}
    assert max(rows.values()) == 1  # each push queued once: the sweep did nothing twice
    assert 0 <= sent_twice <= BATCH  # sent twice only in the outbox's window
    assert all(r.received for r in dingtalk.robots.values())
