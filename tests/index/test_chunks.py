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
from newsbot.index.chunks import TextSpill, entry
from newsbot.index.store import Index
from newsbot.index.workers import analysed
from newsbot.records import Article
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


def test_the_text_spill_gives_back_each_articles_title_and_text_by_its_place() -> None:
    spill = TextSpill()
    try:
        first = Article(
            id="a", title="Σίσυφος — “quoted”", text="Line one.\n\nΣ two \ud800 lone", content_hash="ab12"
        )
        second = Article(id="b", title="", text="x" * 70_000, content_hash="cd34")
        copy = Article(id="c", title="other title", text="same text, same hash", content_hash="ab12")
        kept = [spill.put(a) for a in (first, second, copy)]
        assert [a.text for a in kept] == ["", "", ""]  # held by the spill, not the article
        fd = spill.written()
        assert entry(fd, *spill.place(first)) == (first.title, first.text)
        assert entry(fd, *spill.place(second)) == ("", second.text)
        assert spill.place(copy) == spill.place(first)  # one entry a content hash
        assert spill.place(second)[1] == 4 + 70_000
    finally:
        spill.close()


def test_entries_past_4_gb_of_text_are_read_back_by_forked_workers() -> None:
    # A corpus of ~13 GB of text (the benchmark's 10M passages) puts entries past 2**32 bytes:
    # their places must not overflow on the way to the workers (they did, as one packed int64).
    # The file is made sparse: the first 5 GiB are a hole, not written.
    spill = TextSpill()
    try:
        spill.file.seek(5 << 30)
        spill.end = 5 << 30
        articles = [
            spill.put(
                Article(
                    id=f"a{n}",
                    title=f"Title {n}",
                    text=f"Words of article {n}. " * 40,
                    content_hash=f"{n:04x}",
                )
            )
            for n in range(12)
        ]
        assert spill.place(articles[-1])[0] > 1 << 32
        here = list(analysed(articles, Analyzer(), 30, 1, spill))
        forked = list(analysed(articles, Analyzer(), 30, 2, spill))
        assert len(forked) > 1  # several batches, in two processes
        assert b"".join(a.text for a in forked) == b"".join(a.text for a in here)
        assert b"".join(a.text for a in here).count(b"Words of article 11.") == 40
    finally:
        spill.close()
