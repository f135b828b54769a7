"""帮助: each person sees what they can do, and nothing that is not built."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.i18n import Translations
from tests.sim_support import enroll, say

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]


async def test_guest_menu_offers_binding(client: Client, registry: None) -> None:
    menu = (await say(client, "sim-guest-1", "帮助"))[0]
    assert menu.startswith(ZH.t("help.title.guest"))
    assert ZH.t("menu.bind") in menu
    assert ZH.t("menu.profile") not in menu


async def test_villager_menu(client: Client, services: Services, registry: None) -> None:
    await enroll(services)
    menu = (await say(client, "sim-P1", "菜单"))[0]
    assert menu.startswith(ZH.t("help.title.villager", name="王秀英"))
    assert ZH.t("menu.profile") in menu
    assert ZH.t("menu.bind") not in menu
    assert ZH.t("menu.notice_villager") in menu
    assert ZH.t("menu.notice_view") not in menu


async def test_cadre_menu_is_titled_for_cadres(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    menu = (await say(client, "sim-P2", "/帮助"))[0]
    assert menu.startswith(ZH.t("help.title.cadre", name="李书记"))
    assert ZH.t("menu.notice_publish") in menu
    # 通知 answers a cadre as a cadre: the menu shows that line, not the villagers'
    assert ZH.t("menu.notice_view") in menu
    assert ZH.t("menu.notice_villager") not in menu


async def test_unknown_text_points_to_the_menu(client: Client, registry: None) -> None:
    assert await say(client, "sim-guest-1", "今天天气怎么样") == [ZH.t("fallback.unknown")]
