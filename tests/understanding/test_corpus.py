"""The corpus and the model: the split is what its seed says, training never opens the test
split, the fast scorer agrees with scikit-learn, and the normaliser folds what people type."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from understanding import Understanding
from understanding.categories import read_categories
from understanding.corpus import TEST, TRAIN, in_test_split, read
from understanding.keywords import Keywords
from understanding.model import build, prepared, train
from understanding.normalize import normalise, with_plain_words

OPENED: list[str] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and args and isinstance(args[0], str | Path):
        OPENED.append(str(args[0]))


sys.addaudithook(_audit)


def test_training_reads_the_train_split_and_never_the_test_split(tmp_path: Path) -> None:
    corpus = tmp_path / "train.csv"
    corpus.write_bytes(TRAIN.read_bytes())  # a copy: this build trains afresh
    OPENED.clear()
    built = Understanding(corpus=corpus).categories
    opened = list(OPENED)
    assert built
    assert str(corpus) in opened
    assert str(TEST) not in opened
    assert not [p for p in opened if p.endswith("test.csv")]


def test_each_split_holds_what_its_seed_gives_it_and_nothing_twice() -> None:
    train, test = read(TRAIN), read(TEST)
    assert not any(in_test_split(e) for e in train)
    assert all(in_test_split(e) for e in test)
    texts = [e.text for e in train + test]
    assert len(texts) == len(set(texts))
    assert len(texts) >= 1500
    categories = {c.name for c in read_categories()}
    reports = [e for e in train + test if e.intent == "report"]
    for name in categories:
        assert sum(e.category == name for e in reports) >= 80, name
    assert len(train + test) - len(reports) >= 300


def test_the_fast_scorer_gives_scikit_learns_probabilities() -> None:
    categories = read_categories()
    words = Keywords([(c.name, w) for c in categories for w in c.words], None)
    examples = read(TRAIN)[::5]
    model = train(examples, words)
    pipeline = build(words)
    pipeline.fit([prepared(e.text) for e in examples], [e.label for e in examples])
    for e in read(TRAIN)[1:200:7]:
        text = prepared(e.text)
        ours = model.probabilities(text)
        theirs = dict(zip(pipeline.classes_, pipeline.predict_proba([text])[0], strict=True))
        assert max(abs(ours[label] - p) for label, p in theirs.items()) < 1e-9


def test_what_people_type_is_folded_into_one_form() -> None:
    assert normalise("ＡＢＣ　路燈壞了！！") == "abc 路灯坏了!!"
    assert normalise("嗯嗯 那个那个 水渠垮了😭😭") == "那个 水渠垮了"
    assert with_plain_words("我屋头的娃儿遭狗咬了") == "我屋头的娃儿遭狗咬了 家里 孩子 被"
