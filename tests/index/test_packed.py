"""Compressed blocks: zstd frames now, format 9's zlib blocks still read (an upgrade extends an
index without rebuilding it), damage reported as IndexCorrupt; a build's mapped texts let go as
they are packed."""

import threading
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from newsbot.errors import IndexCorrupt
from newsbot.index import packed, store
from newsbot.index.build import build_index
from newsbot.index.packed import ZSTD_MAGIC, Packed, Packing
from newsbot.index.segment import checks_settled
from newsbot.index.store import FORMAT, Index
from newsbot.text.analyzer import default_analyzer

TEXTS = ["first passage", "", "héllo wörld " * 40, *(f"passage {i} of a news story" for i in range(40))]


def _packed(tmp_path: Path, texts: list[str]) -> Packed:
    raw = [t.encode() for t in texts]
    offsets = np.zeros(len(raw) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in raw], out=offsets[1:])
    blocks, bounds = Packing(b"".join(raw), offsets).get()
    path = tmp_path / "texts.bin"
    path.write_bytes(b"".join(blocks))
    return Packed(path, bounds)


def test_blocks_are_zstd_frames_that_round_trip(tmp_path: Path) -> None:
    texts = _packed(tmp_path, TEXTS)
    assert len(texts.blocks) - 1 == -(-len(TEXTS) // packed.BLOCK)
    assert texts.path.read_bytes().startswith(ZSTD_MAGIC)
    assert texts.unpacked() == "".join(TEXTS).encode()
    assert texts.block(0).startswith(b"first passage" + "héllo".encode())


def _resident(array: Any) -> int:
    """Bytes of the mapping that holds `array` resident in this process (/proc/self/smaps)."""
    address = array.ctypes.data
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        first = line.split()[0]
        if "-" in first and ":" not in first:
            start, end = (int(x, 16) for x in first.split("-"))
            inside = start <= address < end
        elif inside and line.startswith("Rss:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("mapping not found")


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux's /proc/self/smaps")
def test_a_mapped_files_pages_are_let_go_as_it_is_packed(tmp_path: Path) -> None:
    """A build's texts are a mapped file, packed while the segment inverts: the pages packed are
    dropped from the process as it goes (a few MB at a time), and still read the same after."""
    text = np.random.default_rng(0).integers(97, 123, 64 << 20, dtype=np.uint8).tobytes()
    (tmp_path / "texts").write_bytes(text)
    texts = np.memmap(tmp_path / "texts", dtype=np.uint8, mode="r")
    offsets = np.arange(0, len(text) + 1, 4096, dtype=np.int64)  # passages of 4 KB
    assert int(texts[::4096].astype(np.int64).sum()) > 0 and _resident(texts) >= 60 << 20  # read in
    blocks, bounds = Packing(texts, offsets).get()
    assert _resident(texts) <= 17 << 20  # what each half packed last: under 8 MB (`_LET_GO`) each
    assert bytes(texts[: 1 << 20]) == text[: 1 << 20]
    (tmp_path / "texts.bin").write_bytes(b"".join(blocks))
    assert Packed(tmp_path / "texts.bin", bounds).unpacked() == text


def test_zlib_blocks_of_format_9_are_read(tmp_path: Path) -> None:
    raw = [b"an old block", b"", b"another"]
    blocks = [zlib.compress(r, 4) for r in raw]
    bounds = np.cumsum([0, *map(len, blocks)]).astype(np.int64)
    (tmp_path / "old.bin").write_bytes(b"".join(blocks))
    old = Packed(tmp_path / "old.bin", bounds)
    assert [old.block(b) for b in range(3)] == raw
    assert old.unpacked() == b"".join(raw)


@pytest.mark.parametrize("at", [2, 20])  # in the frame's magic (then read as zlib), or its content
def test_a_damaged_block_is_index_corrupt(tmp_path: Path, at: int) -> None:
    texts = _packed(tmp_path, TEXTS)
    data = bytearray(texts.path.read_bytes())
    data[at] ^= 0xFF
    texts.path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match="unreadable"):
        texts.block(0)
    with pytest.raises(IndexCorrupt, match=r"texts\.bin"):
        texts.unpacked()


def test_a_block_claiming_an_absurd_size_is_corrupt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A damaged frame header's size is refused before anything that size is allocated."""
    texts = _packed(tmp_path, TEXTS)
    monkeypatch.setattr(packed, "MAX_INFLATED", 100)  # (the first block inflates to more)
    with pytest.raises(IndexCorrupt, match="claims"):
        texts.block(0)


def test_a_format_9_index_opens_answers_and_merges_as_the_new_one(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, _ = build_index(corpus_dir, default_analyzer())
    new = index.save(tmp_path / "new")
    with monkeypatch.context() as old_code:  # built and saved as format 9 saved it: zlib blocks
        old_code.setattr(packed, "compress", lambda data, level: zlib.compress(data, 4))
        old_code.setattr(store, "FORMAT", 9)
        build_index(corpus_dir, default_analyzer())[0].save(tmp_path / "old")  # (packed as it builds)
    old = Index.load(tmp_path / "old")
    assert old is not None
    segment = old.segments[0]
    assert segment.folder is not None
    assert not (segment.folder / f"{segment.name}.texts.bin").read_bytes().startswith(ZSTD_MAGIC)
    for p in range(old.n_passages):
        assert old.passage_text(p) == new.passage_text(p)
        np.testing.assert_array_equal(old.passage_terms(p), new.passage_terms(p))
    ids = old.term_ids(["sanction", "oil"])
    assert old.search(ids, 5) == new.search(ids, 5)
    # What a compaction or merge reads, all inflated.
    np.testing.assert_array_equal(segment.unpacked().counts, new.segments[0].unpacked().counts)
    assert isinstance(segment.texts, Packed) and isinstance(new.segments[0].texts, Packed)
    assert segment.texts.unpacked() == new.segments[0].texts.unpacked()
    # Extended by a build with the new code (no re-analysis): its segments linked as they are.
    again, report = build_index(corpus_dir, default_analyzer(), previous=old)
    assert not report.full_because
    resaved = again.save(tmp_path / "old")
    assert resaved.passage_text(0) == new.passage_text(0)
    meta = (tmp_path / "old" / resaved.version / "meta.json").read_text()
    assert f'"format": {FORMAT}' in meta


def test_a_packing_started_beside_is_waited_for_before_a_fork() -> None:
    """A build's texts are packed in a thread while it inverts; a build that was not saved may
    leave it running, and worker processes are forked only from a process running no other."""
    offsets = np.arange(0, 4_000_001, 4_000, dtype=np.int64)
    packing = Packing(b"x" * 4_000_000, offsets).soon()
    checks_settled()
    assert not any(t.name == "newsbot-packing" and t.is_alive() for t in threading.enumerate())
    assert packing.get()[1][-1] > 0
