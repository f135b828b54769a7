"""Who may reach what over HTTP, as a browser and a scraper see it: the headers on every
kind of response, the simulator page's policy, and /metrics on the main port."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from bot.app import Services, create_app
from bot.clock import FixedClock
from bot.config import AdminSettings, ConfigError, ServerSettings, Settings, SimSettings
from tests.conftest import ADMIN, ADMIN_TOKEN
from tests.factories import png

Client = TestClient[Any, Any]
LOCKED = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def assert_locked(resp: ClientResponse) -> None:
    assert resp.headers["X-Content-Type-Options"] == "nosniff", resp.url
    assert resp.headers["Content-Security-Policy"] == LOCKED, resp.url


async def test_every_kind_of_response_is_locked_down(client: Client, services: Services) -> None:
    stored = await services.media.save_image(png())
    photo = await client.get(f"/media/{stored.name}")
    assert (photo.status, photo.content_type) == (200, "image/png")
    json = await client.get("/sim/api/chats")
    assert (json.status, json.content_type) == (200, "application/json")
    forged = await client.post("/callback/oa", data="<xml/>")  # a callback, refused
    assert forged.status == 403
    for resp in (
        photo,
        json,
        forged,
        await client.get("/healthz"),
        await client.get("/sim/uploads/nothing-here"),  # an error raised by a handler
        await client.get("/no/such/path"),  # the router's own 404
        await client.get("/metrics"),  # a refusal
        await client.get("/metrics", headers=ADMIN),
    ):
        assert_locked(resp)


def policy(header: str) -> dict[str, list[str]]:
    directives = (d.split() for d in header.split(";") if d.strip())
    return {d[0]: d[1:] for d in directives}


def digest(body: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"


async def test_the_simulator_page_may_run_exactly_its_own_script_and_style(
    client: Client,
) -> None:
    page = await client.get("/sim")
    assert page.status == 200
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    html = re.sub(r"<!--.*?-->", "", await page.text(), flags=re.DOTALL)
    rules = policy(page.headers["Content-Security-Policy"])
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert rules["script-src"] == [digest(script)]
    assert rules["style-src"] == [digest(style)]
    assert rules["img-src"] == ["'self'", "data:"]  # the pictures, and the inline icon
    assert rules["connect-src"] == ["'self'"]  # /sim/api only
    for closed in ("default-src", "base-uri", "form-action", "frame-ancestors"):
        assert rules[closed] == ["'none'"]
    assert "unsafe" not in page.headers["Content-Security-Policy"]


async def test_metrics_on_the_main_port_need_the_admin_token(client: Client) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_TOKEN}):
        refused = await client.get("/metrics", headers=headers)
        assert refused.status == 401
        assert await refused.json() == {
            "error": "unauthorized",
            "detail": "send Authorization: Bearer <[admin] token>",
        }
    granted = await client.get("/metrics", headers=ADMIN)
    assert granted.status == 200
    assert "villagebot_outbox_pending" in await granted.text()


@pytest.mark.parametrize("header", ["", "Bearer ", "Bearer  "])
async def test_without_an_admin_token_metrics_on_the_main_port_are_closed(
    settings: Settings, clock: FixedClock, aiohttp_client: Any, header: str
) -> None:
    unset = settings.model_copy(update={"admin": AdminSettings()})
    client: Client = await aiohttp_client(create_app(unset, clock))
    resp = await client.get("/metrics", headers={"Authorization": header} if header else {})
    assert resp.status == 401


def test_the_app_itself_refuses_an_exposed_simulator(settings: Settings) -> None:
    """Whatever builds the app (serve, demo, a test, an embedding), not only the CLI."""
    exposed = settings.model_copy(update={"server": ServerSettings(host="0.0.0.0")})
    with pytest.raises(ConfigError, match=r"set \[sim\] token"):
        create_app(exposed)
    beside_real = settings.model_copy(update={"sim": SimSettings()})
    with pytest.raises(ConfigError, match=r"set \[sim\] allow_real_pushes = true"):
        create_app(beside_real)
    with_token = SimSettings(token="t" * 32, allow_real_pushes=True)
    create_app(exposed.model_copy(update={"sim": with_token}))  # builds
