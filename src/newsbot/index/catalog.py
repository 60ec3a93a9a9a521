"""What the index knows of its articles and corpus files, kept so that a new version copies it
rather than re-encodes it: a small addition then costs in proportion to itself.

`Articles` (one JSON line per article, parsed when asked for) comes with `Keys` (every article's
id, path and text key, in one small file) so that an addition can find which indexed articles it
replaces or repeats without parsing every line; `Spliced` is a new version's articles made of an
old version's lines (copied as bytes on save) and fresh articles. The corpus files' states
(`FileState`) are kept by `newsbot.index.filestates`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from newsbot.errors import IndexCorrupt
from newsbot.index import bm25
from newsbot.index.tables import Lazy, expect, file_size, link, load_array, read_json, write_file
from newsbot.records import Article, Skipped

_DELTA_SHARE = 8  # `Articles`: the changes are folded into the base past 1/8 of its size
_MORE = "articles-more.jsonl"  # articles added since articles.jsonl was written
_KEYS, _MORE_KEYS = "article_keys.json", "article_keys-more.json"  # theirs: the keys of each file


@dataclass(frozen=True)
class FileState:
    """What a corpus file looked like when indexed, to skip re-reading it when unchanged."""

    size: int
    mtime_ns: int
    article_ids: tuple[str, ...]
    skipped: tuple[Skipped, ...] = ()  # reported again while the file is unchanged


@dataclass(frozen=True)
class Keys:
    """Every article's id, path and text key, in article order."""

    ids: list[str]
    paths: list[str | None]
    hashes: list[str]  # content hashes
    text_hashes: list[str]

    @classmethod
    def of(cls, articles: Sequence[Article]) -> Keys:
        if isinstance(articles, Articles | Spliced):
            return articles.keys
        return cls(
            [a.id for a in articles],
            [a.path for a in articles],
            [a.content_hash for a in articles],
            [a.text_hash for a in articles],
        )

    def save(self, folder: Path, base: Path | None = None, since: int = 0) -> None:
        """Write the keys into `folder`: with `base` (a saved keys file of the first `since`
        articles), a link to it and the keys from `since` on apart (an addition then writes its
        own keys, not 26k); else all in one file."""
        part = self if base is None else self.sliced(since)
        data = json.dumps(
            {"ids": part.ids, "paths": part.paths, "hashes": part.hashes, "text_hashes": part.text_hashes}
        ).encode()
        if base is not None:
            link(base, folder / _KEYS)
        write_file(folder / (_KEYS if base is None else _MORE_KEYS), lambda fh: fh.write(data))

    def sliced(self, start: int) -> Keys:
        return Keys(self.ids[start:], self.paths[start:], self.hashes[start:], self.text_hashes[start:])

    @classmethod
    def open(cls, path: Path, n_articles: int) -> Keys:
        """The keys saved in `path`, and those after them in the file beside it, if any."""
        keys = cls._read(path)
        more = path.with_name(_MORE_KEYS)
        if more.is_file():
            rest = cls._read(more)
            keys = cls(
                keys.ids + rest.ids,
                keys.paths + rest.paths,
                keys.hashes + rest.hashes,
                keys.text_hashes + rest.text_hashes,
            )
        sizes = {len(keys.ids), len(keys.paths), len(keys.hashes), len(keys.text_hashes)}
        expect(path, sizes == {n_articles}, f"keys of {sorted(sizes)} articles, not {n_articles:,}")
        return keys

    @classmethod
    def _read(cls, path: Path) -> Keys:
        row = read_json(path)
        try:
            return cls(list(row["ids"]), list(row["paths"]), list(row["hashes"]), list(row["text_hashes"]))
        except (KeyError, TypeError) as e:
            raise IndexCorrupt(path, f"lacks or garbles {e}") from e


@runtime_checkable
class SavesItself(Protocol):
    """Articles kept in files of their own that a version can take as they are (a cold build's:
    `newsbot.index.coldread`)."""

    def save_catalog(self, folder: Path) -> None: ...


