from datetime import date
from pathlib import Path

import numpy as np
import pytest

from newsbot.index.build import build_index
from newsbot.index.store import Index
from newsbot.records import Filters
from newsbot.text.analyzer import default_analyzer


def built(corpus_dir: Path) -> Index:
    return build_index(corpus_dir, default_analyzer())[0]


def test_save_and_load_round_trip(corpus_dir: Path, tmp_path: Path) -> None:
    index = built(corpus_dir)
    index.save(tmp_path / "idx")
    loaded = Index.load(tmp_path / "idx")
    assert loaded is not None and loaded.version == index.version
    assert loaded.articles == index.articles and loaded.sources == index.sources
    ids = loaded.term_ids(["sanction"])
    np.testing.assert_array_equal(loaded.scores(ids), index.scores(ids))
    assert loaded.passage_text(3) == index.passage_text(3)
    assert loaded.size_bytes > 0


def test_load_missing_returns_none(tmp_path: Path) -> None:
    assert Index.load(tmp_path / "nothing") is None


def test_interrupted_write_keeps_previous_index(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = built(corpus_dir)
    first.save(tmp_path / "idx")
    (corpus_dir / "extra.txt").write_text("Extra story\nVolcano erupts near the village.")
    second = built(corpus_dir)
    calls = {"n": 0}
    real_save = np.save

    def crash_midway(fh, array):
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError("disk full")
        return real_save(fh, array)

    monkeypatch.setattr("newsbot.index.store.np.save", crash_midway)
    with pytest.raises(OSError):
        second.save(tmp_path / "idx")
    monkeypatch.undo()
    survivor = Index.load(tmp_path / "idx")
    assert survivor is not None and survivor.version == first.version
    assert survivor.term_ids(["volcano"]) == []
    second.save(tmp_path / "idx")  # the next save succeeds and cleans the leftovers
    assert Index.load(tmp_path / "idx").term_ids(["volcano"])  # type: ignore[union-attr]
    assert not [p for p in (tmp_path / "idx").iterdir() if p.name.startswith(".tmp-")]


def test_filters_by_date_and_source(corpus_dir: Path) -> None:
    index = built(corpus_dir)
    ids = index.term_ids(["said"])
    titles = lambda f: {index.article_of(p).title for p, _ in index.search(ids, 10, f)}  # noqa: E731
    assert titles(Filters()) >= {
        "Harbour city opens floating solar farm",
        "Rail strike halts northern trains",
    }
    assert titles(Filters(source="daily ledger")) == {"Rail strike halts northern trains"}
    assert titles(Filters(since=date(2024, 4, 1))) == {"Rail strike halts northern trains"}
    assert titles(Filters(until=date(2024, 4, 1))) == {"Harbour city opens floating solar farm"}
    assert titles(Filters(source="nowhere")) == set()


def test_search_one_passage_per_article_unless_asked(corpus_dir: Path) -> None:
    index = built(corpus_dir)
    ids = index.term_ids(["kadyrov", "chechnya", "purg"])
    one = index.search(ids, 3)
    assert len({index.passage_article[p] for p, _ in one}) == len(one)
    many = index.search(ids, 3, per_article=3)
    assert len(many) == 3 and len({index.passage_article[p] for p, _ in many}) == 1
    assert [s for _, s in many] == sorted((s for _, s in many), reverse=True)
