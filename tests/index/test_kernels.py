"""The compiled loops of the search against the plain decoding of `Compact`."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from newsbot.index import bm25, kernels
from newsbot.index.bm25 import by_term, offsets
from newsbot.index.compact import Compact
from newsbot.index.kernels import add_postings, find_postings


def _compact() -> tuple[Compact, list[np.ndarray]]:
    """Three terms: small gaps, gaps of 256 and more, gaps of 65536 and more (and a first
    passage far from 0), so every branch of the gap coding is read."""
    passages = [
        np.array([0, 1, 2, 5, 9]),
        np.array([3, 300, 301, 1000, 70_000]),
        np.array([66_000, 66_001, 200_000, 200_255, 400_000]),
    ]
    indptr = np.zeros(4, dtype=np.int64)
    indptr[1:] = np.cumsum([len(p) for p in passages])
    docs = np.concatenate(passages).astype(np.int32)
    return Compact.encode(indptr, docs, np.ones(len(docs), dtype=np.uint16)), passages


def test_add_postings_decodes_every_gap_and_adds_each_terms_weight() -> None:
    compact, passages = _compact()
    start = 7  # the segment's first passage, index-wide
    level = np.arange(1, 16, dtype=np.uint8)  # per posting
    terms = np.array([2, 0, 1], dtype=np.int64)  # any order, as the query has them
    times = np.array([1, 2, 1], dtype=np.float32)  # how often the query has each
    step = np.array([2.0, 0.25, 0.5], dtype=np.float32)  # per term id
    after = np.zeros(start + 400_001 + 1, dtype=np.float32)
    docs = np.empty(sum(len(p) for p in passages), dtype=np.int32)
    high = add_postings(
        after, docs, start, terms, times, step, compact.indptr[terms], compact.indptr, compact.at16,
        compact.at32, compact.gaps, compact.gaps16, compact.gaps32, level,
    )  # fmt: skip

    assert docs.tolist() == np.concatenate([passages[t] + start + 1 for t in terms]).tolist()
    expected = np.zeros_like(after)
    for term, repeat in zip(terms, times, strict=True):
        first = int(compact.indptr[term])
        for i, passage in enumerate(passages[term]):
            expected[passage + start + 1] += np.float32(level[first + i]) * (step[term] * repeat)
    assert np.array_equal(after, expected)
    assert high == expected.max() > 0


def test_find_postings_finds_each_wanted_passage_in_each_part() -> None:
    docs = np.array([1, 4, 9, 2, 4, 8, 9, 100], dtype=np.int32)
    starts = np.array([0, 3, 7, 8], dtype=np.int64)  # parts [1, 4, 9], [2, 4, 8, 9], [100]
    wanted = np.array([4, 9, 50], dtype=np.int64)
    part, col, at = (np.empty(9, dtype=np.int64) for _ in range(3))
    hits = find_postings(docs, starts, wanted, part, col, at)

    found = list(zip(part[:hits].tolist(), col[:hits].tolist(), at[:hits].tolist(), strict=True))
    assert found == [(0, 0, 1), (0, 1, 2), (1, 0, 1), (1, 1, 3)]


def test_a_function_whose_compiled_code_cannot_be_kept_is_still_compiled() -> None:
    """Code from nowhere numba can keep a cache for (here: no file at all) compiles per process."""
    namespace: dict[str, Any] = {}
    exec("def twice(x):\n    return 2 * x\n", namespace)
    assert kernels._compiled(namespace["twice"])(21) == 42


@pytest.mark.parametrize("halves", [False, True])  # numpy's sort: in one go, or halves merged
@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_by_term_is_numpys_stable_sort_by_term(
    seed: int, compiled: bool, halves: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if halves:
        monkeypatch.setattr(bm25, "_SORT_IN_TWO", 2)
        monkeypatch.setattr(bm25, "cores", lambda: 2)
    rng = np.random.default_rng(seed)
    per = rng.integers(0, 30, 200)  # passages of 0 to 29 terms; term ids repeat across them
    passages = offsets(per)
    terms = rng.integers(0, 50, int(passages[-1])).astype(np.int32)
    postings = offsets(np.bincount(terms, minlength=60))  # terms 50-59: no postings
    order, docs = by_term(terms, passages, postings, compiled)
    expected = np.argsort(terms, kind="stable")
    np.testing.assert_array_equal(order, expected)
    np.testing.assert_array_equal(docs, np.repeat(np.arange(len(per)), per)[expected])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_postings_placed_from_their_batches_ranks_are_in_the_sorts_order(seed: int) -> None:
    """The analysis ranks each batch's postings among their term's (`ranked`): placed from
    those, without a sort, they are in the order of the sort, empty passages anywhere."""
    rng = np.random.default_rng(seed)
    per = rng.integers(0, 30, 300)
    per[[0, 1, 150, 298, 299]] = 0  # passages without terms at batches' ends too
    passages = offsets(per)
    terms = rng.integers(0, 50, int(passages[-1])).astype(np.int32)
    postings = offsets(np.bincount(terms, minlength=60))
    cuts = [0, *sorted(rng.choice(np.arange(1, 300), 7, replace=False).tolist()), 300]
    ranked = []
    for first, end in itertools.pairwise(cuts):
        seen: dict[int, int] = {}
        ranks = []
        for term in terms[passages[first] : passages[end]].tolist():
            ranks.append(seen.get(term, 0))
            seen[term] = ranks[-1] + 1
        ranked.append((end - first, np.array(ranks, dtype=np.uint16)))
    order, docs = by_term(terms, passages, postings, compiled=False, ranked=tuple(ranked))
    expected = np.argsort(terms, kind="stable")
    np.testing.assert_array_equal(order, expected)
    np.testing.assert_array_equal(docs, np.repeat(np.arange(len(per)), per)[expected])
