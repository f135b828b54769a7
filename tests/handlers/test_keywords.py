"""关键词 through the simulator, on both stacks: every kind of keyword works at once on this
instance and, from the database, on another; an auto-reply never takes a report; only
admins teach words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.i18n import Translations
from storage.importer import import_registry, read_registry
from storage.models import Role
from tests.handlers.support import give_role, reports
from tests.sim_support import enroll, say
from understanding import Understanding

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
KB = Path(__file__).resolve().parents[2] / "examples" / "kb.yaml"
ADMIN, VILLAGER = "sim-P5", "sim-P1"
HOURS = "村委会办公时间：周一到周五 上午9点到12点，下午2点到5点。"


async def setup(services: Services) -> None:
    await import_registry(services.uow, read_registry(KB), services.clock.now())
    await give_role(services, "P5", "C1", Role.ADMIN)
    await enroll(services)


async def test_every_kind_of_keyword_works_at_once_and_on_another_instance(
    client: Client, services: Services, registry: None
) -> None:
    await setup(services)
    # an auto-reply
    (added,) = await say(client, ADMIN, f"关键词 加 办公时间 回复 {HOURS}")
    assert added == ZH.t("keywords.added_reply", word="办公时间", value=HOURS)
    assert await say(client, VILLAGER, "办公时间") == [HOURS]
    assert await say(client, VILLAGER, "村委会办公时间是好久？") == [HOURS]
    # another name for a command: it answers as the command does
    await say(client, ADMIN, "关键词 加 查分 命令 我的积分")
    (points,) = await say(client, VILLAGER, "查分")
    assert points == (await say(client, VILLAGER, "我的积分"))[0]
    # a synonym for finding answers: 敬老钱 was nothing; now it is 高龄补贴
    (before,) = await say(client, VILLAGER, "敬老钱咋个领")
    assert not before.startswith("【高龄补贴】")
    await say(client, ADMIN, "关键词 加 敬老钱 同义 高龄补贴")
    (after,) = await say(client, VILLAGER, "敬老钱咋个领")
    assert after.startswith("【高龄补贴】")
    # a report category's word (the same as 分类词)
    await say(client, ADMIN, "关键词 加 井盖 类别 水利设施")
    await say(client, VILLAGER, "井盖丢了")
    (report,) = await reports(services)
    assert report.category == "水利设施"
    (listed,) = await say(client, ADMIN, "关键词")
    for word in ("办公时间", "查分", "敬老钱", "井盖"):
        assert word in listed
    # another instance (or this one after a restart) has them all from the database
    other = Understanding()
    async with services.uow() as store:
        assert await other.refresh(store)
    assert other.taught.replies == {"办公时间": HOURS}
    assert other.taught.commands == {"查分": "我的积分"}
    assert other.taught.synonyms == {"敬老钱": "高龄补贴"}
    assert "井盖" in other.categories["水利设施"].added
    # removed: gone here at once, and there at its next refresh
    for word in ("办公时间", "查分", "敬老钱", "井盖"):
        assert await say(client, ADMIN, f"关键词 删 {word}") == [
            ZH.t("keywords.removed", word=word)
        ]
    assert await say(client, VILLAGER, "办公时间") != [HOURS]
    async with services.uow() as store:
        assert await other.refresh(store)
    assert other.taught.replies == {}
    assert other.taught.commands == {}
    assert "井盖" not in other.categories["水利设施"].added


async def test_an_auto_reply_never_takes_a_report(
    client: Client, services: Services, registry: None
) -> None:
    await setup(services)
    await say(client, ADMIN, "关键词 加 停电 回复 停电请打供电所电话95598")
    assert await say(client, VILLAGER, "停电") == ["停电请打供电所电话95598"]
    (answer,) = await say(client, VILLAGER, "我们组停电三天了 变压器烧了冒烟 没人来修")
    assert "95598" not in answer
    (report,) = await reports(services)
    assert report.category == "路灯电力"


async def test_only_admins_teach_words_and_mistakes_get_clear_answers(
    client: Client, services: Services, registry: None
) -> None:
    await setup(services)
    (refused,) = await say(client, VILLAGER, "关键词 加 查分 命令 我的积分")
    assert "权限" in refused
    assert await say(client, ADMIN, "关键词 加 查分 命令 不存在的命令") == [
        ZH.t("keywords.not_a_command", command="不存在的命令")
    ]
    assert await say(client, ADMIN, "关键词 加 帮助 回复 你好") == [
        ZH.t("keywords.is_command", word="帮助")
    ]
    assert await say(client, ADMIN, "关键词 删 没有的词") == [
        ZH.t("keywords.missing", word="没有的词")
    ]
    assert await say(client, ADMIN, "关键词 加 词") == [ZH.t("keywords.usage")]
    (listed,) = await say(client, ADMIN, "关键词")
    assert ZH.t("keywords.none") in listed
