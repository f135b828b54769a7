"""积分 through the simulator, on both stacks: a claim with a photo (sent before, or after)
approved and refused, the villager told either way and the balance and rank they then see,
a second review refused, the monthly cap, who may review, and a ledger the database keeps
append-only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from bot.app import Services
from bot.clock import FixedClock
from bot.i18n import Translations
from storage.importer import import_registry, read_registry
from storage.models import HouseholdPoints, PointEntry
from tests.conftest import DATA
from tests.factories import png
from tests.sim_support import enroll, pushed, say, send_photo

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
CADRES = "g-v1-cadres"
VILLAGER, SECRETARY = "sim-P1", "sim-P2"  # 王秀英 (household H1), 李书记 of 柳树村


async def test_a_claim_with_a_photo_approved_gives_the_household_its_points(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    assert await say(client, VILLAGER, "我的积分") == [
        "\n".join([ZH.t("points.mine", balance=0, rank=1, households=2), ZH.t("points.mine_hint")])
    ]
    await send_photo(client, VILLAGER, png(5, 5))
    (claimed,) = await say(client, VILLAGER, "申报积分 庭院整洁 房前屋后都扫干净了")
    assert claimed == ZH.t("points.claimed", number=1, rule="庭院整洁", points="+3")
    (to_cadres,) = (await pushed(client, services, CADRES))[-1:]
    assert to_cadres.startswith("【积分申报 #1】王秀英 申报“庭院整洁”+3分")
    assert "/media/" in to_cadres  # the photo's link
    (waiting,) = await say(client, SECRETARY, "待审积分")
    assert "#1 王秀英 庭院整洁 +3分：房前屋后都扫干净了" in waiting
    (approved,) = await say(client, SECRETARY, "通过 1")
    assert approved == ZH.t("points.approved", number=1, points=3, rule="庭院整洁")
    assert (await pushed(client, services, VILLAGER))[-1] == ZH.t(
        "points.approved_villager", number=1, rule="庭院整洁", points=3, balance=3
    )
    (mine,) = await say(client, VILLAGER, "查积分")
    assert mine.splitlines()[0] == ZH.t("points.mine", balance=3, rank=1, households=2)
    assert "+3 庭院整洁（房前屋后都扫干净了）" in mine.splitlines()[1]
    # a second review of one claim is refused, and nothing more is entered
    (again,) = await say(client, SECRETARY, "驳回 1 重复")
    assert again == ZH.t("points.already_reviewed", number=1, status="已通过")
    assert await _balance(services) == 3
    # the rules, the history, and the points asked after in the villager's own words
    (rules,) = await say(client, VILLAGER, "积分规则")
    assert "庭院整洁 +3分（每月最多 3 分）" in rules
    assert "见义勇为" not in rules  # awarded by cadres, not claimed
    (history,) = await say(client, VILLAGER, "积分明细")
    assert history.splitlines()[1].endswith("+3 庭院整洁（房前屋后都扫干净了）")
    (asked,) = await say(client, VILLAGER, "我家现在有好多积分了哦")
    assert asked.startswith(ZH.t("points.mine", balance=3, rank=1, households=2))


async def test_a_claim_waits_for_its_photo_and_a_refusal_needs_a_reason(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    assert await say(client, VILLAGER, "申报积分 义务劳动 清了村道的沟") == [
        ZH.t("points.claim_needs_photo", rule="义务劳动")
    ]
    assert await say(client, VILLAGER, "取消") == [ZH.t("points.claim_cancelled")]
    # 申报积分 alone: the bot asks which rule, then for the photo
    (which,) = await say(client, VILLAGER, "申报积分")
    assert which.startswith("申报哪一项？")
    assert "义务劳动" in which
    assert await say(client, VILLAGER, "义务劳动 清了村道的沟") == [
        ZH.t("points.claim_needs_photo", rule="义务劳动")
    ]
    (claimed,) = await send_photo(client, VILLAGER, png(6, 6))
    assert claimed == ZH.t("points.claimed", number=1, rule="义务劳动", points="+2")
    assert await say(client, SECRETARY, "驳回 1") == [ZH.t("points.refuse_needs_reason")]
    (refused,) = await say(client, SECRETARY, "驳回 1 照片看不出是哪里")
    assert refused == ZH.t("points.refused", number=1)
    assert (await pushed(client, services, VILLAGER))[-1] == ZH.t(
        "points.refused_villager", number=1, rule="义务劳动", reason="照片看不出是哪里"
    )
    assert await _balance(services) == 0
    # a rule that is not claimed (a cadre awards it) cannot be claimed
    (usage,) = await say(client, VILLAGER, "申报积分 见义勇为 救了个娃儿")
    assert usage.startswith(ZH.t("points.claim_usage", names="").split("：")[0])


async def test_a_rule_gives_no_more_than_its_monthly_cap(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    await enroll(services)
    for number in (1, 2):
        await send_photo(client, VILLAGER, png(5, 5 + number))
        await say(client, VILLAGER, f"申报积分 庭院整洁 第{number}回")
    await say(client, SECRETARY, "通过 1")
    (second,) = await say(client, SECRETARY, "通过 2")  # filed before the first was approved
    assert second == ZH.t("points.approved", number=2, points=0, rule="庭院整洁")
    assert await _balance(services) == 3  # 庭院整洁: at most 3 a month
    await send_photo(client, VILLAGER, png(5, 9))
    assert await say(client, VILLAGER, "申报积分 庭院整洁 第3回") == [
        ZH.t("points.cap_reached", rule="庭院整洁", cap=3)
    ]
    clock.advance(timedelta(days=31).total_seconds())  # next month
    await send_photo(client, VILLAGER, png(5, 10))
    (claimed,) = await say(client, VILLAGER, "申报积分 庭院整洁 下个月")
    assert claimed == ZH.t("points.claimed", number=3, rule="庭院整洁", points="+3")


async def test_only_the_villages_cadres_review_and_common_words_are_not_commands(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await send_photo(client, VILLAGER, png(5, 5))
    await say(client, VILLAGER, "申报积分 庭院整洁 扫了院坝")
    refusal = ZH.t("refusal.not_permitted")
    assert (await say(client, "sim-P4", "通过 1"))[0].startswith(refusal[:6])  # a villager
    assert (await say(client, "sim-P7", "通过 1"))[0].startswith(refusal[:6])  # township
    (read,) = await say(client, "sim-P7", "待审积分")  # …which may read what waits below it
    assert "#1 王秀英 庭院整洁 +3分：扫了院坝" in read
    answers = await say(client, "sim-P4", "通过村委会能办低保不")
    assert not answers or not answers[0].startswith(refusal[:6])  # a question, not 通过 N
    assert await _balance(services) == 0


async def test_the_ledger_is_append_only_and_the_balance_is_its_sum(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await send_photo(client, VILLAGER, png(5, 5))
    await say(client, VILLAGER, "申报积分 庭院整洁 扫了院坝")
    await say(client, SECRETARY, "通过 1")
    async with services.uow() as store:
        total = await store.session.scalar(select(func.sum(PointEntry.points)))
        kept = await store.session.scalar(select(func.sum(HouseholdPoints.balance)))
    assert total == kept == 3
    for statement in ("UPDATE point_entry SET points = 100", "DELETE FROM point_entry"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with services.uow() as store:
                await store.session.execute(text(statement))
    assert await _balance(services) == 3


async def _balance(services: Services) -> int:
    async with services.uow() as store:
        return int(
            await store.session.scalar(select(func.coalesce(func.sum(PointEntry.points), 0))) or 0
        )


async def test_points_carried_over_from_paper_are_imported_once(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    reg = read_registry(DATA / "registry.yaml")
    reg.households[0] = reg.households[0].model_copy(update={"points": 120})  # H1, 王秀英
    for _ in range(2):  # the same file imported again enters nothing more
        await import_registry(services.uow, reg, services.clock.now())
    (mine,) = await say(client, VILLAGER, "我的积分")
    assert mine.splitlines()[0] == ZH.t("points.mine", balance=120, rank=1, households=2)
    assert mine.splitlines()[1].endswith("+120 期初积分")
