"""Reading a build's corpus files: in worker processes when there are many of them (reading is
mostly JSON parsing, cleaning and hashing, one core's work for seconds in a large corpus)."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, replace
from pathlib import Path

from newsbot.corpus.read import FileRead, read_file
from newsbot.index.background import cores
from newsbot.index.processes import ordered_map, start_context
from newsbot.index.textspill import ReaderTexts, TextSpill
from newsbot.index.workers import _PARALLEL_MIN_CHARS

_READ_FILES = 256  # corpus files per task of `files_read`
_reading_root: tuple[Path, bool] | None = None  # the corpus, and whether it is one file
_texts: ReaderTexts | None = None  # where a reader spills the texts it reads (a cold build's)


@dataclass(frozen=True)
class _Spilled:
    """A reader's files read, their articles' texts written to its file `name` at `places`."""

    reads: list[FileRead]  # the articles without their texts
    name: str
    places: list[tuple[int, int]]  # (start, bytes) of each article's entry, in order


def _init_reader(root: Path, spill: Path | None = None) -> None:
    global _reading_root, _texts
    _reading_root = root, root.is_file()
    _texts = None if spill is None else ReaderTexts(spill)


def _read_in_worker(rels: list[str]) -> list[FileRead] | _Spilled:
    assert _reading_root is not None
    reads = [read_one(*_reading_root, rel) for rel in rels]
    if _texts is None:
        return reads
    places = _texts.write([a for read in reads for a in read.articles])
    bare = [FileRead(tuple(replace(a, text="") for a in r.articles), r.skipped) for r in reads]
    return _Spilled(bare, _texts.name, places)


def read_one(root: Path, one_file: bool, rel: str) -> FileRead:
    """`read_file` of the corpus file `rel` under `root` (or of `root`, when it is `one_file`)."""
    return read_file(root, root) if one_file else read_file(root / rel, root, rel)


def read_many(
    root: Path, rels: list[str], size: int, spill: TextSpill | None = None
) -> Generator[FileRead, None, None]:
    """`read_one` of each of `rels`, in order: in reader processes (`files_read`) when there is a
    lot to read (`size`: the files' bytes; a cold build, a big reindex), else here."""
    if size < _PARALLEL_MIN_CHARS or len(rels) < 2:
        one_file = root.is_file()
        yield from (read_one(root, one_file, rel) for rel in rels)
    else:
        yield from files_read(root, rels, spill=spill)


def files_read(
    root: Path, rels: list[str], workers: int | None = None, spill: TextSpill | None = None
) -> Generator[FileRead, None, None]:
    """`read_file` of each corpus file `rels` (paths under `root`), in order, in worker processes:
    reading is mostly JSON parsing, cleaning and hashing, one core's work for seconds when the
    corpus is large (call it for that only: starting the processes costs more than a few files).
    With `spill` (a cold build's), the readers write the articles' texts there themselves: the
    articles come without them (`TextSpill.note`), and `TextSpill.put` takes them as they are."""
    workers = min(cores(), 8) if workers is None else workers
    tasks = [rels[i : i + _READ_FILES] for i in range(0, len(rels), _READ_FILES)]
    if workers <= 1 or len(tasks) <= 1:
        one_file = root.is_file()
        yield from (read_one(root, one_file, rel) for rel in rels)
        return
    context = start_context()
    setup = (root,) if spill is None else (root, spill.folder())
    processes = min(workers, len(tasks))
    results = ordered_map(context, processes, _init_reader, setup, _read_in_worker, iter(tasks))
    try:
        for n, reads in enumerate(results):
            if n == 0 and context.get_start_method() == "fork":  # the readers have started
                _import_stemmer()
            if isinstance(reads, _Spilled):
                assert spill is not None
                file = spill.adopt(reads.name)
                spill.note([a for read in reads.reads for a in read.articles], file, reads.places)
                reads = reads.reads
            yield from reads
    finally:
        results.close()  # stopped early: the readers too


def _import_stemmer() -> None:
    """Import nltk's stemmer (a quarter of a second: `snowball_english`) here while the readers
    work: the analysis workers forked after them then have it, instead of importing it each."""
    from newsbot.text.analyzer import snowball_english

    snowball_english()
