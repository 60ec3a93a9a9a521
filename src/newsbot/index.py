"""The saved index: BM25 postings, passages and article metadata, loaded without re-analysis.

Layout under the index directory: one folder per build (named by its version) and a `CURRENT`
file naming the live one. A build is written to a hidden temporary folder, flushed, renamed, and
only then does `CURRENT` switch (by atomic `os.replace`), so a crash mid-write leaves the previous
index in place and usable. Large arrays are memory-mapped: start-up reads only what a query needs.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar, overload

import numpy as np
import numpy.typing as npt

from newsbot.analysis import learn_stems
from newsbot.bm25 import BM25Params, Float32Array, FloatArray, Forward, Postings
from newsbot.records import Article, Filters, Skipped

T = TypeVar("T")
FORMAT = 2  # 2: postings of passage ids with term counts and 16-bit weights (were float64); lookups
# of terms and stems on disk
_ARRAYS = ("fwd_indptr", "fwd_terms", "fwd_counts", "post_indptr", "post_entries", "post_big_at",
           "post_big_tf", "post_level", "term_step", "term_spread", "term_idf", "passage_norm",
           "passage_article", "passage_position", "passage_day", "passage_source", "text_offsets")


@dataclass(frozen=True)
class FileState:
    """What a corpus file looked like when indexed, to skip re-reading it when unchanged."""

    size: int
    mtime_ns: int
    article_ids: tuple[str, ...]
    skipped: tuple[Skipped, ...] = ()  # reported again while the file is unchanged


@dataclass(frozen=True)
class Index:
    """Everything a query needs, plus what an incremental reindex reuses."""

    version: str
    built_at: str
    corpus: str
    params: BM25Params
    terms: Sequence[str]  # term id -> term
    vocab: Mapping[str, int]  # term -> term id
    forward: Forward
    postings: Postings
    articles: Sequence[Article]  # metadata only: `text` is empty, passages hold the text
    article_start: npt.NDArray[np.int64]  # article i owns passages article_start[i]:[i + 1]
    passage_article: npt.NDArray[np.int32]
    passage_position: npt.NDArray[np.int32]
    passage_day: npt.NDArray[np.int32]  # date.toordinal(), 0 when unknown
    passage_source: npt.NDArray[np.int32]  # index into `sources`, -1 when unknown
    sources: tuple[str, ...]
    texts: bytes | np.memmap[Any, np.dtype[np.uint8]]
    text_offsets: npt.NDArray[np.int64]
    files: Mapping[str, FileState]  # read from disk when first needed (by a reindex)
    size_bytes: int = 0
    stems: Mapping[str, str] = field(default_factory=dict)  # token -> stem of the corpus' words

    def extended(self, terms: list[str], stems: dict[str, str]) -> tuple[
            Mapping[str, int], Sequence[str], Mapping[str, str]]:
        """Vocabulary, terms and stems for a new index: these plus new ones, without decoding all."""
        start = len(self.terms)
        vocab = _Table.of(self.vocab, "int32").extended({t: start + i for i, t in enumerate(terms)})
        words = _Table.of(self.stems, f"S{_Table.WIDTH}").extended(stems)
        return vocab, _Terms.of(self.terms).extended(terms), words

    @property
    def n_passages(self) -> int:
        return len(self.passage_article)

    def passage_text(self, passage: int) -> str:
        start, end = int(self.text_offsets[passage]), int(self.text_offsets[passage + 1])
        if isinstance(self.texts, np.memmap) and self.texts.filename:
            # Read, not mapped: mapped pages (and the kernel's read-ahead) would stay in memory.
            with open(self.texts.filename, "rb") as fh:
                fh.seek(self.texts.offset + start)
                return fh.read(end - start).decode("utf-8")
        return bytes(self.texts[start:end]).decode("utf-8")

    def term_ids(self, terms: list[str]) -> list[int]:
        """Term ids of the query terms the corpus knows, repeats kept."""
        ids = (self.vocab.get(t) for t in terms)
        return [i for i in ids if i is not None]

    def search(self, term_ids: list[int], k: int, filters: Filters = Filters(),
               per_article: int = 1, factor: FloatArray | None = None) -> list[tuple[int, float]]:
        """The best (passage, score) pairs, best first, at most `per_article` per article.

        Exactly what scoring every passage (`Postings.scores`), multiplying each score by its
        passage's `factor` (a prior, >= 0, one per passage) if given, and ranking by score, then
        passage order, gives. The query terms' 16-bit rough weights are first added up per passage
        in float32 (`np.add.at`); these rough scores are within `slack` of the true ones, so only
        the few passages within about twice that of the k-th best can be in the top k. Those are
        then scored again with exact float64 weights, term by term in query order as rank-bm25
        does, which gives its floats exactly (times `factor`, in float64).
        """
        if not term_ids or not self.n_passages or k < 1:
            return []
        postings = self.postings
        repeats = Counter(term_ids)
        rough = np.zeros(self.n_passages, dtype=np.float32)
        for t, n in repeats.items():
            if postings.idf[t] <= 0:  # weights <= 0 (tiny corpora): no bounds to rely on
                return self._search_all(term_ids, k, filters, per_article, factor)
            np.add.at(rough, *postings.rough_postings(t, n))
        if filters.active:
            rough[~self.filter_mask(filters)] = 0.0
        # Quantizing (see `rough_postings`) and float32 sums (2**-24 a step), with room to spare;
        # a factor adds two float32 roundings (itself and the product).
        slack = float(postings.spread[list(repeats)].max()) * 2.0**-16 + (len(term_ids) + 12) * 2.0**-22
        if factor is not None:
            rough *= factor.astype(np.float32)
        top = self._contenders(rough, k, per_article, slack).astype(np.int32)
        exact = {t: postings.lookup(t, top) for t in repeats}
        scores = np.zeros(len(top))
        for t in term_ids:  # in query order, repeats included, like rank-bm25
            scores += exact[t]
        if factor is not None:
            scores *= factor[top]
        return self._ranked(top, scores, k, per_article)

    def _contenders(self, rough: Float32Array, k: int, per_article: int,
                    slack: float) -> npt.NDArray[np.intp]:
        """The passages (ascending) that can be in the top k: all with a score if fewer than k.

        Rough scores are within `slack` (relative) of the true ones. The k passages picked by
        them (at most `per_article` per article) all score at least the k-th one's rough score
        less slack: a passage whose rough score is below that, less slack again, scores less
        than the k-th result and cannot change the result.
        """
        want = 4 * k * max(per_article, 1)
        high = float(rough.max())
        cut = high / 2
        while True:
            docs = np.flatnonzero(rough >= cut if cut > 0 else rough > 0)
            best = docs[np.argpartition(-rough[docs], want)[:want]] if len(docs) > want else docs
            best = best[np.argsort(-rough[best], kind="stable")]
            picked = _pick(best, self.passage_article, k, per_article)
            if len(picked) >= k:
                floor = np.float32(float(rough[best[picked[k - 1]]]) * (1 - 3 * slack))
                return docs[rough[docs] >= floor] if floor >= cut else np.flatnonzero(rough >= floor)
            if len(best) < len(docs):
                want *= 4
            elif cut <= 0:
                return docs
            else:
                cut = cut / 16 if cut > high * 1e-6 else 0.0

    def _ranked(self, docs: npt.NDArray[np.integer[Any]], scores: FloatArray, k: int,
                per_article: int) -> list[tuple[int, float]]:
        """The top `k` of `docs` by score, then passage order, at most `per_article` per article."""
        nonzero = np.flatnonzero(scores)
        docs, scores = docs[nonzero], scores[nonzero]
        order = np.lexsort((docs, -scores))
        return [(int(docs[i]), float(scores[i]))
                for i in order[_pick(docs[order], self.passage_article, k, per_article)]]

    def _search_all(self, term_ids: list[int], k: int, filters: Filters, per_article: int,
                    factor: FloatArray | None) -> list[tuple[int, float]]:
        """`search` by scoring every passage: for corpora where weights can be negative."""
        scores = self.postings.scores(term_ids)
        if filters.active:
            scores[~self.filter_mask(filters)] = 0.0
        docs = np.flatnonzero(scores)
        found = scores[docs] if factor is None else scores[docs] * factor[docs]
        return self._ranked(docs, found, k, per_article)

    def filter_mask(self, filters: Filters) -> npt.NDArray[np.bool_]:
        mask = np.ones(self.n_passages, dtype=bool)
        if filters.since:
            mask &= self.passage_day >= filters.since.toordinal()
        if filters.until:
            mask &= (self.passage_day <= filters.until.toordinal()) & (self.passage_day > 0)
        if filters.source:
            wanted = [i for i, s in enumerate(self.sources) if s.lower() == filters.source.lower()]
            mask &= np.isin(self.passage_source, wanted)
        return mask

    def article_of(self, passage: int) -> Article:
        return self.articles[int(self.passage_article[passage])]

    # --- persistence ---------------------------------------------------------------------------

    def save(self, index_dir: Path, keep: int = 1) -> Path:
        """Write atomically as a new version folder, then point `CURRENT` at it."""
        index_dir.mkdir(parents=True, exist_ok=True)
        final = index_dir / self.version
        tmp = index_dir / f".tmp-{self.version}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        arrays = {
            "fwd_indptr": self.forward.indptr, "fwd_terms": self.forward.terms,
            "fwd_counts": self.forward.counts, "post_indptr": self.postings.indptr,
            "post_entries": self.postings.entries, "post_big_at": self.postings.big_at,
            "post_big_tf": self.postings.big_tf,
            "post_level": self.postings.level, "term_step": self.postings.step,
            "term_spread": self.postings.spread, "term_idf": self.postings.idf,
            "passage_norm": self.postings.norm,
            "passage_article": self.passage_article, "passage_position": self.passage_position,
            "passage_day": self.passage_day, "passage_source": self.passage_source,
            "text_offsets": self.text_offsets,
        }
        # The big files are written (and flushed to disk) side by side: writes wait on the disk.
        with ThreadPoolExecutor(4) as pool:
            done = [pool.submit(_write, tmp / "texts.bin", lambda fh: fh.write(self.texts))]
            done += [pool.submit(_write, tmp / f"{name}.npy", lambda fh, a=array: np.save(fh, np.asarray(a)))
                     for name, array in arrays.items()]
            lines = _articles_jsonl(self)
            _write(tmp / "articles.jsonl", lambda fh: fh.write(b"".join(lines)))
            offsets = np.zeros(len(lines) + 1, dtype=np.int64)
            np.cumsum([len(line) for line in lines], out=offsets[1:])
            _write(tmp / "article_offsets.npy", lambda fh: np.save(fh, offsets))
            _write(tmp / "article_start.npy", lambda fh: np.save(fh, np.asarray(self.article_start)))
            _Table.of(self.stems, f"S{_Table.WIDTH}").save(tmp, "stems")
            _Table.of(self.vocab, "int32").save(tmp, "vocab")
            _Terms.of(self.terms).save(tmp)
            for job in done:
                job.result()
        meta = {
            "format": FORMAT, "version": self.version, "built_at": self.built_at,
            "corpus": self.corpus, "params": asdict(self.params),
            "sources": list(self.sources),
        }
        files = {p: [s.size, s.mtime_ns, list(s.article_ids),
                     [[k.where, k.reason, k.repaired] for k in s.skipped]] for p, s in self.files.items()}
        _write(tmp / "files.json", lambda fh: fh.write(json.dumps(files).encode()))
        _write(tmp / "meta.json", lambda fh: fh.write(json.dumps(meta).encode()))
        _fsync_dir(tmp)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        pointer = index_dir / "CURRENT.tmp"
        _write(pointer, lambda fh: fh.write(self.version.encode()))
        os.replace(pointer, index_dir / "CURRENT")
        _fsync_dir(index_dir)
        _prune(index_dir, self.version, keep)
        return final

    @classmethod
    def load(cls, index_dir: Path) -> Index | None:
        """The live index under `index_dir`, or None when there is none yet."""
        try:
            version = (index_dir / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        folder = index_dir / version
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format") != FORMAT:
            return None
        a = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _ARRAYS}
        # Plain arrays over the maps: numpy's memmap subclass slows down every small slice.
        a = {name: np.asarray(array) for name, array in a.items()}
        articles = _Articles(folder / "articles.jsonl", np.load(folder / "article_offsets.npy"))
        starts = np.load(folder / "article_start.npy")
        stems = _Table.open(folder, "stems")
        if stems is not None:  # answering questions then rarely needs to load the stemmer
            learn_stems(stems.get)
        vocab = _Table.open(folder, "vocab")
        assert vocab is not None
        texts = folder / "texts.bin"
        params = BM25Params(**meta["params"])
        return cls(
            version=meta["version"], built_at=meta["built_at"], corpus=meta["corpus"],
            params=params, terms=_Terms.open(folder), vocab=vocab,
            forward=Forward(a["fwd_indptr"], a["fwd_terms"], a["fwd_counts"]),
            postings=Postings(a["post_indptr"], a["post_entries"], a["post_big_at"], a["post_big_tf"],
                              a["post_level"],
                              a["term_step"], a["term_spread"], a["term_idf"], a["passage_norm"],
                              params.k1),
            articles=articles, article_start=starts,
            passage_article=a["passage_article"], passage_position=a["passage_position"],
            passage_day=a["passage_day"], passage_source=a["passage_source"],
            sources=tuple(meta["sources"]),
            texts=np.memmap(texts, dtype=np.uint8, mode="r") if texts.stat().st_size else b"",
            text_offsets=a["text_offsets"],
            files=_Files(folder / "files.json"),
            size_bytes=sum(f.stat().st_size for f in folder.iterdir()),
            stems=stems if stems is not None else {},
        )


class _Files(Mapping[str, FileState]):
    """The corpus files' states, read from `path` when first needed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._files: dict[str, FileState] | None = None

    def _load(self) -> dict[str, FileState]:
        if self._files is None:
            self._files = {p: FileState(s, m, tuple(ids), tuple(Skipped(*k) for k in notes))
                           for p, (s, m, ids, notes) in json.loads(self.path.read_bytes()).items()}
        return self._files

    def __getitem__(self, key: str) -> FileState:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


