"""The statistical reader: character 1–3-grams and jieba words of the normalised text (its
dialect words followed by their plain Mandarin, and a mark for each category word found),
TF-IDF weighted, and a logistic regression for each of the corpus's labels (an intent, or
report:<category>) fitted by stochastic gradient descent, which gives every label a
probability. scikit-learn does the learning (SGD fits the 3,000 messages in about a second,
where the batch solver took fifteen); it is trained on the train split when the app starts
(in a thread), and kept for the process by what it was trained on."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from understanding.corpus import Example
from understanding.keywords import Keywords
from understanding.normalize import normalise, with_plain_words

ALPHA = 1e-5  # the regularisation, chosen by cross-validation on the train split (--tune)


def prepared(text: str) -> str:
    return with_plain_words(normalise(text))


@dataclass(frozen=True, slots=True)
class WordFeatures:
    """jieba's words of a prepared text, and a `§category` mark for each category word."""

    keywords: Keywords

    def __deepcopy__(self, memo: dict[int, Any]) -> WordFeatures:
        return self  # the tokenizer is shared, never changed (scikit-learn clones pipelines)

    def __call__(self, text: str) -> list[str]:
        tokens = [t for t in self.keywords.cut(text) if t.strip()]
        found = self.keywords.find(text, tokens)
        return tokens + [f"§{found.category}"] * len(found.words)


class Model:
    """The fitted pipeline, read once into its vocabularies, weights and coefficients, so
    that one message costs a few dictionary look-ups and a small product (scikit-learn's
    own predict_proba spends milliseconds checking its input, per call)."""

    def __init__(self, pipeline: Any) -> None:
        import numpy as np

        union, regression = pipeline.steps[0][1], pipeline.steps[-1][1]
        chars, words = (t for _, t in union.transformer_list)
        self._chars = Vocabulary(chars.vocabulary_, chars.idf_, 0, chars.build_analyzer())
        self._words = Vocabulary(
            words.vocabulary_, words.idf_, len(chars.vocabulary_), words.build_analyzer()
        )
        self._coef = np.ascontiguousarray(regression.coef_.T)  # features x labels
        self._intercept = regression.intercept_
        self.labels: tuple[str, ...] = tuple(regression.classes_)

    def probabilities(self, text: str) -> dict[str, float]:
        """Each label's probability for a prepared text."""
        import numpy as np

        columns: list[int] = []
        values: list[float] = []
        for vocabulary in (self._chars, self._words):
            vocabulary.weigh(text, columns, values)
        scores = self._intercept + np.asarray(values) @ self._coef[columns]
        scores = 1.0 / (1.0 + np.exp(-scores))  # each label's own regression, normalised
        scores /= scores.sum()
        return dict(zip(self.labels, (float(p) for p in scores), strict=True))


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """One TF-IDF block: sublinear term frequency times idf, normalised to unit length."""

    index: dict[str, int]
    idf: Any
    offset: int
    analyse: Callable[[str], list[str]]

    def weigh(self, text: str, columns: list[int], values: list[float]) -> None:
        counts: dict[int, int] = {}
        for term in self.analyse(text):
            j = self.index.get(term)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        weights = [(1.0 + math.log(n)) * float(self.idf[j]) for j, n in counts.items()]
        norm = math.sqrt(sum(w * w for w in weights)) or 1.0
        columns.extend(self.offset + j for j in counts)
        values.extend(w / norm for w in weights)


def build(keywords: Keywords, alpha: float = ALPHA) -> Any:
    """An untrained pipeline (for training, and for cross-validation in the benchmark)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import FeatureUnion, make_pipeline

    features = FeatureUnion(
        [
            ("chars", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)),
            ("words", TfidfVectorizer(analyzer=WordFeatures(keywords), sublinear_tf=True)),
        ]
    )
    regression = SGDClassifier(loss="log_loss", alpha=alpha, max_iter=50, random_state=0)
    return make_pipeline(features, regression)


def train(examples: Sequence[Example], keywords: Keywords, alpha: float = ALPHA) -> Model:
    pipeline = build(keywords, alpha)
    pipeline.fit([prepared(e.text) for e in examples], [e.label for e in examples])
    return Model(pipeline)


@lru_cache(maxsize=4)
def trained(corpus: tuple[Example, ...], keywords: Keywords) -> Model:
    """One model per corpus and words in a process (the tests build many apps)."""
    return train(corpus, keywords)
