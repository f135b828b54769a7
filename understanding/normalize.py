"""What a villager typed or said, put in one form before anything reads it: full-width and
compatibility characters folded (NFKC), traditional characters made simplified, emoji and
voice-input filler dropped, and the dialect words of dialect.yaml followed by their plain
Mandarin (both stay: the original still counts)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import yaml

DIALECT_FILE = Path(__file__).with_name("dialect.yaml")

# 嗯嗯, 呃, 额… and a word said twice in a row as people do when speaking (这个这个, 然后然后)
_FILLER = re.compile(r"[嗯呃额]+|(?<=[，,\s])啊|^啊")
_REPEAT = re.compile(r"(\w{2,4})\1+")
_SPACE = re.compile(r"\s+")
_DROPPED_CATEGORIES = {"So", "Sk", "Cs", "Co", "Cn", "Cf"}  # emoji, symbols, invisibles


@lru_cache(maxsize=1)
def _converter() -> object:
    import opencc  # the compiled tables load once, on first use

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=4)
def _aliases(path: Path = DIALECT_FILE) -> tuple[re.Pattern[str], dict[str, str]]:
    table: dict[str, str] = yaml.safe_load(path.read_text(encoding="utf-8"))["aliases"]
    words = sorted(table, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, words))), table


def _keep(ch: str) -> bool:
    return unicodedata.category(ch) not in _DROPPED_CATEGORIES


def normalise(text: str) -> str:
    """The text in one form: simplified, half-width ASCII, no emoji or filler, one space
    between words, ASCII lower-cased."""
    text = unicodedata.normalize("NFKC", text)
    text = _converter().convert(text)  # type: ignore[attr-defined]
    text = "".join(ch if _keep(ch) else " " for ch in text)
    text = _FILLER.sub(" ", text)
    text = _REPEAT.sub(r"\1", text)
    return _SPACE.sub(" ", text).strip().lower()


def with_plain_words(text: str) -> str:
    """`text` (normalised) followed by the plain Mandarin of each dialect word in it."""
    pattern, table = _aliases()
    plain = [table[m.group(0)] for m in pattern.finditer(text)]
    return f"{text} {' '.join(plain)}" if plain else text
