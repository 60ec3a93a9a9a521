"""The saved index: BM25 postings, passages and article metadata, loaded without re-analysis.

Passages live in segments (`newsbot.index.segment`), numbered across them in order; passages of
articles that were since removed or changed are dead: kept in their segment, never found, and
left out of every statistic. The index is exactly rank-bm25's BM25Okapi over its live passages.

Layout under the index directory: one folder per build (named by its version) and a `CURRENT`
file naming the live one. A build is written to a hidden temporary folder, flushed, renamed, and
only then does `CURRENT` switch (by atomic `os.replace`), so a crash mid-write leaves the previous
index in place and usable. Large arrays are memory-mapped: start-up reads only what a query needs.
Loading checks every file's presence and size against `meta.json` (cheap: no data is read), so a
damaged index raises `IndexCorrupt` naming the file, and the engine builds it again.
"""

from __future__ import annotations

import os
import shutil
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from newsbot.corpus.scope import GUILDS, Scope
from newsbot.errors import IndexCorrupt
from newsbot.index import versions
from newsbot.index.bm25 import BM25Params, FloatArray, Int32Array, IntArray, Postings, norms
from newsbot.index.catalog import Articles, FileState, Spliced
from newsbot.index.filestates import Files
from newsbot.index.keys import Keys
from newsbot.index.memo import Memo
from newsbot.index.saving import ARRAYS, FORMAT, OLDEST, PER_PASSAGE, bytes_to_write, write_version
from newsbot.index.search import search
from newsbot.index.segment import Segment
from newsbot.index.tables import (
    Table,
    Terms,
    checksum,
    expect,
    file_size,
    load_array,
    read_json,
)
from newsbot.records import Article, Filters

__all__ = ["FORMAT", "OLDEST", "FileState", "Index", "Memo"]


