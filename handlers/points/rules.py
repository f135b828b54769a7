"""The points rules and the 爱心超市's goods, as locales/points.yaml ships them: what earns or
costs a household points, how (claimed by the villager, awarded by a cadre, or earned by the
bot's own events), and its monthly cap; with the admins' changes on top (`rules`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field

from storage.models import PointRuleChange
from storage.repos import Store

POINTS_FILE = Path(__file__).resolve().parents[2] / "locales" / "points.yaml"


class How(StrEnum):
    CLAIM = "claim"  # the villager asks, a cadre reviews
    AWARD = "award"  # a cadre grants (or deducts) directly
    AUTO = "auto"  # earned by an event in the bot


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(max_length=16)
    name: str = Field(min_length=1, max_length=16)
    klass: str = Field(alias="class")
    points: int
    how: How
    monthly_cap: int | None = Field(None, gt=0)  # most gained (or lost) in a month
    black_board: bool = False
    what: str = ""
    retired: bool = False  # removed by an admin: still names the entries made under it


class Good(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    unit: str
    price: int = Field(gt=0)
    stock: int = Field(ge=0)


class Book(BaseModel):
    classes: list[str]
    rules: list[Rule]
    goods: list[Good] = []

    def find(self, words: str, *, how: How | None = None) -> Rule | None:
        """A rule in force by its code or its name (only of that kind, if given)."""
        word = words.strip().upper()
        for rule in self.rules:
            if rule.retired or (how is not None and rule.how is not how):
                continue
            if word == rule.code.upper() or words.strip() == rule.name:
                return rule
        return None

    def rule(self, code: str) -> Rule | None:
        return next((r for r in self.rules if r.code == code), None)

    def of(self, how: How) -> list[Rule]:
        return [r for r in self.rules if r.how is how and not r.retired]

    def changed(self, changes: Sequence[PointRuleChange]) -> Book:
        """These rules with the admins' changes applied in order: an added rule replaces the
        one of its name (or is new), a removed one is retired."""
        rules = {r.code: r for r in self.rules}
        for c in changes:
            if c.removed:
                if c.code in rules:
                    rules[c.code] = rules[c.code].model_copy(update={"retired": True})
                continue
            for code, rule in list(rules.items()):
                if rule.name == c.name and code != c.code:
                    rules[code] = rule.model_copy(update={"retired": True})
            rules[c.code] = Rule.model_validate(
                {
                    "code": c.code,
                    "name": c.name,
                    "class": c.klass,
                    "points": c.points,
                    "how": c.how,
                    "monthly_cap": c.monthly_cap,
                    "black_board": c.black_board,
                    "what": c.what,
                }
            )
        return self.model_copy(update={"rules": list(rules.values())})


@lru_cache(maxsize=2)
def book(path: Path = POINTS_FILE) -> Book:
    """The file's rules and goods, as shipped (the admins' changes: `rules`)."""
    return Book.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


async def rules(store: Store, village_id: int | None = None) -> Book:
    """The rules in force (in that village, if given): the file's with the changes on top (a
    short table, read with each command that needs the rules, so every instance sees a
    change at once)."""
    return in_village(await store.points.rule_changes(), village_id)


def in_village(changes: Sequence[PointRuleChange], village_id: int | None) -> Book:
    """The file's rules with the changes for every village and for this one, in order."""
    mine = [c for c in changes if c.village_id is None or c.village_id == village_id]
    return book().changed(mine) if mine else book()


def month_start(now: datetime, zone: ZoneInfo) -> datetime:
    """The start of `now`'s calendar month where the villages are (a cap's period)."""
    local = now.astimezone(zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
