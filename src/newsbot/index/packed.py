"""Passage texts on disk, compressed in blocks: a query reads and inflates only the block of each
passage it shows (a few per answer), so the texts take a third of the disk for ~50 us a passage.

A block is `BLOCK` consecutive passages' UTF-8 texts, deflated together (zlib level 1: a build
compresses ~200 MB of text in a couple of seconds, off the main thread). `text_offsets` (the
uncompressed offsets) still say where each passage starts within its block's text.
"""

from __future__ import annotations

import itertools
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from newsbot.errors import IndexCorrupt

BLOCK = 16  # passages per compressed block
LEVEL = 1


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
                return zlib.decompress(fh.read(end - start))
        except (OSError, zlib.error) as e:
            raise IndexCorrupt(self.path, f"unreadable ({type(e).__name__}: {e})"[:200]) from e

    def unpacked(self) -> bytes:
        """All the texts (for a compaction, which rewrites them)."""
        data = self.path.read_bytes()
        bounds = self.blocks.tolist()
        try:
            return b"".join(zlib.decompress(data[a:b]) for a, b in itertools.pairwise(bounds))
        except zlib.error as e:
            raise IndexCorrupt(self.path, f"unreadable ({e})"[:200]) from e


class Packing:
    """The compressed blocks of some texts, made once (by whichever save job asks first)."""

    def __init__(self, texts: Any, offsets: npt.NDArray[np.int64]) -> None:
        self.texts, self.offsets = texts, offsets
        self._lock = threading.Lock()
        self._done: tuple[list[bytes], npt.NDArray[np.int64]] | None = None

    def get(self) -> tuple[list[bytes], npt.NDArray[np.int64]]:
        with self._lock:
            if self._done is None:
                view = memoryview(self.texts) if len(self.texts) else memoryview(b"")
                cuts = self.offsets[::BLOCK].tolist()
                if cuts[-1] != int(self.offsets[-1]):
                    cuts.append(int(self.offsets[-1]))
                packed = [zlib.compress(view[a:b], LEVEL) for a, b in itertools.pairwise(cuts)]
                bounds = np.zeros(len(packed) + 1, dtype=np.int64)
                np.cumsum([len(p) for p in packed], out=bounds[1:])
                self._done = packed, bounds
            return self._done
