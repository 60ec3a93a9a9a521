"""The index folder shared by several processes: who writes, who reads what, what may be deleted.

Layout of an index folder:

    CURRENT                    the live version's name, replaced atomically
    HISTORY                    every version made live, oldest first: pruning keeps by this, never
                               by folder times
    <version>/                 one folder per saved build
    .tmp-<version>-<pid>/      a save in progress (only ever made by the writer)
    .trash-<version>-<pid>/    a version being deleted (renamed first, so a half-deleted folder is
                               never taken for a whole one)
    .writer.lock, .writer      the one writer's OS lock, and who holds it (pid and command)
    .leases/<version>.<pid>.*  one per process that has <version> open, each locked (shared) by it

Locks are `flock`s: the kernel drops them when their holder dies, even by `kill -9`, so a dead
writer never blocks the next one and a dead reader's lease is recognised as stale.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from newsbot.errors import IndexBusy, NewsbotError

log = logging.getLogger(__name__)

CURRENT, HISTORY = "CURRENT", "HISTORY"
_LEASES, _LOCK, _HOLDER = ".leases", ".writer.lock", ".writer"
_TMP, _TRASH = ".tmp-", ".trash-"
# A version name as index/merge.py makes them: no path separators, nothing hidden.
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,127}")
_HISTORY_KEPT = 1000  # lines of HISTORY kept when it is rewritten


class NoSpace(NewsbotError):
    """The disk has less room than a save needs."""


def valid_version(name: str) -> bool:
    return bool(_VERSION.fullmatch(name))


def current(index_dir: Path) -> str | None:
    """The live version's name; None when there is none (or `CURRENT` is garbage: see `load`)."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8", errors="replace").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return name if valid_version(name) else None


def history(index_dir: Path) -> list[str]:
    """Versions made live, newest first, each once."""
    try:
        lines = (index_dir / HISTORY).read_text(encoding="utf-8", errors="replace").split()
    except FileNotFoundError:
        lines = []
    return list(dict.fromkeys(v for v in reversed(lines) if valid_version(v)))


def publish(index_dir: Path, version: str) -> None:
    """Make `version` live: append it to HISTORY, then replace CURRENT (both flushed to disk)."""
    from newsbot.index.disk import flush_all, fsync_dir, write_file

    older = list(reversed(history(index_dir)))[-_HISTORY_KEPT:]
    lines = "".join(f"{v}\n" for v in [*older, version])
    written = [index_dir / f"{HISTORY}.tmp", index_dir / f"{CURRENT}.tmp"]
    write_file(written[0], lambda fh: fh.write(lines.encode()), flush=False)
    write_file(written[1], lambda fh: fh.write(version.encode()), flush=False)
    flush_all(written)  # both on disk, side by side, before either is renamed into place
    os.replace(index_dir / f"{HISTORY}.tmp", index_dir / HISTORY)
    os.replace(index_dir / f"{CURRENT}.tmp", index_dir / CURRENT)
    fsync_dir(index_dir)


class Lease:
    """A process's claim on a version it has open: while held, no writer deletes that version."""

    def __init__(self, path: Path, handle: IO[bytes]) -> None:
        self.path, self._handle = path, handle

    @classmethod
    def take(cls, index_dir: Path, version: str) -> Lease:
        folder = index_dir / _LEASES
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{version}.{os.getpid()}.{secrets.token_hex(4)}"
        handle = path.open("wb")
        fcntl.flock(handle, fcntl.LOCK_SH)
        return cls(path, handle)

    @property
    def version(self) -> str:
        return self.path.name.split(".", 1)[0]

    def release(self) -> None:
        if not self._handle.closed:
            self.path.unlink(missing_ok=True)
            self._handle.close()


def leased(index_dir: Path) -> set[str]:
    """Versions some live process has open; stale leases (dead holders) are removed on the way."""
    folder = index_dir / _LEASES
    found: set[str] = set()
    for path in folder.iterdir() if folder.is_dir() else ():
        try:
            with path.open("rb") as probe:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            found.add(path.name.split(".", 1)[0])  # its holder is alive
        except FileNotFoundError:
            continue  # released meanwhile
        else:
            path.unlink(missing_ok=True)
    return found


def holder(index_dir: Path) -> str:
    """Who holds (or last held) the writer lock, for messages."""
    try:
        return (index_dir / _HOLDER).read_text(encoding="utf-8", errors="replace").strip()[:200]
    except FileNotFoundError:
        return "another process"


@contextmanager
def writer(
    index_dir: Path, *, wait: bool = True, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the one writer lock of `index_dir` for a build and its save.

    With `wait`, a second writer waits (calling `on_wait` once with who holds it); without, it
    raises IndexBusy naming the holder. Entering also clears what a dead writer left behind.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    handle = (index_dir / _LOCK).open("ab")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = holder(index_dir)
            if not wait:
                raise IndexBusy(f"The index is being updated by {who}; try again when it is done.") from None
            if on_wait:
                on_wait(who)
            fcntl.flock(handle, fcntl.LOCK_EX)
        (index_dir / _HOLDER).write_text(f"pid {os.getpid()} ({_command()})", encoding="utf-8")
        clear_leftovers(index_dir)
        yield
    finally:
        handle.close()  # releases the lock


def clear_leftovers(index_dir: Path) -> list[str]:
    """Remove temporary and half-deleted folders. Only the writer may call it: no save of another
    process can then be in progress."""
    removed = []
    for path in index_dir.iterdir():
        if path.is_dir() and path.name.startswith((_TMP, _TRASH)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def prune(index_dir: Path, keep: int = 1) -> list[str]:
    """Delete versions no one needs: all but the live one, the `keep` made live just before it, and
    any a live process has open. Only the writer may call it. Returns the deleted names."""
    live = current(index_dir)
    wanted = set(history(index_dir)[: keep + 1]) | leased(index_dir) | ({live} if live else set())
    deleted = []
    for path in index_dir.iterdir():
        name = path.name
        if not path.is_dir() or name.startswith(".") or name in wanted or not valid_version(name):
            continue
        trash = index_dir / f"{_TRASH}{name}-{os.getpid()}"
        os.replace(path, trash)  # one step: the version is whole or gone, never half there
        shutil.rmtree(trash, ignore_errors=True)
        deleted.append(name)
    clear_leftovers(index_dir)
    return deleted


def temporary(index_dir: Path, version: str) -> Path:
    """A fresh folder for a save in progress."""
    path = index_dir / f"{_TMP}{version}-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def ensure_space(index_dir: Path, needed: int) -> None:
    """Raise NoSpace, saying how much is needed, when the disk cannot hold `needed` more bytes."""
    free = shutil.disk_usage(index_dir).free
    if free < needed:
        raise NoSpace(
            f"Not enough disk space to save the index in {index_dir.name}/: it needs about "
            f"{_mb(needed)} and {_mb(free)} is free."
        )


def wait_for_change(index_dir: Path, seen: str | None, timeout: float, poll: float = 0.2) -> str | None:
    """The live version once it differs from `seen` (None if it did not change within `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        now = current(index_dir)
        if now != seen:
            return now
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll)


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


def _command() -> str:
    return " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv[:4]))[:120]
