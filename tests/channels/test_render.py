"""The renderer: the bot's markdown as each platform draws it (PROTOCOLS.md §8.2)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.escape import user_text
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
    as_markdown,
    as_plain,
    has_table,
    pad,
    render,
    width,
)
from bot.message import Reply, ReplyKind
from tests.channels.markdown_reader import HOSTILE, LINE_BREAKS, as_typed, markup, read

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


# --- a person's words in the bot's markdown ---------------------------------------------------

# Each markdown dialect, and what its reader may take for markup besides links, headings,
# quotes, lists, emphasis, code and tags: `|` (a table) and `@someone` (DingTalk's mentions).
DIALECTS = {
    "wecom markdown": (WECOM_MARKDOWN, {"tables": False, "at": False}),
    "wecom markdown_v2": (WECOM_MARKDOWN_V2, {"tables": True, "at": False}),
    "dingtalk markdown": (DINGTALK_MARKDOWN, {"tables": True, "at": True}),
    "simulator": (EVERYTHING, {"tables": True, "at": True}),
}
LINK = "[详情](https://v.example/r/1)"


def notice(words: str) -> str:
    """The bot's markdown with a villager's words after a label, on a line of their own and
    in a table's cell."""
    said = user_text(words)
    return (
        f"### 新上报\n\n**内容**：{said}\n\n{said}\n\n"
        f"| 村 | 说明 |\n|---|---|\n| 柳树村 | {said} |\n\n{LINK}"
    )


@pytest.mark.parametrize("words", HOSTILE)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_villagers_words_form_no_markup_where_the_bots_own_still_draws(
    dialect: str, words: str
) -> None:
    target, reads = DIALECTS[dialect]
    shown = render(notice(words), target)
    # nothing of theirs is a link, an image, a heading, a quote, a mention, a table cell…
    assert markup(shown, **reads) == markup(render(notice("平安"), target), **reads)
    # …while the bot's heading, bold label, link and table still draw
    assert shown.startswith("### 新上报\n\n**内容**：")
    assert LINK in shown
    if target.tables:
        assert "| 村 | 说明 |\n|---|---|\n| 柳树村 | " in shown
    # and their words read as they typed them
    assert as_typed(words) in read(shown)
    assert "\x1e" not in shown
    assert "\x1f" not in shown


@pytest.mark.parametrize("words", HOSTILE)
def test_in_plain_text_a_villagers_words_are_exactly_as_typed(words: str) -> None:
    shown = render(notice(words), PLAIN)
    words = LINE_BREAKS.sub("\n", words)  # a line separator is a line
    assert f"内容：{words}\n\n{words}\n\n" in shown  # the bot's ** gone, theirs kept
    assert "\x1e" not in shown
    assert "\x1f" not in shown
    assert as_plain(Reply(kind=ReplyKind.MARKDOWN, text=notice(words))) == shown


def test_a_pipe_or_a_line_break_in_a_cell_keeps_the_row_one_row() -> None:
    east, lines = user_text("东|西"), user_text("甲\n乙")
    text = f"| 村 | 说明 |\n|---|---|\n| {east} | {lines} |"
    assert render(text, WECOM_MARKDOWN_V2) == "| 村 | 说明 |\n|---|---|\n| 东｜西 | 甲 乙 |"
    assert render(text, PLAIN) == f"东|西{WIDE_PAD}说明 甲 乙"
    assert has_table(text)
    assert not has_table(user_text("| a | b |\n|---|---|\n| c | d |"))  # theirs is words


def test_a_link_in_their_words_still_opens_and_theirs_cannot_be_dressed_up() -> None:
    words = (
        "照片：https://v.example/media/ab_cd.jpg?size=2&x=1#top。点[这里](https://evil.example)"
    )
    for target, _ in DIALECTS.values():
        shown = render(user_text(words), target)
        assert "https://v.example/media/ab_cd.jpg?size=2&x=1#top。" in shown
        assert "［这里］（https://evil.example）" in shown


def test_a_text_joined_into_markdown_keeps_its_words_and_markdown_stays_markdown() -> None:
    text = Reply.of_text("【随手拍 #12】[点我](http://evil)")
    assert render(as_markdown(text), DINGTALK_MARKDOWN) == "【随手拍 #12】［点我］（http://evil）"
    table = Reply(kind=ReplyKind.MARKDOWN, text="**周报**")
    assert as_markdown(table) == "**周报**"


def test_no_marker_leaves_the_bot_even_from_a_span_cut_short() -> None:
    cut = user_text("[点我](http://evil)")[:-1] + "\n# 标题"  # its end cut off
    for target, reads in DIALECTS.values():
        shown = render(cut, target)
        assert markup(shown, **reads) == {}
        assert "\x1e" not in shown
    plain_text = Reply.of_text(f"您好 {user_text('王五')}")
    assert as_plain(plain_text) == "您好 王五"


# Words made mostly of what markdown reads (no "://": links are kept as typed, above).
SYNTAX = st.lists(
    st.sampled_from([*"[]()!#>*_`<@|~-+=.\\ \n\u00a0\u2003\u3000\u2028", "1.", "abc", "中文"]),
    min_size=1,
    max_size=40,
).map("".join)


@given(words=SYNTAX)
def test_no_text_of_theirs_is_read_as_markup_in_any_dialect(words: str) -> None:
    said = user_text(words)  # after the bot's label, and at the start of a line
    for target, reads in DIALECTS.values():
        shown = render(f"**内容**：{said}\n{said}", target)
        assert markup(shown, **reads) == markup("**内容**：", **reads)
        assert read(shown) == read("**内容**：") + as_typed(f"{words}\n{words}")
    assert render(user_text(words), PLAIN) == LINE_BREAKS.sub("\n", words)
