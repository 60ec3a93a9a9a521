"""Reading only the corpus files a caller names (a feed poller's, `newsbot index FILE...`).

The rest of the corpus is neither listed nor read: every other file is taken to be as the previous
index has it, so the cost is in proportion to the named files. The same rules as a scan's
`corpus.dedupe.dedupe` hold against the whole index: an article repeating the text of one indexed
elsewhere is skipped, and one whose id another file's article has gets a suffix.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Mapping
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from newsbot.corpus.dedupe import dedupe
from newsbot.corpus.listing import Listing
from newsbot.corpus.read import FileRead, read_file
from newsbot.index.catalog import FileState
from newsbot.index.filestates import Files, changed
from newsbot.index.keys import Keys
from newsbot.index.readers import read_many
from newsbot.records import Article, Skipped


@dataclass(frozen=True)
class Named:
    """What reading the named files decided."""

    fresh: list[Article]  # new or changed: to analyse
    kept: npt.NDArray[np.int64]  # the previous index's articles kept as they are (numbers, ascending)
    files: Mapping[str, FileState]  # every corpus file's state after this build
    skipped: list[Skipped]
    added: int  # of `fresh`, the new ones
    clashes: int = 0  # articles of the named files dropped or renamed as duplicates


def read_named(
    root: Path,
    before: Mapping[str, FileState],
    keys: Keys,
    paths: list[Path],
    excluded: set[str],
    tell: Callable[[str, int, int], None],
) -> Named:
    """The articles of `paths` (files new, rewritten or gone) against the previous index's `keys`
    and files' states `before`. Nothing here goes through every indexed article in Python (a
    million of them would take seconds a round): `keys.lookup` finds what the files touch."""
    lookup = keys.lookup
    folder = root.as_posix().rstrip("/") + "/"
    named = {p: p.as_posix()[len(folder) :] if p.as_posix().startswith(folder) else p.name for p in paths}
    rels = dict(sorted(named.items(), key=lambda item: item[1].split("/")))  # as `scan` lists them
    dropped = {n for rel in rels.values() for n in lookup.in_file(rel)}  # re-read: kept only if same
    changes: dict[str, FileState | None] = {}
    found: list[Article] = []
    skipped: list[Skipped] = []
    stats = {rel: _stat(path) for path, rel in rels.items()}  # None: gone
    size = sum(stat.st_size for stat in stats.values() if stat)
    with closing(_reads(root, {rel: path for path, rel in rels.items() if stats[rel]}, size)) as reads:
        for n, (rel, stat) in enumerate(stats.items()):
            tell("reading", n, len(rels))
            if stat is None:
                changes[rel] = None  # gone: its articles are removed
                continue
            read = next(reads)
            changes[rel] = FileState(
                stat.st_size, stat.st_mtime_ns, tuple(a.id for a in read.articles), read.skipped
            )
            found.extend(a for a in read.articles if a.id not in excluded)
            skipped.extend(read.skipped)
    kept, dupes = dedupe(found)
    skipped.extend(dupes)
    clashes = len(dupes)

    # A named file's articles as indexed, by content: one read again unchanged keeps its number
    # (and its id, renamed `x~2` if a clash renamed it). Found first, so that what they keep is
    # taken for the rest.
    same = {(keys.paths[n], keys.hashes[n]): n for n in dropped}
    back: list[int] = []
    rest: list[Article] = []
    for article in kept:
        number = same.pop((article.path, article.content_hash), None)
        if number is not None and _same_id(keys.ids[number], article.id):
            back.append(number)
        else:
            rest.append(article)
    # The indexed articles that go: the named files' (unless back) and those removed since
    # (`exclude`), even when their files are not named. Their ids and texts are free.
    gone = dropped.union(lookup.ids[i] for i in excluded if i in lookup.ids).difference(back)

    def owner(text: str) -> str | None:  # the article kept with this text, if any
        number = lookup.texts.get(text)
        return keys.ids[number] if number is not None and number not in gone else new_texts.get(text)

    def taken(id_: str) -> bool:
        number = lookup.ids.get(id_)
        return (number is not None and number not in gone) or id_ in new_ids

    new_texts: dict[str, str] = {}
    new_ids: set[str] = set()
    fresh: list[Article] = []
    added = 0
    for article in rest:
        number = lookup.ids.get(article.id)
        copy = owner(article.text_hash)
        if copy is not None:
            clashes += 1
            skipped.append(Skipped(f"{article.path} [{article.id}]", f"duplicate text of article {copy}"))
            continue
        if taken(article.id):
            clashes += 1
            n = 2
            while taken(f"{article.id}~{n}"):
                n += 1
            skipped.append(
                Skipped(
                    f"{article.path} [{article.id}]",
                    f"duplicate id {article.id}: renamed {article.id}~{n}",
                    True,
                )
            )
            article = replace(article, id=f"{article.id}~{n}")
        new_ids.add(article.id)
        new_texts[article.text_hash] = article.id
        fresh.append(article)
        added += number not in dropped
    reused = np.arange(len(keys.ids), dtype=np.int64)
    if gone:
        reused = np.delete(reused, sorted(gone))
    return Named(fresh, reused, changed(before, changes), skipped, added, clashes)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def _reads(root: Path, paths: dict[str, Path], size: int) -> Generator[FileRead, None, None]:
    """The files `paths` (by their paths in the corpus) read, in order: as a scan reads them
    (`read_many`: in reader processes when there is a lot, a scan's 1% of a 10M-passage corpus
    is 12k files) when they are all in the corpus folder."""
    if all(p == root / rel for rel, p in paths.items()):
        yield from read_many(root, list(paths), size)
    else:
        yield from (read_file(path, root, rel) for rel, path in paths.items())


def _same_id(indexed: str, read: str) -> bool:
    """Whether an article read as `read` is the one indexed as `indexed`: the same id, or the id a
    clash with another file's article renamed it to (`x~2`)."""
    return indexed == read or (indexed.startswith(f"{read}~") and indexed[len(read) + 1 :].isdigit())


