"""Passage texts and forward indexes on disk, compressed in blocks: a query reads and inflates
only the block of each passage it shows (a few per answer), so the texts take a third of the disk
for ~30 us a passage.

A block is `BLOCK` consecutive passages' UTF-8 texts, compressed together as one zstd frame
(level `LEVEL`, with a checksum: a 215k-passage build compresses its ~215 MB of text in ~1.1 s of
CPU, in two threads, where zlib level 4 took 3.5 s for 1% less). `text_offsets` (the
uncompressed offsets) still say where each passage starts within its block's text.

A saved forward index (each passage's distinct term ids in order of first occurrence) is kept the
same way, `FORWARD_BLOCK` passages a block, their int32 ids as four byte planes (low bytes first:
the high ones are mostly 0), compressed: ~1.8 bytes a term id instead of 4. Its counts are not
kept: the postings have them (`PackedForward.unpacked`).

Indexes of format 9 deflated their blocks with zlib; a block is read by its first bytes (zstd's
frame magic or not), so their segments are read as they are, also once linked into a newer version.
"""

from __future__ import annotations

import itertools
import mmap
import threading
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import zstandard

from newsbot.errors import IndexCorrupt
from newsbot.index.background import beside
from newsbot.index.tables import expect

BLOCK = 16  # passages per compressed block of texts
# zstd levels, measured on a 215k-passage index's blocks (docs/performance.md): texts 93.9 MB for
# 1.1 s of CPU at 3 (1: 95.9 MB, 0.8 s; 4: 93.1 MB, 1.8 s; zlib 4: 93.0 MB, 3.5 s); term ids
# 31.2 MB for 0.18 s at 1 (3: 31.3 MB, 0.23 s; zlib 6: 31.2 MB, 1.0 s).
LEVEL = 3
FORWARD_BLOCK = 16  # passages per compressed block of term ids (64: 3% smaller, 4x slower to read)
FORWARD_LEVEL = 1
_LET_GO = 8 << 20  # bytes of a mapped file's texts packed between letting their pages go
RECENT_BLOCKS = 256  # inflated blocks of term ids kept per segment (~5 KB each)
# Far more than a block inflates to (16 passages of a few KB; an article's text is at most 200k
# characters): a frame claiming more is damaged.
MAX_INFLATED = 1 << 28
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # how every zstd frame starts (a zlib stream starts 0x?8)
_CORRUPT = (OSError, ValueError, zlib.error, zstandard.ZstdError)

# zstandard's compressors and decompressors are not thread-safe: one of each per thread
# (queries read blocks from several), made on first use and kept (a context is a few 100 KB).
_mine = threading.local()


def _compressor(level: int) -> zstandard.ZstdCompressor:
    made: dict[int, zstandard.ZstdCompressor] = _mine.__dict__.setdefault("compressors", {})
    if level not in made:
        made[level] = zstandard.ZstdCompressor(level=level, write_checksum=True, write_content_size=True)
    return made[level]


def compress(data: Any, level: int) -> bytes:
    """One block, as a zstd frame (the GIL is let go meanwhile)."""
    return _compressor(level).compress(data)


def inflate(block: Any) -> bytes:
    """A block as compressed by `compress` (a zstd frame) or by format 9 (zlib)."""
    if bytes(block[:4]) != ZSTD_MAGIC:
        return zlib.decompress(block)
    claimed = zstandard.frame_content_size(block)
    if claimed > MAX_INFLATED:  # a damaged header: refused before its size is allocated
        raise zstandard.ZstdError(f"a block claims {claimed:,} bytes")
    decompressor = _mine.__dict__.get("decompressor")
    if decompressor is None:
        decompressor = _mine.decompressor = zstandard.ZstdDecompressor()
    return decompressor.decompress(block)


