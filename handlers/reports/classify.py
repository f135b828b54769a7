"""Which category a villager's words point to: jieba with the categories' words added to
its dictionary, then the category with the most (and longest) words found.

jieba (its import and its dictionary, a second or more) is loaded only where a classifier is
built: at start-up in a thread, with its prepared dictionary cached in the cache directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from storage.repos import Store, UnitOfWork

CATEGORIES_FILE = (
    Path(__file__).resolve().parent.parent.parent / "locales" / "report_categories.yaml"
)
log = logging.getLogger(__name__)

OTHER = "其他"
WordChange = tuple[str, str, bool]  # (category, word, removed)
Version = tuple[int, int]  # of the admins' changes (storage: category_words_version)


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


def _tokenizer(cache_dir: Path | None) -> Any:
    """A jieba tokenizer of the default dictionary, its prepared form kept in `cache_dir`
    (None: the system's temporary directory, as jieba does by itself)."""
    import jieba  # imported here: it takes a while (pkg_resources), and only this needs it

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    if cache_dir is not None:
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            tokenizer.tmp_dir = str(cache_dir)
        except OSError as exc:
            log.warning("cannot keep jieba's dictionary in %s (%s): using /tmp", cache_dir, exc)
    return tokenizer


class Classifier:
    def __init__(self, categories: list[Category], cache_dir: Path | None = None) -> None:
        self.categories = {c.name: c for c in categories}
        self._order = [c.name for c in categories]
        self._by_word = {w: c.name for c in reversed(categories) for w in c.words}
        self._tokenizer = _tokenizer(cache_dir)
        for word in self._by_word:
            self._tokenizer.add_word(word, freq=100_000)  # stays one word when it appears

    @classmethod
    def from_file(
        cls,
        path: Path = CATEGORIES_FILE,
        changes: Iterable[WordChange] = (),
        cache_dir: Path | None = None,
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
            ],
            cache_dir,
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
    every minute, so all agree within that).

    At start-up `load` builds it in a thread and returns at once; until it is done,
    `ready()` waits for it, and so does `current()` (blocking: a message that needs the
    words waits for them, instead of building them a second time)."""

    def __init__(self, path: Path = CATEGORIES_FILE, cache_dir: Path | None = None) -> None:
        self._path = path
        self.cache_dir = cache_dir  # where jieba keeps its prepared dictionary
        self._classifier: Classifier | None = None
        self._version: Version = (0, 0)  # the file alone
        self._loading: Future[tuple[Classifier, Version]] | None = None

    def current(self) -> Classifier:
        if self._loading is not None:
            self._settle(self._loading)
        if self._classifier is None:  # jieba's dictionary takes a second or more: once
            self._classifier = Classifier.from_file(self._path, (), self.cache_dir)
        return self._classifier

    async def ready(self) -> Classifier:
        """The classifier, once the start-up load is done (without blocking the loop)."""
        loading = self._loading
        if loading is not None:
            with contextlib.suppress(Exception):  # _settle says what went wrong
                await asyncio.wrap_future(loading)
            self._settle(loading)
        if self._classifier is None:
            self._classifier = await asyncio.to_thread(
                Classifier.from_file, self._path, (), self.cache_dir
            )
        return self._classifier

    def _settle(self, loading: Future[tuple[Classifier, Version]]) -> None:
        if self._loading is not loading:
            return  # another caller took it already
        try:
            self._classifier, self._version = loading.result()
        except Exception:
            log.exception("could not load the report category words; building them again")
        finally:
            self._loading = None

    async def _changes(self, store: Store) -> tuple[Version, list[WordChange]]:
        version = await store.reports.category_words_version()
        changes = [(c.category, c.word, c.removed) for c in await store.reports.category_words()]
        return version, changes

    async def load(self, store: Store | None) -> None:
        """Start building the classifier in a thread (after reading the admins' changes from
        `store`; None: the database is not there, the file's words alone) and return."""
        if self._loading is not None:  # an earlier app's, in this process (tests)
            await self.ready()
        version, changes = await self._changes(store) if store is not None else ((0, 0), [])
        if self._classifier is not None and version == self._version:
            return
        loading: Future[tuple[Classifier, Version]] = Future()
        loading.set_running_or_notify_cancel()  # a waiter that gives up cannot cancel it
        # submitted now, so that a current() that waits for it cannot wait for the loop
        asyncio.get_running_loop().run_in_executor(None, self._build, loading, changes, version)
        self._loading = loading

    def _build(
        self, loading: Future[tuple[Classifier, Version]], changes: list[WordChange], v: Version
    ) -> None:
        try:
            classifier = Classifier.from_file(self._path, changes, self.cache_dir)
        except BaseException as exc:  # for whoever takes the result (_settle logs it)
            loading.set_exception(exc)
            return
        loading.set_result((classifier, v))
        log.info("report category words loaded")

    async def refresh(self, store: Store, *, force: bool = False) -> bool:
        """Rebuild if the admins' changes moved on (or `force`); True if it did."""
        if self._loading is not None:
            await self.ready()  # the start-up load first, so it never overwrites this one
        version, changes = await self._changes(store)
        if version == self._version and self._classifier is not None and not force:
            return False
        self._classifier = await asyncio.to_thread(
            Classifier.from_file, self._path, changes, self.cache_dir
        )
        self._version = version
        return True


BOOK = CategoryBook()


async def load(uow: UnitOfWork, cache_dir: Path | None = None) -> None:
    """At start-up: the admins' changes read, the classifier building in a thread; on a
    database failure, the file's words (the next refresh adds the changes)."""
    BOOK.cache_dir = cache_dir
    try:
        async with uow() as store:
            await BOOK.load(store)
    except Exception:
        log.exception("could not read the report category words; the file's for now")
        await BOOK.load(None)


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
