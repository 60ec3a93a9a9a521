"""Reindexing by segments: after any series of changes the index is exactly rank-bm25 over its live
passages, a small change writes a small segment, and compaction keeps the segments few."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

import newsbot.index.merge as assemble
from newsbot.index import firstseen
from newsbot.index.build import build_index
from newsbot.index.store import Index
from newsbot.records import Filters
from newsbot.text.analyzer import Analyzer
from tests.index.test_search import _reference

WORDS = [f"w{i}" for i in range(120)] + ["harbour", "strike", "volcano", "court"]


def _write(root: Path, i: int, rng: random.Random, edit: int = 0) -> None:
    # Every passage has "said" in it: its idf is negative, so rank-bm25's average idf (summed in
    # the order words are first seen) matters, and so does the order of passages.
    paragraphs = [
        " ".join(rng.choice(WORDS[: rng.randint(4, len(WORDS))]) for _ in range(rng.randint(3, 60)))
        for _ in range(rng.randint(1, 3))
    ]
    text = "\n\n".join(f"said {p}" for p in paragraphs)
    row = {
        "id": f"a{i}",
        "title": f"{rng.choice(WORDS)} {rng.choice(WORDS)} {edit}",
        "text": text,
        "date": f"2024-{i % 12 + 1:02d}-0{1 + edit % 9}",
        "source": rng.choice(["Herald", "Post"]),
    }
    (root / f"{i:03d}.json").write_text(json.dumps(row))


def _corpus(tmp_path: Path, n: int, seed: int = 1) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    rng = random.Random(seed)
    for i in range(n):
        _write(root, i, rng)
    return root


def _tokens(index: Index) -> tuple[list[int], list[list[str]]]:
    """The live passages, in index order, as rank-bm25 would be given them."""
    passages, docs = [], []
    forwards = [s.unpacked() for s in index.segments]  # a saved one: inflated, counts from postings
    for p in range(index.n_passages):
        if index.passage_article[p] < 0:
            continue
        n = max(i for i, s in enumerate(index.segments) if s.start <= p)
        forward, local = forwards[n], p - index.segments[n].start
        lo, hi = int(forward.indptr[local]), int(forward.indptr[local + 1])
        passages.append(p)
        counted = zip(forward.terms[lo:hi].tolist(), forward.counts[lo:hi].tolist(), strict=True)
        docs.append([index.terms[t] for t, n in counted for _ in range(n)])
    return passages, docs


def assert_exact(index: Index, rng: random.Random) -> None:
    """Scores equal rank-bm25's over the live passages; search equals scoring them all."""
    passages, docs = _tokens(index)
    reference = BM25Okapi(docs, k1=index.params.k1, b=index.params.b, epsilon=index.params.epsilon)
    assert index.n_live == len(docs) and np.array_equal(np.flatnonzero(index.passage_article < 0), index.dead)
    for i, article in enumerate(index.articles):  # each article's passages: its own, in order
        span = slice(int(index.article_start[i]), int(index.article_end[i]))
        assert list(index.passage_article[span]) == [i] * (span.stop - span.start) and span.stop > span.start
        assert list(index.passage_position[span]) == list(range(span.stop - span.start))
        # The title's words count in every passage of its article.
        title = set(index.term_ids(Analyzer().terms(article.title)))
        assert title <= set(index.passage_terms(span.start).tolist())
    for _ in range(30):
        query = [rng.choice([*WORDS, "said", "nowhere"]) for _ in range(rng.randint(1, 6))]
        ids = index.term_ids(query)
        scores = index.scores(ids)
        np.testing.assert_array_equal(scores[passages], reference.get_scores(query))
        k, per_article = rng.randint(1, 8), rng.choice([0, 1, 2])
        filters = Filters(source="post") if rng.random() < 0.3 else Filters()
        assert index.search(ids, k, filters, per_article) == _reference(index, ids, k, filters, per_article)


