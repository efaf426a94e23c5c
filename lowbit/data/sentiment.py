"""UCI "Sentiment Labelled Sentences" (Kotzias et al. 2015): 3,000 sentences from amazon, imdb and yelp
with 0/1 labels, read from the JSON fixtures of the npm package sentiment@5.0.2 (`make setup` runs
`npm pack` into .cache/sentiment). The trailing record of each file has class null and is dropped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lowbit.errors import LowbitError

SOURCES = ("amazon", "imdb", "yelp")
_RELATIVE = Path(".cache/sentiment/package/test/fixtures")


def data_dir() -> Path:
    """$LOWBIT_SENTIMENT_DIR, else .cache/... under the project root (editable install) or the cwd."""
    if env := os.environ.get("LOWBIT_SENTIMENT_DIR"):
        return Path(env)
    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (root / _RELATIVE / "amazon.json").exists():
            return root / _RELATIVE
    raise LowbitError(
        "sentiment data: expected the fixtures of npm's sentiment@5.0.2 in .cache/sentiment "
        "(run `make setup`, or set LOWBIT_SENTIMENT_DIR)"
    )


def load_sentences(sources: tuple[str, ...] = SOURCES) -> tuple[list[str], list[int], list[str]]:
    """(texts, labels, source of each) over the chosen sources, in file order."""
    texts, labels, origin = [], [], []
    for name in sources:
        if name not in SOURCES:
            raise LowbitError(f"sources: expected names among {SOURCES}, got {name!r}")
        for rec in json.loads((data_dir() / f"{name}.json").read_text()):
            if rec.get("class") is None:
                continue
            texts.append(rec["text"])
            labels.append(int(rec["class"]))
            origin.append(name)
    return texts, labels, origin
