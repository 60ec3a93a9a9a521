"""Reading a build's corpus files: in worker processes when there are many of them (reading is
mostly JSON parsing, cleaning and hashing, one core's work for seconds in a large corpus)."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

from newsbot.corpus.read import FileRead, read_file
from newsbot.index.background import cores
from newsbot.index.processes import ordered_map, start_context
from newsbot.index.workers import _PARALLEL_MIN_CHARS

_READ_FILES = 256  # corpus files per task of `files_read`
_reading_root: tuple[Path, bool] | None = None  # the corpus, and whether it is one file


def _init_reader(root: Path) -> None:
    global _reading_root
    _reading_root = root, root.is_file()


def _read_in_worker(rels: list[str]) -> list[FileRead]:
    assert _reading_root is not None
    return [read_one(*_reading_root, rel) for rel in rels]


def read_one(root: Path, one_file: bool, rel: str) -> FileRead:
    """`read_file` of the corpus file `rel` under `root` (or of `root`, when it is `one_file`)."""
    return read_file(root, root) if one_file else read_file(root / rel, root, rel)


def read_many(root: Path, rels: list[str], size: int) -> Generator[FileRead, None, None]:
    """`read_one` of each of `rels`, in order: in reader processes (`files_read`) when there is a
    lot to read (`size`: the files' bytes; a cold build, a big reindex), else here."""
    if size < _PARALLEL_MIN_CHARS or len(rels) < 2:
        one_file = root.is_file()
        yield from (read_one(root, one_file, rel) for rel in rels)
    else:
        yield from files_read(root, rels)


def files_read(root: Path, rels: list[str], workers: int | None = None) -> Generator[FileRead, None, None]:
    """`read_file` of each corpus file `rels` (paths under `root`), in order, in worker processes:
    reading is mostly JSON parsing, cleaning and hashing, one core's work for seconds when the
    corpus is large (call it for that only: starting the processes costs more than a few files)."""
    workers = min(cores(), 8) if workers is None else workers
    tasks = [rels[i : i + _READ_FILES] for i in range(0, len(rels), _READ_FILES)]
    if workers <= 1 or len(tasks) <= 1:
        one_file = root.is_file()
        yield from (read_one(root, one_file, rel) for rel in rels)
        return
    context = start_context()
    results = ordered_map(
        context, min(workers, len(tasks)), _init_reader, (root,), _read_in_worker, iter(tasks)
    )
    try:
        first = next(results)  # the readers have started
        if context.get_start_method() == "fork":
            _import_stemmer()
        yield from first
        for reads in results:
            yield from reads
    finally:
        results.close()  # stopped early: the readers too


def _import_stemmer() -> None:
    """Import nltk's stemmer (a quarter of a second: `snowball_english`) here while the readers
    work: the analysis workers forked after them then have it, instead of importing it each."""
    from newsbot.text.analyzer import snowball_english

    snowball_english()
