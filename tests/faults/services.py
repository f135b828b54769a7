"""A Redis server and a PostgreSQL cluster of the test's own, on free ports, to kill, stop
and start while `serve` instances use them."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.conftest import unreachable
from tests.faults.support import free_port, program, run, wait_for

# --- Redis ------------------------------------------------------------------------------


class RedisServer:
    """Debian's redis-server on a free port, nothing persisted: a restart starts empty."""

    def __init__(self, workdir: Path) -> None:
        self.binary = program("redis-server")
        self.port = free_port()
        self.workdir = workdir
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        argv += ["--logfile", str(self.workdir / "redis.log")]
        self.proc = await asyncio.create_subprocess_exec(
            *argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        await wait_for("redis-server answers PING", self.answers, within=10)

    async def answers(self) -> bool:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        try:
            writer.write(b"PING\r\n")
            await writer.drain()
            return (await asyncio.wait_for(reader.readline(), 1)).startswith(b"+PONG")
        except (OSError, TimeoutError):
            return False
        finally:
            writer.close()

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no save; clients see their connections reset."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()
        self.proc = None


# --- PostgreSQL -------------------------------------------------------------------------


class PgCluster:
    """A throw-away cluster (initdb) on a free port with its socket in its own directory.

    initdb and postgres refuse to run as root: as root, they run as the postgres user, in a
    directory of theirs under /tmp (pytest's tmp_path is closed to other users)."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        pg_ctl = shutil.which("pg_ctl") or (bins[-1] if bins else None)
        if pg_ctl is None:
            unreachable("pg_ctl (PostgreSQL server binaries)", FileNotFoundError("pg_ctl"))
        assert pg_ctl is not None
        self.bin = Path(pg_ctl).parent
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="vb-faults-pg-"))
        self.data, self.socket_dir = self.root / "data", self.root / "sock"
        self.socket_dir.mkdir()
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres")
            shutil.chown(self.socket_dir, "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    async def init(self) -> None:
        await run(
            *self._as,
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    async def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        log = self.root / "postgres.log"
        await run(
            *self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(log),
            "-o", options, "-w", "start",
        )  # fmt: skip

    async def stop(self, mode: str = "fast") -> None:
        await run(*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "stop")

    async def destroy(self) -> None:
        """Stop it however it stands, and remove its files."""
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            try:
                await self.stop("immediate")
            except AssertionError:
                with contextlib.suppress(ValueError, OSError, IndexError):
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)
