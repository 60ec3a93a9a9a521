"""Putting an index together from the previous one and freshly analysed articles.

The previous index's segments are kept as they are (a new version shares their files), the
passages of articles removed or changed since become dead, and the fresh passages make one new
segment. Only the corpus-wide statistics are recomputed for every passage: passage norms from the
new average length, and idf from document frequencies adjusted by what died and what was added.
So a reindex costs in proportion to the change, not to the corpus.

The segments are merged back into one (compacted) now and then, to keep queries fast: all
segments after the first once there are `MAX_SEGMENTS`, and everything when over `MAX_DEAD` of the
passages are dead or the average passage length moved more than `MAX_DRIFT` since a segment was
made (its rough weights would be looser, see `newsbot.index.bm25.drift`). Segments of `BIG`
passages or more (a cold build's chunks) are left out of those rules and never rewritten.
"""

from __future__ import annotations

import hashlib
import secrets
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from newsbot.index.bm25 import (
    BM25Params,
    Forward,
    IntArray,
    average_length,
    drift,
    idf_table,
    invert,
    norms,
    offsets,
)
from newsbot.index.catalog import FileState
from newsbot.index.chunks import CHUNK_PASSAGES
from newsbot.index.firstseen import first_seen
from newsbot.index.packed import Packing
from newsbot.index.segment import Segment, Texts, text_array
from newsbot.index.store import Index
from newsbot.records import Article

MAX_SEGMENTS = 4  # each one more costs a query about 0.15 ms at 215k passages
MAX_DEAD = 0.25
MAX_DRIFT = 0.05
BIG = CHUNK_PASSAGES  # passages of a segment never rewritten

Numbers = list[int] | npt.NDArray[np.int64]  # articles by number, ascending


@dataclass(frozen=True)
class Fresh:
    """Newly analysed articles: their passages' term counts and texts, and any new terms."""

    articles: Sequence[Article]  # without their texts
    passages: IntArray  # per article
    forward: Forward
    texts: Texts
    text_offsets: IntArray
    positions: npt.NDArray[np.int32]
    new_terms: list[str]
    stems: dict[str, str]
    # A cold build's first passages, already made segments (see `newsbot.index.chunks`): the
    # arrays above cover all passages but `forward` and the texts only those after them.
    done: tuple[Segment, ...] = ()
    done_lengths: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    done_df: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))


