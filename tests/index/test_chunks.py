"""A cold build in chunks: a segment of every few passages, scores exactly rank-bm25's."""

from __future__ import annotations

import gc
import random
import tempfile
from pathlib import Path

import numpy as np
import pytest

import newsbot.index.merge as merge
from newsbot.index.build import build_index
from newsbot.index.store import Index
from newsbot.text.analyzer import Analyzer
from tests.index.test_merge import WORDS, _corpus, _write, assert_exact


def _queries(rng: random.Random) -> list[list[str]]:
    return [[rng.choice([*WORDS, "said", "nowhere"]) for _ in range(rng.randint(1, 6))] for _ in range(40)]


def test_a_chunked_build_scores_as_one_segment_and_as_rank_bm25(tmp_path: Path) -> None:
    root = _corpus(tmp_path, 40)
    whole, _ = build_index(root, Analyzer(), target_words=30, chunk_passages=None)
    # In two worker processes: the texts are read back from the scratch file batch by batch.
    chunked, report = build_index(root, Analyzer(), target_words=30, chunk_passages=7, workers=2)
    assert len(whole.segments) == 1 and len(chunked.segments) > 2
    # Chunks of at least 7 passages (whole batches of articles), one after another, all saved.
    assert all(s.n_passages >= 7 and s.folder is not None for s in chunked.segments[:-1])
    assert [s.start for s in chunked.segments[1:]] == [s.end for s in chunked.segments[:-1]]
    assert report.passages == whole.n_live == chunked.n_live
    assert list(chunked.terms) == list(whole.terms)
    np.testing.assert_array_equal(chunked.df, whole.df)
    np.testing.assert_array_equal(chunked.idf, whole.idf)  # rank-bm25's first-seen order kept
    rng = random.Random(3)
    for query in _queries(rng):
        ids = whole.term_ids(query)
        np.testing.assert_array_equal(chunked.scores(ids), whole.scores(ids))
        assert chunked.search(ids, 10, per_article=0) == whole.search(ids, 10, per_article=0)
    assert_exact(chunked, random.Random(4))
    saved = chunked.save(tmp_path / "index")
    assert len(saved.segments) == len(chunked.segments)
    assert_exact(saved, random.Random(5))


def test_chunks_are_kept_by_later_builds_and_stay_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _corpus(tmp_path, 40)
    index, _ = build_index(root, Analyzer(), target_words=30, chunk_passages=7)
    index = index.save(tmp_path / "index")
    chunks = len(index.segments) - 1
    big = min(s.n_passages for s in index.segments[:chunks])
    monkeypatch.setattr(merge, "BIG", big)  # the chunks count as big: never rewritten
    rng = random.Random(6)
    for step in range(1, 6):
        for i in rng.sample(range(40), 2):
            _write(root, i, rng, edit=step)
        previous = Index.load(tmp_path / "index")
        assert previous is not None
        index, _ = build_index(root, Analyzer(), previous=previous, target_words=30, chunk_passages=7)
        # The chunks are kept as they were, their changed passages dead; only smaller ones merge.
        assert [s.name for s in index.segments[:chunks]] == [s.name for s in previous.segments[:chunks]]
        last_big = max(n for n, s in enumerate(index.segments) if s.n_passages >= big)
        assert len(index.segments) - last_big - 1 <= merge.MAX_SEGMENTS
        assert_exact(index, rng)
        index = index.save(tmp_path / "index")


def test_a_chunked_build_leaves_no_scratch_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR read again
    root = _corpus(tmp_path, 20)
    index, _ = build_index(root, Analyzer(), target_words=30, chunk_passages=7)
    assert list((tmp_path / "scratch").iterdir())  # the chunks, until the index is saved
    index.save(tmp_path / "index")
    del index
    gc.collect()
    assert not list((tmp_path / "scratch").iterdir())
    assert Index.load(tmp_path / "index") is not None
