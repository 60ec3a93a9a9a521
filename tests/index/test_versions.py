"""The shared index folder, with real processes: the writer lock, leases, pruning by history."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from newsbot.errors import IndexBusy
from newsbot.index import versions


def _version(index_dir: Path, name: str) -> Path:
    folder = index_dir / name
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text("{}")
    return folder


@contextmanager
def _process(code: str) -> Iterator[subprocess.Popen[str]]:
    """A Python process running `code`, which prints "ready" once it holds what it takes."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


def test_publish_records_history_and_current(tmp_path: Path) -> None:
    for name in ("v1", "v2", "v1", "v3"):
        versions.publish(tmp_path, name)
    assert versions.current(tmp_path) == "v3"
    assert versions.history(tmp_path) == ["v3", "v1", "v2"]


def test_garbage_in_current_is_no_version(tmp_path: Path) -> None:
    (tmp_path / "CURRENT").write_bytes(b"\x00\xff../../etc")
    assert versions.current(tmp_path) is None
    assert versions.current(tmp_path / "missing") is None


def test_a_second_writer_is_told_who_holds_the_lock_and_a_killed_one_frees_it(tmp_path: Path) -> None:
    code = f"""
        import time
        from pathlib import Path
        from newsbot.index import versions
        with versions.writer(Path({str(tmp_path)!r})):
            print("ready", flush=True)
            time.sleep(60)
    """
    with _process(code) as holder:
        with pytest.raises(IndexBusy, match=f"pid {holder.pid}"), versions.writer(tmp_path, wait=False):
            pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        began = time.monotonic()
        with versions.writer(tmp_path, wait=False):
            assert time.monotonic() - began < 1


def test_a_waiting_writer_proceeds_when_the_holder_finishes(tmp_path: Path) -> None:
    code = f"""
        import time
        from pathlib import Path
        from newsbot.index import versions
        with versions.writer(Path({str(tmp_path)!r})):
            print("ready", flush=True)
            time.sleep(0.5)
    """
    waited: list[str] = []
    with _process(code) as holder, versions.writer(tmp_path, on_wait=waited.append):
        assert holder.wait(10) == 0
    assert waited and f"pid {holder.pid}" in waited[0]


def test_prune_keeps_versions_a_live_process_has_open(tmp_path: Path) -> None:
    for name in ("v1", "v2", "v3"):
        _version(tmp_path, name)
        versions.publish(tmp_path, name)
    code = f"""
        import time
        from pathlib import Path
        from newsbot.index import versions
        lease = versions.Lease.take(Path({str(tmp_path)!r}), "v1")
        print("ready", flush=True)
        time.sleep(60)
    """
    with _process(code) as reader:
        with versions.writer(tmp_path):
            assert versions.prune(tmp_path, keep=0) == ["v2"]
        assert (tmp_path / "v1").is_dir()
        os.kill(reader.pid, signal.SIGKILL)
        reader.wait(10)
    with versions.writer(tmp_path):
        assert versions.prune(tmp_path, keep=0) == ["v1"]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "CURRENT",
        "HISTORY",
        "v3",
    ]
    assert not list((tmp_path / ".leases").iterdir())


def test_a_lease_of_this_process_counts_until_released(tmp_path: Path) -> None:
    lease = versions.Lease.take(tmp_path, "v7")
    assert versions.leased(tmp_path) == {"v7"}
    lease.release()
    assert versions.leased(tmp_path) == set()


def test_prune_goes_by_history_not_folder_times(tmp_path: Path) -> None:
    for name in ("v1", "v2", "v3"):
        _version(tmp_path, name)
        versions.publish(tmp_path, name)
    os.utime(tmp_path / "v1", (time.time() + 1000, time.time() + 1000))  # v1 looks newest
    with versions.writer(tmp_path):
        assert versions.prune(tmp_path, keep=1) == ["v1"]
    assert (tmp_path / "v2").is_dir() and (tmp_path / "v3").is_dir()


def test_the_writer_clears_what_a_dead_writer_left(tmp_path: Path) -> None:
    versions.temporary(tmp_path, "v9")
    (tmp_path / ".trash-v0-123").mkdir()
    with versions.writer(tmp_path):
        pass
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".tmp-", ".trash-"))]


def test_too_little_space_says_how_much_is_needed(tmp_path: Path) -> None:
    with pytest.raises(versions.NoSpace, match=r"needs about .* MB and .* MB is free"):
        versions.ensure_space(tmp_path, 10**18)
    versions.ensure_space(tmp_path, 1)
