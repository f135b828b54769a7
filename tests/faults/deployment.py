"""A deployment for the fault tests: the configuration every instance shares, written as the
TOML file `villagebot serve` reads, and the database it runs on, migrated and filled with a
registry of villages, villagers bound on WeChat and residents' groups on DingTalk."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.message import Push, Reply
from bot.outbox import enqueue
from scheduler.sweeps import JOBS
from storage.db import create_engine, session_factory
from storage.importer import import_registry
from storage.migrate import upgrade_to_head
from storage.models import Notice, NoticeKind, OrgUnit, Person, Report
from storage.registry_file import ChatIn, PersonIn, RegistryIn, RoleIn, UnitIn
from storage.repos import UnitOfWork, unit_of_work
from tests.conftest import WECHAT_APP_ID, WECHAT_TOKEN
from tests.faults.support import Instance, free_port

OA, DING, SIM = "oa", "ding", "sim"
ADMIN_TOKEN = "faults-" + "k" * 40  # /metrics needs it


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def _pairs(values: dict[str, Any]) -> str:
    return "".join(f"{_toml(k)} = {_toml(v)}\n" for k, v in values.items())


def _table(name: str, values: dict[str, Any]) -> str:
    return f"[{name}]\n{_pairs(values)}"


def _channel(**values: Any) -> str:
    return f"[[channels]]\n{_pairs(values)}"


@dataclass
class Deployment:
    """What the instances of one test share. Pushes go to the fake platforms' URLs (or the
    simulator's transcript), never to a real network."""

    db_url: str
    redis_url: str
    wechat_api: str
    ding_api: str
    prefix: str = "vbfault"
    jobs: tuple[str, ...] = ()  # the sweeps kept on their default schedule; others stopped
    scheduler: dict[str, Any] = field(default_factory=dict)
    outbox: dict[str, Any] = field(default_factory=dict)
    bot: dict[str, Any] = field(default_factory=dict)

    def instance(self, workdir: Path, name: str) -> Instance:
        port = free_port()
        home = workdir / name
        home.mkdir(parents=True, exist_ok=True)
        config = home / "villagebot.toml"
        config.write_text(self.toml(port, home), encoding="utf-8")
        return Instance(name, config, port)

    def toml(self, port: int, home: Path) -> str:
        # many messages a minute from few senders, each report its own (not linked)
        bot = {"rate_limit_per_minute": 100_000, "report_duplicate_hours": 0} | self.bot
        scheduler = {"lock_seconds": 3, "renew_seconds": 1} | self.scheduler
        stopped = {name: "" for name in JOBS if name not in self.jobs}
        parts = [
            _table("server", {"host": "127.0.0.1", "port": port, "metrics_port": 0}),
            _table("database", {"url": self.db_url}),
            _table("redis", {"url": self.redis_url, "prefix": self.prefix}),
            _table("admin", {"token": ADMIN_TOKEN}),
            # the simulator beside the fakes: reports are announced in its groups
            _table("sim", {"allow_real_pushes": True}),
            _table("media", {"dir": home / "media"}),
            _table("cache", {"dir": home / "cache"}),
            _table("bot", bot),
            _table("outbox", {"poll_seconds": 0.5} | self.outbox),
            _table("scheduler", scheduler),
            _table("scheduler.jobs", stopped),
            _channel(
                type="wechat",
                name=OA,
                token=WECHAT_TOKEN,
                app_id=WECHAT_APP_ID,
                app_secret="oa-secret",
                api_base=self.wechat_api,
            ),
            _channel(
                type="dingtalk",
                name=DING,
                app_key="dingAPPKEY",
                app_secret="testAppSecret_village",
                api_base=self.ding_api,
                oapi_base=self.ding_api,
            ),
            _channel(type="sim", name=SIM),
        ]
        return "\n".join(parts)


# --- the registry -------------------------------------------------------------------------


def villagers(village: int, count: int) -> list[str]:
    return [f"P{village}-{n}" for n in range(count)]


def openid(code: str) -> str:
    return f"o-{code}"


