import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from newsbot.errors import NewsbotError
from newsbot.index.bm25 import BM25Params
from newsbot.index.build import build_index
from newsbot.index.fingerprint import fingerprint
from newsbot.index.store import Index
from newsbot.text.analyzer import Analyzer, default_analyzer
from newsbot.text.passages import TARGET_WORDS


def test_full_build_report(corpus_dir: Path) -> None:
    (corpus_dir / "junk.bin").write_bytes(b"\x00\x01")
    (corpus_dir / "dup.txt").write_text(
        "Rail copy\nTrain drivers walked out over pay on Tuesday, "
        "halting services across the north.\n\nThe union said "
        "talks with the operator had failed. Commuters faced "
        "long delays."
    )
    index, report = build_index(corpus_dir, default_analyzer())
    assert report.articles == 4 and report.added == 4 and report.passages == index.n_passages
    assert {s.reason for s in report.skipped} == {
        "unsupported file type .bin",
        "duplicate text of article dup",
    }
    assert report.version == index.version and report.seconds >= 0


def test_incremental_reindex_reanalyses_only_changes(corpus_dir: Path) -> None:
    first, _ = build_index(corpus_dir, default_analyzer())
    (corpus_dir / "new.txt").write_text("Volcano erupts\nA volcano erupted near the village.")
    jsonl = corpus_dir / "wire.jsonl"
    lines = jsonl.read_text().replace("chess champ", "checkers champ").splitlines()
    jsonl.write_text(lines[0] + "\n" + lines[2] + "\n")  # one kept, one removed, one changed
    second, report = build_index(corpus_dir, default_analyzer(), previous=first)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 2)
    assert len(second.segments) == 2 and len(second.dead) > 0  # a new segment; replaced passages dead
    fresh, _ = build_index(corpus_dir, default_analyzer())
    # The same passages and scores as a from-scratch build: unchanged articles first, then the new
    # and changed ones (term ids and passage numbers may differ, scores may not).
    assert sorted(a.id for a in second.articles) == sorted(a.id for a in fresh.articles)
    assert [a.id for a in second.articles][-2:] == ["new", "chess-3"]  # in corpus order
    for query in (["volcano", "checker", "solar", "kadyrov"], ["harbour"], ["rail", "union"]):
        assert _scored(second, query) == _scored(fresh, query)


def _scored(index: Index, query: list[str]) -> dict[tuple[str, int], float]:
    """Each live passage's score, by its article's id and its number in the article."""
    scores = index.scores(index.term_ids(query))
    return {
        (index.article_of(p).id, int(index.passage_position[p])): float(scores[p])
        for p in range(index.n_passages)
        if index.passage_article[p] >= 0
    }


def test_unchanged_files_are_not_reread(corpus_dir: Path, monkeypatch) -> None:
    first, _ = build_index(corpus_dir, default_analyzer())
    read = []
    import newsbot.corpus.read as reading

    real = reading._read_file
    monkeypatch.setattr(reading, "_read_file", lambda p, *more: read.append(p.name) or real(p, *more))
    touched = corpus_dir / "wire.jsonl"
    os.utime(touched, ns=(time.time_ns(), time.time_ns() + 10**9))
    _, report = build_index(corpus_dir, default_analyzer(), previous=first)
    assert read == ["wire.jsonl"] and report.unchanged == 4


def test_excluded_ids_are_dropped(corpus_dir: Path) -> None:
    index, report = build_index(corpus_dir, default_analyzer(), exclude={"rail-2"})
    assert "rail-2" not in {a.id for a in index.articles} and report.articles == 3


def test_a_moved_file_is_cited_at_its_new_path(tmp_path: Path) -> None:
    row = {"id": "fixed", "title": "Harbour strike", "text": "Dockers walked out at the harbour."}
    (tmp_path / "x.json").write_text(json.dumps(row))
    first, _ = build_index(tmp_path, default_analyzer())
    (tmp_path / "sub").mkdir()
    (tmp_path / "x.json").rename(tmp_path / "sub" / "x.json")
    second, report = build_index(tmp_path, default_analyzer(), previous=first)
    assert report.unchanged == 1 and [a.path for a in second.articles] == ["sub/x.json"]


def test_a_renamed_duplicate_id_survives_a_reindex_with_no_change(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"id": "x", "title": "One", "text": "Harbour strike today."}))
    (tmp_path / "b.json").write_text(json.dumps({"id": "x", "title": "Two", "text": "Volcano erupts again."}))
    first, _ = build_index(tmp_path, default_analyzer())
    second, _ = build_index(tmp_path, default_analyzer(), previous=first)
    assert sorted((a.id, a.title) for a in second.articles) == [("x", "One"), ("x~2", "Two")]


def test_an_analysis_change_reanalyses_everything(corpus_dir: Path) -> None:
    first, _ = build_index(corpus_dir, default_analyzer())
    changed = Analyzer(stopwords=default_analyzer().stopwords - {"who"})
    second, report = build_index(corpus_dir, changed, previous=first)
    assert (report.unchanged, report.added + report.updated, report.removed) == (0, 4, 0)
    assert report.full_because == "the analysis changed (stopwords)"
    assert second.term_ids(["who"]) and not first.term_ids(["who"])
    assert second.analysis["stopwords"] != first.analysis["stopwords"]
    # Nothing of the old analysis is left: the index is the one a fresh build makes.
    fresh, _ = build_index(corpus_dir, changed)
    assert list(second.terms) == list(fresh.terms) and second.analysis == fresh.analysis
    _, again = build_index(corpus_dir, changed, previous=second)
    assert (again.unchanged, again.full_because) == (4, "")


