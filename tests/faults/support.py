"""`villagebot serve` as a real process for the fault tests (started, stopped, killed,
stalled; its log read for readiness and leadership), and the small tools every fault test
uses: free ports, polling, commands run to their end.

Nothing here blocks the event loop for long (asyncio subprocesses, polling), since the
test's fake platforms answer on that loop while the processes run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import unreachable

ROOT = Path(__file__).resolve().parent.parent.parent
LEADS = "scheduler: this instance leads"
LOST = "scheduler: leadership lost"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def program(name: str) -> str:
    """The path of a program on PATH; a missing one fails the test under CI, skips it
    elsewhere."""
    found = shutil.which(name)
    if found is None:
        unreachable(name, FileNotFoundError(name))
    assert found is not None
    return found


async def wait_for(
    what: str, check: Callable[[], Awaitable[bool]], within: float, every: float = 0.05
) -> float:
    """Poll `check` until true; returns the seconds it took. AssertionError past `within`."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise AssertionError(f"{what}: not within {within} s")
        await asyncio.sleep(every)
    return time.monotonic() - started


def next_minute_after(seconds: float) -> float:
    """The first minute's turn (epoch seconds) at least `seconds` from now: when the
    scheduler fires its every-minute sweeps."""
    return (int(time.time() + seconds) // 60 + 1) * 60.0


async def run(*argv: str) -> str:
    """Run a command to its end without blocking the loop; its output, or AssertionError."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    assert proc.returncode == 0, f"{' '.join(argv)} exited {proc.returncode}:\n{text}"
    return text


# --- villagebot serve -------------------------------------------------------------------


class Instance:
    """One `villagebot serve` process; its output goes to a file the test reads."""

    def __init__(self, name: str, config: Path, port: int) -> None:
        self.name, self.config, self.port = name, config, port
        self.log_path = config.with_suffix(".log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.ended: dict[int, float] = {}  # start number -> when it was stopped or killed

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VILLAGEBOT_")}
        self.starts += 1
        with self.log_path.open("ab") as out:
            out.write(f"--- start {self.starts}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--config", str(self.config)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def ready(self, *, understanding: bool = True, within: float = 60) -> None:
        """Listening (and, by default, its model trained, so no message waits for it)."""
        start_mark = f"--- start {self.starts}\n"

        async def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.tail()}")
            current = self.log().rsplit(start_mark, 1)[-1]
            if understanding and "understanding ready" not in current:
                return False
            return "villagebot listening" in current

        await wait_for(f"{self.name} ready", up, within, every=0.1)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.ended.setdefault(self.starts, time.time())
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    async def stop(self) -> int:
        """SIGTERM, as an operator stops it; its exit status."""
        assert self.proc is not None
        proc = self.proc
        if proc.poll() is None:
            self.ended.setdefault(self.starts, time.time())
            proc.send_signal(signal.SIGTERM)
            try:
                await wait_for(f"{self.name} stops", _exited(proc), within=20)
            finally:
                self.kill()
        return proc.wait()

    def pause(self) -> None:
        """SIGSTOP: the process stands still (a stalled host, a long GC pause)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def runs(self) -> list[list[tuple[float, bool]]]:
        """For each start of the process, (epoch seconds, leads) for every change of
        leadership it logged, in order."""
        runs: list[list[tuple[float, bool]]] = []
        for line in self.log().splitlines():
            if line.startswith("--- start "):
                runs.append([])
            elif LEADS in line or LOST in line:
                runs[-1].append((logged_at(line), LEADS in line))
        return runs

    def leadership(self) -> list[tuple[float, bool]]:
        """The changes of leadership of every start, in order."""
        return [event for run in self.runs() for event in run]

    def leads(self) -> bool:
        """Whether the running process last said it leads."""
        current = self.runs()[-1] if self.runs() else []
        return self.alive() and bool(current) and current[-1][1]


def logged_at(line: str) -> float:
    """The epoch time of a log line ("2026-11-24 09:00:00,123 INFO …", local time)."""
    stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").astimezone()
    return stamp.timestamp()


def _exited(proc: subprocess.Popen[bytes]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return proc.poll() is not None

    return check


async def healthz(
    session: aiohttp.ClientSession, instance: Instance
) -> tuple[int, dict[str, Any]]:
    async with session.get(f"{instance.url}/healthz") as resp:
        return resp.status, await resp.json()


async def metric(
    session: aiohttp.ClientSession, instance: Instance, name: str, token: str
) -> float:
    """The sum of a metric's samples (every label) as /metrics shows it; 0 when absent."""
    headers = {"Authorization": f"Bearer {token}"}
    async with session.get(f"{instance.url}/metrics", headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        text = await resp.text()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            head = line.split(" ", 1)[0]
            if head == name or head.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
    return total
