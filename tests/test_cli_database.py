"""The verbs on the database, as an operator runs them from a directory: `--demo` reaches the
demo's database, a verb that only reads never creates one, and migrations speak once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import OUTBOX_STATUSES, main
from storage.db import create_engine, session_factory
from storage.models import OutboxStatus
from storage.repos import unit_of_work
from tests.test_cli import ROOT, config

READERS = [["outbox", "list"], ["run-job", "elder-watch"], ["serve"]]


def villagebot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VILLAGEBOT_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("verb", READERS, ids=lambda v: v[0])
def test_a_verb_that_reads_refuses_a_missing_database_and_creates_none(
    tmp_path: Path, verb: list[str]
) -> None:
    done = villagebot(tmp_path, *verb)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "there is no database at villagebot.db" in line
    assert "villagebot init-db" in line
    assert "--demo" in line
    assert list(tmp_path.iterdir()) == []


def test_every_verb_on_the_database_takes_demo(tmp_path: Path) -> None:
    assert villagebot(tmp_path, "outbox", "list", "--demo").returncode == 2
    assert not (tmp_path / "villagebot-demo.db").exists()
    assert villagebot(tmp_path, "init-db", "--demo").returncode == 0
    demo = tmp_path / "villagebot-demo.db"
    assert demo.is_file()
    registry = str(ROOT / "tests" / "data" / "registry.yaml")
    imported = villagebot(tmp_path, "import", registry, "--demo")
    assert imported.returncode == 0, imported.stderr
    assert "person: 8 added" in imported.stdout
    listed = villagebot(tmp_path, "outbox", "list", "--demo")
    assert listed.returncode == 0, listed.stderr
    assert "pending: 0" in listed.stdout
    swept = villagebot(tmp_path, "run-job", "elder-watch", "--demo")
    assert swept.returncode == 0, swept.stderr
    assert not (tmp_path / "villagebot.db").exists()  # nothing on the default database


def test_migration_lines_appear_only_when_a_migration_runs(tmp_path: Path) -> None:
    first = villagebot(tmp_path, "init-db")
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("database schema upgraded from nothing to") == 1
    again = villagebot(tmp_path, "init-db")
    listed = villagebot(tmp_path, "outbox", "list")
    for done in (first, again, listed):
        for alembic in ("Context impl", "Will assume", "Running upgrade"):
            assert alembic not in done.stderr
    assert "upgraded" not in again.stderr + listed.stderr


async def test_sent_rows_show_the_try_that_sent_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path)
    assert await asyncio.to_thread(main, ["init-db", "--config", str(cfg)]) == 0
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    at = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    try:
        async with unit_of_work(session_factory(engine))() as store:
            for attempts in (0, 2):
                row = store.outbox.add(
                    channel="sim", target="p1", is_group=False, reply={"text": "好"}, at=at
                )
                row.status, row.attempts, row.sent_at = OutboxStatus.SENT, attempts, at
    finally:
        await engine.dispose()
    args = ["outbox", "list", "--status", "sent", "--config", str(cfg)]
    assert await asyncio.to_thread(main, args) == 0
    listed = capsys.readouterr().out
    assert "#1 sent sim/p1 sent on try 1 " in listed
    assert "#2 sent sim/p1 sent on try 3 " in listed
    assert "tries=" not in listed


@pytest.mark.parametrize("status", list(OutboxStatus), ids=lambda s: s.value)
def test_outbox_lists_every_status(tmp_path: Path, status: OutboxStatus) -> None:
    assert status.value in OUTBOX_STATUSES
    cfg = config(tmp_path)
    assert main(["init-db", "--config", str(cfg)]) == 0
    assert main(["outbox", "list", "--status", status.value, "--config", str(cfg)]) == 0
