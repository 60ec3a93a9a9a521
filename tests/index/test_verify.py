"""`verify`: the live index against rank-bm25 itself, on passages analysed again from their texts."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np

from newsbot.index.build import build_index
from newsbot.index.verify import TOP, passage_terms, sample_queries, verify
from newsbot.text.analyzer import Analyzer
from tests.index.test_merge import _corpus, _tokens, _write


def test_sampled_queries_are_identical_to_rank_bm25(tmp_path: Path) -> None:
    root = _corpus(tmp_path, 40)
    index, _ = build_index(root, Analyzer(), target_words=30)
    parity = verify(index, Analyzer(), 25, seed=3)
    assert (parity.queries, parity.identical, parity.mismatches) == (25, 25, ())
    assert parity.ok and parity.summary().startswith("25/25 queries identical")


def test_after_changes_the_live_passages_still_agree(tmp_path: Path) -> None:
    root = _corpus(tmp_path, 40)
    index, _ = build_index(root, Analyzer(), target_words=30)
    rng = random.Random(8)
    for i in (0, 3, 17):  # edited: their old passages die, new ones go to a second segment
        _write(root, i, rng, edit=1)
    index, _ = build_index(root, Analyzer(), previous=index, target_words=30)
    assert len(index.dead) and len(index.segments) == 2
    assert verify(index, Analyzer(), 20, seed=4).ok


def test_reanalysed_passages_are_the_indexed_ones(tmp_path: Path) -> None:
    index, _ = build_index(_corpus(tmp_path, 10), Analyzer(), target_words=30)
    passages, docs = _tokens(index)
    for passage, doc in zip(passages, docs, strict=True):
        assert sorted(passage_terms(index, Analyzer(), passage)) == sorted(doc)


def test_queries_are_seeded_runs_of_passage_terms(tmp_path: Path) -> None:
    index, _ = build_index(_corpus(tmp_path, 10), Analyzer(), target_words=30)
    queries = sample_queries(index, Analyzer(), 12, seed=1)
    assert (
        queries
        == sample_queries(index, Analyzer(), 12, seed=1)
        != sample_queries(index, Analyzer(), 12, seed=2)
    )
    assert len(queries) == 12 and all(2 <= len(q) <= 5 for q in queries)
    assert all(index.term_ids(q) for q in queries)


def test_a_damaged_weight_is_a_mismatch(tmp_path: Path) -> None:
    index, _ = build_index(_corpus(tmp_path, 20), Analyzer(), target_words=30)
    # Passage 4's norm (so every weight in it) off by a little: its scores move.
    norm = np.array(index.norm)
    norm[4] *= 1.001
    damaged = replace(index, norm=norm)
    query = passage_terms(index, Analyzer(), 4)[:3]
    assert verify(index, Analyzer(), 0, queries=[query]).ok
    parity = verify(damaged, Analyzer(), 0, queries=[query, ["nowhere"]])
    assert (parity.queries, parity.identical, parity.ok) == (2, 1, False)
    assert "rank-bm25 has" in parity.mismatches[0] and len(damaged.search(damaged.term_ids(query), TOP)) > 0


def test_stems_are_computed_again_not_taken_from_the_index(tmp_path: Path) -> None:
    index, _ = build_index(_corpus(tmp_path, 10), Analyzer(), target_words=30)
    query = passage_terms(index, Analyzer(), 0)[:2]
    made_up = {token: f"x{stem}" for token, stem in index.stems.items()}  # would match nothing
    assert verify(index, Analyzer().knowing(made_up), 0, queries=[query]).ok
