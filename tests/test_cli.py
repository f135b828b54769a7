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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from storage.db import create_engine, session_factory
from storage.migrate import current_revision, head_revision
from storage.models import OutboxMessage, OutboxStatus, Person
from storage.repos import unit_of_work
from tests.conftest import ADMIN_TOKEN, REDIS_URL, fresh_pg_database

ROOT = Path(__file__).parent.parent
REGISTRY = Path(__file__).parent / "data" / "registry.yaml"


@pytest.fixture(autouse=True)
def _no_stray_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("VILLAGEBOT_"):
            monkeypatch.delenv(name)


def config(
    tmp_path: Path,
    db_url: str = "",
    redis_url: str = "",
    port: int = 8080,
    *,
    metrics_port: int = 0,  # none unless asked: test runs side by side share 9464
    host: str = "127.0.0.1",
    extra: str = "",
) -> Path:
    db_url = db_url or f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    path = tmp_path / "villagebot.toml"
    path.write_text(
        f'[server]\nhost = "{host}"\nport = {port}\nmetrics_port = {metrics_port}\n'
        f'[database]\nurl = "{db_url}"\n'
        f'[redis]\nurl = "{redis_url}"\nprefix = "vbcli{uuid.uuid4().hex[:8]}"\n'
        f'[media]\ndir = "{tmp_path / "media"}"\n{extra}',
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
        # a start's model training (a thread) is waited for: slow on a busy machine
        out, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        raise
    return process.returncode, out


async def serve_until_healthy(
    cfg: Path, port: int, while_up: Callable[[], None] | None = None
) -> str:
    """init-db, serve, wait for a healthy /healthz (then look around, if asked), stop
    cleanly; what the server printed."""
    assert await asyncio.to_thread(main, ["init-db", "--config", str(cfg)]) == 0
    process = serve(cfg)
    try:
        status, body = await asyncio.to_thread(health, port)
        if while_up is not None:
            await asyncio.to_thread(while_up)
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


def fetch(url: str, token: str = "") -> tuple[int, dict[str, str], str]:
    """Status, headers and body of a GET, errors included."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


@pytest.mark.slow
async def test_serve_serves_on_sqlite_with_metrics_on_loopback_only(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    extra = f'[admin]\ntoken = "{ADMIN_TOKEN}"\n'
    cfg = config(tmp_path, port=port, metrics_port=metrics_port, extra=extra)
    seen: dict[str, tuple[int, dict[str, str], str]] = {}

    def scrape() -> None:
        main, scraped = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}"
        seen["metrics port"] = fetch(f"{scraped}/metrics")
        seen["metrics port, elsewhere"] = fetch(f"{scraped}/healthz")
        seen["main, no token"] = fetch(f"{main}/metrics")
        seen["main, admin token"] = fetch(f"{main}/metrics", ADMIN_TOKEN)

    out = await serve_until_healthy(cfg, port, while_up=scrape)
    assert f"listening on http://127.0.0.1:{port}" in out
    assert "Traceback" not in out
    status, headers, body = seen["metrics port"]
    assert status == 200  # Prometheus on this machine needs no token
    assert "villagebot_outbox_pending" in body
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert seen["metrics port, elsewhere"][0] == 404  # /metrics and nothing else
    assert seen["main, no token"][0] == 401
    assert seen["main, admin token"][0] == 200
    assert seen["main, admin token"][2].startswith("# HELP")


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


def villagebot(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real command in a directory of its own, with only the given VILLAGEBOT_ variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VILLAGEBOT_")}
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def refused_in_one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()  # no traceback, no log lines
    return line


def test_a_simulator_open_to_the_network_without_a_token_is_refused(tmp_path: Path) -> None:
    cfg = config(tmp_path, port=free_port(), host="0.0.0.0")
    line = refused_in_one_line(villagebot(tmp_path, "serve", "--config", str(cfg)))
    assert line.startswith("villagebot serve: [server] host is '0.0.0.0', not loopback")
    assert "set [sim] token (or VILLAGEBOT_SIM__TOKEN" in line
    assert "secrets.token_urlsafe(32)" in line
    # with a token it gets past that, to the next thing missing: the database
    token = "sim-" + "k" * 30
    line = refused_in_one_line(
        villagebot(tmp_path, "serve", "--config", str(cfg), VILLAGEBOT_SIM__TOKEN=token)
    )
    assert "villagebot init-db" in line


def test_a_simulator_beside_real_channels_is_refused_unless_allowed(tmp_path: Path) -> None:
    real = '[[channels]]\ntype = "wechat"\nname = "oa"\ntoken = "tok123"\napp_id = "wx1"\n'
    sim = '[[channels]]\ntype = "sim"\nname = "sim"\n'
    cfg = config(tmp_path, port=free_port(), extra=real + sim)
    line = refused_in_one_line(villagebot(tmp_path, "serve", "--config", str(cfg)))
    assert line == (
        "villagebot serve: a sim channel beside real channels (oa) would let whoever uses the "
        "simulator push through their robots: remove the sim channel, or set "
        "[sim] allow_real_pushes = true"
    )
    allowed = villagebot(
        tmp_path, "serve", "--config", str(cfg), VILLAGEBOT_SIM__ALLOW_REAL_PUSHES="true"
    )
    assert "villagebot init-db" in refused_in_one_line(allowed)


@pytest.mark.parametrize("token", ["change-me", "REPLACE-WITH-A-RANDOM-TOKEN", "x" * 23])
def test_a_weak_admin_token_is_refused_before_anything_starts(tmp_path: Path, token: str) -> None:
    cfg = config(tmp_path, port=free_port(), extra=f'[admin]\ntoken = "{token}"\n')
    line = refused_in_one_line(villagebot(tmp_path, "serve", "--config", str(cfg)))
    assert line.startswith(f"villagebot serve: config key [admin] token in {cfg}: ")
    assert "secrets.token_urlsafe(32)" in line
    assert token not in line


def test_a_metrics_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        cfg = config(tmp_path, port=free_port(), metrics_port=busy)
        assert main(["init-db", "--config", str(cfg)]) == 0
        line = refused_in_one_line(villagebot(tmp_path, "serve", "--config", str(cfg)))
    assert line == (
        f"villagebot serve: cannot listen on 127.0.0.1:{busy} for /metrics (Address already "
        "in use): set [server] metrics_port to a free port, or 0 for none"
    )
