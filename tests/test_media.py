"""Stored photos over HTTP (/media/<name>, and the simulator's /sim/media/<name>): a photo's
own name opens it; any other name is 404, never a 500, and never reaches the disk."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import Services
from tests.factories import png
from tests.sim_support import enroll, send_photo

Client = TestClient[Any, Any]


@pytest.fixture
async def stored(client: Client, services: Services, registry: None) -> str:
    """The name of a photo a villager sent (so its directory, media/<first two>/, exists)."""
    await enroll(services)
    data = png()
    await send_photo(client, "sim-P1", data)
    name = f"{hashlib.sha256(data).hexdigest()}.png"
    assert services.media.path(name).is_file()
    return name


@pytest.mark.parametrize("prefix", ["/media", "/sim/media"])
async def test_a_stored_photo_opens_by_its_name(client: Client, stored: str, prefix: str) -> None:
    resp = await client.get(f"{prefix}/{stored}")
    assert resp.status == 200
    assert await resp.read() == png()


def _others(name: str) -> dict[str, str]:
    digest, ext = name.split(".")
    return {
        # 256 characters under an existing directory: the file system would say ENAMETOOLONG
        "too-long": name[:2] + "a" * 254,
        "too-long-with-extension": digest + "0" * 300 + ".png",
        "upper-case": f"{digest.upper()}.{ext}",
        "short-digest": f"{digest[:-1]}.{ext}",
        "other-extension": f"{digest}.gif",
        "no-extension": digest,
        "half-written": f"{name}.part",  # the store's temporary file while it writes
        "dot-dot": "..%2F..%2Fetc%2Fpasswd",
        "nul": f"{digest}%00.{ext}",
    }


@pytest.mark.parametrize("prefix", ["/media", "/sim/media"])
async def test_any_other_name_is_not_found(client: Client, stored: str, prefix: str) -> None:
    for case, name in _others(stored).items():
        resp = await client.get(f"{prefix}/{name}")
        assert resp.status == 404, case


async def test_a_file_the_store_did_not_write_is_not_served(
    client: Client, services: Services, stored: str
) -> None:
    """Only photos' names are served, whatever else lies in the media directory."""
    for name in ("notes.txt", f"{stored}.part"):
        path = services.media.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not a photo")
        resp = await client.get(f"/media/{name}")
        assert resp.status == 404, name
