"""The scheduler's sweeps on a district-size PostgreSQL database: how long each takes when
work is due, and again right after, when nothing is (what an idle minute costs).

The district: a county, 20 townships, 740 villages; 1,501 group chats (a cadre group per
unit, a residents' group per village); 150,000 people, 5,000 of them elders living alone;
100,000 reports over the past year. Due at the moment swept: 300 reports past a deadline,
50 elders quiet past their threshold, a county notice 60 units have not acknowledged, a
township notice set for now; every village's evening digest, every township's weekly table.

    .venv/bin/python bench/sweeps.py [--people 150000] [--reports 100000]

Each sweep runs as `villagebot run-job` does, at a fixed clock time; the pushes it queues
land in the outbox (no channel sends them here).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.config import DatabaseSettings, SchedulerSettings, Settings
from bot.i18n import Translations
from scheduler.jobs import JobContext
from scheduler.sweeps import JOBS
from storage.db import create_engine, session_factory
from storage.migrate import upgrade_to_head
from storage.models import (
    ChatPurpose,
    ElderAlert,
    ElderCare,
    ElderContact,
    GroupChat,
    Identity,
    Level,
    Notice,
    NoticeTarget,
    OrgUnit,
    OutboxMessage,
    Person,
    Report,
    RoleAssignment,
)
from storage.repos import unit_of_work

PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "villagebot_sweeps_bench"
# Monday 30 Nov 2026, 18:00 in Asia/Shanghai: the evening digest's hour, a weekly-table day
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
TOWNSHIPS, VILLAGES_PER_TOWNSHIP = 20, 37
CHUNK = 5_000
# (sweep, what is due when it runs first)
SWEEPS = (
    ("chase-reports", "300 reports past a deadline"),
    ("close-resolved", "resolved reports nobody answered"),
    ("publish-notices", "a county notice set for now (to 760 units)"),
    ("chase-notices", "60 units late with a county notice"),
    ("elder-watch", "50 elders quiet past their threshold"),
    ("elder-checkin", "elders quiet since yesterday"),
    ("digest-daily", "740 villages' evening digest"),
    ("digest-weekly", "21 weekly tables (20 townships, the county)"),
)


async def fresh_database() -> str:
    admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    await admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


async def bulk(engine: AsyncEngine, table: Any, rows: Iterable[dict[str, Any]]) -> int:
    """Insert the rows (every row with the same keys: an executemany takes the first's)."""
    rows = list(rows)
    target: Table = table.__table__
    async with engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            await conn.execute(insert(target), rows[start : start + CHUNK])
    return len(rows)


async def build(engine: AsyncEngine, people: int, reports: int) -> dict[str, int]:
    """The district, with explicit ids so the rows can point at each other without reading
    back; the sequences are moved past them at the end."""
    rng = random.Random(20261130)
    units = [{"id": 1, "code": "C", "name": "县", "level": Level.COUNTY, "parent_id": None}]
    villages: list[int] = []
    townships: list[int] = []
    for t in range(TOWNSHIPS):
        tid = len(units) + 1
        townships.append(tid)
        units.append(
            {"id": tid, "code": f"T{t}", "name": f"镇{t}", "level": Level.TOWNSHIP, "parent_id": 1}
        )
        for v in range(VILLAGES_PER_TOWNSHIP):
            vid = len(units) + 1
            villages.append(vid)
            units.append(
                {
                    "id": vid,
                    "code": f"V{t}-{v}",
                    "name": f"村{t}-{v}",
                    "level": Level.VILLAGE,
                    "parent_id": tid,
                }
            )
    await bulk(engine, OrgUnit, units)
    groups = []
    for u in units:
        purposes = [ChatPurpose.CADRES]
        if u["level"] is Level.VILLAGE:
            purposes.append(ChatPurpose.RESIDENTS)
        for purpose in purposes:
            code = f"G{u['id']}-{purpose.value}"
            groups.append(
                {
                    "code": code,
                    "name": code,
                    "channel": "sim",
                    "external_id": code,
                    "org_unit_id": u["id"],
                    "purpose": purpose,
                }
            )
    await bulk(engine, GroupChat, groups)

    # a secretary per village and a cadre per township first, then the villagers
    persons, roles, identities = [], [], []
    secretary: dict[int, int] = {}
    for unit_id in villages + townships:
        pid = len(persons) + 1
        village = unit_id if unit_id in secretary or unit_id in set(villages) else None
        persons.append(
            {
                "id": pid,
                "code": f"P{pid}",
                "name": f"干部{pid}",
                "village_id": village,
                "is_elder": False,
            }
        )
        role = "village_secretary" if village else "township_cadre"
        roles.append({"person_id": pid, "org_unit_id": unit_id, "role": role, "categories": []})
        secretary[unit_id] = pid
    elders: list[tuple[int, int]] = []
    while len(persons) < people:
        pid = len(persons) + 1
        village = villages[pid % len(villages)]
        elder = len(elders) < 5_000 and pid % 29 == 0
        persons.append(
            {
                "id": pid,
                "code": f"P{pid}",
                "name": f"村民{pid}",
                "village_id": village,
                "is_elder": elder,
            }
        )
        if elder:
            elders.append((pid, village))
    for p in persons:
        if p["id"] % 3 == 0 or p["id"] <= len(villages) + len(townships) or p.get("is_elder"):
            identities.append(
                {
                    "channel": "sim",
                    "external_id": f"u{p['id']}",
                    "person_id": p["id"],
                    "bound_by": "import",
                    "bound_at": NOW - timedelta(days=200),
                }
            )
    await bulk(engine, Person, persons)
    await bulk(engine, RoleAssignment, roles)
    await bulk(engine, Identity, identities)

    cares, contacts = [], []
    for n, (pid, village) in enumerate(elders):
        quiet = n < 50  # the 50 due now; the rest heard from within the day
        last = NOW - timedelta(hours=30 if quiet else rng.uniform(1, 36))
        watched = (
            NOW - timedelta(minutes=5) if quiet else NOW + timedelta(hours=rng.uniform(1, 20))
        )
        cares.append(
            {
                "person_id": pid,
                "inactive_hours": 24,
                "checkin_in_group": n % 2 == 0,
                "last_active_at": last,
                "prompted_at": NOW - timedelta(hours=33),  # this morning's prompt not yet sent
                "watch_at": watched,
            }
        )
        contacts.append(
            {"elder_id": pid, "contact_id": secretary[village], "relation": "caretaker"}
        )
    await bulk(engine, ElderCare, cares)
    await bulk(engine, ElderContact, contacts)
    alerts = [
        {
            "elder_id": pid,
            "kind": "inactive",
            "opened_at": NOW - timedelta(days=rng.uniform(1, 6)),
            "last_active_at": NOW - timedelta(days=7),
            "step": 2,
            "next_at": None,
            "closed_at": NOW - timedelta(hours=rng.uniform(1, 20)),
            "note": "平安",
        }
        for pid, _ in elders[100:400]
    ]
    await bulk(engine, ElderAlert, alerts)

    rows = []
    villagers = len(villages) + len(townships)
    for n in range(reports):
        village = villages[n % len(villages)]
        created = NOW - timedelta(days=365 * (1 - n / reports)) - timedelta(hours=1)
        overdue = n >= reports - 300  # the newest 300: past the accept deadline, unaccepted
        done = not overdue and n < reports - 2_000
        row = {
            "reporter_id": villagers + 1 + (n * 7) % (people - villagers),
            "channel": "sim",
            "chat_id": "u1",
            "village_id": village,
            "unit_id": village,
            "category": "道路",
            "text": "路面坏了",
            "status": "closed" if done else ("submitted" if overdue else "in_progress"),
            "created_at": min(created, NOW - timedelta(hours=30)) if overdue else created,
            "accept_due_at": created + timedelta(hours=24),
            "resolve_due_at": created + timedelta(days=7),
            "accepted_at": None if overdue else created + timedelta(hours=3),
            "resolved_at": created + timedelta(days=2) if done else None,
            "closed_at": created + timedelta(days=3) if done else None,
            "satisfied": (n % 5 != 0) if done else None,
            "chase_due": (created + timedelta(hours=24)) if overdue else None,
            "chase_step": 0,
            "chase_at": NOW - timedelta(minutes=1) if overdue else None,
        }
        if overdue:
            row["accept_due_at"] = row["chase_due"] = NOW - timedelta(hours=2)
        elif not done:
            # open, accepted, not due yet: the ladder waits at the resolve deadline
            row["resolve_due_at"] = NOW + timedelta(days=3)
            row["chase_due"] = row["chase_at"] = row["resolve_due_at"]
        rows.append(row)
    await bulk(engine, Report, rows)

    # a county notice three days old, due yesterday: 700 of 760 units acknowledged it;
    # a county notice set for now
    await bulk(
        engine,
        Notice,
        [
            {
                "id": 1,
                "kind": "notice",
                "unit_id": 1,
                "author_id": 1,
                "title": "冬季防火",
                "body": "请做好冬季防火。",
                "photo": "",
                "ack_required": True,
                "due_at": NOW - timedelta(days=1),
                "publish_at": NOW - timedelta(days=3),
                "published_at": NOW - timedelta(days=3),
                "created_at": NOW - timedelta(days=3),
            },
            {
                "id": 2,
                "kind": "notice",
                "unit_id": 1,
                "author_id": secretary[townships[0]],
                "title": "医保缴费",
                "body": "请提醒村民缴纳医保。",
                "photo": "",
                "ack_required": True,
                "due_at": NOW + timedelta(days=2),
                "publish_at": NOW - timedelta(seconds=30),
                "published_at": None,
                "created_at": NOW - timedelta(days=1),
            },
        ],
    )
    targets = []
    for n, unit_id in enumerate(townships + villages):
        late = n >= len(townships) + len(villages) - 60
        targets.append(
            {
                "notice_id": 1,
                "unit_id": unit_id,
                "due_at": NOW - timedelta(days=1),
                "done_at": None if late else NOW - timedelta(days=2),
                "evidence": "",
                "photo": "",
                "chase_step": 0,
                "chase_at": NOW - timedelta(days=1) if late else None,
            }
        )
    await bulk(engine, NoticeTarget, targets)
    async with engine.begin() as conn:
        for table in ("org_unit", "group_chat", "person", "notice"):
            await conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
            )
        await conn.execute(text("ANALYZE"))
    return {
        "units": len(units),
        "groups": len(groups),
        "people": len(persons),
        "elders": len(elders),
        "reports": len(rows),
    }


