"""The statistical reader: character 1–3-grams and jieba words of the normalised text (its
dialect words followed by their plain Mandarin), a mark for each category word found and
for each word field of lexicon.yaml it touches, TF-IDF weighted, and a logistic regression
for each of the corpus's labels (an intent, or report:<category>) fitted by stochastic
gradient descent, which gives every label a probability. scikit-learn does the learning
(SGD fits the corpus in seconds, where the batch solver took many times longer), in a
process of its own; reading a message needs only numpy and the fitted numbers."""

from __future__ import annotations

import hashlib
import json
import math
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from understanding.corpus import Example
from understanding.fields import LEXICON_FILE, marks
from understanding.keywords import Keywords
from understanding.normalize import DIALECT_FILE, normalise, with_plain_words

ROOT = Path(__file__).resolve().parent.parent  # where `python -m understanding.fit` runs
NGRAMS = (1, 3)
ALPHA = 1e-5  # the regularisation, chosen by cross-validation on the train split (--tune)


def prepared(text: str) -> str:
    return with_plain_words(normalise(text))


_SPACES = re.compile(r"\s\s+")


def char_grams(text: str) -> list[str]:
    """The character 1–3-grams of a prepared text, spaces folded (as scikit-learn's "char"
    analyser does; written here so that reading a message needs no scikit-learn)."""
    text = _SPACES.sub(" ", text)
    lo, hi = NGRAMS
    return [text[i : i + n] for n in range(lo, hi + 1) for i in range(len(text) - n + 1)]


@dataclass(frozen=True, slots=True)
class WordFeatures:
    """jieba's words of a prepared text, a `§category` mark for each category word and a
    `¶field` mark for each word field of lexicon.yaml it touches."""

    keywords: Keywords

    def __deepcopy__(self, memo: dict[int, Any]) -> WordFeatures:
        return self  # the tokenizer is shared, never changed (scikit-learn clones pipelines)

    def __call__(self, text: str) -> list[str]:
        tokens = [t for t in self.keywords.cut(text) if t.strip()]
        found = self.keywords.find(text, tokens)
        return tokens + [f"§{found.category}"] * len(found.words) + marks(text)


@dataclass(frozen=True, slots=True)
class Fitted:
    """What fitting leaves, as plain data (it crosses from the process that fits it)."""

    labels: tuple[str, ...]
    coef: Any  # labels x features
    intercept: Any
    chars: tuple[dict[str, int], Any]  # vocabulary, idf
    words: tuple[dict[str, int], Any]

    @classmethod
    def of(cls, pipeline: Any) -> Fitted:
        union, regression = pipeline.steps[0][1], pipeline.steps[-1][1]
        chars, words = (t for _, t in union.transformer_list)
        return cls(
            tuple(regression.classes_),
            regression.coef_,
            regression.intercept_,
            (dict(chars.vocabulary_), chars.idf_),
            (dict(words.vocabulary_), words.idf_),
        )


class Model:
    """The fitted vocabularies, weights and coefficients applied directly, so that one
    message costs a few dictionary look-ups and a small product (scikit-learn's own
    predict_proba spends milliseconds checking its input, per call)."""

    def __init__(self, fitted: Fitted, keywords: Keywords) -> None:
        import numpy as np

        self._chars = Vocabulary(*fitted.chars, 0, char_grams)
        self._words = Vocabulary(*fitted.words, len(fitted.chars[0]), WordFeatures(keywords))
        self._coef = np.ascontiguousarray(fitted.coef.T)  # features x labels
        self._intercept = fitted.intercept
        self.labels = fitted.labels

    def weights(self, text: str) -> dict[str, float]:
        """The text's TF-IDF weights by term, each block of unit length; a term the corpus
        never showed (a place's name) weighs as its rarest term does."""
        weights: dict[str, float] = {}
        for vocabulary in (self._chars, self._words):
            vocabulary.weigh_terms(text, weights)
        return weights

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

    def weigh_terms(self, text: str, weights: dict[str, float]) -> None:
        counts = Counter(self.analyse(text))
        rarest = self.rarest
        raw = {
            t: (1.0 + math.log(n))
            * (float(self.idf[j]) if (j := self.index.get(t)) is not None else rarest)
            for t, n in counts.items()
        }
        norm = math.sqrt(sum(w * w for w in raw.values())) or 1.0
        weights.update((f"{self.offset}:{t}", w / norm) for t, w in raw.items())

    @property
    def rarest(self) -> float:
        return float(self.idf.max()) if len(self.idf) else 1.0

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
            ("chars", TfidfVectorizer(analyzer=char_grams, sublinear_tf=True)),
            ("words", TfidfVectorizer(analyzer=WordFeatures(keywords), sublinear_tf=True)),
        ]
    )
    regression = SGDClassifier(loss="log_loss", alpha=alpha, max_iter=50, random_state=0)
    return make_pipeline(features, regression)


def fit(examples: Sequence[Example], keywords: Keywords, alpha: float = ALPHA) -> Fitted:
    pipeline = build(keywords, alpha)
    pipeline.fit([prepared(e.text) for e in examples], [e.label for e in examples])
    return Fitted.of(pipeline)


def train(examples: Sequence[Example], keywords: Keywords, alpha: float = ALPHA) -> Model:
    """Fit here (the benchmark, the tests)."""
    return Model(fit(examples, keywords, alpha), keywords)


def save(fitted: Fitted, path: Path) -> None:
    import numpy as np

    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        labels=np.array(fitted.labels),
        coef=fitted.coef,
        intercept=fitted.intercept,
        chars=np.array(sorted(fitted.chars[0], key=fitted.chars[0].__getitem__)),
        chars_idf=fitted.chars[1],
        words=np.array(sorted(fitted.words[0], key=fitted.words[0].__getitem__)),
        words_idf=fitted.words[1],
    )
    tmp.replace(path)  # whole or not at all: another start may be reading


def load(path: Path) -> Fitted:
    import numpy as np

    with np.load(path) as data:
        return Fitted(
            tuple(str(x) for x in data["labels"]),
            data["coef"],
            data["intercept"],
            ({str(t): i for i, t in enumerate(data["chars"])}, data["chars_idf"]),
            ({str(t): i for i, t in enumerate(data["words"])}, data["words_idf"]),
        )


@lru_cache(maxsize=4)
def trained(corpus: Path, keywords: Keywords) -> Model:
    """The model of this corpus and these words: from the cache when a start before fitted
    the same, else fitted by `python -m understanding.fit` in a process of its own (fitting
    holds the interpreter for seconds; the server answers meanwhile). One per process."""
    import sklearn

    words = json.dumps(keywords.words, ensure_ascii=False)
    made_by = f"{ALPHA} {NGRAMS} {sklearn.__version__}".encode()
    read = [corpus.read_bytes(), LEXICON_FILE.read_bytes(), DIALECT_FILE.read_bytes()]
    digest = hashlib.sha256(b"\0".join([*read, words.encode(), made_by]))
    # absolute: the fitting process runs from the project's folder, not the server's
    folder = (keywords.cache_dir or Path(tempfile.gettempdir())).resolve()
    path = folder / f"understanding-{digest.hexdigest()[:20]}.npz"
    folder.mkdir(parents=True, exist_ok=True)
    if not path.is_file():
        listed = path.with_suffix(".words.json")
        listed.write_text(words, encoding="utf-8")
        command = [sys.executable, "-m", "understanding.fit"]
        command += [str(corpus.resolve()), str(listed), str(path), str(folder)]
        subprocess.run(command, check=True, cwd=ROOT)
        listed.unlink(missing_ok=True)
    return Model(load(path), keywords)
