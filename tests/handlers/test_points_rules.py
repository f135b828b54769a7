"""An admin changes the points rules in chat (积分规则 加 / 删), through the simulator on both
stacks: a new rule is claimable at once with its cap, one of a name in use is replaced (its
code kept), a removed one can no longer be claimed and still names its entries; only admins."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.i18n import Translations
from storage.models import Role
from tests.factories import png
from tests.handlers.support import give_role
from tests.sim_support import enroll, say, send_photo

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
ADMIN, VILLAGER, SECRETARY = "sim-P5", "sim-P1", "sim-P2"


async def test_an_admin_adds_replaces_and_removes_a_rule_live(
    client: Client, services: Services, registry: None
) -> None:
    await give_role(services, "P5", "C1", Role.ADMIN)
    await enroll(services)
    (added,) = await say(
        client, ADMIN, "积分规则 加 捡白色垃圾 2 环境卫生 申报 每月4 捡拾路边的白色垃圾"
    )
    assert added == ZH.t(
        "points.rule_added",
        code="A01",
        name="捡白色垃圾",
        points="+2",
        cap=ZH.t("points.rule_cap", cap=4),
        how=ZH.t("points.how.claim"),
    )
    (listed,) = await say(client, VILLAGER, "积分规则")
    assert "A01 捡白色垃圾 +2分（每月最多 4 分）：捡拾路边的白色垃圾" in listed
    await send_photo(client, VILLAGER, png(5, 5))
    assert (await say(client, VILLAGER, "申报积分 捡白色垃圾 捡了一口袋"))[0].startswith(
        "已提交积分申报 #1（捡白色垃圾 +2分）"
    )
    await say(client, SECRETARY, "通过 1")
    # the same name again replaces it, keeping its code
    (replaced,) = await say(client, ADMIN, "积分规则 加 捡白色垃圾 3 环境卫生 申报 捡拾白色垃圾")
    assert replaced.startswith("已设积分规则 A01 捡白色垃圾 +3分")
    (removed,) = await say(client, ADMIN, "积分规则 删 捡白色垃圾")
    assert removed == ZH.t("points.rule_removed", name="捡白色垃圾")
    (listed,) = await say(client, VILLAGER, "积分规则")
    assert "捡白色垃圾" not in listed
    (refused,) = await say(client, VILLAGER, "申报积分 捡白色垃圾 又捡了")
    assert refused.startswith(ZH.t("points.claim_usage", names="").split("：")[0])
    (mine,) = await say(client, VILLAGER, "我的积分")
    assert "+2 捡白色垃圾（捡了一口袋）" in mine  # the entry still names its rule
    # only an admin changes the rules; a wrong line gets the usage
    assert await say(client, SECRETARY, "积分规则 删 庭院整洁") == [ZH.t("refusal.not_permitted")]
    (usage,) = await say(client, ADMIN, "积分规则 加 随便 两分")
    assert usage.startswith("改积分规则请写")
