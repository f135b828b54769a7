"""An elder's alerts never wait behind news held for the night. 王秀英 (P1) is 孙大爷's (P4)
daughter here: at 23:00 the news about her own report waits for 07:00 by quiet hours; her
father's quiet-alert at 23:30 and his SOS at 23:40 reach her at once, and the news still
comes in the morning, after them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.clock import FixedClock
from bot.i18n import Translations
from storage.importer import import_registry, read_registry
from tests.conftest import DATA
from tests.sim_support import Timeline, enroll, say

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
DAUGHTER, ELDER = "sim-P1", "sim-P4"


async def with_daughter(
    client: Client, services: Services, clock: FixedClock, tmp_path: Path
) -> Timeline:
    text = (DATA / "registry.yaml").read_text(encoding="utf-8")
    changed = text.replace("    family: [P5]\n", "    family: [P5, P1]\n")
    assert changed != text
    (tmp_path / "registry.yaml").write_text(changed, encoding="utf-8")
    await import_registry(services.uow, read_registry(tmp_path / "registry.yaml"), clock.now())
    await enroll(services)
    return Timeline(client, services, clock)


async def test_alerts_overtake_news_held_by_quiet_hours(
    client: Client, services: Services, clock: FixedClock, tmp_path: Path
) -> None:
    w = await with_daughter(client, services, clock, tmp_path)
    w.at(1)  # 24 Nov 10:00: she reports a broken lamp; nobody takes it on
    (made,) = await say(client, DAUGHTER, "村口路灯坏了三天了")
    assert "#1" in made
    await w.run("chase-reports", 25.5)  # the village is reminded
    w.at(38 + 1 / 3)  # 25 Nov 23:20: her father's last word
    await say(client, ELDER, "平安")
    await w.new(DAUGHTER)

    # 26 Nov 23:00: the report goes up to the township; her news waits for the morning
    assert await w.run("chase-reports", 62) == 1
    assert await w.new(DAUGHTER) == []
    # 23:30: her father has been quiet 24 hours: she hears it now, not at 07:00
    assert await w.run("elder-watch", 62.5) == 1
    (alert,) = await w.new(DAUGHTER)
    assert "孙大爷已经1天没有消息了" in alert
    # 23:40: he falls; she hears that at once too
    w.at(62 + 2 / 3)
    told = ZH.t("list.and", rest="网格员、村干部、镇里", last="您的家人")
    assert await say(client, ELDER, "我摔倒了，救命") == [ZH.t("elder.sos_reply", who=told)]
    (sos,) = await w.new(DAUGHTER)
    assert "我摔倒了，救命" in sos

    # 27 Nov 07:00: the news about her report arrives, after the alerts
    w.at(70)
    (news,) = await w.new(DAUGHTER)
    assert "#1" in news
    assert "河口镇" in news
