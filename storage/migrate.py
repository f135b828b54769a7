"""Alembic, driven from code: upgrade to head, and tell whether a database is at head."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Migrated:
    """What an upgrade did: from which revision (None: an empty database) to which."""

    before: str | None
    after: str


def alembic_config(url: str = "") -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest revision (read from the migration scripts once per process)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_revision)


async def upgrade_to_head(engine: AsyncEngine) -> Migrated | None:
    """Upgrade the schema to head; None when it already was (nothing ran). One line is
    logged when it runs (Alembic's own lines, on its "alembic" logger, are its detail)."""

    def run(conn: Connection) -> Migrated | None:
        before, after = _revision(conn), head_revision()
        if before == after:
            return None
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        return Migrated(before, after)

    async with engine.begin() as conn:
        migrated = await conn.run_sync(run)
    if migrated is not None:
        log.info(
            "database schema upgraded from %s to %s", migrated.before or "nothing", migrated.after
        )
    return migrated
