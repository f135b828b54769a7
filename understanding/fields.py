"""The word fields of lexicon.yaml found in a text: one `¶field` mark for each field with a
word in it, for the model to read beside the words themselves (a word the corpus never
showed still counts with the others of its field)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

LEXICON_FILE = Path(__file__).with_name("lexicon.yaml")


@lru_cache(maxsize=4)
def _fields(path: Path = LEXICON_FILE) -> tuple[re.Pattern[str], dict[str, frozenset[str]]]:
    table: dict[str, list[object]] = yaml.safe_load(path.read_text(encoding="utf-8"))["fields"]
    by_word: dict[str, set[str]] = {}
    for field, words in table.items():
        for word in words:
            by_word.setdefault(str(word).lower(), set()).add(field)
    ordered = sorted(by_word, key=len, reverse=True)  # the longest word where two overlap
    pattern = re.compile("|".join(map(re.escape, ordered)))
    return pattern, {w: frozenset(f) for w, f in by_word.items()}


def marks(text: str) -> list[str]:
    """`¶field` for each field a word of the (normalised) text belongs to, in field order."""
    pattern, by_word = _fields()
    found: set[str] = set()
    for m in pattern.finditer(text):
        found |= by_word[m.group(0)]
    return [f"¶{field}" for field in sorted(found)]
