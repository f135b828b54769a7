"""The 爱心超市 through the simulator, on both stacks: the shelf, a redemption that takes the
points and sets the goods aside with a pickup code, the handover, a cancellation (points and
stock back, the deduction reversed by an entry of its own), no balance below zero, and two
villagers taking the last one at once: exactly one gets it."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Services
from bot.i18n import Translations
from storage.models import Good, Person, PointEntry
from tests.sim_support import enroll, pushed, say

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
CADRES = "g-v1-cadres"
SECRETARY = "sim-P2"


async def give(services: Services, code: str, points: int) -> None:
    """Points for the person's household, as a cadre's award would enter them."""
    async with services.uow() as store:
        person = await store.session.scalar(select(Person).where(Person.code == code))
        assert person is not None
        assert person.household_id is not None
        assert person.village_id is not None
        entry = PointEntry(
            household_id=person.household_id,
            village_id=person.village_id,
            rule="R18",
            points=points,
            at=services.clock.now(),
            note="",
        )
        assert await store.points.add(entry)


async def stock(services: Services, name: str) -> int:
    async with services.uow() as store:
        found = await store.session.scalar(select(Good.stock).where(Good.name == name))
        return int(found or 0)


def code_in(answer: str) -> str:
    return answer.split("取货码：")[1][:6]


async def test_a_redemption_takes_points_and_stock_and_is_handed_over_with_its_code(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await give(services, "P1", 100)
    (shelf,) = await say(client, "sim-P1", "积分商品")
    assert "菜籽油 85分/桶" in shelf
    oil = await stock(services, "菜籽油")
    (answer,) = await say(client, "sim-P1", "兑换 菜籽油")
    code = code_in(answer)
    assert answer.startswith(
        ZH.t("points.redeemed", good="菜籽油", quantity=1, cost=85, balance=15, code=code).split(
            "\n"
        )[0]
    )
    assert await stock(services, "菜籽油") == oil - 1
    assert f"取货码 {code}" in (await pushed(client, services, CADRES))[-1]
    # not enough left for a second: nothing is taken, the balance never goes below zero
    (short,) = await say(client, "sim-P1", "兑换 菜籽油")
    assert short == ZH.t("points.not_enough", cost=85, balance=15, name="菜籽油")
    assert await stock(services, "菜籽油") == oil - 1
    # the handover, once
    (handed,) = await say(client, SECRETARY, f"兑付 {code}")
    assert handed == ZH.t("points.handed", code=code, good="菜籽油", quantity=1)
    assert (await pushed(client, services, "sim-P1"))[-1] == ZH.t(
        "points.handed_villager", code=code, good="菜籽油"
    )
    (twice,) = await say(client, SECRETARY, f"兑付 {code}")
    assert twice == ZH.t("points.code_done", code=code, status="取走")
    # a villager cannot hand goods over
    assert (await say(client, "sim-P4", f"兑付 {code}"))[0] == ZH.t("refusal.not_permitted")


async def test_a_cancelled_redemption_gives_points_and_stock_back(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await give(services, "P1", 20)
    await say(client, "sim-P1", "积分商品")
    soap = await stock(services, "香皂")
    (answer,) = await say(client, "sim-P1", "兑换 香皂 2")
    code = code_in(answer)
    assert await stock(services, "香皂") == soap - 2
    (cancelled,) = await say(client, SECRETARY, f"取消兑换 {code}")
    assert cancelled == ZH.t("points.cancelled", code=code, points=10)
    assert await stock(services, "香皂") == soap
    async with services.uow() as store:
        rows = (await store.session.scalars(select(PointEntry).order_by(PointEntry.id))).all()
    assert [e.points for e in rows] == [20, -10, 10]
    assert rows[2].reverses_id == rows[1].id
    (mine,) = await say(client, "sim-P1", "我的积分")
    assert mine.startswith(ZH.t("points.mine", balance=20, rank=1, households=2))


async def test_two_villagers_taking_the_last_one_at_once_only_one_gets_it(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await give(services, "P1", 50)
    await give(services, "P4", 50)
    assert (await say(client, SECRETARY, "上架 手电筒 10 1"))[0].endswith("10 分，1 件。")
    answers = await asyncio.gather(
        say(client, "sim-P1", "兑换 手电筒"), say(client, "sim-P4", "兑换 手电筒")
    )
    got = [a for (a,) in answers if a.startswith("已兑换")]
    refused = [a for (a,) in answers if a == ZH.t("points.sold_out", name="手电筒", stock=0)]
    assert (len(got), len(refused)) == (1, 1)
    assert await stock(services, "手电筒") == 0
    async with services.uow() as store:
        spent = (
            await store.session.scalars(select(PointEntry).where(PointEntry.points < 0))
        ).all()
    assert [e.points for e in spent] == [-10]
