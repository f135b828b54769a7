"""随手拍 categories from a villager's own words (jieba with the domain dictionary)."""

from __future__ import annotations

import pytest

from handlers.reports.classify import OTHER, Classifier

CLASSIFIER = Classifier.from_file()


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
    assert CLASSIFIER.classify(text).category.name == category


def test_the_guess_says_which_words_pointed_to_it() -> None:
    guess = CLASSIFIER.classify("路灯不亮，电线也掉下来了")
    assert guess.category.name == "路灯电力"
    assert set(guess.words) == {"路灯", "电线"}
    assert CLASSIFIER.classify("吃了吗").words == ()


def test_categories_carry_deadlines_and_who_handles_them() -> None:
    farming = CLASSIFIER.categories["农技问诊"]
    assert farming.handled_by == "agri_technician"
    assert (farming.accept_hours, farming.resolve_hours) == (24, 72)
    assert set(CLASSIFIER.categories) >= {
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
