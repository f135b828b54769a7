"""/healthz and /metrics, as an operator and Prometheus see them (on the main port, with the
admin token; the metrics port of 127.0.0.1 is proved through the CLI, tests/test_cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.clock import FixedClock
from bot.config import OutboxSettings, Settings
from tests.conftest import ADMIN, make_settings
from tests.sim_support import say

Client = TestClient[Any, Any]


async def test_healthy(client: Client) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}


async def test_unhealthy_names_what_is_down(
    tmp_path: Path, clock: FixedClock, aiohttp_client: Any
) -> None:
    settings: Settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/x.db",
        "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "vbtest:down",
        tmp_path / "media",
    )
    # no outbox worker racing the health check for the one (failing) SQLite connection
    settings = settings.model_copy(update={"outbox": OutboxSettings(enabled=False)})
    client = await aiohttp_client(create_app(settings, clock))
    resp = await client.get("/healthz")
    assert resp.status == 503
    assert await resp.json() == {"status": "unavailable", "failing": ["database", "redis"]}


async def test_metrics_count_messages_by_channel_kind_and_result(
    client: Client, registry: None
) -> None:
    await say(client, "sim-guest-1", "帮助")
    resp = await client.get("/metrics", headers=ADMIN)
    assert resp.status == 200
    body = await resp.text()
    assert (
        'villagebot_inbound_messages_total{channel="sim",kind="text",result="handled"} 1.0' in body
    )
    assert 'villagebot_handler_seconds_count{handler="help.show_menu"} 1.0' in body


async def test_refused_callbacks_are_counted(client: Client) -> None:
    resp = await client.post("/callback/oa", data="<xml/>")
    assert resp.status == 403
    body = await (await client.get("/metrics", headers=ADMIN)).text()
    assert (
        'villagebot_inbound_messages_total{channel="oa",kind="unknown",result="rejected"} 1.0'
        in body
    )


async def test_unknown_channel_is_404(client: Client) -> None:
    assert (await client.post("/callback/nosuch", data="x")).status == 404
