from __future__ import annotations

from typing import Any

from bot.clock import FixedClock
from tests.wechat_support import decrypt_reply, encrypt, plain_query, plain_reply, text_xml


async def test_help_plain_and_aes(client: Any, clock: FixedClock, registry: None) -> None:
    now = int(clock.now().timestamp())
    resp = await client.post(
        "/callback/oa", params=plain_query(now), data=text_xml("帮助", 1, at=now)
    )
    assert resp.status == 200
    reply = plain_reply(await resp.text())
    assert "绑定" in reply["Content"]
    query, body = encrypt(text_xml("帮助", 2, at=now), now)
    resp = await client.post("/callback/oa-aes", params=query, data=body)
    assert resp.status == 200
    assert "绑定" in decrypt_reply(await resp.text())["Content"]
