"""The pruned search against scoring every passage: same ids, same floats, in the same order,
over several segments (levels made with other average lengths than the index's), dead passages,
common and rare words, ties, filters, priors and k beyond the matches."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from newsbot.index import merge, rough
from newsbot.index.build import build_index
from newsbot.index.store import Index
from newsbot.records import Filters
from newsbot.text.analyzer import Analyzer
from tests.index.test_search import _reference

COMMON = [f"common{i}" for i in range(6)]  # each in 10% to 45% of passages: positive idf
MIDDLE = [f"middle{i}" for i in range(40)]
RARE = [f"rare{i}" for i in range(300)]


def _paragraph(rng: random.Random) -> str:
    words = [rng.choice(RARE) for _ in range(rng.randint(0, 3))]
    words += [w for w in MIDDLE if rng.random() < 0.04]
    words += [w for i, w in enumerate(COMMON) if rng.random() < 0.1 + 0.07 * i]
    # Counts from 1 to many (the 4-bit counts' escape included) and lengths that vary a lot.
    words = [w for w in words for _ in range(rng.choice([1, 1, 1, 2, 3, 17]))]
    words += ["filler"] * rng.randint(0, 60)
    rng.shuffle(words)
    return " ".join(words) or "filler"


def _write(root: Path, rows: list[dict[str, Any]]) -> None:
    (root / "wire.jsonl").write_text("\n".join(json.dumps(r) for r in rows))


def _rows(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        text = "\n\n".join(_paragraph(rng) for _ in range(rng.randint(1, 5)))
        rows.append(
            {
                "id": f"a{i}",
                "title": rng.choice(RARE),
                "text": text,
                "date": f"2024-{i % 12 + 1:02d}-{i % 27 + 1:02d}",
                "source": rng.choice(["Herald", "Ledger", "Post"]),
            }
        )
    for i in range(0, n, 7):  # syndicated copies: the same passages, the same scores (ties)
        rows.append({**rows[i], "id": f"copy{i}"})
    return rows


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    """Several segments of a few hundred passages, then a reindex: dead passages, and one more
    segment with another average length (levels made with another one than the index's)."""
    root = tmp_path_factory.mktemp("corpus")
    rows = _rows(500, seed=11)
    _write(root, rows)
    first, _ = build_index(root, Analyzer(), target_words=30, chunk_passages=400)
    assert len(first.segments) >= 4
    rng = random.Random(12)
    for i in rng.sample(range(len(rows)), 40):  # changed: longer, or gone
        rows[i] = {**rows[i], "text": rows[i]["text"] + " common1 filler filler filler " + rng.choice(RARE)}
    del rows[::37]
    _write(root, rows)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(merge, "BIG", 400)  # the chunks are kept, as a big build's are
        built, _ = build_index(root, Analyzer(), previous=first, target_words=30)
    assert len(built.segments) >= 4 and len(built.dead) > 50
    assert len({s.avgdl for s in built.segments}) == len(built.segments)
    return built


def _query(index: Index, rng: random.Random) -> list[int]:
    pools = [COMMON, COMMON, MIDDLE, RARE]
    words = [rng.choice(rng.choice(pools)) for _ in range(rng.randint(1, 7))]
    words += words[: rng.randint(0, 1)]  # a repeated word counts twice, as in rank-bm25
    return index.term_ids(words)


def test_pruned_search_equals_scoring_every_passage(index: Index) -> None:
    rng = random.Random(21)
    np_rng = np.random.default_rng(22)
    factors = [
        None,
        1 + 0.5 * np_rng.random(index.n_passages),
        1 + np_rng.integers(0, 3, index.n_passages) / 4,  # coarse: ties
        np_rng.random(index.n_passages) * (np_rng.random(index.n_passages) > 0.3) * 5,  # zeros
    ]
    filters = [Filters(), Filters(), Filters(source="ledger"), Filters(since=date(2024, 6, 1))]
    for n in range(600):
        query = _query(index, rng)
        k = rng.choice([1, 2, 3, 6, 10, 25, 400])  # 400: more than match
        per_article, factor, f = rng.choice([0, 1, 2]), factors[n % 4], filters[n % 3 + (n % 5 == 0)]
        assert index.search(query, k, f, per_article, factor) == _reference(
            index, query, k, f, per_article, factor
        ), (query, k, per_article, n % 4, f)


def test_segments_shared_with_a_second_thread_give_the_same_results(
    index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big searches add up half the segments in another thread (`rough._share`): every search
    here is made to, and still equals scoring every passage."""
    threads: set[str] = set()
    share = rough._share

    def watched(add: Callable[[list[int]], float], sizes: list[int]) -> float:
        def noted(which: list[int]) -> float:
            threads.add(threading.current_thread().name)
            return add(which)

        return share(noted, sizes)

    monkeypatch.setattr(rough, "SHARED_POSTINGS", 0)
    monkeypatch.setattr(rough, "SHARED_VALUES", 0)
    monkeypatch.setattr(rough, "_share", watched)
    monkeypatch.setattr(rough, "_cores", lambda: 2)
    rng = random.Random(31)
    factor = 1 + 0.5 * np.random.default_rng(32).random(index.n_passages)
    for n in range(200):
        query = _query(index, rng)
        k, per_article = rng.choice([1, 6, 10, 400]), rng.choice([0, 1])
        chosen = None if n % 2 else factor
        assert index.search(query, k, Filters(), per_article, chosen) == _reference(
            index, query, k, Filters(), per_article, chosen
        )
    assert len(threads) == 2  # the segments were split between this thread and the helper


def test_the_answer_paths_k_with_ties_is_exact(index: Index) -> None:
    """k = 6, one passage per article, a recency-like prior: what `answers.answer` asks for."""
    days = np.asarray(index.passage_day, dtype=np.int64)
    factor = 1 + 0.5 * np.exp(-np.maximum(days.max() - days, 0) / 30.0)
    factor.flags.writeable = False  # as the answers' prior: the search keeps its largest value
    rng = random.Random(3)
    for _ in range(150):
        query = _query(index, rng)
        assert index.search(query, 6, Filters(), 1, factor) == _reference(
            index, query, 6, Filters(), 1, factor
        )


def test_a_factor_changed_between_searches_is_read_again(index: Index) -> None:
    """The search keeps a factor's largest value only for an array that cannot change."""
    factor = np.ones(index.n_passages)
    query = index.term_ids(COMMON[:3] + MIDDLE[:2])
    assert index.search(query, 5, Filters(), 1, factor) == _reference(index, query, 5, Filters(), 1, factor)
    scores = index.scores(query)
    low = (scores > 0) & (scores < np.median(scores[scores > 0]))
    factor[low] = 40.0  # now the best: with the old largest value, they would be under the bar
    assert index.search(query, 5, Filters(), 1, factor) == _reference(index, query, 5, Filters(), 1, factor)
    kept = factor.copy()
    kept.flags.writeable = False
    assert index.search(query, 5, Filters(), 1, kept) == _reference(index, query, 5, Filters(), 1, kept)


def test_filters_of_some_passages_are_those_of_all_there(index: Index) -> None:
    rng = np.random.default_rng(5)
    some = np.sort(rng.choice(index.n_passages, 80, replace=False))
    for f in [Filters(), Filters(source="ledger"), Filters(since=date(2024, 6, 1), until=date(2024, 9, 30))]:
        np.testing.assert_array_equal(index.filter_mask(f, some), index.filter_mask(f)[some])