def read_changed(
    root: Path,
    before: Mapping[str, FileState],
    keys: Keys,
    numbers: Mapping[str, int],
    listed: tuple[Listing, list[Skipped]],
    excluded: set[str],
    tell: Callable[[str, int, int], None],
) -> Named | None:
    """A scan's changes read as named files: the listed files unlike their saved states
    (`Files.unchanged`), and those gone. Its bookkeeping then costs in proportion to them, not
    to the corpus (the benchmark's 1% reindex: ~0.1 s less). `numbers`: each indexed id's
    number (`Keys.numbers`; the whole `keys.lookup`, ~140 bytes an article, is made only once
    this way is chosen). None where a scan of the whole corpus could decide otherwise (`build`
    then does that):
    - an unchanged file holds an article the index lacks or has renamed (a duplicate), unless
      removed (`excluded`): a change elsewhere may make it the one kept;
    - files are both new and gone: a moved article keeps its number in a scan;
    - the named files' articles clash with others (dropped or renamed as duplicates)."""
    files, notes = listed
    states = before if isinstance(before, Files) else Files(None, before)
    known, same, own = states.unchanged(files, numbers, keys.paths)
    for n in np.flatnonzero(same & ~own).tolist():
        rel = files.paths[n]
        if any(
            numbers.get(i) is None or keys.paths[numbers[i]] != rel
            for i in states[rel].article_ids
            if i not in excluded
        ):
            return None
    changes = np.flatnonzero(~(same & own)).tolist()
    gone: list[str] = []
    if int(known.sum()) < len(states):  # (the listing names each file once)
        listed_paths = set(files.paths)
        gone = [p for p in states if p not in listed_paths]
    if gone and not known[changes].all():
        return None
    named = read_named(
        root,
        before,
        keys,
        [root / files.paths[n] for n in changes] + [root / p for p in gone],
        excluded,
        tell,
    )
    if named.clashes:
        return None
    # The notes in a scan's order: unsupported files, then each file's in corpus order (the
    # saved ones of unchanged files, those of the files read now).
    noted = states.noted()
    redone = set(changes)
    skipped = list(notes)
    for n in sorted(
        redone.union(n for n, rel in enumerate(files.paths) if rel in noted) if noted else redone
    ):
        rel = files.paths[n]
        if n in redone:
            state = named.files.get(rel)
            skipped.extend(state.skipped if state is not None else ())
        else:
            skipped.extend(states.notes(rel))
    return replace(named, skipped=skipped)