@pytest.mark.parametrize(
    ("option", "named"),
    [({"target_words": 25}, "passage_words"), ({"params": BM25Params(k1=1.5)}, "bm25")],
)
def test_other_passages_or_bm25_parameters_reanalyse_everything(
    corpus_dir: Path, option: dict[str, Any], named: str
) -> None:
    first, _ = build_index(corpus_dir, default_analyzer())
    _, report = build_index(corpus_dir, default_analyzer(), previous=first, **option)
    assert report.unchanged == 0 and named in report.full_because


def test_the_analysis_is_saved_with_the_index(corpus_dir: Path, tmp_path: Path) -> None:
    index, _ = build_index(corpus_dir, default_analyzer())
    loaded = index.save(tmp_path / "idx")
    assert loaded.analysis == fingerprint(default_analyzer(), TARGET_WORDS, BM25Params())
    assert set(loaded.analysis) >= {
        "format",
        "stemmer",
        "stopwords",
        "abbreviations",
        "token_pattern",
        "max_token_length",
        "passage_words",
        "bm25",
    }
    assert "nltk" in loaded.analysis["stemmer"]


def test_a_segment_too_big_for_its_postings_is_a_clear_error(
    corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("newsbot.index.bm25._MAX_PASSAGES", 3)  # the real limit is 2**25 passages
    with pytest.raises(NewsbotError, match="at most 2 passages fit in 32-bit postings"):
        build_index(corpus_dir, default_analyzer())


def test_a_scan_parses_no_saved_article(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What deciding needs (ids, paths, content and text keys) is in the keys file; the articles of
    # unchanged files are carried by number: parsing 26k saved articles cost a reindex 0.25 s.
    from newsbot.index.catalog import Articles

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(6):
        text = f"Harbour story {i}: dockers walked out, talks number {i} failed."
        (corpus / f"{i}.json").write_text(json.dumps({"id": f"s{i}", "title": f"Strike {i}", "text": text}))
    previous = build_index(corpus, default_analyzer())[0].save(tmp_path / "index")
    (corpus / "2.json").write_text(json.dumps({"id": "s2", "title": "Strike 2", "text": "Volcano erupts."}))
    (corpus / "4.json").unlink()
    (corpus / "9.json").write_text(
        json.dumps(
            {
                "id": "s9",
                "title": "Copy",
                "text": "Harbour story 1: dockers walked out, talks number 1 failed.",
            }
        )
    )

    def parsed(*args: Any) -> Any:
        raise AssertionError("a saved article was parsed")

    monkeypatch.setattr(Articles, "__iter__", parsed)
    monkeypatch.setattr(Articles, "_item", parsed)
    index, report = build_index(corpus, default_analyzer(), previous=previous)
    monkeypatch.undo()
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 1, 4)
    assert "duplicate text of article s1" in {s.reason for s in report.skipped}
    fresh, _ = build_index(corpus, default_analyzer())
    assert sorted(a.id for a in index.articles) == sorted(a.id for a in fresh.articles)
    for query in (["volcano"], ["harbour", "talk"], ["strike", "2"]):
        assert _scored(index, query) == _scored(fresh, query)


def test_an_unchanged_files_article_renamed_by_a_new_file_keeps_its_text(tmp_path: Path) -> None:
    # A new file listed before an unchanged one takes its article's id: that article becomes
    # `x~2`, a new article to analyse, whose text is read again from its unchanged file.
    (tmp_path / "b.json").write_text(json.dumps({"id": "x", "title": "Two", "text": "Volcano erupts again."}))
    first = build_index(tmp_path, default_analyzer())[0].save(tmp_path.parent / f"{tmp_path.name}-index")
    (tmp_path / "a.json").write_text(json.dumps({"id": "x", "title": "One", "text": "Harbour strike today."}))
    second, report = build_index(tmp_path, default_analyzer(), previous=first)
    fresh, _ = build_index(tmp_path, default_analyzer())
    assert sorted((a.id, a.title) for a in second.articles) == [("x", "One"), ("x~2", "Two")]
    assert report.added == 1 and report.updated == 1 and report.removed == 0
    for query in (["volcano"], ["harbour"], ["two", "one"]):
        assert _scored(second, query) == _scored(fresh, query)


def test_stem_tables_grow_by_the_new_words_alone(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.json").write_text(json.dumps({"id": "a", "title": "Harbour", "text": "Dockers walked out."}))
    first = build_index(corpus, default_analyzer())[0].save(tmp_path / "index")
    (corpus / "b.json").write_text(json.dumps({"id": "b", "title": "Volcanoes", "text": "Dockers erupted."}))
    second, _ = build_index(corpus, Analyzer().knowing(first.stems), previous=first)
    fresh, _ = build_index(corpus, Analyzer().knowing(first.stems))  # no previous: every stem kept
    stems = dict(second.stems.items())
    assert stems == dict(fresh.stems.items())
    assert {"harbour", "dockers", "walked", "volcanoes", "erupted"} <= set(stems)
    assert stems["volcanoes"] == "volcano" and stems["erupted"] == "erupt"
