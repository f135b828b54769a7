"""Engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

# SQLite checkpoints its write-ahead log on the committing connection once it holds 1,000
# pages, and the fsync of that checkpoint (tens of milliseconds on a real disk) stalls every
# message waiting to commit. The bot checkpoints from another connection instead
# (`WalCheckpointer`); this larger limit is only the safety net for when that is not running.
WAL_AUTOCHECKPOINT_PAGES = 20_000


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (relative to the working directory, as SQLite opens it);
    None for PostgreSQL, an in-memory database or a `file:` URI."""
    if not is_sqlite(url):
        return None
    parsed = make_url(url)
    name = parsed.database or ""
    if name in ("", ":memory:") or parsed.query.get("uri") == "true":
        return None
    return Path(name)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if not is_sqlite(url):
        # A connection the server dropped (a restart) is found before use, not by a
        # message; a server that does not answer fails in seconds, not asyncpg's minute.
        # Parameters stay out of errors: they are villagers' words.
        return create_async_engine(
            url,
            echo=echo,
            pool_size=10,
            max_overflow=10,
            pool_pre_ping=True,
            pool_timeout=5,
            hide_parameters=True,
            connect_args={"timeout": 3},
        )
    # SQLite takes one writer at a time. One pooled connection makes transactions queue in
    # asyncio (first come, first served) instead of spinning on SQLite's busy handler.
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=1,
        max_overflow=0,
        hide_parameters=True,
        connect_args={"timeout": 15},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class WalCheckpointer:
    """Checkpoint a SQLite database's write-ahead log every `every` seconds from a connection
    of its own (PASSIVE: it never blocks the writer), off the commit path. Does nothing
    for PostgreSQL."""

    def __init__(self, url: str, every: float = 1.0) -> None:
        self._url = url
        self._every = every
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if is_sqlite(self._url) and self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="sqlite checkpointer")

    async def stop(self) -> None:
        """Finish the checkpoint under way, if any (never cut a driver call short)."""
        if self._task is not None:
            self._stop.set()
            await self._task
            self._task = None

    async def _run(self) -> None:
        engine = create_async_engine(self._url, pool_size=1, max_overflow=0)
        try:
            while not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._every)
                    break
                try:
                    async with engine.connect() as conn:
                        await conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                except Exception:
                    log.exception("SQLite checkpoint failed; the next one will try again")
        finally:
            await engine.dispose()


def database_down(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached (not that a handler is wrong)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OSError | OperationalError | InterfaceError | SQLTimeoutError)
