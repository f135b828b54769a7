"""The `villagebot` command: serve, demo, init-db, import, run-job."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from bot.app import create_app
from bot.channels.sim import enroll_registry
from bot.clock import SystemClock
from bot.config import ConfigError, DatabaseSettings, Settings, SimChannelSettings, load_settings
from bot.i18n import Translations
from scheduler.jobs import JobContext
from scheduler.sweeps import JOBS
from storage.db import create_engine, session_factory
from storage.importer import RegistryFileError, import_registry, read_registry
from storage.migrate import current_revision, head_revision, upgrade_to_head
from storage.models import OutboxStatus
from storage.repos import unit_of_work

EXIT_USAGE = 2
DEMO_FILE = Path(__file__).resolve().parent.parent / "examples" / "demo.yaml"
DEMO_DATABASE = "sqlite+aiosqlite:///./villagebot-demo.db"

log = logging.getLogger("villagebot")


class Refusal(Exception):
    """Stop with this message and exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="villagebot", description="Digital village governance in the group chats."
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, help_text: str) -> argparse.ArgumentParser:
        p = verbs.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", type=Path, metavar="FILE", help="TOML configuration file")
        return p

    verb("serve", "Run the bot (HTTP callbacks, simulator if configured).")
    demo = verb("demo", "Run on embedded defaults with the demo registry and the simulator.")
    demo.add_argument("--port", type=int, help="port to listen on (default: [server] port)")
    verb("init-db", "Create or upgrade the database schema to the current version.")
    imp = verb("import", "Import the registry (org tree, people, groups) from a YAML file.")
    imp.add_argument("file", type=Path, metavar="FILE")
    box = verb("outbox", "List waiting or dead pushes, or send dead ones again.")
    box.add_argument("action", choices=["list", "retry"], help="list, or retry dead pushes")
    box.add_argument("ids", nargs="*", type=int, metavar="ID", help="rows to retry (default all)")
    box.add_argument(
        "--status", choices=[s.value for s in OutboxStatus], default="dead", help="for list"
    )
    job = verb("run-job", "Run one scheduler sweep now (as if at --at).")
    job.add_argument("name", nargs="?", metavar="NAME")
    job.add_argument("--at", metavar="ISO-8601", help="pretend the clock reads this time")
    job.add_argument("--list", action="store_true", help="list the sweeps")
    job.add_argument(
        "--demo", action="store_true", help="on the demo's database (of `villagebot demo`)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings(args.config)
        if args.verb == "serve":
            asyncio.run(_check_schema(settings))
            _serve(settings)
        elif args.verb == "demo":
            _demo(settings, args.port)
        elif args.verb == "init-db":
            asyncio.run(_init_db(settings))
        elif args.verb == "import":
            asyncio.run(_import(settings, args.file))
        elif args.verb == "outbox":
            asyncio.run(_outbox(settings, args.action, args.ids, OutboxStatus(args.status)))
        elif args.verb == "run-job":
            if args.demo:
                settings = _demo_settings(settings)
            asyncio.run(_run_job(settings, args.name, args.at, args.list))
    except (ConfigError, Refusal, RegistryFileError) as exc:
        print(f"villagebot {args.verb}: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_USAGE
    return 0


async def _check_schema(settings: Settings) -> None:
    engine = create_engine(settings.database.url)
    try:
        current = await current_revision(engine)
    except Exception as exc:
        raise Refusal(f"cannot reach the database at [database] url: {exc}") from exc
    finally:
        await engine.dispose()
    if current != head_revision():
        raise Refusal(
            f"the database schema is at {current or 'nothing'}, this version needs "
            f"{head_revision()}: run `villagebot init-db` (with the same configuration) first"
        )


async def _init_db(settings: Settings) -> None:
    engine = create_engine(settings.database.url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    print(f"database schema is at {head_revision()}")  # noqa: T201


async def _import(settings: Settings, path: Path) -> None:
    registry = read_registry(path)  # refuses a bad file before touching the database
    await _check_schema(settings)
    engine = create_engine(settings.database.url)
    try:
        summary = await import_registry(
            unit_of_work(session_factory(engine)), registry, SystemClock().now()
        )
    finally:
        await engine.dispose()
    if not summary.changed:
        print(f"{path}: nothing to change")  # noqa: T201
        return
    for kind, n in sorted(summary.created.items()):
        print(f"{kind}: {n} added")  # noqa: T201
    for kind, n in sorted(summary.updated.items()):
        print(f"{kind}: {n} updated")  # noqa: T201


async def _outbox(settings: Settings, action: str, ids: list[int], status: OutboxStatus) -> None:
    await _check_schema(settings)
    engine = create_engine(settings.database.url)
    try:
        async with unit_of_work(session_factory(engine))() as store:
            if action == "retry":
                count = await store.outbox.retry(ids or None, now=SystemClock().now())
                print(f"{count} dead pushes will be sent again")  # noqa: T201
                return
            rows = await store.outbox.listing(status, limit=200)
            pending, oldest = await store.outbox.depth()
    finally:
        await engine.dispose()
    since = f", the oldest since {oldest:%Y-%m-%d %H:%M:%S} UTC" if oldest else ""
    print(f"pending: {pending}{since}")  # noqa: T201
    for row in rows:
        text = str(row.reply.get("text", "")).replace("\n", " ")[:40]
        print(  # noqa: T201
            f"#{row.id} {row.status} {row.channel}/{row.target} tries={row.attempts} "
            f"{row.last_error[:80]!r} {text}"
        )


async def _run_job(settings: Settings, name: str | None, at: str | None, list_jobs: bool) -> None:
    when = real = SystemClock().now()
    if at is not None:
        try:
            when = datetime.fromisoformat(at)
        except ValueError as exc:
            raise Refusal(f"--at {at!r} is not an ISO-8601 time") from exc
        if when.tzinfo is None:
            raise Refusal("--at needs a time zone, e.g. 2026-11-24T09:00+08:00")
    if list_jobs or name is None:
        for job in JOBS.values():
            print(f"{job.name:20} {job.description}")  # noqa: T201
        return
    if name not in JOBS:
        raise Refusal(f"no sweep named {name!r}; `villagebot run-job --list` names them")
    await _check_schema(settings)
    engine = create_engine(settings.database.url)
    try:
        context = JobContext(
            unit_of_work(session_factory(engine)),
            settings,
            Translations(settings.bot.locale),
            when.astimezone(UTC),
            send_from=real,  # what it queues goes out now, whatever time it was run as
        )
        done = await JOBS[name].run(context)
    finally:
        await engine.dispose()
    print(f"{name} at {when.isoformat()}: {done} done")  # noqa: T201


def _serve(settings: Settings, banner: str = "") -> None:
    app = create_app(settings)
    url = f"http://{settings.server.host}:{settings.server.port}"
    web.run_app(
        app,
        host=settings.server.host,
        port=settings.server.port,
        print=lambda _: print(banner or f"villagebot listening on {url}", flush=True),  # noqa: T201
        access_log=None,
    )


def _demo_settings(settings: Settings) -> Settings:
    """The demo's database unless another one is configured."""
    if settings.database != DatabaseSettings():
        return settings
    return settings.model_copy(update={"database": DatabaseSettings(url=DEMO_DATABASE)})


def _demo(settings: Settings, port: int | None) -> None:
    settings = _demo_settings(settings)
    updates: dict[str, object] = {}
    if not any(isinstance(c, SimChannelSettings) for c in settings.channels):
        updates["channels"] = [*settings.channels, SimChannelSettings(type="sim")]
    if port is not None:
        updates["server"] = settings.server.model_copy(update={"port": port})
    settings = settings.model_copy(update=updates)
    asyncio.run(_prepare_demo(settings))
    url = f"http://{settings.server.host}:{settings.server.port}/sim"
    _serve(settings, banner=f"villagebot demo is running: open {url} (Ctrl+C stops it)")


async def _prepare_demo(settings: Settings) -> None:
    await _init_db(settings)
    await _import(settings, DEMO_FILE)
    engine = create_engine(settings.database.url)
    try:
        uow = unit_of_work(session_factory(engine))
        for channel in settings.channels:
            if isinstance(channel, SimChannelSettings):
                await enroll_registry(uow, channel.name, SystemClock().now())
    finally:
        await engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
