"""Two `serve` instances behind one Redis contend for the scheduler's leader lock for a
minute, through a graceful restart of the leader, a SIGKILL of it and a stall (SIGSTOP)
longer than the lock: the lock key, sampled every 100 ms, changes hands exactly once per
event and is free only for a short while after one; by their logs, the two never lead at
once, but for the moment a stalled leader takes to notice on waking that it lost the lock."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.faults.deployment import Deployment, prepare, registry
from tests.faults.services import RedisServer
from tests.faults.support import Instance

pytestmark = [pytest.mark.slow, pytest.mark.pg, pytest.mark.redis]

LOCK, RENEW = 3.0, 1.0
RUN = 60.0  # seconds of contention
SLACK = 0.6  # sampling (0.1 s), a loaded machine
Interval = tuple[float, float]


def intervals(instance: Instance, until: float) -> list[Interval]:
    """When the instance said it led, each start of it on its own: a run that ended (a stop,
    a kill) stopped leading then."""
    found = []
    for start, run in enumerate(instance.runs(), 1):
        since = None
        for at, leads in run:
            if leads and since is None:
                since = at
            elif not leads and since is not None:
                found.append((since, at))
                since = None
        if since is not None:
            found.append((since, instance.ended.get(start, until)))
    return found


def overlap(a: Interval, b: Interval) -> Interval | None:
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if start < end else None


def minus(span: Interval, cut: Interval) -> list[Interval]:
    parts = [(span[0], min(span[1], cut[0])), (max(span[0], cut[1]), span[1])]
    return [(s, e) for s, e in parts if s < e]


async def test_two_instances_never_lead_at_once(
    tmp_path: Path,
    pg_url: str,
    redis_server: RedisServer,
    instances: list[Instance],
    wechat_api: str,
    ding_api: str,
    figures: Callable[..., None],
) -> None:
    await prepare(pg_url, registry(villages=1))
    scheduler = {"lock_seconds": LOCK, "renew_seconds": RENEW}
    deployment = Deployment(pg_url, redis_server.url, wechat_api, ding_api, scheduler=scheduler)
    a, b = deployment.instance(tmp_path, "a"), deployment.instance(tmp_path, "b")
    instances += [a, b]
    for instance in instances:
        instance.start()
    await asyncio.gather(a.ready(understanding=False), b.ready(understanding=False))

    key = f"{deployment.prefix}:lock:scheduler"
    probe = Redis.from_url(redis_server.url, decode_responses=True)
    samples: list[tuple[float, str | None]] = []
    sampling = True

    async def sample() -> None:
        while sampling:
            samples.append((time.time(), await probe.get(key)))
            await asyncio.sleep(0.1)

    def leader() -> Instance:
        (found,) = [i for i in instances if i.leads()]
        return found

    sampler = asyncio.create_task(sample())
    began = time.monotonic()

    async def at(offset: float) -> float:
        await asyncio.sleep(max(0.0, began + offset - time.monotonic()))
        return time.time()

    events: dict[str, float] = {}
    try:
        events["stop"] = await at(12)
        stopped = leader()
        assert await stopped.stop() == 0
        stopped.start()  # back as the standby
        events["kill"] = await at(27)
        killed = leader()
        killed.kill()
        killed.start()
        events["stall"] = await at(42)
        stalled = leader()
        stalled.pause()
        await asyncio.sleep(LOCK + 1.5)
        stalled.resume()
        woke = time.time()
        await at(RUN)
    finally:
        sampling = False
        await sampler
        await probe.aclose()
    ended = time.time()

    # the lock: who held it, sample by sample
    owners = [owner for _, owner in samples]
    holders = [k for k, _ in itertools.groupby(o for o in owners if o is not None)]
    gaps: list[Interval] = []
    for free, run in itertools.groupby(samples, key=lambda s: s[1] is None):
        taken = list(run)
        if free:
            gaps.append((taken[0][0], taken[-1][0]))
    # the instances: when each said it led
    spans = {i.name: intervals(i, ended) for i in instances}
    both = [o for x in spans["a"] for y in spans["b"] if (o := overlap(x, y))]
    stall = (events["stall"], woke)
    awake_both = [part for o in both for part in minus(o, stall)]
    leads_logged = sum(1 for i in instances for _, leads in i.leadership() if leads)
    figures(
        samples=len(samples),
        holders=len(holders),
        leads_logged=leads_logged,
        max_gap=max((e - s for s, e in gaps), default=0.0),
        gaps=len(gaps),
        two_leaders_awake=sum(e - s for s, e in awake_both),
        stalled_leader_noticed_after=max((e - woke for s, e in awake_both), default=0.0),
    )

    assert len(samples) > RUN * 5  # sampled every ~100 ms throughout
    assert owners[0] is not None  # a leader from the first sample to the last
    assert owners[-1] is not None
    # one change of hands per event (stop, kill, stall), and no flapping between them
    assert len(holders) == 4, holders
    assert leads_logged == 4
    # the lock was free only after an event (at once for a stop, once it expired for a
    # kill or a stall), and only until the standby's next try
    for start, end in gaps:
        cause = max((t for t in events.values() if t <= start + SLACK), default=None)
        assert cause is not None, f"the lock was free at {start} with nothing to cause it"
        assert start - cause <= LOCK + SLACK
        assert end - start <= RENEW + SLACK
    # never two leaders while both were awake, but for the moment the stalled one took to
    # find out, on waking, that the lock was no longer its own
    assert all(woke <= s and e - woke <= RENEW + SLACK for s, e in awake_both), awake_both
