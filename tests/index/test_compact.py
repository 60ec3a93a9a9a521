import numpy as np
import pytest

from newsbot.index.bm25 import offsets
from newsbot.index.compact import Compact


def _postings(seed: int) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Random terms' passages (ascending, gaps from 1 to past 65536) and counts (1 to past 255)."""
    rng = np.random.default_rng(seed)
    docs, counts = [], []
    for size in [0, 1, 3, 9, 0, 40, 300, 2, 0, 1000, 5]:
        gaps = rng.choice([1, 2, 200, 255, 256, 257, 60_000, 65_535, 65_536, 70_000, 1_000_000], size)
        docs.append((np.cumsum(gaps) - 1 + rng.integers(0, 2)).astype(np.int32))
        counts.append(rng.choice([1, 1, 1, 2, 7, 14, 15, 16, 255, 65535], size).astype(np.uint16))
    return offsets(np.array([len(d) for d in docs])), docs, counts


@pytest.mark.parametrize("seed", range(5))
def test_postings_read_back_as_written(seed: int) -> None:
    indptr, docs, counts = _postings(seed)
    compact = Compact.encode(indptr, np.concatenate(docs), np.concatenate(counts))
    assert compact.gaps.dtype == np.uint8 and len(compact.gaps) == indptr[-1]
    rng = np.random.default_rng(seed)
    for term, (d, c) in enumerate(zip(docs, counts, strict=True)):
        np.testing.assert_array_equal(compact.docs(term), d)
        np.testing.assert_array_equal(compact.counts(term), c)
        at = np.flatnonzero(rng.random(len(d)) < 0.3)
        np.testing.assert_array_equal(compact.counts_at(term, at), c[at])
        for first in (1, 3, 16, 2000):  # a prefix alone, its wide gaps included
            np.testing.assert_array_equal(compact.docs(term, first), d[:first])
    np.testing.assert_array_equal(compact.all_counts(), np.concatenate(counts))
    assert len(compact.docs(len(docs))) == 0  # a term numbered after the postings were made


@pytest.mark.parametrize("seed", range(5))
def test_the_starts_of_many_terms_are_each_ones_docs(seed: int) -> None:
    indptr, docs, counts = _postings(seed)
    compact = Compact.encode(indptr, np.concatenate(docs), np.concatenate(counts))
    rng = np.random.default_rng(seed)
    terms = rng.integers(0, len(docs) + 2, 40)  # repeats, and terms past the postings
    for first in (1, 3, 16, 2000):
        found, bounds = compact.starts(terms, first)
        assert len(bounds) == len(terms) + 1 and bounds[-1] == len(found)
        for n, term in enumerate(terms.tolist()):
            np.testing.assert_array_equal(found[bounds[n] : bounds[n + 1]], compact.docs(term, first))
    found, bounds = compact.starts(np.zeros(0, dtype=np.int64), 16)
    assert len(found) == 0 and bounds.tolist() == [0]


def test_most_postings_take_a_byte_and_a_half() -> None:
    docs = np.arange(0, 30_000, 3, dtype=np.int32)
    tf = np.ones(len(docs), dtype=np.uint16)
    tf[::10] = 2
    compact = Compact.encode(np.array([0, len(docs)]), docs, tf)
    stored = sum(getattr(compact, f).nbytes for f in ("gaps", "gaps16", "gaps32", "tf4", "big_at"))
    assert stored <= 1.5 * len(docs)