class _Table(Mapping[str, Any]):
    """str -> value: keys sorted as fixed-width UTF-8 with the values in the same order, both read
    from disk as needed (memory-mapped), not into memory; keys or values too long for the width,
    and entries added since the arrays were sorted (`extended`), are in a small `extra` dict.
    Lookups are binary searches."""

    WIDTH = 24

    def __init__(self, keys: npt.NDArray[np.bytes_], values: npt.NDArray[Any], extra: dict[str, Any]) -> None:
        self._keys, self._values, self._extra = keys, values, extra
        self._text = values.dtype.kind == "S"

    @classmethod
    def of(cls, mapping: Mapping[str, Any], dtype: str) -> _Table:
        """A table of `mapping` (as is when it already is one)."""
        if isinstance(mapping, _Table):
            return mapping
        sortable, extra = [], {}
        for key, value in mapping.items():
            k, v = key.encode(), value.encode() if isinstance(value, str) else value
            if len(k) <= cls.WIDTH and (not isinstance(v, bytes) or len(v) <= cls.WIDTH):
                sortable.append((k, v))
            else:
                extra[key] = value
        sortable.sort()
        return cls(np.array([k for k, _ in sortable], dtype=f"S{cls.WIDTH}"),
                   np.array([v for _, v in sortable], dtype=dtype), extra)

    def extended(self, more: dict[str, Any]) -> _Table:
        """This table plus `more` (which wins); sorted again when the additions pile up."""
        table = _Table(self._keys, self._values, {**self._extra, **more})
        if len(table._extra) > max(len(self._keys) // 8, 1024):
            return _Table.of(dict(table.items()), self._values.dtype.str)
        return table

    @classmethod
    def open(cls, folder: Path, name: str) -> _Table | None:
        keys = folder / f"{name}_keys.npy"
        if not keys.exists():
            return None
        return cls(np.load(keys, mmap_mode="r"), np.load(folder / f"{name}_values.npy", mmap_mode="r"),
                   json.loads((folder / f"{name}_extra.json").read_text(encoding="utf-8")))

    def save(self, folder: Path, name: str) -> None:
        for suffix, array in (("keys", self._keys), ("values", self._values)):
            _write(folder / f"{name}_{suffix}.npy", lambda fh, a=array: np.save(fh, np.asarray(a)))
        _write(folder / f"{name}_extra.json", lambda fh: fh.write(json.dumps(self._extra).encode()))

    def get(self, key: str, default: Any = None) -> Any:
        value = self._extra.get(key)
        if value is not None:
            return value
        i = self._find(key)
        if i is None:
            return default
        return bytes(self._values[i]).decode() if self._text else int(self._values[i])

    def __getitem__(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self.items()))

    def __len__(self) -> int:
        return len(self._keys) + sum(1 for k in self._extra if self._find(k) is None)

    def _find(self, key: str) -> int | None:
        k = key.encode()
        i = int(np.searchsorted(self._keys, k))
        return i if len(k) <= self.WIDTH and i < len(self._keys) and self._keys[i] == k else None

    def items(self) -> Any:  # all at once: much faster than one lookup per key
        values = (bytes(v).decode() for v in self._values) if self._text else self._values.tolist()
        return {**dict(zip((bytes(k).decode() for k in self._keys), values, strict=True)),
                **self._extra}.items()


