"""政策咨询 through the simulator, on both stacks: questions in villagers' own words (plain
and dialect) find the demo knowledge base's entry; a close call offers three; what it
cannot answer becomes a question for the village cadres, answered with 回复 (the villager
told at once) and 收录'd for next time; a 2 on an answer asks the cadres too."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Services
from bot.clock import FixedClock
from bot.i18n import Translations
from storage.importer import import_registry, read_registry
from storage.models import Question, QuestionKind, Role
from tests.handlers.support import give_role
from tests.sim_support import enroll, pushed, say

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
KB = Path(__file__).resolve().parents[2] / "examples" / "kb.yaml"
VILLAGER, SECRETARY, CADRES = "sim-P1", "sim-P2", "g-v1-cadres"
FEEDBACK = "有用请回复 1，没解决回复 2"

# two ways each required topic is asked: plain, and as a Chongqing villager says it
ASKED = {
    "高龄补贴": ["我妈今年82岁了，每个月有没有补贴可以领？", "屋头老汉儿满80了 有啥子钱领不"],
    "养老保险": ["城乡居民养老保险一年交多少钱", "农保交满15年了 啥时候开始领养老金哦"],
    "医疗保险": ["明年的合作医疗在哪里交", "医保看病报销好多 住院能报几成"],
    "低保": ["家里困难怎么申请最低生活保障", "屋头莫得收入 能不能吃低保嘛"],
    "临时救助": [
        "家里突然遭了火灾，有没有临时的救助",
        "屋头遭了急难 一下子过不走了 有没有临时补助",
    ],
    "耕地补贴": ["种地每亩有多少补贴", "地力补贴今年好久发哦"],
    "危房改造": [
        "老房子墙都裂了，住着不安全，国家有没有补助帮忙修",
        "土墙房子漏雨要垮了 有补助改造不",
    ],
    "宅基地": ["农村申请宅基地要什么条件", "想起新房子 宅基地咋个批"],
    "残疾人补贴": ["重度残疾人每个月的护理补贴有多少", "娃儿残疾了 有没有生活补贴领"],
    "教育资助": ["家庭困难的学生有助学金吗", "娃儿读高中屋头困难 有没有资助"],
    "特困供养": ["五保户的条件是什么", "一个孤老头子莫得儿女 能不能进敬老院供养"],
    "农机补贴": ["买旋耕机国家补贴多少", "想买台收割机 有农机补贴不"],
}


@pytest.fixture
async def kb(services: Services, registry: None) -> None:
    await import_registry(services.uow, read_registry(KB), services.clock.now())
    await enroll(services)


async def questions(services: Services) -> list[Question]:
    async with services.uow() as store:
        rows = await store.session.scalars(select(Question).order_by(Question.id))
        return list(rows.all())


async def test_each_required_topic_is_found_in_plain_words_and_dialect(
    client: Client, services: Services, clock: FixedClock, kb: None
) -> None:
    wrong = []
    for title, asked in ASKED.items():
        for text in asked:
            clock.set(clock.now() + timedelta(seconds=5))  # within the rate limit
            (answer,) = await say(client, VILLAGER, text)
            if not answer.startswith(f"【{title}】"):
                wrong.append((title, text, answer[:30]))
                continue
            assert "来源：" in answer
            assert answer.endswith(FEEDBACK)
    assert wrong == []
    assert await questions(services) == []  # nothing went to the cadres


async def test_a_close_call_offers_three_to_choose_by_number(
    client: Client, services: Services, kb: None
) -> None:
    (offer,) = await say(client, VILLAGER, "补贴")
    lines = offer.splitlines()
    assert lines[0] == ZH.t("policy.choose")
    assert len(lines) == 5  # the question, three titles, and 0 for none
    second = lines[2].split("【")[1].rstrip("】")
    (answer,) = await say(client, VILLAGER, "2")
    assert answer.startswith(f"【{second}】")
    # a 1 after an answer: thanks, and nothing for the cadres
    assert await say(client, VILLAGER, "1") == [ZH.t("policy.thanks")]
    assert await questions(services) == []


async def test_an_unknown_question_reaches_the_cadres_and_is_answered_and_collected(
    client: Client, services: Services, kb: None
) -> None:
    text = "今天镇上赶场不"
    (made,) = await say(client, VILLAGER, f"问 {text}")
    (q,) = await questions(services)
    assert q.kind is QuestionKind.POLICY
    assert made == ZH.t("policy.question_made", number=q.id, who="村干部", hours=24)
    (told,) = await pushed(client, services, CADRES)
    assert f"【问题 {q.id}】" in told
    assert text in told
    assert "王秀英" in told
    (listed,) = await say(client, SECRETARY, "待答问题")
    assert f"{q.id} 号" in listed
    assert text in listed
    # a villager cannot answer; the secretary does, and the villager hears it at once
    reply = "逢三六九赶场，今天初六要赶"
    (refused,) = await say(client, VILLAGER, f"回复 {q.id} {reply}")
    assert reply not in refused
    (done,) = await say(client, SECRETARY, f"回复 {q.id} {reply}")
    assert done.startswith(ZH.t("policy.answered", number=q.id, late="")[:10])
    heard = await pushed(client, services, VILLAGER)
    assert any(reply in t and text in t for t in heard), heard
    assert await say(client, SECRETARY, "待答问题") == [ZH.t("policy.waiting_none")]
    # collected: the same question is answered from the village's knowledge base now
    (collected,) = await say(client, SECRETARY, f"收录 {q.id} 赶场时间")
    assert "赶场时间" in collected
    (answer,) = await say(client, VILLAGER, text)
    assert answer.startswith("【赶场时间】")
    assert reply in answer
    assert len(await questions(services)) == 1


async def test_a_2_on_an_answer_asks_the_cadres(
    client: Client, services: Services, kb: None
) -> None:
    (answer,) = await say(client, VILLAGER, "农村申请宅基地要什么条件")
    assert answer.startswith("【宅基地】")
    (made,) = await say(client, VILLAGER, "2")
    (q,) = await questions(services)
    assert q.entry_id is not None
    assert q.text == "农村申请宅基地要什么条件"
    assert made == ZH.t("policy.question_made", number=q.id, who="村干部", hours=24)
    (told,) = await pushed(client, services, CADRES)
    assert "宅基地" in told


async def test_a_farming_question_goes_to_the_townships_technician(
    client: Client, services: Services, kb: None
) -> None:
    await give_role(services, "P7", "T1", Role.AGRI_TECHNICIAN)
    (made,) = await say(client, VILLAGER, "问 稻田里的秧苗发黄是啥子病")
    (q,) = await questions(services)
    assert q.kind is QuestionKind.AGRI
    assert "农技员" in made
    (told,) = await pushed(client, services, "g-t1-cadres")
    assert "秧苗" in told


async def test_a_guest_gets_answers_and_is_told_to_bind_for_the_rest(
    client: Client, services: Services, kb: None
) -> None:
    (answer,) = await say(client, "sim-stranger", "五保户的条件是什么")
    assert answer.startswith("【特困供养】")
    (told,) = await say(client, "sim-stranger", "问 今天镇上赶场不")
    assert told == ZH.t("policy.nothing_guest")
    assert await questions(services) == []


async def test_what_asks_about_a_policy_is_a_question_and_a_report_naming_one_stays_one(
    client: Client, services: Services, kb: None
) -> None:
    # read as chit-chat, and as a report: both ask about a policy
    (answer,) = await say(client, VILLAGER, "老汉儿当过兵 现在有啥子照顾没得")
    assert answer.startswith("【退役军人优待】")
    (answer,) = await say(client, VILLAGER, "屋顶漏雨了墙也裂了 有没有危房改造的补助？")
    assert answer.startswith("【危房改造】")
    # a problem that names a policy without asking about it is a report (made, or asked about)
    (answer,) = await say(client, VILLAGER, "低保户张大爷家的土墙房子垮了一半 人还住在里面")
    assert answer.startswith(("已收到您的上报", ZH.t("report.ask", options="", other=3)[:10]))
