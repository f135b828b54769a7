"""改类: the tier that holds a report corrects its category; it is re-routed if nobody has
taken it on, the change is on its timeline, and the correction can be exported as corpus
rows for the understanding."""

from __future__ import annotations

import asyncio
import csv
import io
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.cli import main
from bot.i18n import Translations
from tests.handlers.support import reports
from tests.sim_support import enroll, pushed, say
from tests.test_cli import config

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
CADRES = "g-v1-cadres"


async def test_the_holding_tier_corrects_a_category_and_it_is_kept_for_the_corpus(
    client: Client, services: Services, registry: None, tmp_path: Path
) -> None:
    await enroll(services)
    await say(client, "sim-P1", "村口路灯坏了三天了")
    (report,) = await reports(services)
    assert report.category == "路灯电力"
    # a villager may not; the secretary of the village may
    assert await say(client, "sim-P1", f"改类 {report.id} 水利设施") == [
        ZH.t("refusal.not_permitted")
    ]
    assert await say(client, "sim-P2", f"改类 {report.id} 水管") == [
        ZH.t("report.recategorise_usage", names="、".join(services.understanding.categories))
    ]
    assert await say(client, "sim-P2", f"改类 {report.id} 路灯电力") == [
        ZH.t("report.recategorise_same", number=report.id, category="路灯电力")
    ]
    (answer,) = await say(client, "sim-P2", f"改类 {report.id} 水利设施")
    assert answer.startswith(f"上报 #{report.id} 已改为【水利设施】")
    (changed,) = await reports(services)
    assert changed.category == "水利设施"
    group = await pushed(client, services, CADRES)
    assert "改为【水利设施】（原来是【路灯电力】），李书记改的" in group[-1]
    (view,) = await say(client, "sim-P2", f"查看 {report.id}")
    assert "改了类别：路灯电力 → 水利设施" in view
    # exported as rows the corpus takes
    db_url = services.settings.database.url
    out = io.StringIO()
    argv = ["export", "corrections", "--config", str(config(tmp_path, db_url))]
    with redirect_stdout(out):
        assert await asyncio.to_thread(main, argv) == 0
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows == [{"text": "村口路灯坏了三天了", "intent": "report", "category": "水利设施"}]
