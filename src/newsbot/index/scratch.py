"""Scratch folders of cold builds (`chunks.Spill`, `coldread.ColdRead`) left behind by a build
that was killed (`kill -9`, the machine's memory killer): the next build removes them.

Each folder's name carries the id of the process that made it; a folder is removed only when no
process has that id any more. A live build (this one, or another one running beside it) keeps
its folders; a reused id keeps a dead build's folder until that process ends too (never the
other way round).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

PREFIXES = ("newsbot-chunks-", "newsbot-read-")
_NAME = re.compile(r"newsbot-(?:chunks|read)-(\d+)-.+")


def prefix(kind: str) -> str:
    """The start of a scratch folder's name for this process (`kind`: one of `PREFIXES`)."""
    assert kind in PREFIXES, kind
    return f"{kind}{os.getpid()}-"


def remove_stale(parent: Path | None = None) -> list[Path]:
    """Remove the scratch folders under `parent` (the temporary folder) whose build is gone;
    returns them."""
    folder = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        match = _NAME.fullmatch(entry.name)
        if match is None or not entry.is_dir(follow_symlinks=False):
            continue
        if _alive(int(match.group(1))):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
