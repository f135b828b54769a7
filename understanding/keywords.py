"""The categories' words found in a text: jieba with those words in its dictionary (so 路灯
stays one word and is not taken for 路), a word inside a set phrase jieba keeps whole
(聚众赌博) counting too."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True)
class Found:
    category: str | None  # the category with the most (and longest) words; None: no word
    words: tuple[str, ...]  # the words that pointed to it


class Keywords:
    """Which category's words a text holds. Built once per set of words (see `keywords`);
    `cut` is the same tokenizer, for the model's word features."""

    def __init__(self, words: Sequence[tuple[str, str]], cache_dir: Path | None) -> None:
        self.words, self.cache_dir = tuple(words), cache_dir
        self._order = list(dict.fromkeys(category for category, _ in words))
        self._by_word: dict[str, str] = {}
        for category, word in reversed(words):
            self._by_word[word] = category  # the first category listing a word keeps it
        self._tokenizer = _tokenizer(cache_dir)
        for word in self._by_word:
            self._tokenizer.add_word(word, freq=100_000)  # stays one word when it appears

    def cut(self, text: str) -> list[str]:
        """jieba's words (the model and the word search both ask, for the same text)."""
        return list(self._cut(text))

    @lru_cache(maxsize=64)  # noqa: B019 (one Keywords per set of words, kept for the process)
    def _cut(self, text: str) -> tuple[str, ...]:
        return tuple(self._tokenizer.lcut(text))

    def _words_in(self, token: str) -> list[str]:
        if token in self._by_word:
            return [token]
        n = len(token)
        return [
            token[i:j]
            for i in range(n)
            for j in range(i + 2, n + 1)
            if (i, j) != (0, n) and token[i:j] in self._by_word
        ]

    def find(self, text: str, tokens: Sequence[str] | None = None) -> Found:
        tokens = self.cut(text) if tokens is None else tokens
        found = [w for token in tokens for w in self._words_in(token)]
        if not found:
            return Found(None, ())
        score: dict[str, int] = {}
        for word in found:
            name = self._by_word[word]
            score[name] = score.get(name, 0) + len(word)
        best = max(score, key=lambda n: (score[n], -self._order.index(n)))
        return Found(best, tuple(w for w in found if self._by_word[w] == best))


_BUILT: dict[tuple[tuple[str, str], ...], Keywords] = {}
KEPT = 8


def keywords(words: tuple[tuple[str, str], ...], cache_dir: Path | None) -> Keywords:
    """The matcher for these (category, word) pairs. jieba's dictionary takes a second or
    two to load, so a process keeps one per set of words, whichever directory holds the
    dictionary's prepared form (the tests build many apps, each with its own)."""
    found = _BUILT.get(words)
    if found is None:
        found = Keywords(words, cache_dir)
        while len(_BUILT) >= KEPT:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[words] = found
    return found