class Articles(Lazy[Article]):
    """Article metadata, one JSON line each in `path`, parsed when asked for: a few per answer."""

    def __init__(self, path: Path, offsets: npt.NDArray[np.int64], base_size: int | None = None) -> None:
        self.path, self.offsets = path, offsets
        # The lines from `base_size` on are in the file `more` (those added since `path` was written).
        self.base_size = int(offsets[-1]) if base_size is None else base_size
        self.more = path.with_name(_MORE)
        self._cache: dict[int, Article] = {}
        self._keys: Keys | None = None

    @classmethod
    def open(cls, folder: Path, n_articles: int) -> Articles:
        offsets = load_array(folder / "article_offsets.npy", n_articles + 1, mmap=False)
        size, more = file_size(folder / "articles.jsonl"), file_size(folder / _MORE)
        expect(
            folder / "articles.jsonl",
            size + more == int(offsets[-1]),
            f"{size:,} bytes (and {more:,} more), not {int(offsets[-1]):,}",
        )
        expect(folder / _KEYS, (folder / _KEYS).is_file(), "missing")
        return cls(folder / "articles.jsonl", offsets, size)

    @property
    def keys(self) -> Keys:
        if self._keys is None:
            self._keys = Keys.open(self.path.parent / _KEYS, len(self))
        return self._keys

    def knowing(self, keys: Keys) -> None:
        """Take `keys` as this file's (those just saved into it), not to read them again."""
        if len(keys.ids) == len(self):
            self._keys = keys

    @staticmethod
    def save(articles: Sequence[Article], folder: Path) -> None:
        """Write `articles` (their metadata: texts are not kept) as `Articles.open` reads them;
        the lines of a `Spliced` one's old articles are copied, not encoded again."""
        if isinstance(articles, SavesItself):
            articles.save_catalog(folder)
            return
        if isinstance(articles, Spliced) and _appends(articles):
            old, lines = articles.base, [article_line(a) for a in articles.fresh]
            fresh = b"".join(lines)
            more = old.more.read_bytes() if old.base_size < int(old.offsets[-1]) else b""
            sizes = np.array([len(line) for line in lines], dtype=np.int64)
            offsets = np.concatenate([old.offsets, old.offsets[-1] + np.cumsum(sizes)])
            link(old.path, folder / "articles.jsonl")
            write_file(folder / _MORE, lambda fh: fh.write(more + fresh))
            write_file(folder / "article_offsets.npy", lambda fh: np.save(fh, offsets))
            since = int(np.searchsorted(old.offsets, old.base_size))  # the lines in articles.jsonl
            Keys.of(articles).save(folder, old.path.with_name(_KEYS), since)
            return
        if isinstance(articles, Spliced) and len(articles.kept):
            old, kept = articles.base, articles.kept
            data = old.path.read_bytes() + (old.more.read_bytes() if old.more.is_file() else b"")
            # Runs of consecutive kept articles are one slice each (an addition: a single one).
            breaks = np.flatnonzero(np.diff(kept) != 1) + 1
            firsts, lasts = np.split(kept, breaks), old.offsets
            runs = [data[lasts[r[0]] : lasts[r[-1] + 1]] for r in firsts if len(r)]
            sizes = np.diff(old.offsets)[kept]
            added = [article_line(a) for a in articles.fresh]
            offsets = bm25.offsets(np.concatenate([sizes, [len(line) for line in added]]))
            write_file(folder / "articles.jsonl", lambda fh: fh.writelines([*runs, *added]))
            write_file(folder / _MORE, lambda fh: None)
            write_file(folder / "article_offsets.npy", lambda fh: np.save(fh, offsets))
            Keys.of(articles).save(folder)
            return
        lines = [article_line(a) for a in articles]
        offsets = bm25.offsets(np.array([len(line) for line in lines], dtype=np.int64))
        write_file(folder / "articles.jsonl", lambda fh: fh.write(b"".join(lines)))
        write_file(folder / _MORE, lambda fh: None)
        write_file(folder / "article_offsets.npy", lambda fh: np.save(fh, offsets))
        Keys.of(articles).save(folder)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def _item(self, i: int) -> Article:
        article = self._cache.get(i)
        if article is None:
            start = int(self.offsets[i])
            path, at = (self.path, start) if start < self.base_size else (self.more, start - self.base_size)
            with path.open("rb") as fh:
                fh.seek(at)
                article = article_from_row(json.loads(fh.read(int(self.offsets[i + 1]) - start)))
            if len(self._cache) >= 4096:
                self._cache.clear()
            self._cache[i] = article
        return article

    def __iter__(self) -> Iterator[Article]:
        days: dict[str, date] = {}
        data = self.path.read_bytes()[: int(self.offsets[-1])]
        if self.base_size < int(self.offsets[-1]):
            data += self.more.read_bytes()
        if not data:
            return
        # One JSON array for all the lines (no line holds a raw newline): twice as fast as a
        # `json.loads` per line, for a reindex that needs every article.
        for row in json.loads(b"[" + data.rstrip(b"\n").replace(b"\n", b",") + b"]"):
            yield article_from_row(row, days)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]