@dataclass(frozen=True)
class Packed:
    """A saved segment's compressed texts: `path`, whose block b is bytes blocks[b]:blocks[b + 1]."""

    path: Path
    blocks: npt.NDArray[np.int64]

    def block(self, b: int) -> bytes:
        start, end = int(self.blocks[b]), int(self.blocks[b + 1])
        try:
            with self.path.open("rb") as fh:  # read, not mapped: mapped pages would stay in memory
                fh.seek(start)
                return inflate(fh.read(end - start))
        except _CORRUPT as e:
            raise IndexCorrupt(self.path, f"unreadable ({type(e).__name__}: {e})"[:200]) from e

    def unpacked(self) -> bytes:
        """All the texts (for a compaction, which rewrites them)."""
        data = self.path.read_bytes()
        bounds = self.blocks.tolist()
        try:
            return b"".join(inflate(data[a:b]) for a, b in itertools.pairwise(bounds))
        except _CORRUPT as e:
            raise IndexCorrupt(self.path, f"unreadable ({type(e).__name__}: {e})"[:200]) from e


@dataclass(frozen=True)
class PackedForward:
    """A saved segment's forward index: passage d's term ids are positions indptr[d]:indptr[d + 1]
    of all, kept in `data` (the file `path`, mapped) in blocks of `FORWARD_BLOCK` passages (block
    b: bytes blocks[b]:blocks[b + 1]). Mapped, as the uncompressed one was: a block is a slice."""

    path: Path
    data: Any  # the file's bytes, memory-mapped (b"" when empty)
    blocks: npt.NDArray[np.int64]
    indptr: npt.NDArray[np.integer[Any]]  # uint32 on disk
    # Blocks read lately: an answer asks for the same passages' terms twice (fold, coverage).
    recent: dict[int, npt.NDArray[np.int32]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_docs(self) -> int:
        return len(self.indptr) - 1

    def terms_of(self, passages: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.int32]:
        """The term ids of `passages` (numbered from 0 in the segment), one after the other."""
        wanted = np.asarray(passages, dtype=np.int64)
        # (not np.unique: numpy 2 imports its masked arrays for that, 20 ms of a fresh reindex)
        blocks = np.flatnonzero(np.bincount(wanted // FORWARD_BLOCK)).tolist()
        got = {b: ids for b in blocks if (ids := self.recent.get(b)) is not None}  # (threads: no KeyError)
        fresh = {b: self._block(b) for b in blocks if b not in got}
        if fresh:
            got.update(fresh)
            if len(self.recent) + len(fresh) > RECENT_BLOCKS:
                self.recent.clear()
            self.recent.update(list(fresh.items())[-RECENT_BLOCKS:])
        found = [np.zeros(0, dtype=np.int32)]
        indptr = self.indptr
        for d in wanted.tolist():  # in the order asked for
            b = d // FORWARD_BLOCK
            first = int(indptr[b * FORWARD_BLOCK])
            found.append(got[b][int(indptr[d]) - first : int(indptr[d + 1]) - first])
        return np.concatenate(found)

    def all_terms(self) -> npt.NDArray[np.int32]:
        return np.concatenate([np.zeros(0, dtype=np.int32), *map(self._block, range(len(self.blocks) - 1))])

    def _block(self, b: int) -> npt.NDArray[np.int32]:
        start, end = int(self.blocks[b]), int(self.blocks[b + 1])
        try:
            planes = np.frombuffer(inflate(self.data[start:end]), dtype=np.uint8)
        except _CORRUPT as e:
            raise IndexCorrupt(self.path, f"unreadable ({type(e).__name__}: {e})"[:200]) from e
        expect(self.path, len(planes) % 4 == 0, f"a block of {len(planes)} bytes")
        ids: npt.NDArray[np.int32] = np.ascontiguousarray(planes.reshape(4, -1).T).view("<i4").ravel()
        return ids.astype(np.int32, copy=False)


class Packing:
    """The compressed blocks of some texts (or forward term ids), made once, by whichever save
    job asks first."""

    def __init__(self, texts: Any, offsets: npt.NDArray[np.int64], terms: bool = False) -> None:
        self.texts, self.offsets, self.terms = texts, offsets, terms
        self._lock = threading.Lock()
        self._done: tuple[list[memoryview], npt.NDArray[np.int64]] | None = None

    def soon(self) -> Packing:
        """Start packing in a thread of its own, beside the caller's work (zstd lets go of the
        GIL): `get` then waits for it instead of packing. (A fork waits for it: see
        `background.settled`; a build not saved leaves it running.)"""
        beside(self.get, "newsbot-packing")
        return self

    def get(self) -> tuple[list[memoryview], npt.NDArray[np.int64]]:
        """The blocks (one after the other in a few byte arrays, to be written in order) and where
        each block starts and ends in them all."""
        with self._lock:
            if self._done is None:
                self._done = self._terms() if self.terms else self._texts()
            return self._done

    def _texts(self) -> tuple[list[memoryview], npt.NDArray[np.int64]]:
        view = memoryview(self.texts) if len(self.texts) else memoryview(b"")
        cuts = list(itertools.pairwise(_cuts(self.offsets, BLOCK)))
        # zstd lets go of the GIL: the two halves are compressed side by side.
        half = len(cuts) // 2
        with ThreadPoolExecutor(2) as pool:
            runs = [cuts[:half], cuts[half:]]
            parts = list(pool.map(lambda r: _packed(_let_go(self.texts, view, r), LEVEL, _room(r)), runs))
        return [part for part, _ in parts], _bounded([n for _, sizes in parts for n in sizes])

    def _terms(self) -> tuple[list[memoryview], npt.NDArray[np.int64]]:
        ids = np.asarray(self.texts).astype("<i4", copy=False)
        cuts = list(itertools.pairwise(_cuts(self.offsets, FORWARD_BLOCK)))
        planes = (ids[a:b].view(np.uint8).reshape(-1, 4).T.tobytes() for a, b in cuts)
        packed, sizes = _packed(planes, FORWARD_LEVEL, 4 * _room(cuts))
        return [packed], _bounded(sizes)


def _let_go(texts: Any, view: memoryview, run: list[tuple[int, int]]) -> Iterator[memoryview]:
    """The blocks of `run`, from `view` of `texts`. Where `texts` maps a file (a build's texts:
    see `Builder`), the pages of the blocks passed are dropped from this process every few MB:
    a shared read-only mapping reads them again from the file if asked, so nothing is lost, and
    a build that packs them does not hold them all in memory."""
    base = getattr(texts, "base", None)
    read_only = isinstance(texts, np.ndarray) and not texts.flags.writeable  # (not copy-on-write)
    can = read_only and hasattr(mmap, "MADV_DONTNEED")  # (not on every system)
    mapped = base if isinstance(base, mmap.mmap) and can else None
    page = mmap.PAGESIZE
    done = run[0][0] // page * page if run else 0
    for a, b in run:
        yield view[a:b]
        if mapped is not None and b - done >= _LET_GO:
            upto = b // page * page
            mapped.madvise(mmap.MADV_DONTNEED, done, upto - done)
            done = upto


def _room(cuts: list[tuple[int, int]]) -> int:
    """Room enough for these blocks compressed, whatever they hold (zstd's bound: a few bytes
    more than the data), counted in the blocks' own units."""
    return (cuts[-1][1] - cuts[0][0]) * 257 // 256 + 64 * len(cuts) + 1024 if cuts else 1024


def _packed(blocks: Iterable[Any], level: int, room: int) -> tuple[memoryview, list[int]]:
    """`blocks` compressed one after the other into one array made once (`room` bytes, of which
    only those written become resident), and each one's size. Each frame is copied there and
    dropped at once: kept as bytes objects (or in an array grown as it fills), zstd's frames
    fragmented the compressing threads' malloc arenas: ~100 MB more of a build's peak RSS at 215k."""
    out = np.empty(room, dtype=np.uint8)
    sizes: list[int] = []
    at = 0
    for block in blocks:
        frame = compress(block, level)
        if at + len(frame) > len(out):  # doubled: pages never written are never resident
            out = np.concatenate([out[:at], np.empty(max(len(out), len(frame)), dtype=np.uint8)])
        out[at : at + len(frame)] = np.frombuffer(frame, dtype=np.uint8)
        at += len(frame)
        sizes.append(len(frame))
        del frame
    return out[:at].data, sizes


def _cuts(offsets: npt.NDArray[np.int64], block: int) -> list[int]:
    """Where each block of `block` passages starts, and the end."""
    cuts: list[int] = offsets[::block].tolist()
    if cuts[-1] != int(offsets[-1]):
        cuts.append(int(offsets[-1]))
    return cuts


def _bounded(sizes: list[int]) -> npt.NDArray[np.int64]:
    bounds = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=bounds[1:])
    return bounds
