"""帮助: each person sees what they can do, and nothing that is not built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.i18n import Translations
from storage.importer import import_registry, read_registry
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
    assert await say(client, "sim-guest-1", "今天天气怎么样") == [ZH.t("fallback.chat")]


DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.yaml"
CHECKIN, VISIT = ZH.t("menu.checkin"), ZH.t("menu.visit")
CADRE_LINE, ADMIN_LINE = ZH.t("menu.accept"), ZH.t("menu.category_words")


async def test_each_role_of_the_demo_sees_what_it_can_do_and_nothing_else(
    client: Client, services: Services
) -> None:
    await import_registry(services.uow, read_registry(DEMO), services.clock.now())
    await enroll(services)
    # the daughter of the elder 王福全 lives in town: she binds first
    assert await say(client, "sim-guest-2", "绑定 王小燕 2115") == [ZH.t("bind.ok", name="王小燕")]

    async def menu(sender: str) -> str:
        return (await say(client, sender, "帮助"))[0]

    guest = await menu("sim-guest-1")
    assert ZH.t("menu.bind") in guest
    assert {CHECKIN, VISIT, CADRE_LINE, ADMIN_LINE, ZH.t("menu.profile")}.isdisjoint(
        guest.splitlines()
    )
    villager = (await menu("sim-P-V01-V1")).splitlines()  # 王秀英: neither elder nor carer
    assert ZH.t("menu.report") in villager
    assert ZH.t("menu.profile") in villager
    assert {CHECKIN, VISIT, CADRE_LINE, ADMIN_LINE, ZH.t("menu.bind")}.isdisjoint(villager)
    elder = (await menu("sim-P-V01-ELD")).splitlines()
    assert CHECKIN in elder
    assert {VISIT, CADRE_LINE, ADMIN_LINE}.isdisjoint(elder)
    daughter = (await menu("sim-guest-2")).splitlines()
    assert VISIT in daughter
    assert {CHECKIN, CADRE_LINE, ADMIN_LINE}.isdisjoint(daughter)
    caretaker = (await menu("sim-P-V01-GW2")).splitlines()  # a grid worker who looks after him
    assert VISIT in caretaker
    assert CADRE_LINE in caretaker
    assert {CHECKIN, ADMIN_LINE}.isdisjoint(caretaker)
    secretary = (await menu("sim-P-V01-SEC")).splitlines()
    assert CADRE_LINE in secretary
    assert ZH.t("menu.notice_publish") in secretary
    assert {CHECKIN, ADMIN_LINE}.isdisjoint(secretary)
    admin = (await menu("sim-P-C01")).splitlines()  # 陈建国: county cadre and admin
    assert ADMIN_LINE in admin
    assert CADRE_LINE in admin
    assert CHECKIN not in admin
