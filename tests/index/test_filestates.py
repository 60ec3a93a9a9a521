"""The corpus files' states a scanning reindex compares the corpus with (index/filestates.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbot.corpus.listing import Listing
from newsbot.errors import IndexCorrupt
from newsbot.index.catalog import FileState
from newsbot.index.filestates import BASE, DELTA, Files
from newsbot.records import Skipped

STATES = {
    "0001/a.json": FileState(10, 1_700_000_000_123_456_789, ("a",)),
    "0001/b.jsonl": FileState(
        99, 5, ("b1", "b2", "b3"), (Skipped("0001/b.jsonl:4", "malformed JSON line: x"),)
    ),
    "c.txt": FileState(0, 7, (), (Skipped("c.txt", "empty file"),)),
    "d é.md": FileState(3, 8, ("d",)),
}


def _saved(folder: Path, states: dict[str, FileState]) -> Files:
    folder.mkdir(parents=True, exist_ok=True)
    Files.save(states, folder)
    return Files.open(folder)


def test_saved_states_read_back_as_they_were(tmp_path: Path) -> None:
    files = _saved(tmp_path / "v1", STATES)
    assert dict(files) == STATES and len(files) == 4 and files["c.txt"] == STATES["c.txt"]
    assert files.get("nowhere") is None and "nowhere" not in files
    listed = Listing(["0001/b.jsonl"] * 3 + ["nowhere"], [99, 99, 98, 1], [5, 6, 5, 1])
    # unchanged; touched; rewritten within the same tick; never seen
    assert files.carried(listed, {"b1": 0, "b2": 1, "b3": 2}, ["0001/b.jsonl"] * 3) == [
        [0, 1, 2],
        None,
        None,
        None,
    ]


def test_changes_are_saved_apart_and_share_the_base(tmp_path: Path) -> None:
    first = _saved(tmp_path / "v1", {f"{i:05d}.json": FileState(i, i, (f"a{i}",)) for i in range(200)})
    changes = {
        "00003.json": None,
        "00004.json": FileState(1, 2, ("new", "ids")),
        "zz.json": FileState(5, 6, ()),
    }
    second = _saved(tmp_path / "v2", first.overlay(changes))  # type: ignore[arg-type]
    assert (tmp_path / "v2" / BASE).stat().st_ino == (tmp_path / "v1" / BASE).stat().st_ino
    assert (tmp_path / "v2" / DELTA).stat().st_size < 200
    expected = {f"{i:05d}.json": FileState(i, i, (f"a{i}",)) for i in range(200) if i != 3}
    expected.update({"00004.json": FileState(1, 2, ("new", "ids")), "zz.json": FileState(5, 6, ())})
    assert dict(second) == expected and len(second) == len(expected) == 200
    listed = Listing(["00003.json", "00004.json", "00004.json", "00005.json"], [3, 4, 1, 5], [3, 4, 2, 5])
    owners = ["00003.json", "00004.json", "00004.json", "00005.json"]
    carried = second.carried(listed, {"a3": 0, "new": 1, "ids": 2, "a5": 3}, owners)
    assert carried == [None, None, [1, 2], [3]]  # gone; changed; as changed; as in the base
    # Changes past an eighth of the base are folded into a new base.
    many = {f"{i:05d}.json": FileState(0, 0, ("moved",)) for i in range(100)}
    third = _saved(tmp_path / "v3", second.overlay(many))  # type: ignore[arg-type]
    assert (tmp_path / "v3" / BASE).stat().st_ino != (tmp_path / "v1" / BASE).stat().st_ino
    assert (tmp_path / "v3" / DELTA).read_bytes() == b"{}"
    assert dict(third) == {**expected, **many}


@pytest.mark.parametrize(
    "base",
    [b"{", b"[]", b'{"paths": ["a"], "sizes": [], "mtimes": [], "counts": [], "ids": [], "notes": {}}'],
)
def test_a_damaged_table_is_named(tmp_path: Path, base: bytes) -> None:
    files = _saved(tmp_path / "v1", STATES)
    (tmp_path / "v1" / BASE).write_bytes(base)
    broken = Files.open(tmp_path / "v1")
    with pytest.raises(IndexCorrupt, match=BASE):
        broken.carried(Listing(["c.txt"], [0], [7]), {}, [])
    assert files is not broken


def test_a_scan_carries_the_articles_of_unchanged_files_that_still_own_them(tmp_path: Path) -> None:
    files = _saved(tmp_path / "v1", STATES).overlay({"c.txt": None, "e.json": FileState(4, 4, ("e",))})
    listed = Listing(
        ["0001/a.json", "0001/b.jsonl", "c.txt", "d é.md", "e.json", "f.json"],
        [10, 99, 0, 3, 4, 1],
        [1_700_000_000_123_456_789, 5, 7, 9, 4, 1],
    )
    old = {"a": 0, "b1": 1, "b2": 2, "b3": 3, "d": 4, "e": 5}
    owners = ["0001/a.json", "0001/b.jsonl", "0001/b.jsonl", "0001/b.jsonl", "d é.md", "elsewhere.json"]
    assert files.carried(listed, old, owners) == [[0], [1, 2, 3], None, None, None, None]
    # c.txt: gone from the states; d: touched since; e: its id is another file's article now.
    owners[2] = "other.json"  # b2 was renamed away: its file is read again
    assert files.carried(listed, old, owners)[1] is None
    assert files.noted() == {"0001/b.jsonl"} and files.notes("0001/b.jsonl") == STATES["0001/b.jsonl"].skipped
    assert files.notes("c.txt") == () and files.notes("0001/a.json") == ()