def test_changes_make_segments_and_stay_exact(tmp_path: Path) -> None:
    root = _corpus(tmp_path, 60)
    rng = random.Random(2)
    index, _ = build_index(root, Analyzer(), target_words=30)
    index.save(tmp_path / "index")
    assert len(index.segments) == 1 and not len(index.dead)
    for step in range(1, 7):
        # Edited (the first article too: the words first seen there are now first seen elsewhere).
        for i in rng.sample(range(1, 60), 2) + [0] * (step == 1):
            _write(root, i, rng, edit=step)
        _write(root, 60 + step, rng)  # added
        (root / f"{rng.choice(range(60)):03d}.json").unlink(missing_ok=True)  # removed
        previous = Index.load(tmp_path / "index")
        assert previous is not None
        index, report = build_index(root, Analyzer(), previous=previous, target_words=30)
        assert report.added >= 1 and report.updated + report.removed >= 2
        # One more segment, the older ones kept as they are; past the limit, all but the first merged.
        merged = len(previous.segments) >= assemble.MAX_SEGMENTS
        assert len(index.segments) == (2 if merged else len(previous.segments) + 1)
        assert all(old is new for old, new in zip(previous.segments, index.segments[:-1], strict=False))
        assert_exact(index, rng)
        index.save(tmp_path / "index")
        loaded = Index.load(tmp_path / "index")
        assert loaded is not None
        assert_exact(loaded, random.Random(step))


@pytest.mark.parametrize(("saved", "few"), [(False, 16), (True, 16), (True, 1)])
def test_terms_are_summed_in_the_order_rank_bm25_first_meets_them(
    tmp_path: Path, saved: bool, few: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Many distinct rare words, edited articles early in the corpus: terms first seen in dead
    # passages must be ordered by their first live passage, and within it by position. `few`
    # postings are decoded first; 1: every such term's first live passage is past them.
    monkeypatch.setattr(firstseen, "_FIRST_FEW", few)
    root = _corpus(tmp_path, 40, seed=5)
    rng = random.Random(11)
    for i in range(40):
        extra = " ".join(f"r{rng.randint(0, 300)}" for _ in range(rng.randint(5, 40)))
        row = json.loads((root / f"{i:03d}.json").read_text())
        (root / f"{i:03d}.json").write_text(json.dumps({**row, "text": f"{row['text']}\n\nsaid {extra}"}))
    index = build_index(root, Analyzer(), target_words=30)[0]
    # The last step only adds articles: the dead passages stay, and so does what was found for them.
    for step, edited in enumerate(([0, 1, 2, 7], [3, 4], [0, 12, 30], [40, 41])):
        if saved:
            index = index.save(tmp_path / "index")
        for i in edited:
            _write(root, i, rng, edit=step + 1)
        index = build_index(root, Analyzer(), previous=index, target_words=30)[0]
        _, docs = _tokens(index)
        met = list(dict.fromkeys(t for doc in docs for t in doc))  # rank-bm25's order of words
        keys = firstseen.first_seen(list(index.segments), index.dead, len(index.terms))
        present = np.flatnonzero(index.df)
        order = present[np.argsort(keys[present], kind="stable")]
        assert [index.vocab[t] for t in met] == order.tolist()
        assert (keys == _first_positions(index)).all()
        assert len(index.dead)
        firstseen._FIRST_LIVE.clear()  # worked out again, not remembered: the same
        assert (firstseen.first_seen(list(index.segments), index.dead, len(index.terms)) == keys).all()


def _first_positions(index: Index) -> np.ndarray:
    """Each term's first position among the live passages' terms, segment after segment (every
    passage's terms counted in the positions), found the plain way."""
    first = np.full(len(index.terms), np.iinfo(np.int64).max, dtype=np.int64)
    offset = 0
    for segment in index.segments:
        n = segment.n_passages
        terms = segment.terms_of(np.arange(n))
        live = np.ones(n, dtype=bool)
        live[index.dead[(index.dead >= segment.start) & (index.dead < segment.end)] - segment.start] = False
        sizes = np.diff(np.asarray(segment.forward.indptr))
        at = np.flatnonzero(np.repeat(live, sizes))
        seen, where = np.unique(terms[at], return_index=True)
        new = first[seen] == np.iinfo(np.int64).max
        first[seen[new]] = offset + at[where[new]]
        offset += len(terms)
    return first


def test_segment_files_are_shared_not_rewritten(tmp_path: Path) -> None:
    root = _corpus(tmp_path, 30)
    first, _ = build_index(root, Analyzer(), target_words=30)
    old = tmp_path / "index" / first.save(tmp_path / "index", keep=1).version
    _write(root, 3, random.Random(5), edit=1)
    previous = Index.load(tmp_path / "index")
    assert previous is not None
    second, report = build_index(root, Analyzer(), previous=previous, target_words=30)
    assert (report.updated, report.unchanged) == (1, 29)
    new = tmp_path / "index" / second.save(tmp_path / "index", keep=1).version
    base = first.segments[0].name
    for path in old.glob(f"{base}.*"):
        assert (new / path.name).stat().st_ino == path.stat().st_ino
    # What grows with the passages (per-term arrays span the whole vocabulary in every segment).
    grown = ("post_gaps.npy", "post_level.npy", "fwd.bin", "texts.bin")
    assert (
        sum((new / f"{second.segments[1].name}.{f}").stat().st_size for f in grown)
        < sum((old / f"{base}.{f}").stat().st_size for f in grown) / 5
    )


@pytest.mark.parametrize("saved", [False, True])
def test_many_dead_passages_compact_into_one_segment(tmp_path: Path, saved: bool) -> None:
    root = _corpus(tmp_path, 40)
    rng = random.Random(3)
    index, _ = build_index(root, Analyzer(), target_words=30)
    if saved:  # its forward index then comes back from the compressed blocks and the postings
        index = index.save(tmp_path / "index")
    for i in range(12):  # 30% of the articles change
        _write(root, i, rng, edit=1)
    index, _ = build_index(root, Analyzer(), previous=index, target_words=30)
    assert len(index.segments) == 1 and not len(index.dead)
    assert_exact(index, rng)


def test_too_many_segments_merge_all_but_the_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assemble, "MAX_SEGMENTS", 3)
    root = _corpus(tmp_path, 50)
    rng = random.Random(4)
    index, _ = build_index(root, Analyzer(), target_words=30)
    base = index.segments[0]
    counts = []
    for step in range(1, 5):
        _write(root, step, rng, edit=step)
        index, _ = build_index(root, Analyzer(), previous=index, target_words=30)
        counts.append(len(index.segments))
        assert index.segments[0] is base
        assert_exact(index, rng)
    assert counts == [2, 3, 2, 3]