def registry(villages: int, people: int = 0, residents_groups: int = 1) -> RegistryIn:
    """A county of one township and `villages` villages. Each village has a secretary, a
    cadres' group in the simulator (where reports are announced: no rate limit) and
    `residents_groups` residents' groups on DingTalk (robot token `tok-V<i>-<n>`, where
    notices go); the first `people` villagers of each village are theirs."""
    units = [UnitIn(code=f"V{v}", name=f"村{v}", level="village") for v in range(villages)]
    township = UnitIn(code="T", name="镇", level="township", children=units)
    org = UnitIn(code="C", name="县", level="county", children=[township])
    persons, chats = [], []
    phone = 0
    for v in range(villages):
        phone += 1
        persons.append(
            PersonIn(
                code=f"S{v}",
                name=f"书记{v}",
                phone=f"139{phone:08d}",
                roles=[RoleIn(role="village_secretary", unit=f"V{v}")],
            )
        )
        for code in villagers(v, people):
            phone += 1
            persons.append(
                PersonIn(code=code, name=f"村民{code}", phone=f"139{phone:08d}", village=f"V{v}")
            )
        chats.append(
            ChatIn(
                code=f"GC-V{v}-C",
                name=f"村{v}两委群",
                unit=f"V{v}",
                purpose="cadres",
                channel=SIM,
                external_id=f"cadres-V{v}",
            )
        )
        for n in range(residents_groups):
            chats.append(
                ChatIn(
                    code=f"GC-V{v}-R{n}",
                    name=f"村{v}村民群{n}",
                    unit=f"V{v}",
                    purpose="residents",
                    channel=DING,
                    external_id=f"cid-V{v}-{n}",
                    robot_token=robot_token(v, n),
                )
            )
    return RegistryIn(org=org, people=persons, group_chats=chats)


def robot_token(village: int, group: int) -> str:
    return f"tok-V{village}-{group}"


@asynccontextmanager
async def database(url: str) -> AsyncIterator[UnitOfWork]:
    """A unit of work on the deployment's database, for the test's own reads and writes."""
    engine = create_engine(url)
    try:
        yield unit_of_work(session_factory(engine))
    finally:
        await engine.dispose()


async def prepare(url: str, reg: RegistryIn) -> None:
    """Migrate the database, import the registry and bind every villager on WeChat (openid
    o-<code>)."""
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    now = datetime.now(UTC)
    async with database(url) as uow:
        await import_registry(uow, reg, now)
        async with uow() as store:
            for person in (await store.session.scalars(select(Person))).all():
                if person.code.startswith("P"):
                    external_id = openid(person.code)
                    await store.identities.bind(OA, external_id, person.id, by="test", at=now)


async def reports(uow: UnitOfWork) -> Counter[str]:
    """How many reports each text made."""
    async with uow() as store:
        return Counter((await store.session.scalars(select(Report.text))).all())


async def add_notices(uow: UnitOfWork, villages: range, publish_at: datetime) -> None:
    """A notice of each village's own (to its residents' groups), set to go out then."""
    async with uow() as store:
        units = {u.code: u.id for u in (await store.session.scalars(select(OrgUnit))).all()}
        people = {p.code: p.id for p in (await store.session.scalars(select(Person))).all()}
        for v in villages:
            store.session.add(
                Notice(
                    kind=NoticeKind.NOTICE,
                    unit_id=units[f"V{v}"],
                    author_id=people[f"S{v}"],
                    title=f"停水通知{v}",
                    body="明天上午停水，请提前储水。",
                    publish_at=publish_at,
                    created_at=datetime.now(UTC),
                )
            )


async def queue_push(uow: UnitOfWork, chat_id: str, text: str, not_before: datetime) -> None:
    """A push to a DingTalk group, queued now and due at `not_before`."""
    async with uow() as store:
        push = Push(channel=DING, chat_id=chat_id, is_group=True, reply=Reply.of_text(text))
        enqueue(store, push, datetime.now(UTC), not_before=not_before)
