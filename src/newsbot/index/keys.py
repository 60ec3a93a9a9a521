"""Every article's id, corpus file and text key (`Keys`, one small file beside the catalog's
lines), and where each is among a version's articles (`KeyLookup`): what an addition needs to
find which indexed articles it replaces or repeats, without parsing every line.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt

from newsbot.errors import IndexCorrupt
from newsbot.index.disk import write_file
from newsbot.index.tables import expect, read_json
from newsbot.records import Article

_KEYS, _MORE_KEYS = "article_keys.json", "article_keys-more.jsonl"  # the keys of the catalog's lines


@dataclass(frozen=True)
class KeyLookup:
    """Where each id, text key and corpus file is among some `Keys`' articles (their numbers).

    About 140 bytes an article (a million articles: ~140 MB), kept with the keys: the three maps
    share each number's int, and a file's number is an int unless it holds several articles."""

    ids: dict[str, int]
    texts: dict[str, int]  # text key -> the first article with that text (a build keeps one)
    paths: dict[str | None, int]  # corpus file -> its first article
    more: dict[str | None, list[int]]  # corpus file -> all its articles, for files of several

    @classmethod
    def of(cls, keys: Keys, start: int = 0, base: KeyLookup | None = None) -> KeyLookup:
        """The lookup of `keys`, or of its articles from `start` on added to (a copy of) `base`."""
        if base is None and start == 0:
            return cls._whole(keys)
        if base is None:
            ids, texts, paths, more = {}, {}, {}, {}
        else:  # copies: the base's version may still be read (its lists are never changed)
            ids, texts, paths, more = base.ids.copy(), base.texts.copy(), base.paths.copy(), base.more.copy()
        numbers = range(start, len(keys.ids))
        grown: dict[str | None, list[int]] = {}  # the lists this call made: its own to append to
        for n, id_, text, path in zip(
            numbers, keys.ids[start:], keys.text_hashes[start:], keys.paths[start:], strict=True
        ):
            ids[id_] = n
            if text:
                texts.setdefault(text, n)
            first = paths.setdefault(path, n)
            if first != n:
                own = grown.get(path)
                if own is None:  # a base's list is copied once, never changed
                    own = grown[path] = more[path] = list(more.get(path, (first,)))
                own.append(n)
        return cls(ids, texts, paths, more)

    @classmethod
    def _whole(cls, keys: Keys) -> KeyLookup:
        """`of` all of `keys`, its maps made by dict constructors in C (a Python loop over 26k
        articles cost a reindex 13 ms): where the first article of a text or file counts, the
        pairs are given last to first."""
        numbers = range(len(keys.ids))
        ids = keys._numbers  # (never changed: an extended lookup copies its base's maps)
        texts = dict(zip(reversed(keys.text_hashes), reversed(numbers), strict=True))
        texts.pop("", None)  # an older index's articles without a text key
        paths = dict(zip(reversed(keys.paths), reversed(numbers), strict=True))
        more: dict[str | None, list[int]] = {}
        if len(paths) < len(numbers):  # files of several articles: each one's list
            several = {p for p, count in Counter(keys.paths).items() if count > 1}
            for n, path in enumerate(keys.paths):
                if path in several:
                    more.setdefault(path, []).append(n)
        return cls(ids, texts, paths, more)

    def in_file(self, path: str) -> tuple[int, ...]:
        """The numbers of the articles of corpus file `path`."""
        found = self.more.get(path)
        if found is not None:
            return tuple(found)
        first = self.paths.get(path)
        return () if first is None else (first,)


@dataclass(frozen=True)
class Keys:
    """Every article's id, path and text key, in article order."""

    ids: list[str]
    paths: list[str | None]
    hashes: list[str]  # content hashes
    text_hashes: list[str]

    @cached_property
    def lookup(self) -> KeyLookup:
        """Made once per version; a version that only adds articles extends its base's (dict
        copies: a build against a million articles would otherwise spend seconds on them).
        Only builds ask for it, and they run one at a time (`Engine`'s lock, the writer lock)."""
        return KeyLookup.of(self)

    def numbers(self) -> Mapping[str, int]:
        """Each id's article number: the lookup's if made, else only that map (made in C, once; a
        scan needs no more of the lookup, and the lookup made later shares it)."""
        if "lookup" in self.__dict__:
            return self.lookup.ids
        return self._numbers

    @cached_property
    def _numbers(self) -> dict[str, int]:
        return dict(zip(self.ids, range(len(self.ids)), strict=True))

    def added(self, fresh: Sequence[Article]) -> Keys:
        """These keys and those of `fresh` after them."""
        keys = Keys(
            self.ids + [a.id for a in fresh],
            self.paths + [a.path for a in fresh],
            self.hashes + [a.content_hash for a in fresh],
            self.text_hashes + [a.text_hash for a in fresh],
        )
        if "lookup" in self.__dict__:  # made already: extended, not made anew
            keys.__dict__["lookup"] = KeyLookup.of(keys, len(self.ids), self.lookup)
        return keys

    @classmethod
    def of(cls, articles: Sequence[Article]) -> Keys:
        known = getattr(articles, "keys", None)  # the catalog's (`Articles`, `Spliced`): read or spliced
        if isinstance(known, Keys):
            return known
        return cls(
            [a.id for a in articles],
            [a.path for a in articles],
            [a.content_hash for a in articles],
            [a.text_hash for a in articles],
        )

    def save(self, folder: Path) -> None:
        """Write the keys into `folder` as the keys of a base file of lines (none added since)."""
        data = json.dumps(
            {"ids": self.ids, "paths": self.paths, "hashes": self.hashes, "text_hashes": self.text_hashes}
        ).encode()
        write_file(folder / _KEYS, lambda fh: fh.write(data))
        write_file(folder / _MORE_KEYS, lambda fh: None)

    def lines(self) -> bytes:
        """The keys as `_MORE_KEYS` holds them: one JSON array a line (appended by copying bytes)."""
        rows = zip(self.ids, self.paths, self.hashes, self.text_hashes, strict=True)
        return b"".join(json.dumps(row).encode() + b"\n" for row in rows)

    def sliced(self, start: int) -> Keys:
        return Keys(self.ids[start:], self.paths[start:], self.hashes[start:], self.text_hashes[start:])

    def picked(self, rows: npt.NDArray[np.int64]) -> Keys:
        at = rows.tolist()
        return Keys(
            [self.ids[r] for r in at],
            [self.paths[r] for r in at],
            [self.hashes[r] for r in at],
            [self.text_hashes[r] for r in at],
        )

    @classmethod
    def open(cls, folder: Path, rows: npt.NDArray[np.int64], n_rows: int) -> Keys:
        """The keys of the articles whose lines are `rows`, of the `n_rows` lines saved in
        `folder` (those of its base file, then those added since)."""
        keys = cls._read(folder / _KEYS)
        more = folder / _MORE_KEYS
        data = more.read_bytes() if more.is_file() else b""
        if data:
            try:
                added = json.loads(b"[" + data.rstrip(b"\n").replace(b"\n", b",") + b"]")
                ids, paths, hashes, texts = (list(c) for c in zip(*added, strict=True))
            except ValueError as e:
                raise IndexCorrupt(more, f"not lines of keys ({e})"[:200]) from e
            keys = cls(keys.ids + ids, keys.paths + paths, keys.hashes + hashes, keys.text_hashes + texts)
        sizes = {len(keys.ids), len(keys.paths), len(keys.hashes), len(keys.text_hashes)}
        expect(folder / _KEYS, sizes == {n_rows}, f"keys of {sorted(sizes)} lines, not {n_rows:,}")
        return keys if identity(rows, n_rows) else keys.picked(rows)

    @classmethod
    def _read(cls, path: Path) -> Keys:
        row = read_json(path)
        try:
            return cls(list(row["ids"]), list(row["paths"]), list(row["hashes"]), list(row["text_hashes"]))
        except (KeyError, TypeError) as e:
            raise IndexCorrupt(path, f"lacks or garbles {e}") from e


def identity(rows: npt.NDArray[np.int64], n_rows: int) -> bool:
    """Whether `rows` (ascending, distinct) are all of 0 .. n_rows - 1: none dropped or moved."""
    return len(rows) == n_rows and (not n_rows or (int(rows[0]) == 0 and int(rows[-1]) == n_rows - 1))
