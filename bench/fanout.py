"""Outbox fan-out: pushes through the DingTalk channel to a local DingTalk, end to end.

Two runs, each on a fresh database with its own outbox worker, against the local DingTalk
of the tests (tests/fakes/dingtalk.py) in its own process:

- throughput: one push to each of N groups, the fake's 20-a-minute limit off: pushes/s;
- drain: a notice and two reminders to each of 1,500 groups with the limit on (the bot
  spaces each robot's messages 3 s apart): the time until every message is delivered, in
  order, with no robot ever throttled.

    .venv/bin/python bench/fanout.py [--groups 1500] [--pg]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_services
from bot.clock import SystemClock
from bot.config import (
    DatabaseSettings,
    DingTalkChannelSettings,
    MediaSettings,
    OutboxSettings,
    RedisSettings,
    Settings,
)
from bot.message import Push, Reply
from bot.outbox import enqueue
from storage.db import create_engine
from storage.migrate import upgrade_to_head
from storage.models import ChatPurpose, GroupChat, Level, OrgUnit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' local DingTalk
from tests.fakes.dingtalk import FakeDingTalk

PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "villagebot_fanout_bench"


def fake_process(groups: int, limit: bool, ready: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    async def main() -> None:
        fake = FakeDingTalk(SystemClock(), limit=limit)
        for i in range(groups):
            fake.robot(f"tok{i}", f"SEC{i:05d}")
        runner = web.AppRunner(fake.app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        ready.send(runner.addresses[0][1])
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(main())


@contextmanager
def fake_dingtalk(groups: int, limit: bool) -> Iterator[str]:
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=fake_process, args=(groups, limit, send))
    proc.start()
    send.close()
    try:
        if not receive.poll(60):
            raise SystemExit("the fake DingTalk did not start")
        yield f"http://127.0.0.1:{receive.recv()}"
    finally:
        proc.terminate()
        proc.join(30)


async def database(pg: bool, workdir: Path, tag: str) -> str:
    if not pg:
        url = f"sqlite+aiosqlite:///{workdir / f'{tag}.db'}"
    else:
        admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
        await admin.dispose()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DATABASE}"
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    return url


async def run(url: str, fake_url: str, groups: int, per_group: int, redis: str) -> float:
    """Queue per_group pushes to each group, run one worker, return seconds to drain."""
    ding = DingTalkChannelSettings(
        type="dingtalk", name="ding", app_key="k", app_secret="s", oapi_base=fake_url
    )
    settings = Settings(
        database=DatabaseSettings(url=url),
        redis=RedisSettings(url=redis, prefix=f"vbfanout{os.getpid()}"),
        media=MediaSettings(dir=Path(tempfile.gettempdir()) / "vbfanout-media"),
        channels=[ding],
        outbox=OutboxSettings(batch=2000, concurrency=64, poll_seconds=0.05),
    )
    services = build_services(settings)
    try:
        async with services.uow() as store:
            unit = OrgUnit(code="C", name="县", level=Level.COUNTY)
            store.session.add(unit)
            await store.session.flush()
            for i in range(groups):
                store.session.add(
                    GroupChat(
                        code=f"G{i}",
                        name=f"群{i}",
                        channel="ding",
                        external_id=f"cid{i}",
                        org_unit_id=unit.id,
                        purpose=ChatPurpose.CADRES,
                        robot_token=f"tok{i}",
                        robot_secret=f"SEC{i:05d}",
                    )
                )
        now = services.clock.now()
        async with services.uow() as store:
            for k in range(per_group):
                for i in range(groups):
                    reply = Reply.of_text(f"通知：下周一上午停水，请提前储水 #{k}")
                    enqueue(
                        store,
                        Push(channel="ding", chat_id=f"cid{i}", is_group=True, reply=reply),
                        now,
                        "notice",
                    )
        started = time.perf_counter()
        services.outbox.start()
        while True:
            async with services.uow() as store:
                pending, _ = await store.outbox.depth()
            if pending == 0:
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        await services.outbox.stop()
        return elapsed
    finally:
        await services.http.close()
        await services.kv.close()
        await services.engine.dispose()


async def stats(fake_url: str) -> dict[str, Any]:
    async with ClientSession() as http, http.get(f"{fake_url}/stats") as resp:
        found: dict[str, Any] = await resp.json()
        return found


async def bench(args: argparse.Namespace) -> int:
    redis = "redis://127.0.0.1:6379/0" if args.pg else ""
    stack = "PostgreSQL + Redis" if args.pg else "SQLite + in-process store"
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}; {stack}")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        n = args.throughput_groups
        with fake_dingtalk(n, limit=False) as fake_url:
            url = await database(args.pg, Path(tmp), "throughput")
            seconds = await run(url, fake_url, n, 1, redis)
            seen = await stats(fake_url)
        print(
            f"throughput: {n} pushes to {n} groups in {seconds:.2f} s = "
            f"{n / seconds:,.0f} pushes/s (fake limit off); delivered {seen['received']}"
        )
        failures += seen["received"] != n
        g, k = args.groups, 3
        with fake_dingtalk(g, limit=True) as fake_url:
            url = await database(args.pg, Path(tmp), "drain")
            seconds = await run(url, fake_url, g, k, redis)
            seen = await stats(fake_url)
        print(
            f"drain: {g * k} pushes ({k} to each of {g} groups, 20/min per robot) in "
            f"{seconds:.1f} s; delivered {seen['received']}, throttled {seen['throttled']}, "
            f"out of order {seen['out_of_order']}"
        )
        failures += seen["received"] != g * k or seen["throttled"] or seen["out_of_order"]
    if failures:
        print("!!! FAILED: not every push was delivered once, in order, unthrottled !!!")
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=1500)
    parser.add_argument("--throughput-groups", type=int, default=5000)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL + Redis instead")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(bench(args))


if __name__ == "__main__":
    raise SystemExit(main())
