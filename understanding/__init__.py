"""Understanding what villagers write: one component the application builds and hands to
every handler (ctx.understanding). It normalises the text, reads it with the statistical
model (trained on the corpus's train split) and the report categories' words, and says what
the message is: a report (with its category and how sure), a question, chit-chat, a check-in,
an SOS, a question about progress, points or policy.

Words an admin added to a category (分类词) always decide that category. The words are the
file's with the admins' changes from the database on top; `refresh` rebuilds when those
change (an admin's 分类词 at once; every instance checks every minute).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from understanding.categories import CATEGORIES_FILE, OTHER, Category, WordChange, read_categories
from understanding.corpus import TRAIN
from understanding.keywords import Keywords, keywords
from understanding.model import Model, prepared, trained
from understanding.reading import Intent, Reading, decide, unread
from understanding.taught import KeywordChange, Taught, taught

if TYPE_CHECKING:
    from storage.repos import Store, UnitOfWork

log = logging.getLogger(__name__)
Version = tuple[int, ...]
_CHINESE = re.compile(r"[\u4e00-\u9fff]")

__all__ = ["OTHER", "Category", "Intent", "Reading", "Taught", "Understanding"]


@dataclass(frozen=True, slots=True)
class Built:
    categories: dict[str, Category]
    keywords: Keywords
    model: Model
    admin_words: dict[str, str]  # word -> category, for the words admins added
    taught: Taught  # the admins' other keywords


Changes = tuple[list[WordChange], list[KeywordChange]]


def build(path: Path, changes: Changes, corpus: Path, cache_dir: Path | None) -> Built:
    categories = read_categories(path, changes[0])
    pairs = tuple((c.name, w) for c in categories for w in c.words)
    kw = keywords(pairs, cache_dir)
    model = trained(corpus, kw)
    added = {w: c.name for c in categories for w in c.added}
    return Built({c.name: c for c in categories}, kw, model, added, taught(changes[1]))


class Understanding:
    """Built in a thread at start-up (`load`); `ready()` waits for it without blocking the
    loop, and `read` (a plain function, for filters) waits for it if it must."""

    def __init__(
        self,
        *,
        categories_file: Path = CATEGORIES_FILE,
        corpus: Path = TRAIN,
        cache_dir: Path | None = None,
    ) -> None:
        self._path, self._corpus, self._cache_dir = categories_file, corpus, cache_dir
        self._built: Built | None = None
        self._version: Version = (0, 0, 0, 0)  # the file alone
        self._loading: Future[tuple[Built, Version]] | None = None
        self._last: tuple[Built, str, Reading] | None = None

    # --- reading ------------------------------------------------------------------------------

    def read(self, text: str) -> Reading:
        """What the text is. The handlers of one message ask about it more than once: the
        last reading is kept."""
        built = self._current()
        last = self._last
        if last is not None and last[0] is built and last[1] == text:
            return last[2]
        clean = prepared(text)
        if not _CHINESE.search(clean):
            return unread()  # the corpus is Chinese: of "hello" the model knows nothing
        tokens = [t for t in built.keywords.cut(clean) if t.strip()]
        admin = [built.admin_words[t] for t in tokens if t in built.admin_words]
        reading = decide(built.model.probabilities(clean), admin[0] if admin else None)
        self._last = (built, text, reading)
        return reading

    def likeness(self, a: str, b: str) -> float:
        """How alike two texts are, 0 to 1: the cosine of their TF-IDF weights (rare words and
        characters, such as a place's name, weigh most)."""
        model = self._current().model
        wa, wb = model.weights(prepared(a)), model.weights(prepared(b))
        return sum(w * wb.get(t, 0.0) for t, w in wa.items()) / 2  # two unit-length blocks

    @property
    def categories(self) -> dict[str, Category]:
        return self._current().categories

    def category(self, name: str) -> Category:
        categories = self.categories
        return categories.get(name) or categories[OTHER]

    @property
    def taught(self) -> Taught:
        """What admins taught with 关键词: auto-replies, command names, synonyms."""
        return self._current().taught

    def words_found(self, text: str) -> tuple[str | None, tuple[str, ...]]:
        """The category whose listed words the text holds, and those words."""
        found = self._current().keywords.find(prepared(text))
        return found.category, found.words

    # --- building ----------------------------------------------------------------------------

    def _current(self) -> Built:
        if self._loading is not None:
            self._settle(self._loading)
        if self._built is None:
            self._built = build(self._path, ([], []), self._corpus, self._cache_dir)
        return self._built

    async def ready(self) -> None:
        """Once the start-up build is done (without blocking the loop)."""
        loading = self._loading
        if loading is not None:
            with contextlib.suppress(Exception):  # _settle says what went wrong
                await asyncio.wrap_future(loading)
            self._settle(loading)
        if self._built is None:
            self._built = await asyncio.to_thread(
                build, self._path, ([], []), self._corpus, self._cache_dir
            )

    def _settle(self, loading: Future[tuple[Built, Version]]) -> None:
        if self._loading is not loading:
            return  # another caller took it already
        try:
            self._built, self._version = loading.result()
        except Exception:
            log.exception("could not build the understanding; building it again")
        finally:
            self._loading = None

    async def _changes(self, store: Store) -> tuple[Version, Changes]:
        """The admins' changes (分类词 and 关键词), and where they stand."""
        version = (
            *await store.reports.category_words_version(),
            *await store.policy.keywords_version(),
        )
        words = [(c.category, c.word, c.removed) for c in await store.reports.category_words()]
        taught = [
            (c.word, c.kind.value, c.value, c.removed)
            for c in await store.policy.keyword_changes()
        ]
        return version, (words, taught)

    async def load(self, uow: UnitOfWork) -> None:
        """Start building in a thread (after reading the admins' changes; if the database
        does not answer, the file's words for now) and return at once."""
        try:
            async with uow() as store:
                version, changes = await self._changes(store)
        except Exception:
            log.exception("could not read the report category words; the file's for now")
            version, changes = (0, 0, 0, 0), ([], [])
        loading: Future[tuple[Built, Version]] = Future()
        loading.set_running_or_notify_cancel()  # a waiter that gives up cannot cancel it
        asyncio.get_running_loop().run_in_executor(None, self._build, loading, changes, version)
        self._loading = loading

    def _build(self, loading: Future[tuple[Built, Version]], changes: Changes, v: Version) -> None:
        try:
            built = build(self._path, changes, self._corpus, self._cache_dir)
        except BaseException as exc:  # for whoever takes the result (_settle logs it)
            loading.set_exception(exc)
            return
        loading.set_result((built, v))
        log.info("understanding ready: the model trained, the report category words loaded")

    async def refresh(self, store: Store, *, force: bool = False) -> bool:
        """Rebuild if the admins' changes moved on (or `force`); True if it did."""
        await self.ready()  # the start-up build first, so it never overwrites this one
        version, changes = await self._changes(store)
        if version == self._version and not force:
            return False
        self._built = await asyncio.to_thread(
            build, self._path, changes, self._corpus, self._cache_dir
        )
        self._version = version
        return True

    async def keep_fresh(self, uow: UnitOfWork, every: float = 60.0) -> None:
        """Refresh every `every` seconds while the app runs; a database hiccup keeps the
        words in use until the next round."""
        while True:
            await asyncio.sleep(every)
            try:
                async with uow() as store:
                    if await self.refresh(store):
                        log.info("report category words changed: rebuilt")
            except Exception:
                log.exception("could not refresh the report category words")
