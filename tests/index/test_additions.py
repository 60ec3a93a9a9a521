"""Reindexing only the files the caller names (`build_index(..., only=...)`): the index is the one
a scan of the whole corpus makes, exactly rank-bm25 over its live passages, without the rest of
the corpus being listed or read."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

import newsbot.index.build as build
import newsbot.index.named as named
import newsbot.index.readers as readers
from newsbot.index.build import build_index
from newsbot.index.keys import KeyLookup, Keys
from newsbot.index.packed import Packed
from newsbot.index.store import Index
from newsbot.text.analyzer import Analyzer
from tests.index.test_merge import _corpus, _write, assert_exact


def _same(a: Index, b: Index) -> None:
    """The same articles, passages and statistics (whatever the version names)."""
    assert [x.id for x in a.articles] == [x.id for x in b.articles]
    assert list(a.articles) == list(b.articles)
    for name in ("passage_article", "passage_day", "passage_source", "passage_length", "norm", "idf", "df"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.sources == b.sources and dict(a.files) == dict(b.files)


def test_only_the_named_files_give_the_index_a_scan_gives(tmp_path: Path) -> None:
    root = _corpus(tmp_path, 40)
    rng = random.Random(3)
    build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    for step in range(1, 6):
        changed = []
        for i in rng.sample(range(40), 2):  # edited
            _write(root, i, rng, edit=step)
            changed.append(root / f"{i:03d}.json")
        _write(root, 40 + step, rng)  # added
        changed.append(root / f"{40 + step:03d}.json")
        gone = root / f"{rng.choice(range(40)):03d}.json"
        gone.unlink(missing_ok=True)  # removed
        changed.append(gone)
        previous = Index.load(tmp_path / "index")
        assert previous is not None
        index, report = build_index(root, Analyzer(), previous=previous, target_words=30, only=changed)
        scanned, seen = build_index(root, Analyzer(), previous=previous, target_words=30)
        _same(index, scanned)
        counts = ("articles", "passages", "added", "updated", "removed", "unchanged")
        assert [getattr(report, c) for c in counts] == [getattr(seen, c) for c in counts]
        assert report.added >= 1
        assert_exact(index, rng)
        index = index.save(tmp_path / "index")
        assert_exact(index, random.Random(step))
        _same(index, scanned)


def test_the_rest_of_the_corpus_is_not_looked_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _corpus(tmp_path, 20)
    previous = build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    _write(root, 20, random.Random(5))
    read: list[Path] = []
    real = readers.read_file
    monkeypatch.setattr(build, "listing", lambda root: pytest.fail("the corpus was listed"))
    for module in (readers, named):  # a scan's reading and the named files' reading
        monkeypatch.setattr(module, "read_file", lambda path, *more: read.append(path) or real(path, *more))
    index, report = build_index(
        root, Analyzer(), previous=previous, target_words=30, only=[root / "020.json"]
    )
    assert read == [root / "020.json"]
    assert report.added == 1 and report.unchanged == 20 and index.articles[-1].id == "a20"


def test_a_repeated_text_is_skipped_and_a_taken_id_renamed(tmp_path: Path) -> None:
    root = _corpus(tmp_path, 5)
    previous = build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    copy = json.loads((root / "001.json").read_text())
    (root / "copy.json").write_text(json.dumps({**copy, "id": "other"}))
    (root / "clash.json").write_text(json.dumps({**copy, "text": "said another volcano text entirely"}))
    only = [root / "copy.json", root / "clash.json"]
    index, report = build_index(root, Analyzer(), previous=previous, target_words=30, only=only)
    assert [a.id for a in index.articles][-1] == "a1~2"
    assert report.added == 1 and any("duplicate text" in s.reason for s in report.skipped)


def test_an_unchanged_file_named_again_changes_nothing(tmp_path: Path) -> None:
    root = _corpus(tmp_path, 5)
    previous = build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    index, report = build_index(
        root, Analyzer(), previous=previous, target_words=30, only=[root / "002.json"]
    )
    assert report.added == report.updated == report.removed == 0 and report.unchanged == 5
    assert not len(index.dead) and len(index.segments) == 1


def test_additions_in_a_row_keep_every_article_readable(tmp_path: Path) -> None:
    root = _corpus(tmp_path, 30)
    rng = random.Random(7)
    index = build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    keys = (tmp_path / "index" / index.version / "article_keys.json").stat().st_ino
    for i in range(30, 34):  # additions only: their lines (and keys) are kept apart from the base's
        _write(root, i, rng)
        index = build_index(root, Analyzer(), previous=index, target_words=30, only=[root / f"{i:03d}.json"])[
            0
        ]
        index = index.save(tmp_path / "index")
        folder = tmp_path / "index" / index.version
        assert (folder / "articles-more.jsonl").stat().st_size > 0
        assert [a.id for a in index.articles] == [f"a{n}" for n in range(i + 1)]
        assert index.articles[i].id == f"a{i}" and index.articles[3].id == "a3"
        assert (folder / "article_keys.json").stat().st_ino == keys  # shared, not written again
        # Shared segments are taken as opened (not opened again), read from the new folder: the
        # previous ones are pruned.
        assert all(s.folder == folder for s in index.segments) and len(index.segments) > 1
        assert all(isinstance(s.texts, Packed) and s.texts.path.parent == folder for s in index.segments)
        assert index.passage_text(0) and len(index.passage_terms(0))
        added = (folder / "article_keys-more.jsonl").read_text().splitlines()
        assert [json.loads(line)[0] for line in added] == [f"a{n}" for n in range(30, i + 1)]
        reopened = Index.load(tmp_path / "index")
        assert reopened is not None and reopened.articles.keys == Keys.of(list(index.articles))
        assert Keys.of(index.articles) == reopened.articles.keys  # handed over by the save, as written
    _write(root, 3, rng, edit=1)  # an edit (the lines added pass 1/8 of the base: all folded)
    index = build_index(root, Analyzer(), previous=index, target_words=30, only=[root / "003.json"])[0]
    index = index.save(tmp_path / "index")
    assert [a.id for a in index.articles][-1] == "a3" and len(index.articles) == 34
    reopened = Index.load(tmp_path / "index")
    assert reopened is not None and list(reopened.articles) == list(index.articles)
    assert reopened.articles.keys == Keys.of(list(index.articles))
    scanned, _ = build_index(root, Analyzer(), target_words=30)
    assert sorted(index.articles, key=lambda a: a.id) == sorted(scanned.articles, key=lambda a: a.id)
    assert_exact(index, rng)


def test_article_lines_are_folded_into_one_file_when_many_died(tmp_path: Path) -> None:
    root = _corpus(tmp_path, 16)
    rng = random.Random(8)
    index = build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    appended = folded = 0
    for edit, n in enumerate((2, 5, 9, 11, 2, 7), start=1):
        _write(root, n, rng, edit=edit)
        index = build_index(root, Analyzer(), previous=index, target_words=30)[0]
        index = index.save(tmp_path / "index")
        folder = tmp_path / "index" / index.version
        rows = np.load(folder / "article_rows.npy").tolist()
        lines = len((folder / "articles.jsonl").read_text().splitlines())
        if (folder / "articles-more.jsonl").stat().st_size:  # appended: the edited article's line
            appended += 1
            assert rows[-1] == lines + len((folder / "article_keys-more.jsonl").read_text().splitlines()) - 1
        else:  # folded: one line per article, in order
            folded += 1
            assert rows == list(range(16)) and lines == 16
        assert len(rows) == 16 and [a.id for a in index.articles][-1] == f"a{n}"
        reopened = Index.load(tmp_path / "index")
        assert reopened is not None and list(reopened.articles) == list(index.articles)
        assert reopened.articles.keys == Keys.of(list(index.articles))
    assert appended and folded
    scanned, _ = build_index(root, Analyzer(), target_words=30)
    assert sorted(index.articles, key=lambda a: a.id) == sorted(scanned.articles, key=lambda a: a.id)
    assert_exact(index, rng)


def test_articles_removed_since_go_even_when_their_files_are_not_named(tmp_path: Path) -> None:
    root = _corpus(tmp_path, 6)
    previous = build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    _write(root, 6, random.Random(9))
    only = [root / "006.json"]
    index, report = build_index(
        root, Analyzer(), previous=previous, target_words=30, exclude={"a2"}, only=only
    )
    scanned, _ = build_index(root, Analyzer(), previous=previous, target_words=30, exclude={"a2"})
    assert "a2" not in [a.id for a in index.articles] and report.removed == 1
    _same(index, scanned)


def test_a_removed_articles_text_does_not_block_a_new_one(tmp_path: Path) -> None:
    """The text of an article removed since (`exclude`) is free: a new article with it is indexed,
    as a scan does."""
    root = _corpus(tmp_path, 6)
    previous = build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    row = json.loads((root / "002.json").read_text())
    (root / "again.json").write_text(json.dumps({**row, "id": "again", "title": "Republished"}))
    only, exclude = [root / "again.json"], {"a2"}
    index, report = build_index(
        root, Analyzer(), previous=previous, target_words=30, exclude=exclude, only=only
    )
    scanned, _ = build_index(root, Analyzer(), previous=previous, target_words=30, exclude=exclude)
    assert "again" in [a.id for a in index.articles] and "a2" not in [a.id for a in index.articles]
    assert report.added == 1 and not [s for s in report.skipped if "duplicate" in s.reason]
    _same(index, scanned)


def test_a_renamed_article_read_again_unchanged_keeps_its_number_and_id(tmp_path: Path) -> None:
    """Two files with the id `a1`: the second was indexed as `a1~2`. Naming its file again,
    unchanged, re-analyses nothing and adds nothing."""
    root = _corpus(tmp_path, 4)
    row = json.loads((root / "001.json").read_text())
    (root / "twin.json").write_text(json.dumps({**row, "text": "said a twin volcano story of its own"}))
    previous = build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    assert [a.id for a in previous.articles][-1] == "a1~2"
    (root / "twin.json").write_text((root / "twin.json").read_text())  # rewritten, the same
    index, report = build_index(
        root, Analyzer(), previous=previous, target_words=30, only=[root / "twin.json"]
    )
    assert report.added == report.updated == 0 and report.unchanged == 5 and not len(index.dead)
    assert [a.id for a in index.articles] == [a.id for a in previous.articles]


def test_an_article_read_again_keeps_its_renamed_id_from_a_newcomer(tmp_path: Path) -> None:
    """A new file named with the twin's file, and listed first, whose article also says `a1`:
    the twin kept as it was keeps `a1~2`, so the newcomer is `a1~3` (never two `a1~2`)."""
    root = _corpus(tmp_path, 4)
    row = json.loads((root / "001.json").read_text())
    (root / "twin.json").write_text(json.dumps({**row, "text": "said a twin volcano story of its own"}))
    previous = build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    (root / "aaa.json").write_text(json.dumps({**row, "text": "said a third story about another volcano"}))
    (root / "twin.json").write_text((root / "twin.json").read_text())  # rewritten, the same
    only = [root / "aaa.json", root / "twin.json"]
    index, report = build_index(root, Analyzer(), previous=previous, target_words=30, only=only)
    ids = [a.id for a in index.articles]
    assert len(ids) == len(set(ids)) == 6 and ids[-2:] == ["a1~2", "a1~3"]
    assert report.added == 1 and report.unchanged == 5


def test_a_run_of_additions_extends_the_key_lookup_it_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poller's rounds find ids, texts and files through `Keys.lookup`: made once, then each
    addition extends it (not a pass over every article, which at a million costs seconds), and
    the extended one is what making it anew gives."""
    root = _corpus(tmp_path, 30)
    rng = random.Random(9)
    index = build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    made: list[bool] = []  # per lookup made: from nothing (True) or extending another's
    real = KeyLookup.of
    monkeypatch.setattr(
        KeyLookup, "of", lambda keys, start=0, base=None: made.append(base is None) or real(keys, start, base)
    )
    for i in range(30, 34):
        _write(root, i, rng)
        index = build_index(root, Analyzer(), previous=index, target_words=30, only=[root / f"{i:03d}.json"])[
            0
        ]
        index = index.save(tmp_path / "index")
        keys = Keys.of(index.articles)
        assert keys.lookup == real(Keys.of(list(index.articles)))
    assert made == [True] + [False] * 4  # made for the first round's previous version, then extended
    copy = json.loads((root / "031.json").read_text())  # a repeat and a clash still found
    (root / "late.json").write_text(json.dumps({**copy, "id": "a5"}))
    index, report = build_index(root, Analyzer(), previous=index, target_words=30, only=[root / "late.json"])
    assert report.added == 0 and any("duplicate text of article a31" in s.reason for s in report.skipped)
    _write(root, 3, rng, edit=1)  # an edit: articles move, the lookup is made anew
    index = build_index(root, Analyzer(), previous=index, target_words=30, only=[root / "003.json"])[0]
    assert Keys.of(index.articles).lookup == real(Keys.of(list(index.articles))) and made.count(True) == 2
