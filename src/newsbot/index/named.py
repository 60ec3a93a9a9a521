"""Reading only the corpus files a caller names (a feed poller's, `newsbot index FILE...`).

The rest of the corpus is neither listed nor read: every other file is taken to be as the previous
index has it, so the cost is in proportion to the named files. The same rules as a scan's
`corpus.dedupe.dedupe` hold against the whole index: an article repeating the text of one indexed
elsewhere is skipped, and one whose id another file's article has gets a suffix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from newsbot.corpus.dedupe import dedupe
from newsbot.corpus.read import read_file
from newsbot.index.catalog import FileState, Keys
from newsbot.index.filestates import Files
from newsbot.records import Article, Skipped


@dataclass(frozen=True)
class Named:
    """What reading the named files decided."""

    fresh: list[Article]  # new or changed: to analyse
    kept: list[int]  # the previous index's articles kept as they are (their numbers, ascending)
    files: Mapping[str, FileState]  # every corpus file's state after this build
    skipped: list[Skipped]
    added: int  # of `fresh`, the new ones


def read_named(
    root: Path,
    before: Mapping[str, FileState],
    keys: Keys,
    old: Mapping[str, int],
    paths: list[Path],
    excluded: set[str],
    tell: Callable[[str, int, int], None],
) -> Named:
    """The articles of `paths` (files new, rewritten or gone) against the previous index's `keys`
    (`old`: article id -> its number there) and files' states `before`."""
    folder = root.as_posix().rstrip("/") + "/"
    named = {p: p.as_posix()[len(folder) :] if p.as_posix().startswith(folder) else p.name for p in paths}
    rels = dict(sorted(named.items(), key=lambda item: item[1].split("/")))  # as `scan` lists them
    wanted = set(rels.values())
    dropped = {n for n, p in enumerate(keys.paths) if p in wanted}  # re-read: kept only if same
    texts = {h: keys.ids[n] for n, h in enumerate(keys.text_hashes) if h and n not in dropped}
    changes: dict[str, FileState | None] = {}
    found: list[Article] = []
    skipped: list[Skipped] = []
    for n, (path, rel) in enumerate(rels.items()):
        tell("reading", n, len(rels))
        try:
            stat = path.stat()
        except FileNotFoundError:
            changes[rel] = None  # gone: its articles are removed
            continue
        read = read_file(path, root)
        changes[rel] = FileState(
            stat.st_size, stat.st_mtime_ns, tuple(a.id for a in read.articles), read.skipped
        )
        found.extend(a for a in read.articles if a.id not in excluded)
        skipped.extend(read.skipped)
    kept, dupes = dedupe(found)
    skipped.extend(dupes)
    taken = set(old) - {keys.ids[n] for n in dropped}
    # Articles removed since (`exclude`) go even when their files are not among `paths`.
    reused = {n for n, i in enumerate(keys.ids) if n not in dropped and i not in excluded}
    fresh: list[Article] = []
    added = 0
    for article in kept:
        number = old.get(article.id)
        if (
            number in dropped
            and keys.hashes[number] == article.content_hash
            and keys.paths[number] == article.path
        ):
            reused.add(number)  # the same article, its file rewritten
            continue
        copy = texts.get(article.text_hash)
        if copy is not None:
            skipped.append(Skipped(f"{article.path} [{article.id}]", f"duplicate text of article {copy}"))
            continue
        if article.id in taken:
            n = 2
            while f"{article.id}~{n}" in taken:
                n += 1
            skipped.append(
                Skipped(
                    f"{article.path} [{article.id}]",
                    f"duplicate id {article.id}: renamed {article.id}~{n}",
                    True,
                )
            )
            article = replace(article, id=f"{article.id}~{n}")
        taken.add(article.id)
        texts[article.text_hash] = article.id
        fresh.append(article)
        added += number not in dropped
    if isinstance(before, Files):
        files: Mapping[str, FileState] = before.overlay(changes)
    else:
        files = {p: s for p, s in {**before, **changes}.items() if s is not None}
    return Named(fresh, sorted(reused), files, skipped, added)