@dataclass(frozen=True)
class Index:
    """Everything a query needs, plus what an incremental reindex reuses."""

    version: str
    built_at: str
    corpus: str
    params: BM25Params
    terms: Sequence[str]  # term id -> term
    vocab: Mapping[str, int]  # term -> term id
    segments: tuple[Segment, ...]
    avgdl: float  # of the live passages
    df: IntArray  # live passages per term
    idf: FloatArray  # per term
    norm: FloatArray  # per passage: k1 * (1 - b + b * length / avgdl) (not saved: `bm25.norms`)
    dead: IntArray  # passages no longer in the corpus, ascending
    articles: Sequence[Article]  # metadata only: `text` is empty, passages hold the text
    article_start: IntArray  # article i owns passages article_start[i]:article_end[i]
    article_end: IntArray
    passage_article: Int32Array  # -1 when dead
    passage_position: Int32Array  # its number within its article
    passage_day: Int32Array  # date.toordinal(), 0 when unknown
    passage_source: Int32Array  # index into `sources`, -1 when unknown
    passage_length: Int32Array  # its tokens, repeats counted (title included)
    sources: tuple[str, ...]
    files: Mapping[str, FileState]  # read from disk when first needed (by a reindex)
    size_bytes: int = 0
    stems: Mapping[str, str] = field(default_factory=dict)  # token -> stem of the corpus' words
    analysis: Mapping[str, Any] = field(default_factory=dict)  # see `newsbot.index.fingerprint`
    # Not copied by `dataclasses.replace`: a changed index starts with nothing remembered.
    memo: Memo = field(default_factory=Memo, init=False, compare=False, repr=False)

    def extended(
        self, terms: list[str], stems: dict[str, str]
    ) -> tuple[Mapping[str, int], Sequence[str], Mapping[str, str]]:
        """Vocabulary, terms and stems for a new index: these plus new ones, without decoding all."""
        start = len(self.terms)
        vocab = Table.of(self.vocab, "int32").extended({t: start + i for i, t in enumerate(terms)})
        known = Table.of(self.stems, f"S{Table.WIDTH}")
        words = known.extended(
            {w: s for (w, s), had in zip(stems.items(), known.get_many(list(stems)), strict=True) if had != s}
        )
        return vocab, Terms.of(self.terms).extended(terms), words

    @property
    def n_passages(self) -> int:
        """Passage numbers in use, dead ones included: the length of per-passage arrays."""
        return len(self.passage_article)

    @property
    def n_live(self) -> int:
        return self.n_passages - len(self.dead)

    @cached_property
    def parts(self) -> tuple[tuple[Segment, Postings], ...]:
        """Each segment with its postings under the current statistics."""
        return tuple(
            (s, Postings.over(s.inverted, self.idf, self.norm[s.start : s.end], self.params.k1))
            for s in self.segments
        )

    def _segment(self, passage: int) -> Segment:
        return self.segments[bisect_right([s.start for s in self.segments], passage) - 1]

    def passage_text(self, passage: int) -> str:
        segment = self._segment(passage)
        return segment.text(passage - segment.start)

    def passage_terms(self, passage: int) -> Int32Array:
        """The distinct term ids of a passage."""
        segment = self._segment(passage)
        return segment.terms_of(np.array([passage - segment.start]))

    def term_ids(self, terms: list[str]) -> list[int]:
        """Term ids of the query terms the corpus knows, repeats kept."""
        ids = (self.vocab.get(t) for t in terms)
        return [i for i in ids if i is not None]

    def scores(self, term_ids: list[int]) -> FloatArray:
        """Every passage's score (0 when dead): rank-bm25's `get_scores` over the live passages."""
        scores = np.zeros(self.n_passages)
        for segment, postings in self.parts:
            mine = scores[segment.start : segment.end]
            for t in term_ids:
                docs, weights = postings.postings(t)
                # Within one term a passage appears once, so fancy-index += is a correct scatter-add.
                mine[docs] += weights
        scores[self.dead] = 0.0
        return scores

    def search(
        self,
        term_ids: list[int],
        k: int,
        filters: Filters = Filters(),
        per_article: int = 1,
        factor: FloatArray | None = None,
    ) -> list[tuple[int, float]]:
        """The best (passage, score) pairs, best first, at most `per_article` per article: exactly
        rank-bm25's scores (times `factor`), found by the pruned search of `newsbot.index.search`."""
        return search(self, term_ids, k, filters, per_article, factor)

    @cached_property
    def passage_owner(self) -> npt.NDArray[np.int64]:
        """Per passage, the server that owns it (0: the operator), from its article's path."""
        paths = Keys.of(self.articles).paths
        if not any(p and p.startswith(f"{GUILDS}/") for p in paths):
            return np.zeros(self.n_passages, dtype=np.int64)  # no server's content
        owners = np.array([Scope.of_path(p).guild or 0 for p in paths], dtype=np.int64)
        per = np.zeros(self.n_passages, dtype=np.int64)
        if owners.any():
            live = self.passage_article >= 0
            per[live] = owners[self.passage_article[live]]
        return per

    def masks(self, filters: Filters) -> bool:
        """Whether `filter_mask` can exclude anything: a filter is set or servers own content."""
        return filters.active or self._owned()

    def _owned(self) -> bool:
        # Kept: per query, a pass over every passage's owner would cost ~30 us.
        return self.memo.get("owned", None, lambda: bool(self.passage_owner.any()), 1)

    def filter_mask(
        self, filters: Filters, passages: npt.NDArray[np.intp] | None = None
    ) -> npt.NDArray[np.bool_]:
        """Which passages (all, or these: the search asks about a few) `filters` lets through."""
        at = slice(None) if passages is None else passages
        mask = np.ones(self.n_passages if passages is None else len(passages), dtype=bool)
        if self._owned():  # other servers' content is never answered
            owner = self.passage_owner[at]
            mask &= (owner == 0) | (owner == (filters.guild or 0))
        day = self.passage_day[at]
        if filters.since:
            mask &= day >= filters.since.toordinal()
        if filters.until:
            mask &= (day <= filters.until.toordinal()) & (day > 0)
        if filters.source:
            wanted = [i for i, s in enumerate(self.sources) if s.lower() == filters.source.lower()]
            mask &= np.isin(self.passage_source[at], wanted)
        return mask

    def article_of(self, passage: int) -> Article:
        return self.articles[int(self.passage_article[passage])]

    # --- persistence ---------------------------------------------------------------------------

    def save(self, index_dir: Path, keep: int = 1) -> Index:
        """Write atomically as a new version folder, make it live, and prune versions no process
        needs (see `newsbot.index.versions`; a writer calls it holding `versions.writer`).
        Returns the saved index as `load` reads it: use it from then on, since this one may still
        read from (or link from) the folders it was assembled from.

        A failed save (a full disk, say) removes its temporary folder, so it holds no space."""
        index_dir.mkdir(parents=True, exist_ok=True)
        versions.ensure_space(index_dir, bytes_to_write(self))
        for segment in self.segments:  # a damaged file is never carried into a new version
            segment.verify()
        tmp = versions.temporary(index_dir, self.version)
        try:
            meta = write_version(self, tmp)
            os.replace(tmp, index_dir / self.version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # Segments shared with the previous version are the same files: not opened again.
        shared = {s.name: s for s in self.segments if s.folder is not None}
        saved = Index._read(index_dir / self.version, meta, shared)
        if isinstance(saved.articles, Articles) and isinstance(self.articles, Articles | Spliced):
            saved.articles.knowing(self.articles.keys)  # as written: the next build needs them
        versions.publish(index_dir, self.version)
        versions.prune(index_dir, keep)
        return saved

    def verify_files(self) -> None:
        """Raise IndexCorrupt naming the first saved file whose size or checksum differs from the
        one recorded when it was written (reads every file: `newsbot index --verify`)."""
        for segment in self.segments:
            segment.verify()
        folder = self.segments[0].folder if self.segments else None
        if folder is None:
            return
        meta = read_json(folder / "meta.json")
        for name, recorded in dict(meta.get("files", {})).items():
            expect(folder / name, checksum(folder / name) == tuple(recorded), "does not match its checksum")

    @classmethod
    def load(cls, index_dir: Path) -> Index | None:
        """The live index under `index_dir`, or None when there is none yet (or in another
        format: it is then built again). `IndexCorrupt` when it is damaged."""
        pointer = index_dir / "CURRENT"
        try:
            version = pointer.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise IndexCorrupt(pointer, f"unreadable ({e})") from e
        expect(pointer, versions.valid_version(version), f"names no version ({version[:40]!r})")
        expect(pointer, (index_dir / version).is_dir(), f"names {version}, which is missing")
        return cls.open(index_dir / version)

    @classmethod
    def load_newest(cls, index_dir: Path) -> tuple[Index | None, IndexCorrupt | None]:
        """The live index, or when it is damaged the newest earlier version that loads; with the
        damage met on the way (None when the live one loaded)."""
        try:
            return cls.load(index_dir), None
        except IndexCorrupt as e:
            damage = e
        for version in versions.history(index_dir):
            try:
                index = cls.open(index_dir / version)
            except IndexCorrupt:
                continue
            if index is not None:
                return index, damage
        return None, damage

    @classmethod
    def open(cls, folder: Path) -> Index | None:
        """The index saved in `folder` (a version folder; see `load`)."""
        path = folder / "meta.json"
        meta = read_json(path)
        expect(path, isinstance(meta, dict), "not a JSON object")
        if meta.get("format") not in range(OLDEST, FORMAT + 1):
            return None
        return cls._read(folder, meta)

    @classmethod
    def _read(cls, folder: Path, meta: dict[str, Any], shared: Mapping[str, Segment] | None = None) -> Index:
        """The index saved in `folder`; `shared`: segments (by name) whose files it links, as
        opened from where they were first saved."""
        path = folder / "meta.json"
        shared = shared or {}
        try:
            n_passages, n_terms, n_articles = int(meta["passages"]), int(meta["terms"]), int(meta["articles"])
            segments = tuple(
                shared[s["name"]].linked_into(folder)
                if _same(shared.get(s["name"]), s)
                else Segment.open(folder, s)
                for s in meta["segments"]
            )
            params, avgdl = BM25Params(**meta["params"]), float(meta["avgdl"])
            arrays = _arrays(folder, n_passages, n_terms, n_articles)
            index = cls(
                version=str(meta["version"]),
                built_at=str(meta["built_at"]),
                corpus=str(meta["corpus"]),
                params=params,
                analysis=dict(meta["analysis"]),
                terms=Terms.open(folder, n_terms),
                vocab=Table.open(folder, "vocab"),
                segments=segments,
                avgdl=avgdl,
                articles=Articles.open(folder, n_articles),
                sources=tuple(str(s) for s in meta["sources"]),
                files=Files.open(folder),
                stems=Table.open(folder, "stems"),
                size_bytes=sum(file_size(f) for f in folder.iterdir()),
                # Recomputed as a build computes them (the same floats): 8 bytes a passage less on disk.
                norm=norms(np.asarray(arrays["passage_length"]), avgdl, params),
                **arrays,
            )
        except (KeyError, TypeError, ValueError) as e:
            raise IndexCorrupt(path, f"lacks or garbles {e}") from e
        ends = [0] + [s.end for s in segments]
        expect(path, [s.start for s in segments] == ends[:-1], "segments that do not follow each other")
        expect(path, ends[-1] == n_passages, f"segments of {ends[-1]:,} passages, not {n_passages:,}")
        return index


def _arrays(folder: Path, n_passages: int, n_terms: int, n_articles: int) -> dict[str, Any]:
    """The index-wide arrays, each checked to have as many entries as meta.json says."""
    lengths = {"df": n_terms, "idf": n_terms, "article_start": n_articles, "article_end": n_articles}
    lengths.update(dict.fromkeys(PER_PASSAGE, n_passages))
    arrays = {name: load_array(folder / f"{name}.npy", lengths.get(name)) for name in ARRAYS}
    dead = arrays["dead"]
    expect(folder / "dead.npy", not len(dead) or 0 <= int(dead[-1]) < n_passages, "passages out of range")
    return arrays


def _same(segment: Segment | None, meta: dict[str, Any]) -> bool:
    """Whether `segment` is the one `meta` describes (a shared one: same name, same place)."""
    return segment is not None and (segment.start, segment.n_passages) == (meta["start"], meta["passages"])
