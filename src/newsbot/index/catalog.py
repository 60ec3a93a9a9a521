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

from newsbot.index import bm25
from newsbot.index.disk import link, write_file
from newsbot.index.keys import _KEYS, _MORE_KEYS, Keys, identity
from newsbot.index.tables import Lazy, expect, file_size, load_array
from newsbot.records import Article, Skipped

_DELTA_SHARE = 8  # `Articles`: folded into one file when lines added or dead pass 1/8 of the base
_MORE = "articles-more.jsonl"  # article lines added since articles.jsonl was written
_ROWS = "article_rows.npy"  # each article's line


@dataclass(frozen=True)
class FileState:
    """What a corpus file looked like when indexed, to skip re-reading it when unchanged."""

    size: int
    mtime_ns: int
    article_ids: tuple[str, ...]
    skipped: tuple[Skipped, ...] = ()  # reported again while the file is unchanged


@runtime_checkable
class SavesItself(Protocol):
    """Articles kept in files of their own that a version can take as they are (a cold build's:
    `newsbot.index.coldread`)."""

    def save_catalog(self, folder: Path) -> None: ...


class Articles(Lazy[Article]):
    """Article metadata, one JSON line each, parsed when asked for: a few per answer. The lines
    are those of `path` then of the file beside it (`_MORE`: added since), article i's is line
    `rows[i]`; lines of articles since removed or changed stay until the files are folded."""

    def __init__(
        self,
        path: Path,
        offsets: npt.NDArray[np.int64],
        base_size: int | None = None,
        rows: npt.NDArray[np.int64] | None = None,
    ) -> None:
        self.path, self.offsets = path, offsets  # line r: bytes offsets[r]:offsets[r + 1] of both
        # The lines from `base_size` on are in the file `more` (those added since `path` was written).
        self.base_size = int(offsets[-1]) if base_size is None else base_size
        self.more = path.with_name(_MORE)
        self.rows = np.arange(len(offsets) - 1, dtype=np.int64) if rows is None else rows
        self._cache: dict[int, Article] = {}
        self._keys: Keys | None = None

    @property
    def n_rows(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def open(cls, folder: Path, n_articles: int) -> Articles:
        offsets = load_array(folder / "article_offsets.npy", mmap=False)
        rows = load_array(folder / _ROWS, n_articles, mmap=False).astype(np.int64)
        size, more = file_size(folder / "articles.jsonl"), file_size(folder / _MORE)
        expect(
            folder / "articles.jsonl",
            len(offsets) > 0 and size + more == int(offsets[-1]),
            f"{size:,} bytes (and {more:,} more), not {int(offsets[-1]) if len(offsets) else 0:,}",
        )
        n_rows = len(offsets) - 1
        expect(folder / _ROWS, not len(rows) or 0 <= rows.min() <= rows.max() < n_rows, "lines out of range")
        expect(folder / _KEYS, (folder / _KEYS).is_file(), "missing")
        return cls(folder / "articles.jsonl", offsets, size, rows)

    @property
    def keys(self) -> Keys:
        if self._keys is None:
            self._keys = Keys.open(self.path.parent, self.rows, self.n_rows)
        return self._keys

    def knowing(self, keys: Keys) -> None:
        """Take `keys` as this file's (those just saved into it), not to read them again."""
        if len(keys.ids) == len(self):
            self._keys = keys

    @staticmethod
    def save(articles: Sequence[Article], folder: Path) -> None:
        """Write `articles` (their metadata: texts are not kept) as `Articles.open` reads them.
        A `Spliced` one shares its base's files (linked) and appends the fresh articles' lines
        and keys to those added since (copied as bytes), so a change costs in proportion to
        itself; past `_DELTA_SHARE`, all the lines are folded into one file (copied, not encoded).
        A cold build's articles are in files of their own already (`SavesItself`)."""
        if isinstance(articles, SavesItself):
            articles.save_catalog(folder)
            return
        if isinstance(articles, Spliced):
            old, lines = articles.base, [article_line(a) for a in articles.fresh]
            if not _folds(articles):
                _append(articles, lines, folder)
                return
            old_rows = old.rows[articles.kept]
            data = old.path.read_bytes() + (old.more.read_bytes() if old.more.is_file() else b"")
            # Runs of consecutive kept lines are one slice each.
            runs = [data[old.offsets[r[0]] : old.offsets[r[-1] + 1]] for r in _runs(old_rows)]
            sizes = np.concatenate([np.diff(old.offsets)[old_rows], [len(line) for line in lines]])
            write_file(folder / "articles.jsonl", lambda fh: fh.writelines([*runs, *lines]))
        else:
            lines = [article_line(a) for a in articles]
            sizes = np.array([len(line) for line in lines], dtype=np.int64)
            write_file(folder / "articles.jsonl", lambda fh: fh.writelines(lines))
        write_file(folder / _MORE, lambda fh: None)
        _save_lines(folder, bm25.offsets(sizes), np.arange(len(sizes)))
        Keys.of(articles).save(folder)

    def __len__(self) -> int:
        return len(self.rows)

    def _item(self, i: int) -> Article:
        article = self._cache.get(i)
        if article is None:
            row = int(self.rows[i])
            start = int(self.offsets[row])
            path, at = (self.path, start) if start < self.base_size else (self.more, start - self.base_size)
            with path.open("rb") as fh:
                fh.seek(at)
                article = article_from_row(json.loads(fh.read(int(self.offsets[row + 1]) - start)))
            if len(self._cache) >= 4096:
                self._cache.clear()
            self._cache[i] = article
        return article

    def __iter__(self) -> Iterator[Article]:
        days: dict[str, date] = {}
        data = self.path.read_bytes()[: int(self.offsets[-1])]
        if self.base_size < int(self.offsets[-1]):
            data += self.more.read_bytes()
        if not data or not len(self.rows):
            return
        # One JSON array for all the lines (no line holds a raw newline): twice as fast as a
        # `json.loads` per line, for a reindex that needs every article.
        rows = json.loads(b"[" + data.rstrip(b"\n").replace(b"\n", b",") + b"]")
        if not identity(self.rows, self.n_rows):
            rows = [rows[r] for r in self.rows.tolist()]
        for row in rows:
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
        if self._keys is None and identity(self.kept, len(self.base)):  # articles only added
            self._keys = self.base.keys.added(self.fresh)
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


def _folds(articles: Spliced) -> bool:
    """Whether saving `articles` folds all lines into one file: when the lines added since the
    base file passed 1/8 of it, or the dead ones (of articles removed or changed) do."""
    old = articles.base
    dead = old.n_rows - len(articles.kept)
    return (int(old.offsets[-1]) - old.base_size) * _DELTA_SHARE > old.base_size or (
        dead * _DELTA_SHARE > old.n_rows
    )


def _append(articles: Spliced, lines: list[bytes], folder: Path) -> None:
    """Save `articles` as their base's files (linked), with the fresh lines and keys appended
    to those added since (copied as bytes)."""
    old, fresh = articles.base, articles.fresh
    more = old.more.read_bytes() if old.base_size < int(old.offsets[-1]) else b""
    sizes = np.array([len(line) for line in lines], dtype=np.int64)
    offsets = np.concatenate([old.offsets, old.offsets[-1] + np.cumsum(sizes)])
    rows = np.concatenate([old.rows[articles.kept], old.n_rows + np.arange(len(fresh))])
    more_keys = old.path.with_name(_MORE_KEYS)
    keys = (more_keys.read_bytes() if more_keys.is_file() else b"") + Keys.of(fresh).lines()
    link(old.path, folder / "articles.jsonl")
    link(old.path.with_name(_KEYS), folder / _KEYS)
    write_file(folder / _MORE, lambda fh: fh.writelines([more, *lines]))
    write_file(folder / _MORE_KEYS, lambda fh: fh.write(keys))
    _save_lines(folder, offsets, rows)


def _save_lines(folder: Path, offsets: npt.NDArray[np.int64], rows: npt.NDArray[np.int64]) -> None:
    write_file(folder / "article_offsets.npy", lambda fh: np.save(fh, offsets))
    write_file(folder / _ROWS, lambda fh: np.save(fh, rows.astype(np.int32)))


def _runs(rows: npt.NDArray[np.int64]) -> list[npt.NDArray[np.int64]]:
    """`rows` cut into runs of consecutive numbers."""
    return [r for r in np.split(rows, np.flatnonzero(np.diff(rows) != 1) + 1) if len(r)]


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
