"""The renderer: the bot's markdown as each platform draws it (PROTOCOLS.md §8.2)."""

from __future__ import annotations

import unicodedata

import pytest

from bot.channels.render import (
    DINGTALK_MARKDOWN,
    EVERYTHING,
    NARROW_PAD,
    PLAIN,
    SEPARATOR,
    WECOM_MARKDOWN,
    WECOM_MARKDOWN_V2,
    WIDE_PAD,
    Renders,
    has_table,
    pad,
    render,
    width,
)

RANKING = (
    "### 河口镇一周简报\n\n"
    "| 名次 | 单位 | 上报 | 办结率 |\n"
    "|---|---|---:|---:|\n"
    "| 1 | 柳树村 | 12 | 50% |\n"
    "| 2 | 杨庄 | 0 | — |\n"
    "| 3 | Wangzhuang | 3 | 100% |\n"
    "| … | 另有2个单位未列出 | | |\n\n"
    "按办结率排名。"
)
MARKUP = ("**", "###", "|", "---")


def drawn_width(text: str) -> int:
    """How wide a line is drawn, counted independently of the renderer's own width()."""
    return sum(2 if unicodedata.east_asian_width(c) in "WFA" else 1 for c in text)


def test_width_counts_chinese_characters_and_full_width_spaces_as_two() -> None:
    assert width("柳树村") == 6
    assert width("50%") == 3
    assert width("—") == 2  # ambiguous: wide in the Chinese fonts phones use
    assert width("e\u0301") == 1  # a combining accent takes no room
    assert width(WIDE_PAD) == 2
    assert width(NARROW_PAD) == 1
    assert pad("杨庄", 7) == "杨庄" + WIDE_PAD + NARROW_PAD
    assert pad("7", 3, right=True) == WIDE_PAD + "7"
    assert pad("柳树村", 2) == "柳树村"  # never cut


def test_plain_text_keeps_no_markdown() -> None:
    shown = render(RANKING, PLAIN)
    assert not any(mark in shown for mark in MARKUP)
    assert shown.splitlines()[:2] == ["河口镇一周简报", ""]
    assert "… 另有2个单位未列出" in shown
    assert shown.endswith("按办结率排名。")


def test_a_ranking_becomes_lines_with_names_and_figures_aligned() -> None:
    lines = render(RANKING, PLAIN).splitlines()[2:5]
    assert lines[0].startswith("1. 柳树村")
    assert "上报 12 · 办结率 50%" in lines[0]
    assert lines[2].startswith("3. Wangzhuang")
    # the figures of each line start at the same drawn column, CJK names or Latin
    starts = [drawn_width(line.split("上报")[0]) for line in lines]
    assert len(set(starts)) == 1
    assert starts[0] == drawn_width("3. Wangzhuang") + 2  # the widest name, then a gap


def test_where_lists_draw_the_ranking_is_a_numbered_list_in_bold() -> None:
    shown = render(RANKING, DINGTALK_MARKDOWN)
    assert "|" not in shown
    assert shown.startswith("### 河口镇一周简报")  # headings draw
    items = [line for line in shown.splitlines() if line[:1].isdigit()]
    assert [i.split(" ")[0] for i in items] == ["1.", "2.", "3."]
    assert items[0].startswith("1. **柳树村**")
    assert "\n\n… 另有2个单位未列出" in shown  # after a blank line: not part of item 3


def test_where_tables_draw_the_table_is_left_as_written() -> None:
    assert render(RANKING, WECOM_MARKDOWN_V2) == RANKING
    assert render(RANKING, EVERYTHING) == RANKING


def test_over_the_limit_the_headings_are_said_once_and_the_columns_line_up() -> None:
    full = render(RANKING, PLAIN)
    compact = render(RANKING, PLAIN, limit=len(full.encode()) - 1)
    assert len(compact.encode()) < len(full.encode())
    lines = compact.splitlines()
    assert lines[2] == "上报 · 办结率"
    rows = lines[3:6]
    assert [drawn_width(r) for r in rows] == [drawn_width(rows[0])] * 3  # right-aligned
    assert rows[1].endswith(NARROW_PAD + "0 · " + WIDE_PAD + "—")


def test_a_table_with_no_rows_says_nothing_where_tables_do_not_draw() -> None:
    empty = "本周：\n\n| 名次 | 单位 |\n|---|---|\n\n完。"
    assert render(empty, PLAIN) == "本周：\n\n完。"
    assert render(empty, WECOM_MARKDOWN_V2) == empty
    assert has_table(empty)
    assert not has_table("| 不是表格 |\n没有分隔行")


def test_a_table_without_a_place_column_is_named_by_its_first_cell() -> None:
    shown = render("| 村 | 积分 |\n|---|--:|\n| 柳树村 | 95 |\n| 大王庄村 | 7 |", PLAIN)
    assert shown.splitlines() == [
        "柳树村" + WIDE_PAD + WIDE_PAD + "积分 95",
        "大王庄村" + WIDE_PAD + "积分 7",
    ]


def test_ragged_rows_and_escaped_pipes() -> None:
    shown = render("| 村 | 说明 |\n|---|---|\n| 柳树村 | 东\\|西 | 多余 |\n| 石桥村 |", PLAIN)
    assert shown.splitlines() == ["柳树村" + WIDE_PAD + "说明 东|西 · 多余", "石桥村"]


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("**重要** 通知", "重要 通知"),
        ("**外层 *内层* 外层**", "外层 内层 外层"),
        ("***又粗又斜***", "又粗又斜"),
        ("**甲**乙**丙**", "甲乙丙"),
        ("**没有收尾", "没有收尾"),
        ("\\*不是强调\\*", "*不是强调*"),
        ("[详情](https://v.example/r/1)", "详情 https://v.example/r/1"),
        ("[https://v.example](https://v.example)", "https://v.example"),
        ("`停水` 通知", "停水 通知"),
        ("> 引用", "引用"),
        ("- 第一条", "· 第一条"),
        ("1. 第一条", "1. 第一条"),
        ("上\n\n---\n\n下", "上\n\n" + SEPARATOR + "\n\n下"),
        ("请 <@zhangsan> 处理", "请 @zhangsan 处理"),
    ],
)
def test_inline_markdown_in_plain_text(text: str, plain: str) -> None:
    assert render(text, PLAIN) == plain


def test_mentions_stay_where_they_work_and_are_spelt_out_elsewhere() -> None:
    text = "**请处理** <@lisi>"
    assert render(text, WECOM_MARKDOWN) == text
    assert render(text, WECOM_MARKDOWN_V2) == "**请处理** @lisi"
    assert render(text, DINGTALK_MARKDOWN) == "**请处理** @lisi"


def test_lists_and_rules_where_they_do_not_draw() -> None:
    text = "**合并**\n\n---\n\n- 甲\n  - 乙\n2. 丙"
    assert render(text, WECOM_MARKDOWN) == f"**合并**\n\n{SEPARATOR}\n\n· 甲\n  · 乙\n2. 丙"
    assert render(text, Renders()) == text


def test_markdown_cells_are_aligned_by_what_is_drawn() -> None:
    text = "| 名次 | 单位 | 分 |\n|---|---|---|\n| 1 | **柳树村** | 9 |\n| 2 | 杨庄 | 8 |"
    lines = render(text, WECOM_MARKDOWN).splitlines()
    assert lines == ["1. **柳树村**" + WIDE_PAD + "分 9", "2. **杨庄**" + WIDE_PAD * 2 + "分 8"]
    starts = [drawn_width(render(line, PLAIN).split("分")[0]) for line in lines]
    assert starts[0] == starts[1]
