import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from newsbot.errors import IndexCorrupt, NewsbotError
from newsbot.index.build import build_index
from newsbot.index.store import FORMAT, OLDEST, Index
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


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _edit_meta(folder: Path, drop: str) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    del meta[drop]
    (folder / "meta.json").write_text(json.dumps(meta))


# Each kind of damage, and the file the error must name.
DAMAGE: dict[str, tuple[Callable[[Path, Path, str], None], str]] = {
    "truncated array": (lambda root, folder, seg: _truncate(folder / "idf.npy"), "idf.npy"),
    "truncated segment array": (
        lambda root, folder, seg: _truncate(folder / f"{seg}.post_gaps.npy"),
        "post_gaps.npy",
    ),
    "array of another length": (lambda root, folder, seg: np.save(folder / "df.npy", np.zeros(2)), "df.npy"),
    "missing segment file": (
        lambda root, folder, seg: (folder / f"{seg}.term_at16.npy").unlink(),
        "term_at16.npy",
    ),
    "truncated passage texts": (
        lambda root, folder, seg: _truncate(folder / f"{seg}.texts.bin"),
        "texts.bin",
    ),
    "truncated forward index": (
        lambda root, folder, seg: _truncate(folder / f"{seg}.fwd.bin"),
        "fwd.bin",
    ),
    "truncated term counts": (
        lambda root, folder, seg: _truncate(folder / f"{seg}.post_tf4.npy"),
        "post_tf4.npy",
    ),
    "garbage in CURRENT": (
        lambda root, folder, seg: (root / "CURRENT").write_bytes(b"\xff\x00../x"),
        "CURRENT",
    ),
    "CURRENT names a missing version": (
        lambda root, folder, seg: (root / "CURRENT").write_text("20990101-000000-deadbeef-0000"),
        "CURRENT",
    ),
    "garbage meta.json": (
        lambda root, folder, seg: (folder / "meta.json").write_text("{not json"),
        "meta.json",
    ),
    "missing meta.json": (lambda root, folder, seg: (folder / "meta.json").unlink(), "meta.json"),
    "meta.json without a field": (lambda root, folder, seg: _edit_meta(folder, "avgdl"), "meta.json"),
    "vocab values of another length": (
        lambda root, folder, seg: np.save(folder / "vocab_values.npy", np.zeros(3, dtype=np.int32)),
        "vocab_values.npy",
    ),
    "missing vocab keys": (lambda root, folder, seg: (folder / "vocab_keys.npy").unlink(), "vocab_keys.npy"),
    "garbage vocab extras": (
        lambda root, folder, seg: (folder / "vocab_extra.json").write_text("[1, 2"),
        "vocab_extra.json",
    ),
    "truncated article metadata": (
        lambda root, folder, seg: _truncate(folder / "articles.jsonl"),
        "articles.jsonl",
    ),
    "missing corpus file states": (lambda root, folder, seg: (folder / "files.json").unlink(), "files.json"),
}


def damage(index_dir: Path, kind: str) -> str:
    """Damage the saved index under `index_dir` in the way `kind` names; the file to blame."""
    folder = index_dir / (index_dir / "CURRENT").read_text()
    segment = json.loads((folder / "meta.json").read_text())["segments"][0]["name"]
    harm, blamed = DAMAGE[kind]
    harm(index_dir, folder, segment)
    return blamed


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damaged_index_raises_index_corrupt_naming_the_file(
    corpus_dir: Path, tmp_path: Path, kind: str
) -> None:
    built(corpus_dir).save(tmp_path / "idx")
    blamed = damage(tmp_path / "idx", kind)
    with pytest.raises(IndexCorrupt) as caught:
        Index.load(tmp_path / "idx")
    assert caught.value.path.endswith(blamed) and blamed in caught.value.message
    assert isinstance(caught.value, NewsbotError)


