"""Corpus edits from the bot or the CLI: add an uploaded article file, remove an article.

Removals of articles that share a file with others are recorded as excluded ids in the data folder
(`removed.json`), so the corpus files themselves stay as their owner wrote them.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from newsbot.corpus.read import SUFFIXES, read_file, suffix_of
from newsbot.errors import BadUpload
from newsbot.records import Article
from newsbot.settings import Settings


def add_file(settings: Settings, filename: str, data: bytes) -> tuple[Article, ...]:
    """Validate an uploaded article file and save it into the corpus (not yet indexed)."""
    limit = settings.max_upload_bytes
    if len(data) > limit:
        raise BadUpload(f"That file is {len(data):,} bytes; the limit is {limit:,}.")
    name = _safe_name(filename)
    if suffix_of(Path(name)) not in SUFFIXES:
        raise BadUpload(f"Unsupported file type; send one of {', '.join(SUFFIXES)}.")
    corpus = settings.corpus_dir
    if corpus.is_file():
        raise BadUpload("The corpus is a single file, so files cannot be added to it.")
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / name
        probe.write_bytes(data)
        read = read_file(probe, Path(tmp))
    if not read.articles:
        why = "; ".join(s.reason for s in read.skipped[:3]) or "no articles found"
        raise BadUpload(f"No article could be read from {name}: {why}.")
    target = corpus / "uploads" / name
    n = 2
    while target.exists():
        target = target.with_name(f"{Path(name).stem.split('.')[0]}-{n}{suffix_of(Path(name))}")
        n += 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    articles = read_file(target, corpus).articles  # ids depend on the path in the corpus
    _set_removed(settings.data_dir, removed_ids(settings.data_dir) - {a.id for a in articles})
    return articles


def remove_article(settings: Settings, article: Article, in_file: tuple[str, ...]) -> Article:
    """Remove an article: delete its file when it holds only it (`in_file`: the ids indexed from
    that file), else exclude its id."""
    root = settings.corpus_dir
    path = root / article.path if article.path and root.is_dir() else None
    if path and path.is_file() and in_file == (article.id,):
        path.unlink()
    else:
        _set_removed(settings.data_dir, removed_ids(settings.data_dir) | {article.id})
    return article


def removed_ids(data_dir: Path) -> set[str]:
    """The ids a reindex leaves out."""
    path = data_dir / "removed.json"
    return set(json.loads(path.read_text())) if path.is_file() else set()


def _set_removed(data_dir: Path, ids: set[str]) -> None:
    path = data_dir / "removed.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(sorted(ids)))
    tmp.replace(path)


def _safe_name(filename: str) -> str:
    """A plain file name: no folders, no hidden files, only safe characters."""
    base = Path(filename.replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip("._") or "article.txt"
    return base[-120:]