class _Lazy(Sequence[T]):
    """A read-only sequence whose items are fetched one at a time by `_item` (indexing rules here)."""

    def _item(self, i: int) -> T:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...
    def __getitem__(self, i: int | slice) -> T | list[T]:
        if isinstance(i, slice):
            return [self._item(j) for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._item(i)


class _Terms(_Lazy[str]):
    """Term id -> term, decoded on demand from all terms' UTF-8 (memory-mapped) and their offsets,
    then the terms added since (`extended`)."""

    def __init__(self, blob: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64],
                 more: list[str] | None = None) -> None:
        self.blob, self.offsets, self.more = blob, offsets, more or []

    @classmethod
    def of(cls, terms: Sequence[str]) -> _Terms:
        if isinstance(terms, _Terms):
            return terms
        return cls(np.zeros(0, np.uint8), np.zeros(1, np.int64), list(terms))

    def extended(self, more: list[str]) -> _Terms:
        return _Terms(self.blob, self.offsets, self.more + more)

    @classmethod
    def open(cls, folder: Path) -> _Terms:
        path = folder / "terms.bin"
        blob = np.memmap(path, dtype=np.uint8, mode="r") if path.stat().st_size else np.zeros(0, np.uint8)
        return cls(blob, np.asarray(np.load(folder / "term_offsets.npy", mmap_mode="r")))

    def save(self, folder: Path) -> None:
        encoded = [t.encode() for t in self.more]
        offsets = np.zeros(len(self) + 1, dtype=np.int64)
        offsets[:len(self.offsets)] = self.offsets
        np.cumsum([len(e) for e in encoded], out=offsets[len(self.offsets):])
        offsets[len(self.offsets):] += self.offsets[-1]
        _write(folder / "terms.bin", lambda fh: fh.write(bytes(self.blob) + b"".join(encoded)))
        _write(folder / "term_offsets.npy", lambda fh: np.save(fh, offsets))

    def __len__(self) -> int:
        return len(self.offsets) - 1 + len(self.more)

    def _item(self, i: int) -> str:
        if i >= len(self.offsets) - 1:
            return self.more[i - len(self.offsets) + 1]
        return bytes(self.blob[self.offsets[i]:self.offsets[i + 1]]).decode()

    def __iter__(self) -> Iterator[str]:
        data = bytes(self.blob)
        bounds = self.offsets.tolist()
        yield from (data[a:b].decode() for a, b in pairwise(bounds))
        yield from self.more