def test_removing_everything_leaves_an_empty_index(tmp_path: Path) -> None:
    root = _corpus(tmp_path, 5)
    index, _ = build_index(root, Analyzer(), target_words=30)
    for path in root.iterdir():
        path.unlink()
    index, report = build_index(root, Analyzer(), previous=index, target_words=30)
    assert report.removed == 5 and index.n_live == 0 and not index.articles
    assert index.search(index.term_ids(["said"]), 3) == []


def test_builds_chained_through_saves_survive_their_pruning(tmp_path: Path) -> None:
    # Load once, then build and save again and again, going on from what each save returns: each
    # save prunes the folders the built index was assembled from.
    root = _corpus(tmp_path, 30)
    rng = random.Random(6)
    build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    index = Index.load(tmp_path / "index")
    assert index is not None
    for step in range(1, 5):
        _write(root, step, rng, edit=step)
        index, _ = build_index(root, Analyzer(), previous=index, target_words=30)
        index = index.save(tmp_path / "index", keep=step % 2)
        assert all(s.folder == tmp_path / "index" / index.version for s in index.segments)
        assert index.passage_text(int(index.article_start[0]))
        assert_exact(index, rng)
    assert len([p for p in (tmp_path / "index").iterdir() if p.is_dir()]) <= 2


def test_every_build_has_its_own_version(tmp_path: Path) -> None:
    root = _corpus(tmp_path, 5)
    first, _ = build_index(root, Analyzer(), target_words=30)
    second, _ = build_index(root, Analyzer(), previous=first, target_words=30)  # nothing changed
    assert first.version != second.version  # caches (the recency prior) key on it
