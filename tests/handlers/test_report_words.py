"""分类词: an admin changes the words of the 随手拍 categories in chat; they apply at once,
survive a restart, and reach other instances; others may not change them."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.i18n import Translations
from storage.models import Role
from tests.handlers.support import give_role, reports
from tests.sim_support import enroll, say
from understanding import Understanding

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
ADMIN = "sim-P5"


async def test_an_admins_words_decide_the_category_over_the_model_at_once(
    client: Client, services: Services, registry: None
) -> None:
    await give_role(services, "P5", "C1", Role.ADMIN)
    await enroll(services)
    # the model takes a lost manhole cover for the roads; the county's water office says
    # its covers are theirs: an admin moves the word, and it decides from now on
    assert services.understanding.read("井盖丢了").category == "道路交通"
    (added,) = await say(client, ADMIN, "分类词 水利设施 加 井盖")
    assert added.startswith(ZH.t("report.words_changed", category="水利设施", words=""))
    assert added.endswith("、井盖")
    (listed,) = await say(client, ADMIN, "分类词 道路交通")
    assert "井盖" not in listed
    (answer,) = await say(client, "sim-P1", "井盖丢了")
    (report,) = await reports(services)
    assert report.category == "水利设施"
    assert f"#{report.id}" in answer
    # removed, the word decides nothing: the model reads the words again
    await say(client, ADMIN, "分类词 水利设施 删 井盖")
    assert "井盖" not in services.understanding.categories["水利设施"].words
    # another instance (or this one after a restart) builds the same words from the database
    other = Understanding()
    async with services.uow() as store:
        assert await other.refresh(store)
        assert not await other.refresh(store)  # nothing new: no rebuild
    mine = services.understanding.categories
    assert other.categories["水利设施"].words == mine["水利设施"].words
    assert "井盖" not in other.categories["道路交通"].words


async def test_listing_and_mistakes_get_clear_answers(
    client: Client, services: Services, registry: None
) -> None:
    await give_role(services, "P5", "C1", Role.ADMIN)
    await enroll(services)
    (overview,) = await say(client, ADMIN, "分类词")
    lines = overview.splitlines()
    assert lines[0] == ZH.t("report.words_title")
    assert ZH.t("report.words_count", category="路灯电力", count=8) in lines
    names = "、".join(services.understanding.categories)
    assert await say(client, ADMIN, "分类词 路灯") == [
        ZH.t("report.words_unknown", category="路灯", names=names)
    ]
    assert await say(client, ADMIN, "分类词 路灯电力 改 灯泡") == [ZH.t("report.words_usage")]
    assert await say(client, ADMIN, "分类词 路灯电力 删 灯泡") == [
        ZH.t("report.words_missing", category="路灯电力", words="灯泡")
    ]
    assert await say(client, ADMIN, "分类词 其他 加 东西") == [ZH.t("report.words_other")]
    assert await say(client, ADMIN, "分类词 路灯电力 加 110") == [
        ZH.t("report.words_bad", words="110", max=16)
    ]
    # cadres and villagers may not change them
    assert await say(client, "sim-P2", "分类词 路灯电力 加 灯泡") == [
        ZH.t("refusal.not_permitted")
    ]
