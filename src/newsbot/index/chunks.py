"""A cold build in bounded chunks: every `CHUNK_PASSAGES` passages become a segment of their own,
inverted, written to a scratch folder and mapped back, so a build holds one chunk's forward index
and postings in memory whatever the corpus' size.

Scores stay exact: a segment's postings hold term counts and passage numbers; the corpus-wide
statistics (idf from df summed over the segments, norms from the final average length, rank-bm25's
first-seen order of terms) are made at the end over all of them, as for an incremental build's
segments. A chunk's rough weights are made with its own average length (see `bm25.drift`).
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import weakref
from pathlib import Path

import numpy as np

from newsbot.index import scratch
from newsbot.index.bm25 import BM25Params, Forward, IntArray, average_length, invert, norms
from newsbot.index.segment import Segment, Texts

# ~250k passages of ~100-200 words: a chunk's forward index, postings and texts take a few hundred
# MB while inverted (a whole 215k-passage build peaks at ~1.9 GB, most of it not the chunk).
CHUNK_PASSAGES = 250_000


class Spill:
    """Where a build's chunk segments are written: a scratch folder, removed with the last of
    them. A saved index links (or copies) their files into its version folder."""

    def __init__(self, parent: Path | None = None) -> None:
        self.parent = parent
        self.folder: Path | None = None  # made with the first chunk
        self.count = 0
        self.tag = secrets.token_hex(3)  # names unique across builds, as a version's are

    def segment(
        self,
        forward: Forward,
        texts: Texts,
        text_offsets: IntArray,
        start: int,
        n_terms: int,
        params: BM25Params,
    ) -> tuple[Segment, IntArray, IntArray]:
        """The chunk's segment (saved and mapped back), its passages' lengths and its terms' df."""
        lengths = forward.doc_lengths()
        avgdl = average_length(lengths)
        built = Segment(
            name=f"chunk-{self.tag}-{self.count}",
            start=start,
            avgdl=avgdl,
            forward=forward,
            inverted=invert(forward, n_terms, norms(lengths, avgdl, params), params.k1),
            texts=texts,
            text_offsets=text_offsets,
        )
        self.count += 1
        if self.folder is None:
            # Named after this process: a later build removes it if this one is killed (`scratch`).
            self.folder = Path(tempfile.mkdtemp(prefix=scratch.prefix("newsbot-chunks-"), dir=self.parent))
        df = np.bincount(np.asarray(forward.terms), minlength=n_terms).astype(np.int64)
        sums = dict(job() for job in built.save(self.folder))
        opened = Segment.open(self.folder, built.meta(sums))
        # Its files go when nothing uses the segment any more (a saved index has links to them).
        weakref.finalize(opened, _remove, self.folder, opened.file_names)
        return opened, lengths, df


def _remove(folder: Path, names: list[str]) -> None:
    for name in names:
        (folder / name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        folder.rmdir()  # once the last segment's files are gone


def grown(total: IntArray, part: IntArray) -> IntArray:
    """`total + part`, the shorter one padded with zeros (vocabularies grow chunk by chunk)."""
    out: IntArray = np.zeros(max(len(total), len(part)), dtype=np.int64)
    out[: len(total)] += total
    out[: len(part)] += part
    return out
