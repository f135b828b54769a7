"""Which category a villager's words point to: jieba with the categories' words added to
its dictionary, then the category with the most (and longest) words found."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jieba
import yaml
from pydantic import BaseModel, Field

from storage.repos import Store, UnitOfWork

CATEGORIES_FILE = (
    Path(__file__).resolve().parent.parent.parent / "locales" / "report_categories.yaml"
)
log = logging.getLogger(__name__)

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
    def from_file(
        cls, path: Path = CATEGORIES_FILE, changes: Iterable[WordChange] = ()
    ) -> Classifier:
        """The categories of the file, with the admins' changes applied in order: an added
        word points to its category only (it leaves any other); a removed one to none."""
        data = CategoriesIn.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        words = {c.name: list(c.words) for c in data.categories}
        for category, word, removed in changes:
            if category not in words:
                continue  # a category since dropped from the file
            for listed in words.values():
                if word in listed:
                    listed.remove(word)
            if not removed:
                words[category].append(word)
        d = data.defaults
        return cls(
            [
                Category(
                    c.name,
                    tuple(words[c.name]),
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


class CategoryBook:
    """The classifier in use on this instance: the file's words with the admins' changes
    from the database on top. `refresh` rebuilds it when those changes differ from the ones
    it was built with (an admin's 分类词 refreshes at once; every instance also checks
    every minute, so all agree within that)."""

    def __init__(self, path: Path = CATEGORIES_FILE) -> None:
        self._path = path
        self._classifier: Classifier | None = None
        self._version = (0, 0)  # the file alone

    def current(self) -> Classifier:
        if self._classifier is None:  # jieba's dictionary takes half a second: once
            self._classifier = Classifier.from_file(self._path)
        return self._classifier

    async def refresh(self, store: Store, *, force: bool = False) -> bool:
        """Rebuild if the admins' changes moved on (or `force`); True if it did."""
        version = await store.reports.category_words_version()
        if version == self._version and self._classifier is not None and not force:
            return False
        changes = [(c.category, c.word, c.removed) for c in await store.reports.category_words()]
        self._classifier = await asyncio.to_thread(Classifier.from_file, self._path, changes)
        self._version = version
        return True


BOOK = CategoryBook()


async def refresh(uow: UnitOfWork) -> None:
    """Refresh the category words; on a database failure the words in use stay."""
    try:
        async with uow() as store:
            if await BOOK.refresh(store):
                log.info("report category words loaded")
    except Exception:  # a database hiccup: try again on the next round
        log.exception("could not load the report category words")


async def keep_fresh(uow: UnitOfWork, every: float = 60.0) -> None:
    """Refresh the category words every `every` seconds, while the app runs."""
    while True:
        await asyncio.sleep(every)
        await refresh(uow)
