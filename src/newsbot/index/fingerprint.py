"""How an index was analysed, recorded with it: an index analysed otherwise is built again.

Terms made by one analysis never meet those of another, so an incremental reindex after the
analyzer, the passage size or the BM25 parameters changed would silently mix both; instead the
build compares the saved fingerprint with the current one and rebuilds everything when they differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from newsbot.index.bm25 import BM25Params
from newsbot.index.store import OLDEST
from newsbot.text.analyzer import Analyzer, digest, word_list


def fingerprint(analyzer: Analyzer, target_words: int, params: BM25Params) -> dict[str, Any]:
    """Everything that decides an index's terms, passages and weights (JSON-safe)."""
    return {
        "format": OLDEST,  # not FORMAT: a format that only stores files otherwise re-analyses nothing
        **analyzer.fingerprint(),
        "abbreviations": digest(word_list("abbreviations.txt")),  # where sentences, so passages, end
        "passage_words": target_words,
        "bm25": asdict(params),
    }


def changes(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """The parts of a fingerprint that differ, by name."""
    return sorted(k for k in saved.keys() | current.keys() if saved.get(k) != current.get(k))