def assemble(
    root: Path,
    params: BM25Params,
    files: Mapping[str, FileState],
    fresh: Fresh,
    previous: Index | None,
    reused: Numbers,
    articles: Sequence[Article],
    analysis: Mapping[str, Any],
) -> Index:
    """The index of `previous`'s articles numbered `reused` (ascending) followed by the `fresh`
    ones: `articles` are all of them, in that order."""
    vocab, terms, stems = _vocabulary(previous, fresh)
    old = previous or _empty(params)
    live = _surviving(old, reused)
    assert not fresh.done or previous is None, "chunks are made by a cold build only"
    new_lengths = np.concatenate([fresh.done_lengths, fresh.forward.doc_lengths()])
    lengths = np.concatenate([old.passage_length[live], new_lengths])
    avgdl = average_length(lengths)
    kept = old.segments[: _first_to_rewrite(old, live, fresh.forward.n_docs, avgdl)]
    start = kept[-1].end if kept else 0
    moved = start + np.flatnonzero(live[start:])  # old live passages that go into the new segment
    columns = _Columns.of(fresh.articles, f"{old.version}/{len(reused)}/")
    passages = _Passages.of(old, live, start, moved, reused, articles, fresh, new_lengths, columns)
    norm = norms(passages.length, avgdl, params)
    df = _doc_freq(old, live, fresh.forward, len(terms))
    df[: len(fresh.done_df)] += fresh.done_df
    now = datetime.now(UTC)
    digest = columns.changed[:8]
    version = f"{now:%Y%m%d-%H%M%S}-{digest}-{secrets.token_hex(2)}"  # unique: caches key on it
    segments = [*kept, *fresh.done]
    start = segments[-1].end if segments else 0
    dead = np.flatnonzero(passages.article < 0)
    # The new segment: the live passages of the segments rewritten, then the fresh ones.
    forward, texts, text_offsets = _joined(
        [_live_part(s, live[s.start : s.end]) for s in old.segments[len(kept) :]]
        + [(fresh.forward, fresh.texts, fresh.text_offsets)]
    )
    if forward.n_docs:
        # Its term ids and texts are compressed for the save while it inverts: the other core is
        # mostly idle then. (A cold build's texts are a mapped file, whose pages are let go as
        # they are compressed: read into memory, they were ~300 MB of a 215k build's peak.)
        packed_terms = Packing(forward.terms, forward.indptr, terms=True).soon()
        packed_texts = Packing(texts, text_offsets).soon()
        inverted = invert(forward, len(terms), norm[start:], params.k1)
        segments.append(
            Segment(
                name=f"{version}-{len(segments)}",
                start=start,
                avgdl=avgdl,
                forward=replace(forward, ranked=None),  # (its ranks were for the inversion only)
                inverted=inverted,
                texts=texts,
                text_offsets=text_offsets,
                packed_terms=packed_terms,
                packed_texts=packed_texts,
            )
        )
    idf = idf_table(df, len(lengths), params.epsilon, lambda: first_seen(segments, dead, len(terms)))
    starts, ends = _spans(passages.article, len(passages.articles))
    return Index(
        version=version,
        built_at=now.isoformat(timespec="seconds"),
        corpus=str(root),
        params=params,
        terms=terms,
        vocab=vocab,
        segments=tuple(segments),
        avgdl=avgdl,
        df=df,
        idf=idf,
        norm=norm,
        dead=dead,
        articles=passages.articles,
        article_start=starts,
        article_end=ends,
        passage_article=passages.article,
        passage_position=passages.position,
        passage_day=passages.day,
        passage_source=passages.source,
        passage_length=passages.length,
        sources=passages.sources,
        files=files,
        stems=stems,
        analysis=analysis,
    )


def _vocabulary(
    previous: Index | None, fresh: Fresh
) -> tuple[Mapping[str, int], Sequence[str], Mapping[str, str]]:
    """Vocabulary (term -> id), terms (id -> term) and stems: the previous ones plus the new."""
    if previous is None:
        return {t: i for i, t in enumerate(fresh.new_terms)}, tuple(fresh.new_terms), fresh.stems
    return previous.extended(fresh.new_terms, fresh.stems)


def _surviving(old: Index, numbers: Numbers) -> npt.NDArray[np.bool_]:
    """Which of `old`'s passages stay: those of its articles numbered `numbers`."""
    keep = np.zeros(len(old.articles), dtype=bool)
    keep[numbers] = True
    owner = old.passage_article
    live: npt.NDArray[np.bool_] = (owner >= 0) & keep[np.maximum(owner, 0)]
    return live


def _first_to_rewrite(old: Index, live: npt.NDArray[np.bool_], n_fresh: int, avgdl: float) -> int:
    """The first of `old`'s segments to merge into the new one (see the module docstring). A
    segment of a chunk's size or more is never rewritten (that would hold it all in memory): only
    the segments after the last such one are; its dead passages stay dead, scores exact."""
    floor = max((n + 1 for n, s in enumerate(old.segments) if s.n_passages >= BIG), default=0)
    rest = old.segments[floor:]
    n_passages = sum(s.n_passages for s in rest)
    n_dead = n_passages - sum(int(live[s.start : s.end].sum()) for s in rest)
    if n_dead > MAX_DEAD * (n_passages + n_fresh) or any(drift(s.avgdl, avgdl) > MAX_DRIFT for s in rest):
        return floor
    if len(rest) >= MAX_SEGMENTS:  # all but the first: a base that small additions do not rewrite
        return floor + 1
    return len(old.segments)


