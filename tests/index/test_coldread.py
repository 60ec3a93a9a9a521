"""A cold build keeps its articles and files' states in scratch files as it reads (bounded memory):
the index, its report and what a save writes are those of a build that holds them in memory."""

from __future__ import annotations

import gc
import json
import random
from pathlib import Path

import pytest

from newsbot.index.build import build_index
from newsbot.index.catalog import Articles
from newsbot.index.coldread import _FLUSH, ColdArticles, _Column, _write_object
from newsbot.index.keys import Keys
from newsbot.index.store import Index
from newsbot.text.analyzer import Analyzer
from tests.index.test_merge import _corpus, _write


def _awkward_corpus(tmp_path: Path) -> Path:
    """Articles with every case the dedupe handles: a repeated text, clashing ids (one renamed
    twice), several articles in one file, a file with a skip note."""
    root = _corpus(tmp_path, 24)
    first = json.loads((root / "003.json").read_text())
    (root / "050.json").write_text(json.dumps({**first, "id": "copy"}))  # the text of a3
    rng = random.Random(9)
    for name in ("060", "061"):
        _write(root, 7, rng, edit=int(name))  # id a7 again, other texts: a7~2, a7~3
        (root / f"{name}.json").write_text((root / "007.json").read_text())
    _write(root, 7, random.Random(1))  # a7 as it was (the corpus' rng gives other texts; fine)
    rows = [
        {"id": f"multi{i}", "title": f"Multi {i}", "text": f"said harbour vote {i} " * 20} for i in range(3)
    ]
    rows.append({"id": "untitled", "text": "said storm river bridge " * 10})  # repaired: a note
    (root / "070.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root


def _same(cold: Index, whole: Index) -> None:
    assert list(cold.articles) == list(whole.articles)
    assert [cold.articles[i] for i in (0, 5, len(cold.articles) - 1)] == [
        whole.articles[i] for i in (0, 5, len(whole.articles) - 1)
    ]
    assert dict(cold.files) == dict(whole.files)
    assert Keys.of(cold.articles) == Keys.of(whole.articles)
    assert cold.n_live == whole.n_live and list(cold.terms) == list(whole.terms)


@pytest.mark.parametrize("exclude", [(), ("a2", "a7~3", "multi1")])
def test_a_cold_build_reads_as_a_build_in_memory(tmp_path: Path, exclude: tuple[str, ...]) -> None:
    root = _awkward_corpus(tmp_path)
    whole, whole_report = build_index(root, Analyzer(), target_words=30, chunk_passages=None, exclude=exclude)
    cold, report = build_index(root, Analyzer(), target_words=30, chunk_passages=7, exclude=exclude)
    assert isinstance(cold.articles, ColdArticles) and not isinstance(whole.articles, ColdArticles)
    _same(cold, whole)
    assert report.skipped == whole_report.skipped  # the same notes, in the same order
    assert (report.articles, report.added, report.passages) == (
        whole_report.articles,
        whole_report.added,
        whole_report.passages,
    )
    ids = [a.id for a in cold.articles]
    assert "copy" not in ids and {"a7~2", "multi0"} <= set(ids) and not set(exclude) & set(ids)
    assert any("duplicate text" in s.reason for s in report.skipped)
    saved_cold = cold.save(tmp_path / "cold")
    saved_whole = whole.save(tmp_path / "whole")
    assert isinstance(saved_cold.articles, Articles)
    _same(saved_cold, saved_whole)
    for name in ("articles.jsonl", "article_keys.json", "files.json"):  # byte for byte
        cold_file = tmp_path / "cold" / saved_cold.version / name
        assert cold_file.read_bytes() == (tmp_path / "whole" / saved_whole.version / name).read_bytes()


def test_a_saved_cold_build_reindexes_as_one_built_in_memory(tmp_path: Path) -> None:
    root = _awkward_corpus(tmp_path)
    for chunk, name in ((7, "cold"), (None, "whole")):
        index, _ = build_index(root, Analyzer(), target_words=30, chunk_passages=chunk)
        index.save(tmp_path / name)
    _write(root, 4, random.Random(2), edit=3)
    (root / "050.json").unlink()
    again = {}
    for name in ("cold", "whole"):
        previous = Index.load(tmp_path / name)
        assert previous is not None
        again[name], report = build_index(root, Analyzer(), previous=previous, target_words=30)
        assert report.updated == 1 and report.unchanged == report.articles - 1
    _same(again["cold"], again["whole"])


def test_the_scratch_folder_goes_with_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    (tmp_path / "scratch").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))
    root = _awkward_corpus(tmp_path)
    index, _ = build_index(root, Analyzer(), target_words=30)
    assert [p for p in (tmp_path / "scratch").iterdir() if p.name.startswith("newsbot-read-")]
    saved = index.save(tmp_path / "index")
    del index
    gc.collect()
    assert not list((tmp_path / "scratch").iterdir())
    assert len(saved.articles) == len(list(saved.articles)) > 20


def test_the_scratch_folder_stays_while_the_files_states_need_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    (tmp_path / "scratch").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))
    index, _ = build_index(_awkward_corpus(tmp_path), Analyzer(), target_words=30)
    files = index.files
    del index
    gc.collect()
    assert len(dict(files)) > 20  # its base is still in the scratch folder
    del files
    gc.collect()
    assert not [p for p in (tmp_path / "scratch").iterdir() if p.name.startswith("newsbot-read-")]


@pytest.mark.parametrize("n", [0, 1, _FLUSH - 1, _FLUSH, 2 * _FLUSH + 1])
def test_columns_written_in_pieces_read_as_whole_arrays(tmp_path: Path, n: int) -> None:
    items = [f"id-{i}" if i % 2 else i for i in range(n)]
    columns = {"a": _Column(tmp_path / "a.json"), "b": _Column(tmp_path / "b.json")}
    for item in items:
        columns["a"].add(item)
    columns["b"].add("one")
    _write_object(tmp_path / "out.json", columns, {"notes": {}})
    assert json.loads((tmp_path / "out.json").read_text()) == {"a": items, "b": ["one"], "notes": {}}