class Spliced(Lazy[Article]):
    """A new version's articles: `base`'s numbered `kept` (in that order), then `fresh`."""

    def __init__(self, base: Articles, kept: npt.NDArray[np.int64], fresh: list[Article]) -> None:
        self.base, self.kept, self.fresh = base, kept, fresh
        self._keys: Keys | None = None

    def __len__(self) -> int:
        return len(self.kept) + len(self.fresh)

    def _item(self, i: int) -> Article:
        return self.base[int(self.kept[i])] if i < len(self.kept) else self.fresh[i - len(self.kept)]

    def __iter__(self) -> Iterator[Article]:
        wanted = set(self.kept.tolist())
        found = {i: a for i, a in enumerate(self.base) if i in wanted}
        yield from (found[i] for i in self.kept.tolist())
        yield from self.fresh

    @property
    def keys(self) -> Keys:
        if self._keys is None:
            old, kept = self.base.keys, self.kept.tolist()
            self._keys = Keys(
                [old.ids[i] for i in kept] + [a.id for a in self.fresh],
                [old.paths[i] for i in kept] + [a.path for a in self.fresh],
                [old.hashes[i] for i in kept] + [a.content_hash for a in self.fresh],
                [old.text_hashes[i] for i in kept] + [a.text_hash for a in self.fresh],
            )
        return self._keys

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]


def _appends(articles: Spliced) -> bool:
    """Whether `articles` are all of their base's, then fresh ones, few enough to be kept apart."""
    old, kept = articles.base, articles.kept
    if len(kept) != len(old) or (len(kept) and int(kept[-1]) != len(kept) - 1):
        return False
    return (int(old.offsets[-1]) - old.base_size) * _DELTA_SHARE <= old.base_size


def article_line(a: Article) -> bytes:
    """An article without its text as one JSON line: the catalog's encoding, also the watch store's."""
    row = {
        "id": a.id,
        "title": a.title,
        "source": a.source,
        "date": a.date.isoformat() if a.date else None,
        "url": a.url,
        "author": a.author,
        "path": a.path,
        "hash": a.content_hash,
        "text_hash": a.text_hash,
    }
    return json.dumps(row, ensure_ascii=False).encode() + b"\n"


def article_from_row(row: dict[str, Any], days: dict[str, date] | None = None) -> Article:
    """The article of a decoded `article_line` (its text empty); `days` shares equal dates."""
    day = row["date"]
    when: date | None = None
    if day and days is not None:
        when = days.get(day) or days.setdefault(day, date.fromisoformat(day))
    elif day:
        when = date.fromisoformat(day)
    return Article(
        id=row["id"],
        title=row["title"],
        text="",
        source=row["source"],
        date=when,
        url=row["url"],
        author=row["author"],
        path=row["path"],
        content_hash=row["hash"],
        text_hash=row["text_hash"],
    )
