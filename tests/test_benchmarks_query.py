"""`benchmarks.query`: re-times a saved index and checks its results against scoring every passage."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import query
from newsbot.index.build import build_index
from newsbot.text.analyzer import Analyzer
from tests.test_benchmarks import write_fixture


def test_requery_a_saved_index_and_check_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    articles, questions = write_fixture(tmp_path)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "articles.jsonl.gz").write_bytes(articles.read_bytes())
    index, _ = build_index(corpus, Analyzer(), target_words=30, chunk_passages=40)
    index.save(tmp_path / "index")
    query.main([str(tmp_path / "index"), "--questions", str(questions), "--check"])
    out = capsys.readouterr().out
    assert f"{len(index.segments)} segments, 8 questions" in out and len(index.segments) > 1
    for mode in ("bench", "answer"):
        assert f"{mode}: p50 " in out
        assert f"{mode}: 0 of 8 results differ from scoring every passage" in out
