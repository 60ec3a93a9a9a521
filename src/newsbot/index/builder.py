"""Collecting a build's analysed passages into what `merge.assemble` makes an index of.

Term ids are made index-wide as batches come back from the analysis processes (each numbers its
own terms). A cold build makes a segment of every `chunks.CHUNK_PASSAGES` passages as they come
(see `newsbot.index.chunks`), so it holds one chunk at a time; the rest is handed over by `take`.
"""

from __future__ import annotations

import tempfile
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from newsbot.index.bm25 import BM25Params, Forward, Ranked, offsets
from newsbot.index.chunks import CHUNK_PASSAGES, Spill, grown
from newsbot.index.merge import Fresh
from newsbot.index.segment import Segment, Texts
from newsbot.index.tables import Table
from newsbot.index.textspill import move_into
from newsbot.index.workers import Analysed
from newsbot.records import Article


@dataclass
class Builder:
    """Collects the analysed passages of new and changed articles, with index-wide term ids."""

    base: Mapping[str, int]  # the previous index's vocabulary (term -> id), or {}
    base_size: int
    new_ids: dict[str, int] = field(default_factory=dict)  # terms it lacks -> ids after its own
    new_terms: list[str] = field(default_factory=list)
    lengths: list[np.ndarray] = field(default_factory=list)  # distinct terms per passage
    fwd_terms: list[np.ndarray] = field(default_factory=list)
    fwd_counts: list[np.ndarray] = field(default_factory=list)
    # The batches' ranks (`Analysed.ranks`), so that a segment's postings are placed, not sorted:
    # one after the other in an unnamed temporary file, mapped when the segment is made (an
    # array a batch took 2 bytes a posting of the build's memory, and left holes in the
    # allocator's heap that kept a 215k build ~100 MB bigger after its inversion), and each
    # batch's passages and postings; None once a batch came without them.
    ranks: BinaryIO = field(default_factory=tempfile.TemporaryFile)
    ranked: list[tuple[int, int]] | None = field(default_factory=list)
    # The passages' texts go to an unnamed temporary file as they come: a big build need not hold
    # them in memory (they are read back, mapped, only to be saved).
    texts: BinaryIO = field(default_factory=tempfile.TemporaryFile)
    text_lengths: list[np.ndarray] = field(default_factory=list)
    passages: list[int] = field(default_factory=list)  # per article
    stems: dict[str, str] = field(default_factory=dict)
    # analysis process -> the index-wide id of each of its term ids (an array: made a numpy view
    # per batch without a copy, where a list was converted whole each time)
    remaps: dict[int, array[int]] = field(default_factory=dict)
    # A cold build's chunks (see `newsbot.index.chunks`): without `spill`, one segment at the end.
    spill: Spill | None = None
    chunk: int = CHUNK_PASSAGES
    params: BM25Params = field(default_factory=BM25Params)
    pending: int = 0  # passages added since the last chunk
    flushed: int = 0  # passages in chunks
    done: list[Segment] = field(default_factory=list)
    done_lengths: list[np.ndarray] = field(default_factory=list)
    done_df: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def add(self, result: Analysed) -> None:
        """An analysed batch of articles, their term ids made index-wide."""
        self.stems.update(result.stems)
        remap = self.remaps.setdefault(result.process, array("i"))
        terms = result.new_terms
        # A saved vocabulary is searched for all of them at once (one by one costs ~10 us each).
        known: list[int | None] = (
            self.base.get_many(terms) if isinstance(self.base, Table) else [self.base.get(t) for t in terms]
        )
        if None in known:  # terms new to the index (else all known: a reindex's, mostly)
            known = [self._term_id(t, i) if i is None else i for t, i in zip(terms, known, strict=True)]
        remap.extend(known)  # type: ignore[arg-type]  # (no None left)
        self.fwd_terms.append(np.frombuffer(remap, dtype=np.int32)[result.term_ids])
        self.fwd_counts.append(result.counts)
        if result.ranks is None or self.ranked is None:
            self.ranked = None
        else:
            self.ranked.append((len(result.lengths), len(result.ranks)))
            self.ranks.write(result.ranks.tobytes())
        self.lengths.append(result.lengths)
        if result.text_file is None:
            self.texts.write(result.text)
        else:
            move_into(Path(result.text_file), self.texts)
        self.text_lengths.append(result.text_lengths)
        self.passages.extend(result.passages)

    def add_counted(self, result: Analysed) -> None:
        """`add`, then the passages so far made a segment when a chunk is full (see `chunks`)."""
        self.add(result)
        self.pending += sum(result.passages)
        if self.spill is not None and self.pending >= self.chunk:
            forward, texts, text_offsets = self._part()
            segment, lengths, df = self.spill.segment(
                forward, texts, text_offsets, self.flushed, self.base_size + len(self.new_terms), self.params
            )
            self.done.append(segment)
            self.done_lengths.append(lengths)
            self.done_df = grown(self.done_df, df)
            self.flushed += forward.n_docs
            self.pending = 0
            self.texts = tempfile.TemporaryFile()  # noqa: SIM115 - closed by `_part`
            self.ranks = tempfile.TemporaryFile()  # noqa: SIM115 - closed by `_part`

    def _part(self) -> tuple[Forward, Texts, np.ndarray]:
        """The passages added since the last chunk, joined; each part freed once joined, so that
        a big build holds one copy at a time."""

        def joined(parts: list[Any], dtype: type) -> np.ndarray:
            out: np.ndarray = np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)
            parts.clear()
            return out

        self.texts.flush()
        texts = np.memmap(self.texts, dtype=np.uint8, mode="r") if self.texts.tell() else b""
        self.texts.close()  # the map keeps the data
        ranked: Ranked | None = None
        if self.ranked is not None:
            self.ranks.flush()
            empty = np.zeros(0, np.uint16)
            ranks = np.memmap(self.ranks, dtype=np.uint16, mode="r") if self.ranks.tell() else empty
            ends = np.cumsum([size for _, size in self.ranked]).tolist()
            ranked = tuple((n, ranks[e - size : e]) for (n, size), e in zip(self.ranked, ends, strict=True))
        self.ranks.close()  # (the map keeps the data)
        self.ranked = []
        forward = Forward(
            indptr=offsets(joined(self.lengths, np.int64)),
            terms=joined(self.fwd_terms, np.int32),
            counts=joined(self.fwd_counts, np.uint16),
            ranked=ranked,
        )
        return forward, texts, offsets(joined(self.text_lengths, np.int64))

    def take(self, articles: Sequence[Article]) -> Fresh:
        """The passages of `articles` (analysed, texts dropped): those not yet in a chunk's
        segment joined, the builder left empty."""
        per_article = np.array(self.passages, dtype=np.int64)
        # Each passage's place in its article, in 32 bits, made before the last chunk is joined:
        # in 64 bits its temporaries were three arrays of ~80 MB each at 10M passages.
        positions = np.arange(int(per_article.sum()), dtype=np.int32)
        positions -= np.repeat((np.cumsum(per_article) - per_article).astype(np.int32), per_article)
        forward, texts, text_offsets = self._part()
        return Fresh(
            articles=articles,
            passages=per_article,
            forward=forward,
            texts=texts,
            text_offsets=text_offsets,
            positions=positions,
            new_terms=self.new_terms,
            stems=self.stems,
            done=tuple(self.done),
            done_lengths=np.concatenate([np.zeros(0, np.int64), *self.done_lengths]),
            done_df=self.done_df,
        )

    def _term_id(self, term: str, known: int | None) -> int:
        """The index-wide id of `term`, whose id in the previous vocabulary is `known` (or None)."""
        i = self.new_ids.get(term)
        if i is None:
            i = known
            if i is None:
                i = self.new_ids[term] = self.base_size + len(self.new_terms)
                self.new_terms.append(term)
        return i
