"""The index's on-disk tables, read lazily: start-up touches only what a query needs.

`Table` (a sorted str -> value map searched on disk) and `Terms` (term id -> term) read their
files on demand (articles and corpus files: `newsbot.index.catalog`); `write_file` writes and
flushes a file.

Every file is opened through `load_array` or `read_json`, and its size checked where that is
cheap (`expect`): a damaged file raises `IndexCorrupt` naming it, never a numpy or json error.
"""

from __future__ import annotations

import itertools
import json
import mmap
import operator
import os
import zlib
from collections.abc import Iterator, Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar, overload

import numpy as np
import numpy.typing as npt

from newsbot.errors import IndexCorrupt
from newsbot.index.disk import link, write_file

T = TypeVar("T")


class Table(Mapping[str, Any]):
    """str -> value: keys sorted as fixed-width UTF-8 with the values in the same order, both read
    from disk as needed (memory-mapped), not into memory; keys or values too long for the width,
    and entries added since the arrays were sorted (`extended`), are in a small `extra` dict.
    Lookups are binary searches."""

    WIDTH = 24

    def __init__(
        self,
        keys: npt.NDArray[np.bytes_],
        values: npt.NDArray[Any],
        extra: dict[str, Any],
        saved: tuple[Path, str] | None = None,
    ) -> None:
        self._keys, self._values, self._extra = keys, values, extra
        self._text = values.dtype.kind == "S"
        self._saved = saved  # (folder, name) of the files `keys` and `values` are mapped from

    @classmethod
    def of(cls, mapping: Mapping[str, Any], dtype: str) -> Table:
        """A table of `mapping` (as is when it already is one)."""
        if isinstance(mapping, Table):
            return mapping
        keys = [k.encode() for k in mapping]
        if any(b"\x00" in k for k in keys):  # numpy would drop their trailing NULs before sorting
            return cls._of_sorted_in_python(mapping, dtype)
        # Sorted by numpy (byte order, as Python sorts bytes): a build's vocabulary and stems are
        # hundreds of thousands of entries, a second or more as tuples sorted in Python.
        values = [v.encode() if isinstance(v, str) else v for v in mapping.values()]
        fits = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys)) <= cls.WIDTH
        fits[[n for n, v in enumerate(values) if isinstance(v, bytes) and len(v) > cls.WIDTH]] = False
        kept = np.flatnonzero(fits)
        extra = {}
        if len(kept) < len(keys):
            extra = {k: v for k, v, f in zip(mapping, mapping.values(), fits.tolist(), strict=True) if not f}
        key_array = np.array(keys, dtype=f"S{cls.WIDTH}")[kept]
        value_array = np.array(values, dtype=dtype)[kept] if len(kept) else np.zeros(0, dtype=dtype)
        order = np.argsort(key_array, kind="stable")
        return cls(key_array[order], value_array[order], extra)

    @classmethod
    def _of_sorted_in_python(cls, mapping: Mapping[str, Any], dtype: str) -> Table:
        sortable, extra = [], {}
        for key, value in mapping.items():
            k, v = key.encode(), value.encode() if isinstance(value, str) else value
            if len(k) <= cls.WIDTH and (not isinstance(v, bytes) or len(v) <= cls.WIDTH):
                sortable.append((k, v))
            else:
                extra[key] = value
        sortable.sort()
        return cls(
            np.array([k for k, _ in sortable], dtype=f"S{cls.WIDTH}"),
            np.array([v for _, v in sortable], dtype=dtype),
            extra,
        )

    def extended(self, more: dict[str, Any]) -> Table:
        """This table plus `more` (which wins); sorted again when the additions pile up."""
        table = Table(self._keys, self._values, {**self._extra, **more}, self._saved)
        if len(table._extra) > max(len(self._keys) // 8, 1024):
            return Table.of(dict(table.items()), self._values.dtype.str)
        return table

    @classmethod
    def open(cls, folder: Path, name: str) -> Table:
        keys = load_array(folder / f"{name}_keys.npy")
        values = load_array(folder / f"{name}_values.npy", len(keys))
        expect(folder / f"{name}_keys.npy", keys.dtype == f"S{cls.WIDTH}", f"keys of type {keys.dtype}")
        extra = read_json(folder / f"{name}_extra.json")
        expect(folder / f"{name}_extra.json", isinstance(extra, dict), "not a JSON object")
        return cls(keys, values, extra, (folder, name))

    def save(self, folder: Path, name: str) -> None:
        """Write the table into `folder`; its sorted arrays are linked when saved before."""
        for suffix, array in (("keys", self._keys), ("values", self._values)):
            target = folder / f"{name}_{suffix}.npy"
            if self._saved is not None and self._saved[1] == name:
                link(self._saved[0] / target.name, target)
            else:
                write_file(target, lambda fh, a=array: np.save(fh, np.asarray(a)))
        write_file(folder / f"{name}_extra.json", lambda fh: fh.write(json.dumps(self._extra).encode()))

    def get(self, key: str, default: Any = None) -> Any:
        value = self._extra.get(key)
        if value is not None:
            return value
        i = self._find(key)
        if i is None:
            return default
        value = self._values[i]
        return value.decode() if self._text else int(value)  # a numpy bytes is a bytes

    def get_many(self, keys: list[str]) -> list[Any]:
        """`get` of each of `keys` (None when absent), in one search of the sorted keys. No Python
        runs per key but its encoding: a reindex asks ~25k words of its stem table."""
        found: list[Any] = list(map(self._extra.get, keys)) if self._extra else [None] * len(keys)
        if not keys or not len(self._keys):
            return found
        ascii = "".join(keys).isascii()  # (most): encoded by numpy, a character a byte
        encoded: list[Any] = keys if ascii else [k.encode() for k in keys]
        fits = np.fromiter(map(len, encoded), dtype=np.int64, count=len(keys)) <= self.WIDTH
        if self._extra:
            fits &= np.fromiter(map(operator.is_, found, itertools.repeat(None)), dtype=bool, count=len(keys))
        asked = np.flatnonzero(fits)
        whole = np.array(encoded, dtype=f"U{self.WIDTH}" if ascii else object)  # (long ones cut: not asked)
        wanted = whole[asked].astype(f"S{self.WIDTH}")
        at = np.minimum(np.searchsorted(self._keys, wanted), len(self._keys) - 1)
        hit = np.asarray(self._keys[at]) == wanted
        values = np.asarray(self._values[at[hit]])
        out = np.fromiter(found, dtype=object, count=len(found))  # (not nested: values may be lists)
        out[asked[hit]] = _decoded(values) if self._text else values.tolist()
        return out.tolist()  # type: ignore[no-any-return]

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
        if len(k) > self.WIDTH:
            return None
        # The array's own method: numpy's function adds ~1 us of dispatch to a ~1.3 us lookup.
        i = int(self._keys.searchsorted(k))
        return i if i < len(self._keys) and self._keys[i] == k else None

    def items(self) -> Any:  # all at once: much faster than one lookup per key
        values = (bytes(v).decode() for v in self._values) if self._text else self._values.tolist()
        return {
            **dict(zip((bytes(k).decode() for k in self._keys), values, strict=True)),
            **self._extra,
        }.items()


def _decoded(values: npt.NDArray[np.bytes_]) -> list[str]:
    """UTF-8 `values` as str: ASCII ones in one numpy cast, the rest one by one."""
    try:
        return values.astype(f"U{values.dtype.itemsize}").tolist()  # type: ignore[no-any-return]
    except UnicodeDecodeError:
        return [bytes(v).decode() for v in values]


class Lazy(Sequence[T]):
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


class Terms(Lazy[str]):
    """Term id -> term, decoded on demand from all terms' UTF-8 (memory-mapped) and their offsets,
    then the terms added since (`extended`)."""

    def __init__(
        self,
        blob: npt.NDArray[np.uint8],
        offsets: npt.NDArray[np.int64],
        more: list[str] | None = None,
        saved: Path | None = None,
    ) -> None:
        self.blob, self.offsets, self.more = blob, offsets, more or []
        self.saved = saved  # the folder `blob` and `offsets` were read from

    @classmethod
    def of(cls, terms: Sequence[str]) -> Terms:
        if isinstance(terms, Terms):
            return terms
        return cls(np.zeros(0, np.uint8), np.zeros(1, np.int64), list(terms))

    def extended(self, more: list[str]) -> Terms:
        return Terms(self.blob, self.offsets, self.more + more, self.saved)

    @classmethod
    def open(cls, folder: Path, n_terms: int) -> Terms:
        offsets = load_array(folder / "term_offsets.npy", n_terms + 1)
        path = folder / "terms.bin"
        blob = load_bytes(path, int(offsets[-1]))
        return cls(blob if isinstance(blob, np.ndarray) else np.zeros(0, np.uint8), offsets, saved=folder)

    def save(self, folder: Path) -> None:
        """Write the terms into `folder`: links to the files they were read from when no term
        was added since (a reindex of known words), else all of them."""
        if self.saved is not None and not self.more:
            for name in ("terms.bin", "term_offsets.npy"):
                link(self.saved / name, folder / name)
            return
        encoded = [t.encode() for t in self.more]
        offsets = np.zeros(len(self) + 1, dtype=np.int64)
        offsets[: len(self.offsets)] = self.offsets
        np.cumsum([len(e) for e in encoded], out=offsets[len(self.offsets) :])
        offsets[len(self.offsets) :] += self.offsets[-1]
        write_file(folder / "terms.bin", lambda fh: fh.write(bytes(self.blob) + b"".join(encoded)))
        write_file(folder / "term_offsets.npy", lambda fh: np.save(fh, offsets))

    def __len__(self) -> int:
        return len(self.offsets) - 1 + len(self.more)

    def _item(self, i: int) -> str:
        if i >= len(self.offsets) - 1:
            return self.more[i - len(self.offsets) + 1]
        return bytes(self.blob[self.offsets[i] : self.offsets[i + 1]]).decode()

    def __iter__(self) -> Iterator[str]:
        data = bytes(self.blob)
        bounds = self.offsets.tolist()
        yield from (data[a:b].decode() for a, b in pairwise(bounds))
        yield from self.more


def checksum(path: Path) -> tuple[int, int]:
    """A file's size and CRC-32: fast (GB/s), and enough to catch flipped bits and truncation."""
    crc, size = 0, 0
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size:  # mapped, not read: no copy of the file into memory (half the time)
                with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data, memoryview(data) as view:
                    for at in range(0, size, 1 << 24):
                        crc = zlib.crc32(view[at : at + (1 << 24)], crc)
    except (OSError, ValueError) as e:
        raise IndexCorrupt(path, _problem(e)) from e
    return size, crc


def load_array(path: Path, length: int | None = None, *, mmap: bool = True) -> npt.NDArray[Any]:
    """A saved one-dimensional array (memory-mapped: a plain array over the map, since numpy's
    memmap subclass slows down every small slice), of `length` entries when given."""
    try:
        array = np.asarray(np.load(path, mmap_mode="r" if mmap else None))
    except (OSError, ValueError, EOFError) as e:
        raise IndexCorrupt(path, _problem(e)) from e
    expect(path, array.ndim == 1, f"an array of {array.ndim} dimensions")
    if length is not None:
        expect(path, len(array) == length, f"{len(array):,} entries where {length:,} belong")
    return array


def load_bytes(path: Path, size: int) -> np.memmap[Any, np.dtype[np.uint8]] | bytes:
    """A file of `size` bytes, memory-mapped (b"" when empty)."""
    actual = file_size(path)
    expect(path, actual == size, f"{actual:,} bytes where {size:,} belong")
    try:
        return np.memmap(path, dtype=np.uint8, mode="r") if size else b""
    except (OSError, ValueError) as e:
        raise IndexCorrupt(path, _problem(e)) from e


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as e:  # JSON and UTF-8 decoding errors are ValueErrors
        raise IndexCorrupt(path, _problem(e)) from e


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as e:
        raise IndexCorrupt(path, _problem(e)) from e


def expect(path: Path, ok: bool, problem: str) -> None:
    """Raise `IndexCorrupt` for `path` unless `ok`."""
    if not ok:
        raise IndexCorrupt(path, problem)


def _problem(error: Exception) -> str:
    if isinstance(error, FileNotFoundError):
        return "missing"
    if isinstance(error, json.JSONDecodeError):
        return f"not valid JSON ({error.msg})"
    return f"unreadable ({type(error).__name__}: {error})"[:200]
