"""积分 at district size on PostgreSQL: how long 我的积分 takes (the balance, the household's
place in its village, the last five entries: the queries the command runs), and the monthly
boards of every village (the `points-boards` sweep, as `villagebot run-job` runs it).

The district: a county, 20 townships, 740 villages with a cadre group each; 150,000
households of one registered person each; 5,000,000 ledger entries over the two years
before 1 Dec 2026 (3 % of them deductions under the rules shown on the 黑榜), and each
household's running balance.

    .venv/bin/python bench/points.py [--households 150000] [--entries 5000000]

The data is made in the database itself (generate_series), in about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import DatabaseSettings, Settings
from bot.i18n import Translations
from handlers.points.rules import book
from scheduler.jobs import JobContext
from scheduler.sweeps import JOBS
from storage.db import create_engine, session_factory
from storage.migrate import upgrade_to_head
from storage.repos import unit_of_work

PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "villagebot_points_bench"
BOARDS_AT = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 on the 1st in Asia/Shanghai
TOWNSHIPS, VILLAGES_PER_TOWNSHIP = 20, 37
LOOKUPS = 300


async def fresh_database() -> str:
    admin = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    await admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def statements(households: int, entries: int) -> list[str]:
    villages = TOWNSHIPS * VILLAGES_PER_TOWNSHIP
    first_village = 2 + TOWNSHIPS  # ids: the county 1, the townships, then the villages
    rules = [r.code for r in book().rules if r.points > 0 and r.how != "auto"]
    black = [r.code for r in book().rules if r.black_board]
    earn = "ARRAY[" + ",".join(f"'{c}'" for c in rules) + "]"
    lose = "ARRAY[" + ",".join(f"'{c}'" for c in black) + "]"
    return [
        """INSERT INTO org_unit (id, code, name, level, parent_id)
            VALUES (1, 'C', '县', 'county', NULL)""",
        f"""INSERT INTO org_unit (id, code, name, level, parent_id)
            SELECT 1 + t, 'T' || t, '镇' || t, 'township', 1
            FROM generate_series(1, {TOWNSHIPS}) t""",
        f"""INSERT INTO org_unit (id, code, name, level, parent_id)
            SELECT {first_village} + v, 'V' || v, '村' || v, 'village',
                   2 + v / {VILLAGES_PER_TOWNSHIP}
            FROM generate_series(0, {villages - 1}) v""",
        """INSERT INTO group_chat (code, name, channel, external_id, org_unit_id, purpose)
            SELECT 'G' || id, 'G' || id, 'sim', 'g' || id, id, 'cadres' FROM org_unit
            WHERE level = 'village'""",
        f"""INSERT INTO household (id, code, village_id, grid_id, address)
            SELECT h, 'H' || h, {first_village} + (h - 1) % {villages}, NULL, ''
            FROM generate_series(1, {households}) h""",
        """INSERT INTO person (id, code, name, phone_masked, phone_last4, village_id, grid_id,
                               household_id, locale, is_elder)
            SELECT id, 'P' || id, '村民' || id, '', '', village_id, NULL, id, 'zh_CN', false
            FROM household""",
        f"""INSERT INTO point_entry (household_id, village_id, rule, points, at, actor_id, note)
            SELECT h.id, h.village_id,
                   CASE WHEN g % 33 = 0 THEN ({lose})[1 + g % {len(black)}]
                        ELSE ({earn})[1 + g % {len(rules)}] END,
                   CASE WHEN g % 33 = 0 THEN -5 ELSE 1 + g % 5 END,
                   TIMESTAMPTZ '2026-12-01 00:00+08' - (g % 730) * INTERVAL '1 day'
                       - (g % 1440) * INTERVAL '1 minute',
                   NULL, ''
            FROM generate_series(1, {entries}) g
            JOIN household h ON h.id = 1 + (g::bigint * 7919) % {households}""",
        """INSERT INTO household_points (household_id, village_id, balance)
            SELECT household_id, min(village_id), sum(points) FROM point_entry
            GROUP BY household_id""",
        "SELECT setval('org_unit_id_seq', (SELECT max(id) FROM org_unit))",
        "SELECT setval('household_id_seq', (SELECT max(id) FROM household))",
        "SELECT setval('person_id_seq', (SELECT max(id) FROM person))",
        "ANALYZE",
    ]


async def main(households: int, entries: int) -> None:
    url = await fresh_database()
    settings = Settings(database=DatabaseSettings(url=url))
    engine = create_engine(url)
    await upgrade_to_head(engine)
    started = time.perf_counter()
    async with engine.begin() as conn:
        for statement in statements(households, entries):
            await conn.execute(text(statement))
    print(
        f"made {households:,} households and {entries:,} entries in "
        f"{time.perf_counter() - started:.0f} s"
    )
    uow = unit_of_work(session_factory(engine))

    rng = random.Random(20261201)
    timings = []
    for _ in range(LOOKUPS):
        household = rng.randint(1, households)
        begun = time.perf_counter()
        async with uow() as store:
            person = await store.people.get(household)  # one person per household, same id
            assert person is not None
            assert person.village_id is not None
            await store.points.balance(household)
            await store.points.rank(household, person.village_id)
            await store.points.entries(household, 5)
        timings.append((time.perf_counter() - begun) * 1000)
    timings.sort()
    p99 = timings[int(len(timings) * 0.99) - 1]
    print(
        f"我的积分 ({LOOKUPS} households): median {statistics.median(timings):.1f} ms, "
        f"p99 {p99:.1f} ms, max {timings[-1]:.1f} ms"
    )

    job = JOBS["points-boards"]
    for attempt in ("first run", "again (nothing to draft)"):
        begun = time.perf_counter()
        drafted = await job.run(JobContext(uow, settings, Translations(), BOARDS_AT))
        seconds = time.perf_counter() - begun
        print(f"points-boards, {attempt}: {drafted} villages' boards in {seconds:.2f} s")
    await engine.dispose()
    print(f"{platform.python_version()} on {platform.machine()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=150_000)
    parser.add_argument("--entries", type=int, default=5_000_000)
    args = parser.parse_args()
    asyncio.run(main(args.households, args.entries))
