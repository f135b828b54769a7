"""`villagebot demo` as someone trying the bot runs it: a port in use is one clear line, and
the demo answers at once with full links, its report words loading behind it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from storage.models import OutboxMessage
from tests.factories import png
from tests.test_cli import ROOT, free_port, health


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VILLAGEBOT_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def demo(cwd: Path, port: int, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "demo", "--port", str(port), *args],
        cwd=cwd,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_a_port_in_use_is_one_line_before_anything_is_done(
    tmp_path: Path, taken_port: int
) -> None:
    process = demo(tmp_path, taken_port)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 2
    (line,) = out.strip().splitlines()
    assert f"port {taken_port}" in line
    assert "in use" in line
    assert f"--port {taken_port + 1}" in line
    assert list(tmp_path.iterdir()) == []  # nothing migrated, nothing imported


def test_the_demo_open_to_the_network_needs_a_token_and_says_so_first(
    tmp_path: Path,
) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--port", str(free_port()), "--host", "0.0.0.0"],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 2
    assert process.stdout == ""
    (line,) = process.stderr.strip().splitlines()
    assert line.startswith("villagebot demo: [server] host is '0.0.0.0', not loopback")
    assert "[sim] token" in line
    assert list(tmp_path.iterdir()) == []  # nothing migrated, nothing imported


def post(port: int, path: str, body: bytes, content_type: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, headers={"Content-Type": content_type}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        found: dict[str, Any] = json.loads(answer.read())
        return found


def say(port: int, sender: str, text: str) -> list[str]:
    body = json.dumps({"sender": sender, "chat": "dm", "text": text}).encode()
    return [
        r["text"] for r in post(port, "/sim/api/messages", body, "application/json")["replies"]
    ]


def late_answer(port: int, chat: str, within: float) -> str:
    """The bot's first message pushed to the chat (a reply that missed its deadline)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        url = f"http://127.0.0.1:{port}/sim/api/transcript?chat={chat}"
        with urllib.request.urlopen(url, timeout=5) as resp:
            out = [e["text"] for e in json.load(resp) if e["direction"] == "out"]
        if out:
            return str(out[0])
        time.sleep(0.5)
    raise AssertionError(f"no answer in {chat} within {within} s")


def send_photo(port: int, sender: str, caption: str) -> list[str]:
    boundary = uuid.uuid4().hex
    parts = [(b"sender", sender.encode()), (b"chat", b"dm"), (b"text", caption.encode())]
    body = b"".join(
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (boundary.encode(), name, value)
        for name, value in parts
    )
    body += (
        b'--%s\r\nContent-Disposition: form-data; name="photo"; filename="p.png"\r\n'
        b"Content-Type: image/png\r\n\r\n%s\r\n--%s--\r\n"
        % (boundary.encode(), png(), boundary.encode())
    )
    answer = post(port, "/sim/api/photos", body, f"multipart/form-data; boundary={boundary}")
    return [r["text"] for r in answer["replies"]]


def pushed_texts(db: Path) -> list[str]:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(OutboxMessage.reply)).scalars().all()
    finally:
        engine.dispose()
    return [str(r.get("text", "")) for r in rows]


@pytest.mark.slow
def test_the_demo_answers_at_once_with_full_links_and_its_words_loaded(tmp_path: Path) -> None:
    port = free_port()
    process = demo(tmp_path, port)
    try:
        assert health(port, within=120) == (200, '{"status": "ok"}')
        # sent the moment it answers: on a first start the model may still be fitting; the
        # message waits for it, and if that outlasts the reply deadline the answer is pushed
        answers = say(port, "sim-P-V01-V1", "村口路灯坏了三天了")
        (answer,) = answers or [late_answer(port, "sim-P-V01-V1", within=60)]
        assert "#1" in answer
        assert "路灯" in answer
        send_photo(port, "sim-P-V01-V2", "垃圾没人收")
        links = [t for t in pushed_texts(tmp_path / "villagebot-demo.db") if "/media/" in t]
        assert links
        assert all(f"http://127.0.0.1:{port}/media/" in t for t in links)
        deadline = time.monotonic() + 60  # jieba writes its cache as it loads
        while not (tmp_path / "cache" / "jieba.cache").is_file():
            assert time.monotonic() < deadline, "no jieba cache in ./cache"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    assert f"open http://127.0.0.1:{port}/sim" in out
    assert "Traceback" not in out