def _pick(order: npt.NDArray[np.integer[Any]], article_of: npt.NDArray[np.int32], k: int,
          per_article: int) -> list[int]:
    """Positions in `order` (passages, best first) of the first k, at most `per_article` per article."""
    picked: list[int] = []
    taken: dict[int, int] = {}
    for i, a in enumerate(article_of[order].tolist()):
        if per_article <= 0 or taken.get(a, 0) < per_article:
            taken[a] = taken.get(a, 0) + 1
            picked.append(i)
            if len(picked) == k:
                break
    return picked


def _articles_jsonl(index: Index) -> list[bytes]:
    lines = []
    for i, a in enumerate(index.articles):
        lines.append(json.dumps({
            "id": a.id, "title": a.title, "source": a.source,
            "date": a.date.isoformat() if a.date else None, "url": a.url, "author": a.author,
            "path": a.path, "hash": a.content_hash, "text_hash": a.text_hash,
            "start": int(index.article_start[i]),
        }, ensure_ascii=False).encode() + b"\n")
    end = int(index.article_start[-1]) if len(index.article_start) else 0
    lines.append(json.dumps({"end": end}).encode())
    return lines


class _Articles(_Lazy[Article]):
    """Article metadata, one JSON line each in `path`, parsed when asked for: a few per answer."""

    def __init__(self, path: Path, offsets: npt.NDArray[np.int64]) -> None:
        self.path, self.offsets = path, offsets  # the last line is not an article
        self._cache: dict[int, Article] = {}

    def __len__(self) -> int:
        return max(len(self.offsets) - 2, 0)

    def _item(self, i: int) -> Article:
        article = self._cache.get(i)
        if article is None:
            with self.path.open("rb") as fh:
                fh.seek(int(self.offsets[i]))
                article = _article(json.loads(fh.read(int(self.offsets[i + 1] - self.offsets[i]))))
            if len(self._cache) >= 4096:
                self._cache.clear()
            self._cache[i] = article
        return article

    def __iter__(self) -> Iterator[Article]:
        days: dict[str, date] = {}
        with self.path.open("rb") as fh:
            for _, line in zip(range(len(self)), fh, strict=False):
                yield _article(json.loads(line), days)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]


def _article(row: dict[str, Any], days: dict[str, date] | None = None) -> Article:
    day = row["date"]
    when: date | None = None
    if day and days is not None:
        when = days.get(day) or days.setdefault(day, date.fromisoformat(day))
    elif day:
        when = date.fromisoformat(day)
    return Article(id=row["id"], title=row["title"], text="", source=row["source"], date=when,
                   url=row["url"], author=row["author"], path=row["path"], content_hash=row["hash"],
                   text_hash=row["text_hash"])


def _write(path: Path, fill: Any) -> None:
    with path.open("wb") as fh:
        fill(fh)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(index_dir: Path, live: str, keep: int) -> None:
    """Delete all but the live version and the `keep` newest before it, and stale temp folders."""
    olds = sorted((p for p in index_dir.iterdir() if p.is_dir() and p.name != live),
                  key=lambda p: p.stat().st_mtime, reverse=True)
    for path in olds:
        if path.name.startswith(".tmp-") or keep <= 0:
            shutil.rmtree(path, ignore_errors=True)
        else:
            keep -= 1
