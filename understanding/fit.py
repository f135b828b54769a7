"""Fit the model in a process of its own (fitting holds the interpreter for seconds; the
server answers meanwhile) and leave what fitting gives in a file the app loads, which is
also the next start's cache:

    python -m understanding.fit CORPUS.csv WORDS.json OUT.npz [CACHE_DIR]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from understanding.corpus import read
from understanding.keywords import Keywords
from understanding.model import fit, save


def main(argv: list[str]) -> None:
    os.nice(10)  # background work: the server starting beside it goes first
    corpus, words, out = Path(argv[0]), Path(argv[1]), Path(argv[2])
    cache_dir = Path(argv[3]) if len(argv) > 3 else None
    pairs = [(c, w) for c, w in json.loads(words.read_text(encoding="utf-8"))]
    save(fit(read(corpus), Keywords(pairs, cache_dir)), out)


if __name__ == "__main__":
    main(sys.argv[1:])
