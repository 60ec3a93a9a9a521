"""Writing an index's files: each flushed to disk before anything names it, and shared between
versions by hard links (a file is never changed once written)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["flush_all", "flushed_together", "fsync_dir", "link", "write_file"]


def write_file(path: Path, fill: Any, *, flush: bool = True) -> None:
    """Write a file with `fill(fh)` and flush it to disk (at the end of `flushed_together` when
    its folder is in one; not at all without `flush`: the caller flushes it, `flush_all`)."""
    with path.open("wb") as fh:
        fill(fh)
        fh.flush()
        with _deferring:
            pending = _deferred.get(path.parent) if flush else None
            if pending is not None:
                pending.append(path)
        if pending is None and flush:
            os.fsync(fh.fileno())


def flush_all(paths: list[Path]) -> None:
    """Flush these files to disk, side by side (see `flushed_together`)."""
    if len(paths) > 1:
        with ThreadPoolExecutor(min(_FLUSHERS, len(paths))) as pool:
            list(pool.map(_fsync, paths))
    elif paths:
        _fsync(paths[0])


# Folders in a `flushed_together`, with the files written into them since it began.
_deferred: dict[Path, list[Path]] = {}
_deferring = threading.Lock()
_FLUSHERS = 8


@contextmanager
def flushed_together(folder: Path) -> Iterator[None]:
    """Flush the files written into `folder` (a fresh one, of one writer) meanwhile at its end,
    all at once, then the folder's entries. An fsync waits on the disk, about 10 ms here, and
    concurrent ones share the journal's commits: a save's ~40 files take 4-10x less time flushed
    side by side than one after another. Nothing may rely on them being on disk before the end."""
    with _deferring:
        assert folder not in _deferred, f"{folder} is already being written"
        _deferred[folder] = []
    try:
        yield
        with _deferring:
            files = list(_deferred[folder])
        flush_all(files)
        fsync_dir(folder)
    finally:
        with _deferring:
            _deferred.pop(folder, None)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def link(source: Path, target: Path) -> None:
    """Share a saved file with a new version (files are never changed once written); copy it
    where links are not possible."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (the names of the files just written or renamed in it)."""
    _fsync(path)
