"""A build killed with its scratch folders still there: the next build removes them, and only them."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from newsbot.index import scratch
from newsbot.index.build import build_index
from newsbot.text.analyzer import Analyzer
from tests.index.test_merge import _corpus


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def _folders(parent: Path) -> dict[str, Path]:
    dead, parent_pid = _dead_pid(), os.getppid()
    names = {
        "dead chunks": f"newsbot-chunks-{dead}-a1b2",
        "dead read": f"newsbot-read-{dead}-c3d4",
        "mine": f"newsbot-chunks-{os.getpid()}-e5f6",
        "alive": f"newsbot-read-{parent_pid}-g7h8",
        "unnamed": "newsbot-chunks-x9y8z7",  # an older build's: whose it was is unknown
        "other": f"somebody-{dead}-i0j1",
    }
    folders = {}
    for what, name in names.items():
        folders[what] = parent / name
        folders[what].mkdir()
        (folders[what] / "seg.npy").write_bytes(b"x" * 10)
    return folders


def test_only_the_folders_of_builds_that_are_gone_are_removed(tmp_path: Path) -> None:
    folders = _folders(tmp_path)
    stray = tmp_path / f"newsbot-chunks-{_dead_pid()}-file"
    stray.write_text("not a folder")
    removed = scratch.remove_stale(tmp_path)
    assert sorted(removed) == sorted([folders["dead chunks"], folders["dead read"]])
    left = {folders[k] for k in ("mine", "alive", "unnamed", "other")} | {stray}
    assert set(tmp_path.iterdir()) == left
    assert scratch.remove_stale(tmp_path / "missing") == []


def test_a_build_removes_what_a_killed_build_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "scratch").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))
    folders = _folders(tmp_path / "scratch")
    index, _ = build_index(_corpus(tmp_path, 12), Analyzer(), target_words=30, chunk_passages=7)
    assert index.n_live > 7  # in chunks: its scratch folders are there while it lives
    assert not folders["dead chunks"].exists() and not folders["dead read"].exists()
    assert all(folders[k].exists() for k in ("mine", "alive", "unnamed", "other"))
    mine = [
        p for p in (tmp_path / "scratch").iterdir() if p.name.startswith(f"newsbot-chunks-{os.getpid()}-")
    ]
    assert len(mine) == 2  # this build's own chunks, named after it, beside the fake one
