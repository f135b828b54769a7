"""Which category a villager's words point to: jieba with the categories' words added to
its dictionary, then the category with the most (and longest) words found."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import jieba
import yaml
from pydantic import BaseModel, Field

CATEGORIES_FILE = (
    Path(__file__).resolve().parent.parent.parent / "locales" / "report_categories.yaml"
)
OTHER = "其他"


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
    words: tuple[str, ...]
    handled_by: str
    accept_hours: int
    resolve_hours: int
    personal: bool = False


@dataclass(frozen=True, slots=True)
class Guess:
    category: Category
    words: tuple[str, ...]  # the words that pointed to it; empty: nothing did (其他)


class Classifier:
    def __init__(self, categories: list[Category]) -> None:
        self.categories = {c.name: c for c in categories}
        self._order = [c.name for c in categories]
        self._by_word = {w: c.name for c in reversed(categories) for w in c.words}
        jieba.setLogLevel(logging.WARNING)
        self._tokenizer = jieba.Tokenizer()
        for word in self._by_word:
            self._tokenizer.add_word(word, freq=100_000)  # stays one word when it appears

    @classmethod
    def from_file(cls, path: Path = CATEGORIES_FILE) -> Classifier:
        data = CategoriesIn.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        d = data.defaults
        return cls(
            [
                Category(
                    c.name,
                    tuple(c.words),
                    c.handled_by,
                    c.accept_hours or d.accept_hours,
                    c.resolve_hours or d.resolve_hours,
                    c.personal,
                )
                for c in data.categories
            ]
        )

    def _words_in(self, token: str) -> list[str]:
        """The category words a token is, or holds: jieba keeps some set phrases whole
        (聚众赌博), and the word inside (赌博) still counts."""
        if token in self._by_word:
            return [token]
        n = len(token)
        return [
            token[i:j]
            for i in range(n)
            for j in range(i + 2, n + 1)
            if (i, j) != (0, n) and token[i:j] in self._by_word
        ]

    @property
    def other(self) -> Category:
        return self.categories[OTHER]

    def classify(self, text: str) -> Guess:
        found = [w for token in self._tokenizer.lcut(text) for w in self._words_in(token)]
        if not found:
            return Guess(self.other, ())
        score: dict[str, int] = {}
        for word in found:
            name = self._by_word[word]
            score[name] = score.get(name, 0) + len(word)
        best = max(score, key=lambda n: (score[n], -self._order.index(n)))
        return Guess(self.categories[best], tuple(w for w in found if self._by_word[w] == best))
