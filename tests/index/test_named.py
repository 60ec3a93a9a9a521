"""A scan's changes read as named files (index/named.py `read_changed`): the same index and report
as a scan of the whole corpus, and the whole scan where the two could decide otherwise."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

import newsbot.index.build as build
from newsbot.index.build import build_index
from newsbot.index.store import Index
from newsbot.records import BuildReport
from newsbot.text.analyzer import Analyzer
from tests.index.test_additions import _same
from tests.index.test_merge import _corpus, _write, assert_exact

COUNTS = ("articles", "passages", "added", "updated", "removed", "unchanged", "skipped")


def _both_ways(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch, exclude: frozenset[str] = frozenset()
) -> tuple[Index, BuildReport, bool]:
    """The reindex of `root` against the saved index, as built (and whether its changes were read
    as named files), after checking it against a scan that reads the whole corpus."""
    previous = Index.load(tmp_path / "index")
    assert previous is not None
    taken: list[bool] = []
    real = build._Build.read_changed

    def spy(self: build._Build, excluded: set[str]) -> bool:
        taken.append(real(self, excluded))
        return taken[-1]

    monkeypatch.setattr(build._Build, "read_changed", spy)
    index, report = build_index(root, Analyzer(), previous=previous, target_words=30, exclude=exclude)
    monkeypatch.setattr(build._Build, "read_changed", lambda self, excluded: False)
    whole, seen = build_index(root, Analyzer(), previous=previous, target_words=30, exclude=exclude)
    monkeypatch.undo()
    _same(index, whole)
    assert [getattr(report, c) for c in COUNTS] == [getattr(seen, c) for c in COUNTS]
    return index, report, taken == [True]


def test_a_scans_few_changes_give_the_index_of_a_whole_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _corpus(tmp_path, 40)
    (root / "notes.pdf").write_bytes(b"%PDF")  # reported by every scan
    (root / "empty.txt").write_text("")  # its saved note too, while it is unchanged
    rng = random.Random(5)
    build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    for step in range(1, 5):
        for i in rng.sample(range(40), 2):
            _write(root, i, rng, edit=step)  # edited
        _write(root, 40 + step, rng)  # added
        touched = root / f"{rng.randrange(40):03d}.json"
        os.utime(touched, ns=(1, 2 * 10**18))  # read again, its content unchanged
        index, report, named = _both_ways(tmp_path, root, monkeypatch)
        assert named and report.added == 1
        assert [s.reason for s in report.skipped] == ["unsupported file type .pdf", "empty file"]
        assert_exact(index, rng)
        index.save(tmp_path / "index")
    (root / "003.json").unlink()  # gone, nothing new
    index, report, named = _both_ways(tmp_path, root, monkeypatch, exclude=frozenset({"a7"}))
    assert named and report.removed == 2 and "a7" not in {a.id for a in index.articles}


def _write_json(root: Path, name: str, id_: str, text: str) -> None:
    (root / name).write_text(json.dumps({"id": id_, "title": f"Story {id_}", "text": text}))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda root: _write_json(root, "000.json", "a0", _story(1)), id="its text taken"),
        pytest.param(lambda root: _write_json(root, "050.json", "a2", "Fresh words."), id="its id taken"),
        pytest.param(lambda root: (root / "001.json").rename(root / "sub.json"), id="its file moved"),
    ],
)
def test_where_a_whole_scan_could_decide_otherwise_it_is_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Callable[[Path], None]
) -> None:
    # A scan keeps the first of two copies in corpus order (here the changed file's), renames the
    # later of two ids, and keeps a moved article's number; read as named, the indexed article
    # would win, or the moved one be analysed anew.
    root = tmp_path / "corpus"
    root.mkdir()
    for i in range(4):
        _write_json(root, f"{i:03d}.json", f"a{i}", _story(i))
    build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    change(root)
    _, _, named = _both_ways(tmp_path, root, monkeypatch)
    assert not named


def _story(i: int) -> str:
    return f"Harbour story {i}: the dockers walked out."


def test_a_corpus_holding_a_duplicate_is_scanned_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    _write_json(root, "a.json", "x", "Harbour strike today.")
    _write_json(root, "b.json", "y", "Harbour strike today.")  # dropped: its file's article is not indexed
    _write_json(root, "c.json", "z", "Volcano erupts again.")
    build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    _write_json(root, "a.json", "x", "Harbour strike called off.")  # now b's text is the only copy
    index, _, named = _both_ways(tmp_path, root, monkeypatch)
    assert not named and sorted(a.id for a in index.articles) == ["x", "y", "z"]


def test_many_changed_files_are_read_in_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import newsbot.index.named as named
    import newsbot.index.readers as readers

    root = _corpus(tmp_path, 40)
    rng = random.Random(9)
    build_index(root, Analyzer(), target_words=30)[0].save(tmp_path / "index")
    for i in rng.sample(range(40), 20):
        _write(root, i, rng, edit=1)
    (root / "005.json").unlink()
    monkeypatch.setattr(readers, "_PARALLEL_MIN_CHARS", 1)  # (a 10M-passage corpus's 1%: 12k files)
    calls: list[int] = []  # the named files' reads
    in_processes: list[int] = []
    real, real_files_read = named.read_many, readers.files_read

    def spied(root: Path, rels: list[str], size: int) -> object:
        calls.append(len(rels))
        return real(root, rels, size)

    def spied_files_read(root: Path, rels: list[str], spill: object = None) -> object:
        in_processes.append(len(rels))
        return real_files_read(root, rels, spill=spill)  # type: ignore[arg-type]

    monkeypatch.setattr(named, "read_many", spied)
    monkeypatch.setattr(readers, "files_read", spied_files_read)
    index, report, used = _both_ways(tmp_path, root, monkeypatch)
    assert used and calls == [19] and report.removed == 1  # the gone file is not read
    assert in_processes[0] == 19  # (then the whole scan's, which `_both_ways` compares with)
    assert_exact(index, rng)