async def pushes(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count(OutboxMessage.id)))).scalar() or 0)


async def main(people: int, reports: int) -> None:
    url = await fresh_database()
    engine = create_engine(url)
    await upgrade_to_head(engine)
    started = time.perf_counter()
    sizes = await build(engine, people, reports)
    built = time.perf_counter() - started
    settings = Settings(
        database=DatabaseSettings(url=url), scheduler=SchedulerSettings(enabled=False)
    )
    uow = unit_of_work(session_factory(engine))
    context = JobContext(uow, settings, Translations(settings.bot.locale), NOW)
    print(
        f"sweeps on PostgreSQL ({platform.python_version()}, {platform.machine()}): "
        + ", ".join(f"{n:,} {k}" for k, n in sizes.items())
        + f" (built in {built:.0f} s)"
    )
    print(f"{'sweep':16} {'due':48} {'done':>5} {'pushes':>7} {'1st ms':>8} {'idle ms':>8}")
    results: list[Sequence[Any]] = []
    for name, due in SWEEPS:
        before = await pushes(engine)
        t0 = time.perf_counter()
        done = await JOBS[name].run(context)
        first = (time.perf_counter() - t0) * 1000
        queued = await pushes(engine) - before
        t0 = time.perf_counter()
        again = await JOBS[name].run(context)
        idle = (time.perf_counter() - t0) * 1000
        assert again == 0 or name == "elder-watch", f"{name} did {again} things twice"
        results.append((name, due, done, queued, first, idle))
        print(f"{name:16} {due:48} {done:5} {queued:7} {first:8.0f} {idle:8.0f}")
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=150_000)
    parser.add_argument("--reports", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(main(args.people, args.reports))
