"""How long the `villagebot` command takes to start: `--help`, `run-job --list`, and
`villagebot demo` until /healthz answers, each beside `python -c pass` (the interpreter's
own start) measured in the same run.

    .venv/bin/python bench/startup.py [--runs 5] [--demo-runs 3]

The demo runs on a free port in a temporary working directory, and is stopped with
SIGTERM once healthy. The first run finds the directory empty (it migrates, imports and
builds jieba's dictionary cache); the others find what the first left, as a second
`make run` does. "words loaded" is when its log says the report classifier is ready.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SCRIPT = Path(PYTHON).with_name("villagebot")  # the entry point pip installed
VILLAGEBOT = [str(SCRIPT)] if SCRIPT.exists() else [PYTHON, "-m", "bot.cli"]
READY_WITHIN = 120.0


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VILLAGEBOT_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def timed(argv: Sequence[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        argv, cwd=cwd, env=clean_env(), check=True, stdout=subprocess.DEVNULL, timeout=120
    )
    return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def demo_ready(workdir: Path) -> tuple[float, float]:
    """Seconds from starting `villagebot demo` to a healthy /healthz, and to the log line
    saying the category words (the classifier) are loaded."""
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen(
        [*VILLAGEBOT, "demo", "--port", str(port)],
        cwd=workdir,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    loaded: list[float] = []
    threading.Thread(target=watch_log, args=(process, start, loaded), daemon=True).start()
    try:
        while not healthy(port):
            if process.poll() is not None:
                raise RuntimeError(f"villagebot demo exited with {process.returncode}")
            if time.perf_counter() - start > READY_WITHIN:
                raise RuntimeError("villagebot demo was not ready in time")
            time.sleep(0.02)
        ready = time.perf_counter() - start
        while not loaded and time.perf_counter() - start < READY_WITHIN:
            time.sleep(0.02)
        return ready, loaded[0] if loaded else float("nan")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def watch_log(process: subprocess.Popen[str], start: float, loaded: list[float]) -> None:
    assert process.stderr is not None
    for line in process.stderr:
        if "category words loaded" in line and not loaded:
            loaded.append(time.perf_counter() - start)


def repeat(measure: Callable[[], float], runs: int) -> list[float]:
    return [measure() for _ in range(runs)]


def row(name: str, times: list[float], baseline: float) -> str:
    median = statistics.median(times)
    spread = f"{min(times):.2f}–{max(times):.2f}"
    return f"{name:32} {median:8.2f} {median - baseline:9.2f} {spread:>13} {len(times):5}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="repetitions of the short commands")
    parser.add_argument("--demo-runs", type=int, default=3, help="repetitions of the demo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vb-startup-") as tmp:
        results = measure(args.runs, args.demo_runs, Path(tmp))
    baseline = statistics.median(results[0][1])
    print(f"{platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores")
    print(f"{'':32} {'median s':>8} {'- python':>9} {'min–max':>13} {'runs':>5}")
    for name, times in results:
        print(row(name, times, baseline))


def measure(runs: int, demo_runs: int, here: Path) -> list[tuple[str, list[float]]]:
    timed([*VILLAGEBOT, "--help"], here)  # byte-compile once, so every run below is warm
    results = [
        ("python -c pass", repeat(lambda: timed([PYTHON, "-c", "pass"], here), runs)),
        ("villagebot --help", repeat(lambda: timed([*VILLAGEBOT, "--help"], here), runs)),
        (
            "villagebot run-job --list",
            repeat(lambda: timed([*VILLAGEBOT, "run-job", "--list"], here), runs),
        ),
    ]
    demos = [demo_ready(here) for _ in range(demo_runs)]
    results.append(("villagebot demo: ready, first", [r for r, _ in demos[:1]]))
    results.append(("  words loaded, first", [w for _, w in demos[:1]]))
    if len(demos) > 1:
        results.append(("villagebot demo: ready, again", [r for r, _ in demos[1:]]))
        results.append(("  words loaded, again", [w for _, w in demos[1:]]))
    return results


if __name__ == "__main__":
    main()
