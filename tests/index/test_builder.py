"""The builder keeps the ranks the compiled analysis gives each batch, so that a segment's
postings are placed rather than sorted, and only when every batch of the segment has them."""

from __future__ import annotations

import dataclasses

import numpy as np

from newsbot.index.bm25 import Forward, invert
from newsbot.index.builder import Builder
from newsbot.index.workers import Analysed, _Analysis
from newsbot.text.analyzer import Analyzer
from tests.index.test_workers import TRICKY


def _batches(compiled: bool) -> list[Analysed]:
    analysis = _Analysis(Analyzer(), 12, compiled=compiled)
    return [analysis.run(batch) for batch in (TRICKY[:4], TRICKY[4:], TRICKY)]


def _forward(batches: list[Analysed]) -> Forward:
    builder = Builder(base={}, base_size=0)
    for batch in batches:
        builder.add(batch)
    return builder.take([]).forward


def _inverted_arrays(forward: Forward) -> list[np.ndarray]:
    inverted = invert(forward, 200, np.ones(forward.n_docs), 1.2)
    compact = inverted.postings
    return [inverted.level, inverted.first, compact.indptr, compact.gaps, compact.tf4, compact.big_at]


def test_each_batchs_ranks_are_kept_with_its_passages() -> None:
    batches = _batches(compiled=True)
    forward = _forward(batches)
    assert forward.ranked is not None
    assert [n for n, _ in forward.ranked] == [len(b.lengths) for b in batches]
    for (_, ranks), batch in zip(forward.ranked, batches, strict=True):
        assert batch.ranks is not None and ranks.tolist() == batch.ranks.tolist()


def test_one_batch_without_ranks_leaves_the_segment_to_the_sort() -> None:
    batches = _batches(compiled=True)
    batches[1] = dataclasses.replace(batches[1], ranks=None)
    assert _forward(batches).ranked is None
    assert _forward(_batches(compiled=False)).ranked is None


def test_postings_placed_from_the_ranks_are_the_sorted_ones() -> None:
    forward = _forward(_batches(compiled=True))
    placed = _inverted_arrays(forward)
    sorted_ = _inverted_arrays(dataclasses.replace(forward, ranked=None))
    for a, b in zip(placed, sorted_, strict=True):
        np.testing.assert_array_equal(a, b)
