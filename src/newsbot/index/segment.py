"""A segment of the index: passages analysed and inverted together, never changed once written.

The passages of an index are numbered across its segments in order. A cold build makes one
segment; a reindex adds one for the new and changed articles and marks the passages they replace
as dead (see `newsbot.index.build`), so its cost follows the change, not the corpus. A segment's files
are written once and shared by later versions of the index through hard links.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from newsbot.index.background import beside, settled
from newsbot.index.bm25 import Forward, Int32Array, Inverted, by_term, offsets
from newsbot.index.compact import Compact
from newsbot.index.disk import write_file
from newsbot.index.packed import BLOCK, FORWARD_BLOCK, Packed, PackedForward, Packing
from newsbot.index.tables import checksum, expect, file_size, load_array, load_bytes

Texts = bytes | np.memmap[Any, np.dtype[np.uint8]] | Packed  # Packed: saved, compressed


def text_array(texts: Texts) -> npt.NDArray[np.uint8]:
    """Texts as an array of bytes (without copying, unless they are compressed)."""
    if isinstance(texts, Packed):
        return np.frombuffer(texts.unpacked(), dtype=np.uint8)
    return texts if isinstance(texts, np.ndarray) else np.frombuffer(texts, dtype=np.uint8)


_COMPACT = {  # file name -> field of `Compact`
    "post_indptr": "indptr",
    "post_gaps": "gaps",
    "post_gaps16": "gaps16",
    "post_gaps32": "gaps32",
    "term_at16": "at16",
    "term_at32": "at32",
    "post_tf4": "tf4",
    "post_big_at": "big_at",
    "post_big_tf": "big_tf",
}
_ARRAYS = {  # file name -> (part, field)
    "fwd_indptr": ("forward", "indptr"),
    **{name: ("inverted.postings", f) for name, f in _COMPACT.items()},
    "post_level": ("inverted", "level"),
    "term_unit": ("inverted", "unit"),
    "term_spread": ("inverted", "spread"),
    "term_first": ("inverted", "first"),
    "text_offsets": ("", "text_offsets"),
}
# Kept narrower than in memory: a segment has fewer than 2**32 postings (see `bm25.invert`).
_STORED_AS = {"fwd_indptr": np.uint32, "post_indptr": np.uint32}
_PACKED = ("text_blocks", "fwd_blocks")  # written beside `_ARRAYS`, with texts.bin and fwd.bin


@dataclass(frozen=True)
class Segment:
    """Passages `start` to `start + n_passages` (index-wide numbers); inside, numbered from 0."""

    name: str  # its files are `<name>.<array>.npy` and `<name>.texts.bin`
    start: int
    avgdl: float  # the average passage length its levels were made with
    forward: Forward | PackedForward  # each passage's distinct term ids (and counts, until saved)
    inverted: Inverted
    texts: Texts  # the passages' UTF-8 texts, concatenated
    text_offsets: npt.NDArray[np.int64]
    folder: Path | None = None  # where its files are, once saved or opened
    # file name -> (size, CRC-32), recorded when its files were written: checked before a later
    # version shares them, so a damaged file is never carried forward.
    sums: Mapping[str, tuple[int, int]] = field(default_factory=dict, compare=False)
    # Its forward index's and texts' blocks, maybe being compressed already (`Packing.soon`), for
    # its first save.
    packed_terms: Packing | None = field(default=None, compare=False, repr=False)
    packed_texts: Packing | None = field(default=None, compare=False, repr=False)

    @property
    def n_passages(self) -> int:
        return len(self.text_offsets) - 1

    @property
    def end(self) -> int:
        return self.start + self.n_passages

    def text(self, passage: int) -> str:
        """The text of the segment's passage number `passage` (from 0)."""
        start, end = int(self.text_offsets[passage]), int(self.text_offsets[passage + 1])
        if isinstance(self.texts, Packed):
            first = int(self.text_offsets[passage - passage % BLOCK])
            return self.texts.block(passage // BLOCK)[start - first : end - first].decode("utf-8")
        if isinstance(self.texts, np.memmap) and self.texts.filename:
            # Read, not mapped: mapped pages (and the kernel's read-ahead) would stay in memory.
            with open(self.texts.filename, "rb") as fh:
                fh.seek(self.texts.offset + start)
                return fh.read(end - start).decode("utf-8")
        return bytes(self.texts[start:end]).decode("utf-8")

    def terms_of(self, passages: npt.NDArray[np.integer[Any]]) -> Int32Array:
        """The distinct term ids of the segment's `passages` (numbered from 0), one after the other."""
        if isinstance(self.forward, PackedForward):
            return self.forward.terms_of(passages)
        indptr, wanted = self.forward.indptr, np.asarray(passages, dtype=np.int64)
        sizes = indptr[wanted + 1] - indptr[wanted]
        # The positions indptr[p], indptr[p] + 1, ... for every passage, in one go.
        at = np.repeat(indptr[wanted] - offsets(sizes)[:-1], sizes) + np.arange(int(sizes.sum()))
        return np.asarray(self.forward.terms)[at]

    def unpacked(self) -> Forward:
        """The forward index with counts (a saved one is inflated, its counts taken from the
        postings: `bm25.by_term`, as `bm25.invert` ordered them, says which posting is which term id)."""
        if isinstance(self.forward, Forward):
            return self.forward
        terms = self.forward.all_terms()
        order, _ = by_term(terms, self.forward.indptr, self.inverted.postings.indptr)
        counts = np.empty(len(terms), dtype=np.uint16)
        counts[order] = self.inverted.postings.all_counts()
        return Forward(indptr=np.asarray(self.forward.indptr), terms=terms, counts=counts)

    def meta(self, sums: Mapping[str, tuple[int, int]] | None = None) -> dict[str, Any]:
        return {
            "name": self.name,
            "start": self.start,
            "avgdl": self.avgdl,
            "passages": self.n_passages,
            "files": {n: list(s) for n, s in (self.sums if sums is None else sums).items()},
        }

    @property
    def file_names(self) -> list[str]:
        return [f"{self.name}.{array}.npy" for array in (*_ARRAYS, *_PACKED)] + [
            f"{self.name}.texts.bin",
            f"{self.name}.fwd.bin",
        ]

    def verify(self) -> None:
        """Raise IndexCorrupt naming the first of its saved files whose size or checksum is not
        the one recorded when it was written."""
        if self.folder is None:
            return
        for name in self.file_names:
            path = self.folder / name
            recorded = self.sums.get(name)
            expect(path, recorded is not None, "has no recorded checksum")
            _verify(path, tuple(recorded or ()))

    def save(self, folder: Path) -> list[Callable[[], tuple[str, tuple[int, int]]]]:
        """Put the segment's files into `folder`: hard links to its saved files when it has
        some (already verified by the caller), else written. Returns jobs to run (in threads:
        writes wait on the disk), each giving a file's name and (size, CRC-32)."""
        if self.folder is not None:
            return [partial(_link, self.folder / n, folder / n, self.sums[n]) for n in self.file_names]
        fills: list[Callable[[BinaryIO], Any]] = [
            partial(_put_array, np.asarray(_field(self, part, name), dtype=_STORED_AS.get(file)))
            for file, (part, name) in _ARRAYS.items()
        ]
        assert isinstance(self.forward, Forward)  # a segment not yet saved has it in memory
        texts = self.packed_texts or Packing(self.texts, self.text_offsets)
        terms = self.packed_terms or Packing(self.forward.terms, self.forward.indptr, terms=True)
        fills.append(lambda fh: np.save(fh, texts.get()[1]))
        fills.append(lambda fh: np.save(fh, terms.get()[1]))
        fills.append(lambda fh: fh.writelines(texts.get()[0]))
        fills.append(lambda fh: fh.writelines(terms.get()[0]))
        return [partial(_write, folder / n, fill) for n, fill in zip(self.file_names, fills, strict=True)]

    def linked_into(self, folder: Path) -> Segment:
        """This saved segment as opened from `folder`, where a new version linked its files:
        the same files (mapped already, and checked when first opened), named there."""
        assert self.folder is not None and isinstance(self.texts, Packed)
        assert isinstance(self.forward, PackedForward)
        return replace(
            self,
            folder=folder,
            texts=Packed(folder / self.texts.path.name, self.texts.blocks),
            forward=replace(self.forward, path=folder / self.forward.path.name),
        )

    @classmethod
    def open(cls, folder: Path, meta: dict[str, Any]) -> Segment:
        """The segment described by `meta` (see `Segment.meta`), memory-mapped from `folder`;
        `IndexCorrupt` when a file is missing or of the wrong size."""
        name, n = meta["name"], int(meta["passages"])
        path = {array: folder / f"{name}.{array}.npy" for array in _ARRAYS}
        a = {array: load_array(path[array]) for array in _ARRAYS}

        def sized(array: str, length: int) -> None:
            found = len(a[array])
            expect(path[array], found == length, f"{found:,} entries where {length:,} belong")

        sized("fwd_indptr", n + 1)
        sized("text_offsets", n + 1)
        n_terms = len(a["term_unit"])
        for array in ("term_spread", "term_first"):
            sized(array, n_terms)
        for array in ("post_indptr", "term_at16", "term_at32"):
            sized(array, n_terms + 1)
        n_postings = int(a["post_indptr"][-1])
        for array in ("post_gaps", "post_level"):
            sized(array, n_postings)
        sized("post_gaps16", int(a["term_at16"][-1]))
        sized("post_gaps32", int(a["term_at32"][-1]))
        sized("post_tf4", (n_postings + 1) // 2)
        sized("post_big_tf", len(a["post_big_at"]))
        blocks = _blocks(folder, name, "text_blocks", "texts.bin", -(-n // BLOCK) + 1)
        fwd_blocks = _blocks(folder, name, "fwd_blocks", "fwd.bin", -(-n // FORWARD_BLOCK) + 1)
        return cls(
            name=name,
            start=meta["start"],
            avgdl=meta["avgdl"],
            forward=PackedForward(
                folder / f"{name}.fwd.bin",
                load_bytes(folder / f"{name}.fwd.bin", int(fwd_blocks[-1])),
                fwd_blocks,
                a["fwd_indptr"],
            ),
            inverted=Inverted(
                Compact(**{f: a[file] for file, f in _COMPACT.items()}),
                a["post_level"],
                a["term_unit"],
                a["term_spread"],
                a["term_first"],
            ),
            texts=Packed(folder / f"{name}.texts.bin", blocks),
            text_offsets=a["text_offsets"],
            folder=folder,
            sums={str(n): (int(s[0]), int(s[1])) for n, s in meta.get("files", {}).items()},
        )


# Files this process has checked lately: (device, inode, size, mtime) -> (sum, when). A
# segment's big files are shared by every later version, and a feed poller saves a version every
# few minutes: reading them all each time would make a small addition cost as much as the corpus.
# A file is read again when anything about it changed, or `RECHECK` seconds after it was read.
_checked: dict[tuple[int, ...], tuple[tuple[int, int], float]] = {}
RECHECK = 3600.0
# Checks started by `check_soon` and not yet asked for: key as above -> its (size, CRC-32).
_pending: dict[tuple[int, ...], Future[tuple[int, int]]] = {}
_lock = threading.Lock()


def check_soon(segments: Iterable[Segment]) -> None:
    """Start checking the saved files of `segments` in a background thread, so that the `verify`
    of a save, later, finds them checked: a build meanwhile keeps the interpreter busy, and CRC-32
    lets go of it (the first addition in a process reads ~200 MB of reused segments this way)."""
    jobs: list[tuple[Path, Future[tuple[int, int]]]] = []
    with _lock:
        for segment in segments:
            if segment.folder is None:
                continue
            for path in (segment.folder / name for name in segment.file_names):
                key = _key(path)
                if key is None or key in _pending or _recent(key) is not None:
                    continue
                future: Future[tuple[int, int]] = Future()
                if len(_pending) > 4096:  # started and never asked for (a failed build's)
                    _pending.clear()
                _pending[key] = future
                jobs.append((path, future))
    if jobs:
        beside(partial(_check_all, jobs), "newsbot-checks")


def checks_settled() -> None:
    """Wait for the checks `check_soon` started, and for every thread started beside this one
    (theirs, a packing's: `background.settled`) to end, before forking worker processes: a
    fork is only made from a process running no other thread."""
    with _lock:
        futures = list(_pending.values())
    for future in futures:
        future.exception()  # waits; the outcome is for `verify`
    settled()


def _check_all(jobs: list[tuple[Path, Future[tuple[int, int]]]]) -> None:
    for path, future in jobs:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(checksum(path))
            except BaseException as e:  # handed to whoever asks (`IndexCorrupt`, say)
                future.set_exception(e)


def _key(path: Path) -> tuple[int, ...] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    # Not the ctime: linking the file into each new version changes it.
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _recent(key: tuple[int, ...]) -> tuple[int, int] | None:
    seen = _checked.get(key)
    return seen[0] if seen is not None and time.monotonic() - seen[1] < RECHECK else None


def _verify(path: Path, recorded: tuple[int, ...]) -> None:
    """Raise IndexCorrupt unless `path`'s size and CRC-32 are `recorded`."""
    key = _key(path)
    with _lock:
        seen = _recent(key) if key else None
        started = _pending.pop(key, None) if key else None
    if seen is not None and seen == recorded:
        return
    found = started.result() if started is not None else checksum(path)
    expect(path, found == recorded, "does not match its checksum")
    if key is not None:
        with _lock:
            if len(_checked) > 4096:
                _checked.clear()
            _checked[key] = (found, time.monotonic())


def _field(segment: Segment, part: str, name: str) -> Any:
    """The array `name` of `segment`'s `part` (a dotted path; "" for the segment itself)."""
    owner: Any = segment
    for step in filter(None, part.split(".")):
        owner = getattr(owner, step)
    return getattr(owner, name)


def _blocks(folder: Path, name: str, array: str, data: str, length: int) -> npt.NDArray[np.int64]:
    """The block offsets `array` of a compressed file `data` (checked to end where the file does)."""
    blocks = load_array(folder / f"{name}.{array}.npy", length)
    size = file_size(folder / f"{name}.{data}")
    expect(folder / f"{name}.{data}", size == int(blocks[-1]), f"{size:,} bytes, not {int(blocks[-1]):,}")
    return blocks


def _put_array(array: npt.NDArray[Any], fh: BinaryIO) -> None:
    np.save(fh, array)


def _write(path: Path, fill: Callable[[BinaryIO], None]) -> tuple[str, tuple[int, int]]:
    write_file(path, fill)
    found, key = checksum(path), _key(path)
    if key is not None:  # as checked: the next version that shares it need not read it again
        with _lock:
            if len(_checked) > 4096:
                _checked.clear()
            _checked[key] = (found, time.monotonic())
    return path.name, found


def _link(source: Path, target: Path, sums: tuple[int, int]) -> tuple[str, tuple[int, int]]:
    """Share a written file with a new index version; copy it where links are not possible."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    return target.name, sums
