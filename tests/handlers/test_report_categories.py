"""The 随手拍 categories' words found in a villager's text (jieba with the domain
dictionary), which the model reads as features and an admin's added words decide by."""

from __future__ import annotations

import pytest

from understanding.categories import OTHER, read_categories
from understanding.keywords import Keywords

CATEGORIES = {c.name: c for c in read_categories()}
WORDS = Keywords([(c.name, w) for c in CATEGORIES.values() for w in c.words], None)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("村口路灯坏了三天了", "路灯电力"),  # 路灯 is one word: not 道路交通 for its 路
        ("大桥边上有人乱倒垃圾，臭得很", "环境卫生"),
        ("三组的水渠堵了，下雨就淹", "水利设施"),
        ("村道路面塌陷了一个大坑", "道路交通"),
        ("我家玉米叶子发黄了怎么办", "农技问诊"),
        ("猪不吃食两天了", "农技问诊"),
        ("有人在河边乱搭乱建", "违章建筑"),
        ("两家为宅基地吵架，快打起来了", "矛盾纠纷"),
        ("老张住院了，家里没钱", "防返贫线索"),
        ("晚上看到可疑的人在仓库转悠", "治安隐患"),
        ("后山有人聚众赌博", "治安隐患"),  # jieba keeps 聚众赌博 whole: 赌博 inside counts
        ("今天天气真好", OTHER),
    ],
)
def test_words_point_to_their_category(text: str, category: str) -> None:
    assert (WORDS.find(text).category or OTHER) == category


def test_the_find_says_which_words_pointed_to_it() -> None:
    found = WORDS.find("路灯不亮，电线也掉下来了")
    assert found.category == "路灯电力"
    assert set(found.words) == {"路灯", "电线"}
    assert WORDS.find("吃了吗").words == ()


def test_an_admins_changes_move_and_remove_words() -> None:
    changed = {c.name: c for c in read_categories(changes=[("水利设施", "井盖", False)])}
    assert "井盖" in changed["水利设施"].words
    assert "井盖" not in changed["道路交通"].words
    assert changed["水利设施"].added == ("井盖",)
    undone = {
        c.name: c
        for c in read_categories(changes=[("水利设施", "井盖", False), ("水利设施", "井盖", True)])
    }
    assert "井盖" not in undone["水利设施"].words
    assert undone["水利设施"].added == ()


def test_categories_carry_deadlines_and_who_handles_them() -> None:
    farming = CATEGORIES["农技问诊"]
    assert farming.handled_by == "agri_technician"
    assert (farming.accept_hours, farming.resolve_hours) == (24, 72)
    assert set(CATEGORIES) >= {
        "环境卫生",
        "道路交通",
        "水利设施",
        "路灯电力",
        "治安隐患",
        "矛盾纠纷",
        "违章建筑",
        "防返贫线索",
        "其他",
    }
