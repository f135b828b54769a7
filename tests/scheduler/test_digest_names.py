"""The Monday table with names typed into the registry that look like markdown: each is
shown as written in its cell, and none of them adds a cell, a link, a heading or a mention."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Services
from storage.models import OrgUnit
from tests.channels.markdown_reader import markup, read
from tests.scheduler.district import T1, District

VILLAGE = "[柳树村](http://evil) | 1 | 99 |"
TOWNSHIP = "<@zhangsan>河口镇"


async def test_names_in_the_weekly_table_are_shown_as_written(
    district: District, services: Services
) -> None:
    async with services.uow() as store:
        for code, name in (("V1", VILLAGE), ("T1", TOWNSHIP)):
            unit = await store.session.scalar(select(OrgUnit).where(OrgUnit.code == code))
            assert unit is not None
            unit.name = name
    assert await district.run("digest-weekly", 143.5) == 3
    (table,) = (await district.news())[T1]  # as the simulator's page draws it
    rows = [line for line in table.splitlines() if line.startswith("|")]
    assert len(rows) == 4  # the headings, the delimiter and one row per village
    assert {row.count("|") for row in rows} == {13}  # twelve cells each, no more
    assert read(rows[2]).startswith(f"| 1 | {VILLAGE} | 0 |")  # the name, as typed
    assert read(table).startswith(f"### {TOWNSHIP}一周简报")
    found = markup(table)
    assert (found["link"], found["heading"], found["html or mention"]) == (0, 1, 0)