def test_damaged_corpus_file_states_raise_when_read(corpus_dir: Path, tmp_path: Path) -> None:
    saved = built(corpus_dir).save(tmp_path / "idx")
    (tmp_path / "idx" / saved.version / "files.json").write_text('{"a.txt": 3}')
    with pytest.raises(IndexCorrupt, match=r"files\.json"):
        dict(saved.files)


@pytest.mark.parametrize("other", [OLDEST - 1, FORMAT + 1])
def test_an_index_of_another_format_is_not_loaded(corpus_dir: Path, tmp_path: Path, other: int) -> None:
    saved = built(corpus_dir).save(tmp_path / "idx")
    folder = tmp_path / "idx" / saved.version
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "format": other}))
    assert Index.load(tmp_path / "idx") is None  # built again, as when there is none


def test_save_returns_the_saved_index_and_leaves_itself_alone(corpus_dir: Path, tmp_path: Path) -> None:
    index = built(corpus_dir)
    segments = index.segments
    saved = index.save(tmp_path / "idx")
    assert index.segments is segments and all(s.folder is None for s in index.segments)
    assert saved is not index and saved.version == index.version
    assert all(s.folder == tmp_path / "idx" / index.version for s in saved.segments)
    ids = saved.term_ids(["sanction"])
    assert saved.search(ids, 3) == index.search(ids, 3)
    assert saved.analysis == index.analysis and saved.analysis["stopwords"]


def test_each_index_remembers_its_own_values(corpus_dir: Path) -> None:
    index = built(corpus_dir)
    twin = replace(index)  # the same version and data: still a memo of its own
    assert index.memo.get("n", 1, lambda: "first", keep=2) == "first"
    assert index.memo.get("n", 1, lambda: "again", keep=2) == "first"
    assert twin.memo.get("n", 1, lambda: "twin", keep=2) == "twin"
    index.memo.get("n", 2, lambda: "two", keep=2)
    assert index.memo.get("n", 3, lambda: "three", keep=2) == "three"  # full: started over
    assert index.memo.get("n", 1, lambda: "made again", keep=2) == "made again"


def test_files_flushed_together_are_written_whole_and_the_folder_let_go(tmp_path: Path) -> None:
    from newsbot.index import disk

    with disk.flushed_together(tmp_path):
        for n in range(12):
            disk.write_file(tmp_path / f"f{n}", lambda fh, n=n: fh.write(bytes([n]) * 1000))
        assert len(disk._deferred[tmp_path]) == 12  # waiting for the end, not flushed one by one
    assert tmp_path not in disk._deferred
    assert all((tmp_path / f"f{n}").read_bytes() == bytes([n]) * 1000 for n in range(12))
    with pytest.raises(RuntimeError), disk.flushed_together(tmp_path):  # a failed save lets go too
        raise RuntimeError("disk full")
    assert tmp_path not in disk._deferred


def test_terms_are_linked_when_none_was_added(corpus_dir: Path, tmp_path: Path) -> None:
    first = built(corpus_dir).save(tmp_path / "idx")
    again = build_index(corpus_dir, default_analyzer(), previous=first)[0].save(tmp_path / "idx")
    inode = (tmp_path / "idx" / first.version / "terms.bin").stat().st_ino
    assert (tmp_path / "idx" / again.version / "terms.bin").stat().st_ino == inode
    (corpus_dir / "new.txt").write_text("Zanzibar quokkas\n\nQuokkas were seen in Zanzibar.\n")
    grown = build_index(corpus_dir, default_analyzer(), previous=again)[0].save(tmp_path / "idx")
    assert (tmp_path / "idx" / grown.version / "terms.bin").stat().st_ino != inode
    reopened = Index.load(tmp_path / "idx")
    assert reopened is not None and list(reopened.terms) == list(grown.terms)
    assert "quokka" in reopened.vocab and reopened.terms[reopened.vocab["quokka"]] == "quokka"
