"""Ranking the knowledge base's entries for a question: jieba's search-mode words and the
character pairs of the question, read with the dialect aliases and the synonyms, scored
with Okapi BM25 over each entry's title, question variants and keywords. The weights and
the two thresholds were chosen on the train split of the labelled questions
(bench/policy.py --tune), never on its test split."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from understanding.keywords import _tokenizer
from understanding.model import prepared

SYNONYMS_FILE = Path(__file__).with_name("synonyms.yaml")

K1, B = 1.2, 0.75
TITLE, KEYWORD, VARIANT, PAIR = 2.0, 1.0, 1.0, 1.0  # how much a word counts, by field
SURE = 0.20  # the best entry this far ahead of the next (share of its score): answered
NOTHING = 0.20  # the best entry's score below this share of the most a question can get: none
COVERED = 0.05  # nor when the best entry holds less than this share of the question's words

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Doc:
    """What an entry is found by."""

    key: int  # the entry's id
    title: str
    variants: tuple[str, ...]
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Scored:
    key: int
    score: float
    covered: float = 0.0  # the share of the question's words (by weight) the entry holds


@lru_cache(maxsize=1)
def _search_tokenizer() -> Any:
    """One jieba tokenizer for ranking in the process; words are added, never taken out
    (a removed keyword only stops counting)."""
    return _tokenizer(None)


@lru_cache(maxsize=4)
def _file(path: Path) -> tuple[dict[str, str], frozenset[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    synonyms = {str(k): str(v) for k, v in (data.get("synonyms") or {}).items()}
    return synonyms, frozenset(str(data.get("asking_words") or "").split())


def read_synonyms(path: Path = SYNONYMS_FILE) -> dict[str, str]:
    """The file's synonyms (another name -> the entries' name)."""
    return dict(_file(path)[0])


def asking_words(path: Path = SYNONYMS_FILE) -> frozenset[str]:
    """Words of asking, not of what is asked about (怎么, 啥子, 可以 …)."""
    return _file(path)[1]


class Words:
    """A text's words for ranking: prepared (full-width, traditional, dialect aliases),
    each synonym's name added after it, cut by jieba in search mode, words of asking left
    out; then the character pairs of what is left (for words jieba does not know)."""

    def __init__(self, synonyms: Mapping[str, str], known: Iterable[str]) -> None:
        self.synonyms = dict(synonyms)
        names = sorted(self.synonyms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, names))) if names else None
        tokenizer = _search_tokenizer()
        for word in {*known, *self.synonyms, *self.synonyms.values()}:
            if 2 <= len(word) <= 12 and not tokenizer.FREQ.get(word):
                tokenizer.add_word(word, freq=50_000)
        self._tokenizer = tokenizer
        self._stop = asking_words()

    def cut(self, text: str) -> list[str]:
        """jieba's search-mode words of the text as it is."""
        return [w for w in self._tokenizer.lcut_for_search(text) if w.strip()]

    def __call__(self, text: str) -> tuple[list[str], list[str]]:
        text = prepared(text)
        if self._pattern is not None:
            text = self._pattern.sub(lambda m: f"{m[0]} {self.synonyms[m[0]]} ", text)
        words = [
            w
            for w in self._tokenizer.lcut_for_search(_SPACE.sub(" ", text))
            if w.strip() and w not in self._stop
        ]
        kept = "".join(w for w in words if len(w) == 1 or w.isalnum())
        pairs = [kept[i : i + 2] for i in range(len(kept) - 1)]
        return words, pairs


class Ranker:
    """BM25 over the entries' fields, an inverted index for speed."""

    def __init__(self, docs: Sequence[Doc], words: Words) -> None:
        self.words = words
        self.docs = {d.key: d for d in docs}
        weights: list[dict[str, float]] = []
        for doc in docs:
            tf: dict[str, float] = {}
            for field, weight in (
                ((doc.title,), TITLE),
                (doc.keywords, KEYWORD),
                (doc.variants, VARIANT),
            ):
                for text in field:
                    found, pairs = words(text)
                    for w in found:
                        tf[w] = tf.get(w, 0.0) + weight
                    for p in pairs:
                        tf[p] = tf.get(p, 0.0) + weight * PAIR
            weights.append(tf)
        n = max(len(docs), 1)
        lengths = [sum(tf.values()) for tf in weights]
        avg = (sum(lengths) / n) or 1.0
        df: dict[str, int] = {}
        for tf in weights:
            for term in tf:
                df[term] = df.get(term, 0) + 1
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self.terms = {doc.key: frozenset(tf) for doc, tf in zip(docs, weights, strict=True)}
        self.index: dict[str, list[tuple[int, float]]] = {}
        for doc, tf, length in zip(docs, weights, lengths, strict=True):
            norm = K1 * (1 - B + B * length / avg)
            for term, f in tf.items():
                self.index.setdefault(term, []).append((doc.key, f * (K1 + 1) / (f + norm)))

    def rank(self, text: str, limit: int = 10) -> tuple[list[Scored], float]:
        """The best entries for the question, best first, and the most a question of these
        words could score (for a share, 0 to 1)."""
        found, pairs = self.words(text)
        terms = {**dict.fromkeys(found, 1.0), **dict.fromkeys(pairs, PAIR)}
        scores: dict[int, float] = {}
        most = 0.0
        for term, weight in terms.items():
            idf = self.idf.get(term)
            if idf is None:
                continue
            most += idf * weight * (K1 + 1)
            for key, part in self.index[term]:
                scores[key] = scores.get(key, 0.0) + idf * weight * part
        best = sorted(scores.items(), key=lambda kv: -kv[1])[:limit]
        unknown = max(self.idf.values(), default=1.0)  # a word no entry has weighs the most
        words = {w: self.idf.get(w, unknown) for w in found}
        total = sum(words.values()) or 1.0

        def covered(key: int) -> float:
            return sum(v for w, v in words.items() if w in self.terms[key]) / total

        return [Scored(k, s, covered(k)) for k, s in best], most


def verdict(scored: Sequence[Scored], most: float) -> str:
    """ "sure" (answer the best), "choose" (offer the best three) or "none"."""
    if not scored or most <= 0 or scored[0].score / most < NOTHING or scored[0].covered < COVERED:
        return "none"
    second = scored[1].score if len(scored) > 1 else 0.0
    return "sure" if (scored[0].score - second) / scored[0].score >= SURE else "choose"
