"""`villagebot` as an operator runs it: verbs, exit statuses, and a server that serves."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from storage.db import create_engine, session_factory
from storage.migrate import current_revision, head_revision
from storage.models import OutboxMessage, OutboxStatus, Person
from storage.repos import unit_of_work
from tests.conftest import REDIS_URL, fresh_pg_database

ROOT = Path(__file__).parent.parent
REGISTRY = Path(__file__).parent / "data" / "registry.yaml"


@pytest.fixture(autouse=True)
def _no_stray_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("VILLAGEBOT_"):
            monkeypatch.delenv(name)


def config(tmp_path: Path, db_url: str = "", redis_url: str = "", port: int = 8080) -> Path:
    db_url = db_url or f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    path = tmp_path / "villagebot.toml"
    path.write_text(
        f'[server]\nport = {port}\n[database]\nurl = "{db_url}"\n'
        f'[redis]\nurl = "{redis_url}"\nprefix = "vbcli{uuid.uuid4().hex[:8]}"\n'
        f'[media]\ndir = "{tmp_path / "media"}"\n',
        encoding="utf-8",
    )
    return path


async def people_in(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(Person)) or 0)
    finally:
        await engine.dispose()


async def revision_of(db_url: str) -> str | None:
    engine = create_engine(db_url)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_help_lists_every_verb(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for verb in ("serve", "demo", "init-db", "import", "run-job"):
        assert verb in out
    with pytest.raises(SystemExit) as done:
        main(["import", "--help"])
    assert done.value.code == 0
    assert "FILE" in capsys.readouterr().out


def test_a_config_error_exits_2_naming_the_key_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'[server]\nport = 0\n[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/x.db"\n',
        encoding="utf-8",
    )
    assert main(["init-db", "--config", str(bad)]) == 2
    assert f"config key [server] port in {bad}" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()


async def test_init_db_migrates_to_head_and_twice_is_harmless(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    db = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    assert await asyncio.to_thread(main, ["init-db", "--config", str(cfg)]) == 0
    assert await revision_of(db) == head_revision()
    assert await asyncio.to_thread(main, ["init-db", "--config", str(cfg)]) == 0
    assert await revision_of(db) == head_revision()


async def test_import_after_init_db_and_a_bad_file_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path)
    db = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    # before init-db the import refuses and says what to do
    assert await asyncio.to_thread(main, ["import", str(REGISTRY), "--config", str(cfg)]) == 2
    assert "villagebot init-db" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["init-db", "--config", str(cfg)]) == 0
    assert await asyncio.to_thread(main, ["import", str(REGISTRY), "--config", str(cfg)]) == 0
    assert "person: 8 added" in capsys.readouterr().out
    assert await people_in(db) == 8
    assert await asyncio.to_thread(main, ["import", str(REGISTRY), "--config", str(cfg)]) == 0
    assert "nothing to change" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        REGISTRY.read_text(encoding="utf-8").replace("name: 孙小明", "name: 孙小明\n    age: 9"),
        encoding="utf-8",
    )
    assert await asyncio.to_thread(main, ["import", str(bad), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:" in err
    assert "age" in err
    assert await people_in(db) == 8


def test_run_job_lists_and_refuses_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run-job", "--list"]) == 0
    assert capsys.readouterr().out.strip()  # the sweeps, or a line saying there are none yet
    assert main(["run-job", "no-such-sweep"]) == 2
    assert "run-job --list" in capsys.readouterr().err
    assert main(["run-job", "digest", "--at", "yesterday"]) == 2
    assert "ISO-8601" in capsys.readouterr().err


async def test_run_job_as_if_later_queues_pushes_to_go_out_now(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An operator (or the demo) runs a sweep as if it were another day: what it queues is
    sent at once by the running instance, not held until that day comes."""
    cfg = config(tmp_path)
    db = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    assert await asyncio.to_thread(main, ["init-db", "--config", str(cfg)]) == 0
    assert await asyncio.to_thread(main, ["import", str(REGISTRY), "--config", str(cfg)]) == 0
    later = "2031-01-06T10:00+08:00"  # the registry's elder has long been quiet by then
    args = ["run-job", "elder-watch", "--at", later, "--config", str(cfg)]
    assert await asyncio.to_thread(main, args) == 0
    assert "elder-watch at 2031-01-06T10:00:00+08:00: 1 done" in capsys.readouterr().out
    engine = create_engine(db)
    try:
        async with unit_of_work(session_factory(engine))() as store:
            rows = (await store.session.scalars(select(OutboxMessage))).all()
    finally:
        await engine.dispose()
    assert {r.target for r in rows} == {"g-v1-cadres"}  # the caretaker, in the village group
    assert all(r.created_at == datetime(2031, 1, 6, 2, 0, tzinfo=UTC) for r in rows)
    assert all(r.not_before <= datetime.now(UTC) for r in rows)


def serve(cfg: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--config", str(cfg)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def health(port: int, within: float = 15.0) -> tuple[int, str]:
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                return r.status, r.read().decode()
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    try:
        out, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        raise
    return process.returncode, out


async def serve_until_healthy(cfg: Path, port: int) -> str:
    """init-db, serve, wait for a healthy /healthz, stop cleanly; what the server printed."""
    assert await asyncio.to_thread(main, ["init-db", "--config", str(cfg)]) == 0
    process = serve(cfg)
    try:
        status, body = await asyncio.to_thread(health, port)
    finally:
        code, out = stop(process)
    assert (status, body) == (200, '{"status": "ok"}')
    assert code == 0, out
    return out


def test_serve_refuses_an_outdated_schema(tmp_path: Path) -> None:
    process = serve(config(tmp_path, port=free_port()))
    try:
        out, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 2
    assert "run `villagebot init-db`" in out


@pytest.mark.slow
async def test_serve_serves_on_sqlite(tmp_path: Path) -> None:
    port = free_port()
    cfg = config(tmp_path, port=port)
    out = await serve_until_healthy(cfg, port)
    assert f"listening on http://127.0.0.1:{port}" in out


@pytest.mark.slow
@pytest.mark.pg
@pytest.mark.redis
async def test_serve_serves_on_postgresql_and_redis(tmp_path: Path) -> None:
    port = free_port()
    async with fresh_pg_database() as db:
        cfg = config(tmp_path, db_url=db, redis_url=REDIS_URL, port=port)
        await serve_until_healthy(cfg, port)


async def test_outbox_lists_dead_pushes_and_sends_them_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path)
    db = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    assert await asyncio.to_thread(main, ["init-db", "--config", str(cfg)]) == 0
    engine = create_engine(db)
    try:
        async with unit_of_work(session_factory(engine))() as store:
            at = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
            for target in ("cid1", "cid2"):
                row = store.outbox.add(
                    channel="ding",
                    target=target,
                    is_group=True,
                    reply={"kind": "text", "text": f"通知 {target}"},
                    at=at,
                )
                row.status, row.last_error = (
                    OutboxStatus.DEAD,
                    "errcode 300001: token is not exist",
                )
    finally:
        await engine.dispose()
    assert await asyncio.to_thread(main, ["outbox", "list", "--config", str(cfg)]) == 0
    listed = capsys.readouterr().out
    assert "pending: 0" in listed
    assert "#1 dead ding/cid1" in listed
    assert "300001" in listed
    assert await asyncio.to_thread(main, ["outbox", "retry", "1", "--config", str(cfg)]) == 0
    assert "1 dead pushes will be sent again" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["outbox", "list", "--config", str(cfg)]) == 0
    listed = capsys.readouterr().out
    assert "pending: 1" in listed
    assert "#1 " not in listed
    assert "#2 dead" in listed
