"""Listing a corpus: its files in the order a build reads them, with what a reindex compares.

Hidden files and folders are left out; a file of another type is reported (skipped), not read.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from newsbot.corpus.read import SUFFIXES, suffix_of
from newsbot.records import Skipped


def scan(root: Path) -> tuple[list[Path], list[Skipped]]:
    """The corpus files under `root` (or `root` itself), sorted; hidden files are ignored."""
    if root.is_file():
        return ([root], []) if suffix_of(root) in SUFFIXES else ([], [_unsupported(root, root)])
    found: list[Path] = []
    skipped = _walk(str(root), "", lambda entry, rel: found.append(Path(entry.path)))
    return found, skipped


@dataclass(frozen=True)
class Listing:
    """The corpus files as `scan` lists them, by path relative to the root (for a root that is
    a file, its name), with their sizes and modification times: what a reindex compares."""

    paths: list[str]
    sizes: list[int]
    mtimes: list[int]  # st_mtime_ns


def listing(root: Path) -> tuple[Listing, list[Skipped]]:
    """`scan` without a `Path` per file (26k of them cost 0.25 s), each file's stat taken from
    its directory entry; a file gone between listing and stat is left out."""
    out = Listing([], [], [])
    if root.is_file():
        if suffix_of(root) not in SUFFIXES:
            return out, [_unsupported(root, root)]
        stat = root.stat()
        return Listing([root.name], [stat.st_size], [stat.st_mtime_ns]), []

    def add(entry: os.DirEntry[str], rel: str) -> None:
        try:
            stat = entry.stat()
        except FileNotFoundError:
            return
        out.paths.append(rel)
        out.sizes.append(stat.st_size)
        out.mtimes.append(stat.st_mtime_ns)

    skipped = _walk(str(root), "", add)
    return out, skipped


def _walk(folder: str, prefix: str, found: Callable[[os.DirEntry[str], str], None]) -> list[Skipped]:
    """Call `found(entry, path relative to the root)` for every corpus file under `folder`, sorted;
    return the skip notes of the unsupported ones. os.scandir: a corpus is tens of thousands of files."""
    skipped: list[Skipped] = []
    with os.scandir(folder) as listed:
        entries = sorted(listed, key=lambda e: e.name)
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            skipped += _walk(entry.path, f"{prefix}{name}/", found)
        elif entry.is_file():
            kind = _suffix(name)
            if kind in SUFFIXES:
                found(entry, prefix + name)
            else:
                skipped.append(Skipped(prefix + name, f"unsupported file type {kind or '(none)'}"))
    return skipped


def _suffix(name: str) -> str:
    """`suffix_of` for a file name."""
    lower = name.lower()
    if lower.endswith(".jsonl.gz"):
        return ".jsonl.gz"
    dot = lower.rfind(".")
    return lower[dot:] if 0 < dot < len(lower) - 1 else ""


def _unsupported(path: Path, root: Path) -> Skipped:
    rel = path.name if root.is_file() else path.relative_to(root).as_posix()
    return Skipped(rel, f"unsupported file type {suffix_of(path) or '(none)'}")
