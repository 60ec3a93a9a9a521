"""What a save writes into an index version's folder (see `newsbot.index.store`, which reads it
back): the format, the index-wide arrays, every segment's and table's files, written side by side
in threads, and `meta.json`, which lists them all with their sizes and checksums."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from newsbot.index.catalog import Articles
from newsbot.index.disk import flushed_together, write_file
from newsbot.index.filestates import Files
from newsbot.index.tables import Table, Terms, checksum

if TYPE_CHECKING:
    from newsbot.index.store import Index

# 10: texts and term ids compressed with zstd (format 9's zlib blocks are still read, see
# `newsbot.index.packed`: an upgrade extends a format-9 index, linking its segments as they are;
# code older than 10 finds a format it does not know and builds again rather than misread zstd);
# 9: article lines kept by row (`article_rows.npy`: a change appends lines, links the rest);
# 8: compact postings, term ids deflated, no norms saved; 7: the corpus files' states as columns;
# 6: article keys, corpus files as a base and changes; 5: file checksums; 4: sizes, analysis
# fingerprint; 3: segments and dead passages; 2: one postings table of ids, counts and 16-bit
# weights. Another format is built again.
FORMAT = 10
# The oldest format opened and extended: its files are read as they are. Recorded as the analysis
# fingerprint's format (what decides the terms and passages), so that reaching 10 re-analyses
# nothing; raise it to FORMAT with a change older code's files cannot follow.
OLDEST = 9
ARRAYS = (
    "df",
    "idf",
    "dead",
    "article_start",
    "article_end",
    "passage_article",
    "passage_position",
    "passage_day",
    "passage_source",
    "passage_length",
)

PER_PASSAGE = tuple(name for name in ARRAYS if name.startswith("passage_"))


def write_version(index: Index, folder: Path) -> dict[str, Any]:
    """Write every file of `index` into `folder`, flushed; return its meta.json (also written)."""
    with flushed_together(folder):
        return _write_files(index, folder)


def _write_files(index: Index, folder: Path) -> dict[str, Any]:
    # The big files are written side by side: writes wait on the disk (and zstd, on a core).
    with ThreadPoolExecutor(4) as pool:
        jobs = {s.name: [pool.submit(job) for job in s.save(folder)] for s in index.segments}
        arrays = [
            pool.submit(_write_array, folder / f"{name}.npy", np.asarray(getattr(index, name)))
            for name in ARRAYS
        ]
        Articles.save(index.articles, folder)
        Table.of(index.stems, f"S{Table.WIDTH}").save(folder, "stems")
        Table.of(index.vocab, "int32").save(folder, "vocab")
        Terms.of(index.terms).save(folder)
        Files.save(index.files, folder)
        sums = {name: dict(job.result() for job in done) for name, done in jobs.items()}
        array_sums = dict(job.result() for job in arrays)
    meta = {
        "format": FORMAT,
        "version": index.version,
        "built_at": index.built_at,
        "corpus": index.corpus,
        "params": asdict(index.params),
        "analysis": dict(index.analysis),
        "sources": list(index.sources),
        "avgdl": index.avgdl,
        "passages": index.n_passages,
        "terms": len(index.terms),
        "articles": len(index.articles),
        "segments": [s.meta(sums[s.name]) for s in index.segments],
        "files": {n: list(s) for n, s in array_sums.items()},
    }
    write_file(folder / "meta.json", lambda fh: fh.write(json.dumps(meta).encode()))
    return meta


def bytes_to_write(index: Index) -> int:
    """About what a save writes (shared segments are linked, not written), with a margin."""
    arrays = sum(np.asarray(getattr(index, name)).nbytes for name in ARRAYS)
    fresh = sum(
        int(s.text_offsets[-1]) + int(s.forward.indptr[-1]) * 8 for s in index.segments if s.folder is None
    )
    return int((arrays + fresh) * 1.2) + (1 << 20)


def _write_array(path: Path, array: npt.NDArray[Any]) -> tuple[str, tuple[int, int]]:
    write_file(path, lambda fh: np.save(fh, array))
    return path.name, checksum(path)
