"""The points rules and the 爱心超市's goods, as locales/points.yaml ships them: what earns or
costs a household points, how (claimed by the villager, awarded by a cadre, or earned by the
bot's own events), and its monthly cap."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field

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
        """A rule by its code or its name (only of that kind, if given)."""
        word = words.strip().upper()
        for rule in self.rules:
            if how is not None and rule.how is not how:
                continue
            if word == rule.code.upper() or words.strip() == rule.name:
                return rule
        return None

    def rule(self, code: str) -> Rule | None:
        return next((r for r in self.rules if r.code == code), None)

    def of(self, how: How) -> list[Rule]:
        return [r for r in self.rules if r.how is how]


@lru_cache(maxsize=2)
def book(path: Path = POINTS_FILE) -> Book:
    return Book.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def month_start(now: datetime, zone: ZoneInfo) -> datetime:
    """The start of `now`'s calendar month where the villages are (a cap's period)."""
    local = now.astimezone(zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