@dataclass(frozen=True)
class _Passages:
    """The new index's articles and per-passage arrays: the old passages before `start` where
    they are (dead when not live), then the `moved` ones, then the fresh ones. What the old
    passages' articles say (day, source) is taken from the old arrays: no article is parsed."""

    articles: Sequence[Article]
    article: npt.NDArray[np.int32]  # -1 when dead
    position: npt.NDArray[np.int32]
    length: npt.NDArray[np.int32]
    day: npt.NDArray[np.int32]
    source: npt.NDArray[np.int32]
    sources: tuple[str, ...]

    @classmethod
    def of(
        cls,
        old: Index,
        live: npt.NDArray[np.bool_],
        start: int,
        moved: IntArray,
        kept: Numbers,
        articles: Sequence[Article],
        fresh: Fresh,
        new_lengths: IntArray,
        columns: _Columns,
    ) -> _Passages:
        owner = old.passage_article
        remap = np.full(len(old.articles) + 1, -1, dtype=np.int32)  # old article -> new (-1: none)
        remap[kept] = np.arange(len(kept), dtype=np.int32)
        fresh_article = np.repeat(np.arange(len(kept), len(articles), dtype=np.int32), fresh.passages)
        article = np.concatenate(
            [np.where(live[:start], remap[owner[:start]], -1), remap[owner[moved]], fresh_article]
        ).astype(np.int32, copy=False)
        old_source = np.asarray(old.passage_source)
        used = np.flatnonzero(np.bincount(old_source[live & (old_source >= 0)])).tolist()  # (see `packed`)
        sources = sorted({old.sources[i] for i in used} | set(columns.sources))
        source_id = {s: i for i, s in enumerate(sources)}
        old_to_new = np.array([source_id.get(s, -1) for s in old.sources] + [-1], dtype=np.int32)
        fresh_to_new = np.array([source_id[s] for s in columns.sources] + [-1], dtype=np.int32)
        fresh_source = fresh_to_new[columns.source]
        fresh_day = columns.day
        old_day = np.asarray(old.passage_day)

        def joined(
            before: npt.NDArray[np.int32], moving: npt.NDArray[np.int32], new: npt.NDArray[np.int32]
        ) -> npt.NDArray[np.int32]:
            return np.concatenate([np.where(live[:start], before, 0), moving, new]).astype(np.int32)

        return cls(
            articles=articles,
            article=article,
            position=np.concatenate(
                [old.passage_position[:start], old.passage_position[moved], fresh.positions]
            ).astype(np.int32),
            length=np.concatenate(
                [old.passage_length[:start], old.passage_length[moved], new_lengths]
            ).astype(np.int32),
            day=joined(old_day[:start], old_day[moved], np.repeat(fresh_day, fresh.passages)),
            source=np.concatenate(
                [
                    np.where(live[:start], old_to_new[old_source[:start]], -1),
                    old_to_new[old_source[moved]],
                    np.repeat(fresh_source, fresh.passages),
                ]
            ).astype(np.int32),
            sources=tuple(sources),
        )


@dataclass(frozen=True)
class _Columns:
    """What the index keeps of the fresh articles beside their passages, from one pass over them
    (a cold build's are parsed from a scratch file at each pass: four passes took ~0.6 s at 215k)."""

    sources: list[str]  # distinct, in order of first appearance
    source: npt.NDArray[np.int32]  # per article: its source's place in `sources`; -1: none
    day: npt.NDArray[np.int32]  # per article: its date's ordinal; 0: none
    changed: str  # sha1 (hex) of `before` and the articles' content hashes: the change's digest

    @classmethod
    def of(cls, articles: Iterable[Article], before: str) -> _Columns:
        codes: dict[str, int] = {}
        source, day = array("i"), array("i")
        changed = hashlib.sha1(before.encode())
        for a in articles:
            source.append(codes.setdefault(a.source, len(codes)) if a.source else -1)
            day.append(a.date.toordinal() if a.date else 0)
            changed.update(a.content_hash.encode())
        sources, days = np.frombuffer(source, dtype=np.int32), np.frombuffer(day, dtype=np.int32)
        return cls(list(codes), sources, days, changed.hexdigest())


