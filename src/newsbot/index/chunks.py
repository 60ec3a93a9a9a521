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
import os
import secrets
import struct
import tempfile
import weakref
from dataclasses import replace
from pathlib import Path

import numpy as np

from newsbot.index import scratch
from newsbot.index.bm25 import BM25Params, Forward, IntArray, average_length, invert, norms
from newsbot.index.segment import Segment, Texts
from newsbot.records import Article

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


class TextSpill:
    """A cold build's article titles and texts, written to an unnamed temporary file as the corpus
    is read and read back a batch at a time for analysis: a build never holds the corpus' text in
    memory. Keyed by content hash (the same hash, the same text), which survives renaming
    duplicates; each entry's place is one int under the hash's bytes (~100 bytes an article, not
    ~230: at 1.2M articles that is 150 MB). An entry is the title's length (4 bytes), the title
    and the text, in UTF-8: analysis processes forked by the build read their batches from the
    file by its place (`entry`), so neither the texts nor the titles pass through this process."""

    def __init__(self) -> None:
        # Written through a 1 MB buffer: most entries are larger than the default 8 KB one, and
        # a write each cost the build's main process ~0.5 s at 215k.
        self.file = tempfile.TemporaryFile(buffering=_BUFFER)  # noqa: SIM115 - closed by `close`
        self.at: dict[bytes, int] = {}  # content hash -> offset << _LENGTH_BITS | bytes
        self.end = 0

    def put(self, article: Article) -> Article:
        """`article` without its text, which is kept here (with its title)."""
        key = _key(article)
        if key not in self.at:
            title = article.title.encode("utf-8", "surrogatepass")
            text = article.text.encode("utf-8", "surrogatepass")
            size = self.file.write(b"".join((_TITLE.pack(len(title)), title, text)))
            self.at[key] = self.end << _LENGTH_BITS | size
            self.end += size
        return replace(article, text="")

    def place(self, article: Article) -> tuple[int, int]:
        """Where `article`'s entry starts in the file, and its bytes (see `entry`)."""
        place = self.at[_key(article)]
        return place >> _LENGTH_BITS, place & _LENGTH_MASK

    def written(self) -> int:
        """The file's descriptor, once all that was put is in it (for `entry`)."""
        self.file.flush()
        return self.file.fileno()

    def close(self) -> None:
        self.file.close()


def entry(fd: int, start: int, size: int) -> tuple[str, str]:
    """The (title, text) of the entry at `start` (`size` bytes) of a `TextSpill`'s file (`fd`,
    shared by forking)."""
    data = os.pread(fd, size, start)
    end = _TITLE.size + _TITLE.unpack_from(data)[0]
    title, text = data[_TITLE.size : end], data[end:]
    return title.decode("utf-8", "surrogatepass"), text.decode("utf-8", "surrogatepass")


_TITLE = struct.Struct("<I")
_BUFFER = 1 << 20
_LENGTH_BITS = 32  # an entry's bytes (a corpus caps texts far below 4 GB)
_LENGTH_MASK = (1 << _LENGTH_BITS) - 1


def _key(article: Article) -> bytes:
    try:
        return bytes.fromhex(article.content_hash)
    except ValueError:  # not a hex digest (made by hand): as it is
        return article.content_hash.encode()
