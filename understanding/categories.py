"""The report categories: their names, default words, who handles them and their deadlines
(locales/report_categories.yaml), with the admins' word changes (分类词) applied."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

CATEGORIES_FILE = Path(__file__).resolve().parent.parent / "locales" / "report_categories.yaml"
OTHER = "其他"
WordChange = tuple[str, str, bool]  # (category, word, removed)


class CategoryIn(BaseModel):
    name: str = Field(min_length=1, max_length=16)
    words: list[str] = []
    handled_by: str = ""  # a role that handles it instead of the village (agri_technician)
    personal: bool = False  # one family's own matter: never linked to another's as the same
    accept_hours: int | None = Field(None, gt=0)
    resolve_hours: int | None = Field(None, gt=0)


class Defaults(BaseModel):
    accept_hours: int = Field(24, gt=0)
    resolve_hours: int = Field(72, gt=0)


class CategoriesIn(BaseModel):
    categories: list[CategoryIn]
    defaults: Defaults = Defaults()


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    words: tuple[str, ...]  # the file's, with the admins' changes
    handled_by: str
    accept_hours: int
    resolve_hours: int
    personal: bool = False
    added: tuple[str, ...] = ()  # of `words`, those an admin added: they always win


def read_categories(
    path: Path = CATEGORIES_FILE, changes: Iterable[WordChange] = ()
) -> list[Category]:
    """The categories of the file, with the admins' changes applied in order: an added word
    points to its category only (it leaves any other); a removed one to none."""
    data = CategoriesIn.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    words = {c.name: list(c.words) for c in data.categories}
    added: dict[str, list[str]] = {c.name: [] for c in data.categories}
    for category, word, removed in changes:
        if category not in words:
            continue  # a category since dropped from the file
        for name, listed in words.items():
            if word in listed:
                listed.remove(word)
            if word in added[name]:
                added[name].remove(word)
        if not removed:
            words[category].append(word)
            added[category].append(word)
    d = data.defaults
    return [
        Category(
            c.name,
            tuple(words[c.name]),
            c.handled_by,
            c.accept_hours or d.accept_hours,
            c.resolve_hours or d.resolve_hours,
            c.personal,
            tuple(added[c.name]),
        )
        for c in data.categories
    ]