def _doc_freq(old: Index, live: npt.NDArray[np.bool_], fresh: Forward, n_terms: int) -> IntArray:
    """Live passages per term: `old`'s, less those of its passages that died, plus the fresh."""
    df = np.zeros(n_terms, dtype=np.int64)
    df[: len(old.df)] = old.df
    died = np.flatnonzero((old.passage_article >= 0) & ~live)
    df -= np.bincount(_terms_of(old, died), minlength=n_terms)
    df += np.bincount(fresh.terms, minlength=n_terms)
    return df


def _live_part(segment: Segment, live: npt.NDArray[np.bool_]) -> tuple[Forward, Texts, IntArray]:
    """The term counts and texts of a segment's `live` passages."""
    whole = segment.unpacked()
    per_passage = np.diff(whole.indptr)
    entries = np.repeat(live, per_passage)
    text_lengths = np.diff(segment.text_offsets)
    forward = Forward(
        indptr=offsets(per_passage[live]),
        terms=np.asarray(whole.terms)[entries],
        counts=np.asarray(whole.counts)[entries],
    )
    texts = text_array(segment.texts)[np.repeat(live, text_lengths)].tobytes()
    return forward, texts, offsets(text_lengths[live])


def _joined(parts: list[tuple[Forward, Texts, IntArray]]) -> tuple[Forward, Texts, IntArray]:
    """Passages of several parts, one after the other."""
    if len(parts) == 1:
        return parts[0]
    forward = Forward(
        indptr=offsets(np.concatenate([np.diff(f.indptr) for f, _, _ in parts])),
        terms=np.concatenate([f.terms for f, _, _ in parts]).astype(np.int32, copy=False),
        counts=np.concatenate([f.counts for f, _, _ in parts]).astype(np.uint16, copy=False),
    )
    ends = offsets(np.concatenate([np.diff(o) for _, _, o in parts]))
    return forward, np.concatenate([text_array(t) for _, t, _ in parts]).tobytes(), ends


def _terms_of(index: Index, passages: IntArray) -> npt.NDArray[np.int32]:
    """The distinct term ids of each of `passages`, all together."""
    found = [np.zeros(0, dtype=np.int32)]
    for segment in index.segments:
        mine = passages[(passages >= segment.start) & (passages < segment.end)] - segment.start
        if len(mine):
            found.append(segment.terms_of(mine))
    return np.concatenate(found)


def _spans(passage_article: npt.NDArray[np.int32], n_articles: int) -> tuple[IntArray, IntArray]:
    """Each article's first passage and the one after its last (articles' passages are
    consecutive, and articles in passage order)."""
    at = np.flatnonzero(passage_article >= 0)
    owners = passage_article[at]
    wanted = np.arange(n_articles)
    lo, hi = np.searchsorted(owners, wanted, "left"), np.searchsorted(owners, wanted, "right")
    bounds = np.append(at, len(passage_article))
    starts = bounds[lo]
    ends = np.where(hi > lo, bounds[np.maximum(hi - 1, 0)] + 1, starts)
    return starts.astype(np.int64), ends.astype(np.int64)


def _empty(params: BM25Params) -> Index:
    """An index of nothing, for a first build to start from."""
    none = np.zeros(0, dtype=np.int32)
    return Index(
        version="",
        built_at="",
        corpus="",
        params=params,
        terms=(),
        vocab={},
        segments=(),
        avgdl=1.0,
        df=np.zeros(0, dtype=np.int64),
        idf=np.zeros(0),
        norm=np.zeros(0),
        dead=np.zeros(0, dtype=np.int64),
        articles=(),
        article_start=np.zeros(0, dtype=np.int64),
        article_end=np.zeros(0, dtype=np.int64),
        passage_article=none,
        passage_position=none,
        passage_day=none,
        passage_source=none,
        passage_length=none,
        sources=(),
        files={},
    )
