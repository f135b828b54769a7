"""The 24-hour rule for villagers' questions, swept at chosen clock times on both stacks: a
reminder to the village's cadres when the day passes, the township told a grace period
later, then the county; each step once however often the sweep runs; nothing once
answered; and the on-time reply rate in 本村统计."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.clock import FixedClock
from storage.importer import import_registry, read_registry
from tests.handlers.support import add_cadre_group
from tests.scheduler.test_report_chase import Day
from tests.sim_support import enroll, say

Client = TestClient[Any, Any]
KB = Path(__file__).resolve().parents[2] / "examples" / "kb.yaml"
VILLAGE, TOWNSHIP, COUNTY = "g-v1-cadres", "g-t1-cadres", "g-c1-cadres"


async def asked(client: Client, services: Services, clock: FixedClock) -> Day:
    await import_registry(services.uow, read_registry(KB), services.clock.now())
    await enroll(services)
    await add_cadre_group(services, "C1", COUNTY)
    day = Day(client, services, clock, job="chase-questions")
    await say(client, "sim-P1", "问 今天镇上赶场不")
    await day.new(VILLAGE)  # the question itself, out of the way
    return day


async def test_an_unanswered_question_climbs_each_step_once(
    client: Client, services: Services, clock: FixedClock, registry: None
) -> None:
    day = await asked(client, services, clock)
    assert await day.sweep(23.9) == 0  # within the day: nothing
    assert await day.new(VILLAGE) == []
    assert await day.sweep(24.1) == 1
    (reminder,) = await day.new(VILLAGE)
    assert "【催办 问题 1】" in reminder
    assert "赶场" in reminder
    assert "回复 1" in reminder
    assert await day.sweep(30) == 0  # run again within the grace period: nothing twice
    assert await day.new(VILLAGE) == []
    assert await day.new(TOWNSHIP) == []
    assert await day.sweep(48.2) == 1
    (township,) = await day.new(TOWNSHIP)
    assert "【超期问题 1】" in township
    assert "柳树村" in township
    assert await day.sweep(48.3) == 0
    assert await day.sweep(72.3) == 1
    (county,) = await day.new(COUNTY)
    assert "【超期问题 1】" in county
    assert await day.sweep(200) == 0  # the top: nothing more to climb
    assert await day.new(VILLAGE) == []
    assert await day.new(TOWNSHIP) == []
    # answered late: the villager still hears it, and the rate counts it as late
    (done,) = await say(client, "sim-P2", "回复 1 每天晚上7点半")
    assert "超过了 24 小时" in done
    (stats,) = await say(client, "sim-P2", "本村统计")
    assert "村民问题按期回复率 0%（1 个问题到期）" in stats


async def test_an_answered_question_is_not_chased(
    client: Client, services: Services, clock: FixedClock, registry: None
) -> None:
    day = await asked(client, services, clock)
    day.clock.set(day.start + timedelta(hours=2))
    await say(client, "sim-P2", "回复 1 每天晚上7点半在村委会坝子")
    assert await day.sweep(25) == 0
    assert await day.sweep(50) == 0
    assert await day.new(VILLAGE) == []
    assert await day.new(TOWNSHIP) == []
    day.clock.set(day.start + timedelta(hours=26))
    (stats,) = await say(client, "sim-P2", "本村统计")
    assert "村民问题按期回复率 100%（1 个问题到期）" in stats
