"""Corpus edits from the bot or the CLI: add an uploaded article file, remove an article.

Every edit is owned by a `Scope` (the operator, or one server) and may touch only that owner's
content. Removals are recorded as excluded ids in the data folder (`removed.json`), which every
reindex honours; a file is deleted only when the bot itself created it (listed in
`uploaded.json`) and it holds nothing but the removed article, so the operator's own files are
never touched. Edits are serialised (a lock in this process, a lock file across processes) and
write through unique temporary files.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
import threading
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from newsbot.corpus.read import SUFFIXES, read_file, suffix_of
from newsbot.corpus.scope import Scope
from newsbot.errors import BadUpload
from newsbot.records import Article
from newsbot.settings import Settings

MAX_NAME = 100  # characters of an uploaded file's name kept, its suffix included
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Removal:
    """What a removal did: `deleted` the file the bot had created, else excluded the id."""

    article: Article
    deleted: str | None  # the path (in the corpus) of the deleted upload


@contextmanager
def editing(data_dir: Path) -> Iterator[None]:
    """One corpus edit at a time, in this process and across processes (bot and CLI)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with _LOCK, (data_dir / "edits.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def add_file(
    settings: Settings,
    filename: str,
    data: bytes,
    scope: Scope = Scope(),
    taken: Collection[str] = (),
    texts: Mapping[str, Article] | None = None,
) -> tuple[Article, ...]:
    """Validate an uploaded article file and save it into `scope`'s uploads (not yet indexed).

    `taken`: the ids already indexed. An upload may not claim one of them, nor a removed id.
    `texts`: text hash -> indexed article: a copy of one is refused, since the index keeps one
    article per text and the copy could displace the original (in another server too, whose
    article is then not named).
    """
    limit = settings.max_upload_bytes
    if len(data) > limit:
        raise BadUpload(f"That file is {len(data):,} bytes; the limit is {limit:,}.")
    name = safe_name(filename)
    if suffix_of(Path(name)) not in SUFFIXES:
        raise BadUpload(f"Unsupported file type; send one of {', '.join(SUFFIXES)}.")
    corpus = settings.corpus_dir
    if corpus.is_file():
        raise BadUpload("The corpus is a single file, so files cannot be added to it.")
    folder = scope.folder(corpus) / "uploads"
    with editing(settings.data_dir):
        blocked = set(taken) | removed_ids(settings.data_dir)
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp) / name
            probe.write_bytes(data)
            read = read_file(probe, Path(tmp))
        if not read.articles:
            why = "; ".join(s.reason for s in read.skipped[:3]) or "no articles found"
            raise BadUpload(f"No article could be read from {name}: {why}.")
        copies = [(a, texts[a.text_hash]) for a in read.articles if texts and a.text_hash in texts]
        if copies:
            article, original = copies[0]
            named = f", as article “{original.id[:80]}”" if scope.sees(original.path) else ""
            raise BadUpload(
                f"The text of “{article.title[:80]}” is already in the corpus{named}: nothing was added."
            )
        target, articles = _free_target(folder, name, data, corpus, blocked)
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, data)
        uploaded = _listed(settings.data_dir, "uploaded.json")
        _set_list(settings.data_dir, "uploaded.json", uploaded | {_rel(target, corpus)})
    return articles


def _free_target(
    folder: Path, name: str, data: bytes, corpus: Path, blocked: set[str]
) -> tuple[Path, tuple[Article, ...]]:
    """A file name in `folder` not yet used whose articles claim no blocked id, and those articles
    (read as they will be indexed: the ids of .txt and .md files come from their path)."""
    suffix = suffix_of(Path(name))
    stem = name[: -len(suffix)]
    for n in range(1, 1000):
        target = folder / (name if n == 1 else f"{stem}-{n}{suffix}")
        if target.exists():
            continue
        rel = _rel(target, corpus)
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / rel
            copy.parent.mkdir(parents=True)
            copy.write_bytes(data)
            articles = read_file(copy, Path(tmp)).articles
        clash = sorted({a.id for a in articles} & blocked)
        if not clash:
            return target, articles
        if any(c != rel[: -len(suffix)] for c in clash):  # the file names these ids itself
            shown = ", ".join(f"“{c[:80]}”" for c in clash[:3])
            raise BadUpload(
                f"The id {shown} is already used in the corpus (or was removed): give the article "
                "another id, or leave the id out."
            )
    raise BadUpload("Too many uploads with this name; rename the file.")


def remove_article(settings: Settings, article: Article) -> Removal:
    """Remove an article for good: delete its file when the bot created it and it holds this
    article only (as the file reads now), else record its id as excluded."""
    root = settings.corpus_dir
    with editing(settings.data_dir):
        rel = article.path or ""
        path = root / rel if rel and root.is_dir() else None
        uploaded = _listed(settings.data_dir, "uploaded.json")
        if path is not None and rel in uploaded and path.is_file():
            ids = [a.id for a in read_file(path, root).articles]
            if ids == [article.id]:
                path.unlink()
                _set_list(settings.data_dir, "uploaded.json", uploaded - {rel})
                return Removal(article, rel)
        _set_list(settings.data_dir, "removed.json", removed_ids(settings.data_dir) | {article.id})
        return Removal(article, None)


def removed_ids(data_dir: Path) -> set[str]:
    """The ids a reindex leaves out."""
    return _listed(data_dir, "removed.json")


def _listed(data_dir: Path, name: str) -> set[str]:
    path = data_dir / name
    return set(json.loads(path.read_text())) if path.is_file() else set()


def _set_list(data_dir: Path, name: str, items: set[str]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(data_dir / name, json.dumps(sorted(items)).encode())


def _write_atomic(path: Path, data: bytes) -> None:
    """Write through a unique temporary file beside `path`, then rename over it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def safe_name(filename: str) -> str:
    """A plain, visible file name: no folders, only safe characters, at most MAX_NAME long with
    its suffix kept (a long name is shortened in its middle, never to a hidden `.xxx`)."""
    base = Path(filename.replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip("._-")
    suffix = suffix_of(Path(base))
    stem = base[: len(base) - len(suffix)].rstrip(".") if suffix else base
    stem = stem[: MAX_NAME - len(suffix)].rstrip("._-") or "article"
    return stem + suffix
