"""What a villager's text may carry is cleaned where every channel hands it over."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import SERVICES
from bot.i18n import Translations
from bot.message import clean
from storage.models import InboundLog
from tests.sim_support import say

ZH = Translations("zh_CN").for_locale(None)


def test_controls_overrides_and_lone_surrogates_are_dropped() -> None:
    assert clean("帮\x00助") == "帮助"
    assert clean("照片\u202egpj.exe") == "照片gpj.exe"  # no right-to-left override
    assert clean("一行\r\n二行\r三行\t完") == "一行\n二行\n三行\t完"
    assert clean("坏\ud800字") == "坏\ufffd字"
    assert clean("\x1b[31m红\x7f\x85") == "[31m红"


async def test_a_nul_in_a_message_neither_loses_it_nor_reaches_the_database(
    client: TestClient[Any, Any],
) -> None:
    """On PostgreSQL a NUL in text used to fail the handler and its log row: lost."""
    replies = await say(client, "sim-guest-1", "帮\x00助\u202e")
    assert replies
    assert ZH.t("error.apology") not in replies
    async with client.app[SERVICES].uow() as store:
        texts = list(await store.session.scalars(select(InboundLog.text)))
    assert texts == ["帮助"]
