"""The verbs on the database: init-db, import, outbox, run-job. Only init-db (and the demo)
creates a database; the others refuse one that is not there or not migrated."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import Refusal
from bot.clock import SystemClock
from bot.config import DatabaseSettings, Settings
from storage.db import create_engine, session_factory, sqlite_file
from storage.importer import ImportSummary, RegistryFileError, import_registry, read_registry
from storage.migrate import current_revision, head_revision, upgrade_to_head
from storage.models import OutboxMessage, OutboxStatus
from storage.repos import unit_of_work

DEMO_DATABASE = "sqlite+aiosqlite:///./villagebot-demo.db"


def demo_settings(settings: Settings) -> Settings:
    """The demo's database unless another one is configured."""
    if settings.database != DatabaseSettings():
        return settings
    return settings.model_copy(update={"database": DatabaseSettings(url=DEMO_DATABASE)})


def run(args: argparse.Namespace, settings: Settings) -> None:
    if args.demo:
        settings = demo_settings(settings)
    if args.verb == "init-db":
        asyncio.run(init_db(settings))
    elif args.verb == "import":
        asyncio.run(import_file(settings, args.file))
    elif args.verb == "outbox":
        asyncio.run(outbox(settings, args.action, args.ids, OutboxStatus(args.status)))
    elif args.verb == "run-job":
        asyncio.run(run_job(settings, args.name, args.at, args.list))
    elif args.verb == "export":
        asyncio.run(export_corrections(settings))


@asynccontextmanager
async def engine_of(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database.url)
    try:
        yield engine
    finally:
        await engine.dispose()


def require_file(settings: Settings) -> None:
    """Refuse a SQLite database that is not there (opening it would create an empty one)."""
    path = sqlite_file(settings.database.url)
    if path is not None and not path.is_file():
        demo = "" if settings.database.url == DEMO_DATABASE else " (or add --demo for the demo's)"
        raise Refusal(f"there is no database at {path}: run `villagebot init-db` first{demo}")


async def check_schema(settings: Settings, engine: AsyncEngine) -> None:
    require_file(settings)
    try:
        current = await current_revision(engine)
    except Exception as exc:
        raise Refusal(f"cannot reach the database at [database] url: {exc}") from exc
    if current != head_revision():
        raise Refusal(
            f"the database schema is at {current or 'nothing'}, this version needs "
            f"{head_revision()}: run `villagebot init-db` (with the same configuration) first"
        )


async def init_db(settings: Settings) -> None:
    async with engine_of(settings) as engine:
        await upgrade_to_head(engine)
    print(f"database schema is at {head_revision()}")  # noqa: T201


async def import_file(settings: Settings, path: Path) -> None:
    try:
        registry = read_registry(path)  # refuses a bad file before touching the database
    except RegistryFileError as exc:
        raise Refusal(str(exc)) from exc
    async with engine_of(settings) as engine:
        await check_schema(settings, engine)
        uow = unit_of_work(session_factory(engine))
        summary = await import_registry(uow, registry, SystemClock().now())
    print_summary(path, summary)


def print_summary(path: Path, summary: ImportSummary) -> None:
    if not summary.changed:
        print(f"{path}: nothing to change")  # noqa: T201
        return
    for kind, n in sorted(summary.created.items()):
        print(f"{kind}: {n} added")  # noqa: T201
    for kind, n in sorted(summary.updated.items()):
        print(f"{kind}: {n} updated")  # noqa: T201


async def export_corrections(settings: Settings) -> None:
    """The cadres' 改类 as corpus rows (text, intent, category) on standard output: a file
    understanding/data/split.py takes as it is."""
    import csv

    require_file(settings)
    async with engine_of(settings) as engine:
        await check_schema(settings, engine)
        async with unit_of_work(session_factory(engine))() as store:
            rows = await store.reports.corrections()
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["text", "intent", "category"])
    for row in rows:
        if row.text.strip():
            out.writerow([row.text, "report", row.new])


async def outbox(settings: Settings, action: str, ids: list[int], status: OutboxStatus) -> None:
    async with engine_of(settings) as engine:
        await check_schema(settings, engine)
        async with unit_of_work(session_factory(engine))() as store:
            if action == "retry":
                count = await store.outbox.retry(ids or None, now=SystemClock().now())
                print(f"{count} dead pushes will be sent again")  # noqa: T201
                return
            rows = await store.outbox.listing(status, limit=200)
            pending, oldest = await store.outbox.depth()
    since = f", the oldest since {oldest:%Y-%m-%d %H:%M:%S} UTC" if oldest else ""
    print(f"pending: {pending}{since}")  # noqa: T201
    for row in rows:
        text = str(row.reply.get("text", "")).replace("\n", " ")[:40]
        print(  # noqa: T201
            f"#{row.id} {row.status} {row.channel}/{row.target} {tries(row)}"
            f"{row.last_error[:80]!r} {text}"
        )


def tries(row: OutboxMessage) -> str:
    """What `attempts` tells of a row: the failed tries (an operator's retry starts again
    from none). A dead row's error says why, and after how many tries when that was it."""
    if row.status is OutboxStatus.SENT:
        return f"sent on try {row.attempts + 1} "
    if row.status is OutboxStatus.PENDING and row.attempts:
        return f"failed {row.attempts} times "
    return ""


def list_jobs() -> None:
    from scheduler.sweeps import JOBS

    for job in JOBS.values():
        print(f"{job.name:20} {job.description}")  # noqa: T201


async def run_job(settings: Settings, name: str | None, at: str | None, list_only: bool) -> None:
    from bot.i18n import Translations
    from scheduler.jobs import JobContext
    from scheduler.sweeps import JOBS

    when = real = SystemClock().now()
    if at is not None:
        try:
            when = datetime.fromisoformat(at)
        except ValueError as exc:
            raise Refusal(f"--at {at!r} is not an ISO-8601 time") from exc
        if when.tzinfo is None:
            raise Refusal("--at needs a time zone, e.g. 2026-11-24T09:00+08:00")
    if list_only or name is None:
        list_jobs()
        return
    if name not in JOBS:
        raise Refusal(f"no sweep named {name!r}; `villagebot run-job --list` names them")
    async with engine_of(settings) as engine:
        await check_schema(settings, engine)
        context = JobContext(
            unit_of_work(session_factory(engine)),
            settings,
            Translations(settings.bot.locale),
            when.astimezone(UTC),
            send_from=real,  # what it queues goes out now, whatever time it was run as
        )
        done = await JOBS[name].run(context)
    print(f"{name} at {when.isoformat()}: {done} done")  # noqa: T201
