"""A cold build's articles and corpus files, written to scratch files as the corpus is read, so
that the build's memory does not grow with the number of articles (~1.5 KB each as objects:
~1.8 GB at 1.2M articles).

Articles are deduplicated as they come (`Deduper`, the same rules as `dedupe_keys`) and each kept
one is written as its catalog line (`catalog.article_line`), and its keys and its file's state as
the columns `Keys` and `Files` save: a save links those files into the new version (see
`ColdArticles.save_catalog`, `ColdFiles.finish`). What stays in memory is a few numbers per
article, and the dedupe's sets while reading.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import weakref
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import IO, Any

import numpy as np

from newsbot.corpus.dedupe import Deduper, text_key
from newsbot.corpus.read import FileRead
from newsbot.index import scratch
from newsbot.index.catalog import _MORE, _save_lines, article_from_row, article_line
from newsbot.index.disk import link, write_file
from newsbot.index.filestates import BASE, Files
from newsbot.index.keys import _KEYS
from newsbot.index.tables import Lazy
from newsbot.records import Article, Skipped

_FLUSH = 4096  # a `_Column`'s items written at once


class _Column:
    """One JSON array written to a scratch file as its items come, joined into an object later.
    Items are written `_FLUSH` at a time: one `json.dumps` an item cost a cold build's main
    process ~0.3 s at 215k passages (nine columns, a few items each a file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file: IO[bytes] = path.open("wb")
        self.items: list[Any] = []
        self.written = False

    def add(self, value: Any) -> None:
        self.items.append(value)
        if len(self.items) >= _FLUSH:
            self._flush()

    def _flush(self) -> None:
        if self.items:
            chunk = json.dumps(self.items)[1:-1].encode()  # "a, b, c": as the whole array has them
            self.file.write(b", " + chunk if self.written else chunk)
            self.items, self.written = [], True

    def close(self) -> None:
        try:
            self._flush()
        finally:
            self.file.close()


def _write_object(path: Path, columns: dict[str, _Column], tail: dict[str, Any]) -> None:
    """`{"name": [...], ..., **tail}` from the columns' files, streamed."""

    def fill(fh: IO[bytes]) -> None:
        for n, (name, column) in enumerate(columns.items()):
            column.close()
            fh.write((b"{" if n == 0 else b", ") + json.dumps(name).encode() + b": [")
            with column.path.open("rb") as src:
                shutil.copyfileobj(src, fh, 1 << 20)
            fh.write(b"]")
            column.path.unlink()
        for name, value in tail.items():
            fh.write(b", " + json.dumps(name).encode() + b": " + json.dumps(value).encode())
        fh.write(b"}")

    write_file(path, fill)


class ColdRead:
    """Where a cold build's `read` puts what it reads: `articles` and `files` (see the module)."""

    def __init__(self, parent: Path | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix=scratch.prefix("newsbot-read-"), dir=parent))
        self.articles = ColdArticles(self.folder)
        self.files = ColdFiles(self.folder)
        self.dedupe: Deduper | None = Deduper()
        # The folder goes once nothing needs it: the articles, the files' writer and, once read,
        # the files' states made of it (an index's articles and files).
        self.owners = _Owners(self.folder, 2)
        weakref.finalize(self.articles, self.owners.gone)
        weakref.finalize(self.files, self.owners.gone)

    def file(
        self,
        rel: str,
        size: int,
        mtime_ns: int,
        read: FileRead,
        excluded: set[str],
        keep: Callable[[Article], Article],
    ) -> None:
        """A corpus file read: its state noted, its articles not `excluded` deduplicated (as
        `dedupe_keys` does, in corpus order) and the kept ones written, after `keep` (which
        takes their texts)."""
        assert self.dedupe is not None, "read after finish"
        self.files.add(rel, size, mtime_ns, [a.id for a in read.articles], read.skipped)
        for article in read.articles:
            if article.id in excluded:
                continue
            i = self.dedupe.take(article.id, article.path, article.text_hash or text_key(article.text))
            if i is not None and i not in excluded:  # a removed renamed duplicate (`x~2`) too
                self.articles.add(keep(article if i == article.id else replace(article, id=i)))

    def finish(self) -> tuple[ColdArticles, Files, list[Skipped]]:
        """Reading done: the articles, the files' states and the dedupe's notes."""
        assert self.dedupe is not None
        notes, self.dedupe = self.dedupe.notes, None  # its sets are the biggest part: freed
        self.articles.finish()
        files = self.files.finish()
        self.owners.count += 1
        weakref.finalize(files, self.owners.gone)
        return self.articles, files, notes


class _Owners:
    """Removes `folder` when the last of `count` owners has gone."""

    def __init__(self, folder: Path, count: int) -> None:
        self.folder, self.count = folder, count

    def gone(self) -> None:
        self.count -= 1
        if self.count <= 0:
            shutil.rmtree(self.folder, ignore_errors=True)


class ColdArticles(Lazy[Article]):
    """The articles kept so far, in order: their catalog lines in a scratch file, parsed when
    asked for (a build goes through them a few times, one at a time)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "articles.jsonl"
        self._out: IO[bytes] | None = self.path.open("wb")
        self.offsets = array("q", [0])
        self.keys = {
            name: _Column(folder / f"keys-{name}.json") for name in ("ids", "paths", "hashes", "text_hashes")
        }
        self.keys_path = folder / _KEYS

    def add(self, article: Article) -> None:
        assert self._out is not None, "added after finish"
        line = article_line(article)
        self._out.write(line)
        self.offsets.append(self.offsets[-1] + len(line))
        for name, value in zip(
            self.keys, (article.id, article.path, article.content_hash, article.text_hash), strict=True
        ):
            self.keys[name].add(value)

    def finish(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
            _write_object(self.keys_path, self.keys, {})

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def _item(self, i: int) -> Article:
        self.finish()
        start = self.offsets[i]
        with self.path.open("rb") as fh:
            line = os.pread(fh.fileno(), self.offsets[i + 1] - start, start)
        return article_from_row(json.loads(line))

    def __iter__(self) -> Iterator[Article]:
        self.finish()
        days: dict[str, date] = {}
        with self.path.open("rb") as fh:
            for line in fh:
                yield article_from_row(json.loads(line), days)

    def save_catalog(self, folder: Path) -> None:
        """Into a version folder, as `catalog.Articles.save` writes articles (see `Articles.open`)."""
        self.finish()
        link(self.path, folder / "articles.jsonl")
        write_file(folder / _MORE, lambda fh: None)
        offsets = np.frombuffer(self.offsets, dtype=np.int64)
        _save_lines(folder, offsets, np.arange(len(self), dtype=np.int64))  # each its own line
        link(self.keys_path, folder / _KEYS)


class ColdFiles:
    """The corpus files' states, written as the columns of `filestates.Files`' base file."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / BASE
        names = ("paths", "sizes", "mtimes", "counts", "ids")
        self.columns = {name: _Column(folder / f"files-{name}.json") for name in names}
        self.notes: dict[str, list[Any]] = {}

    def add(self, rel: str, size: int, mtime_ns: int, ids: list[str], notes: Sequence[Skipped]) -> None:
        c = self.columns
        c["paths"].add(rel)
        c["sizes"].add(size)
        c["mtimes"].add(mtime_ns)
        c["counts"].add(len(ids))
        for i in ids:
            c["ids"].add(i)
        if notes:
            self.notes[rel] = [[k.where, k.reason, k.repaired] for k in notes]

    def finish(self) -> Files:
        _write_object(self.path, self.columns, {"notes": self.notes})
        return Files(self.path, {})
