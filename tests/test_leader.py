"""Exactly one process leads the background work; a killed leader is replaced."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from newsbot.leader import DELIVERIES, FileLeadership, PostgresLeadership, leadership
from newsbot.settings import Settings

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from newsbot.leader import leadership
    from newsbot.settings import Settings

    lead = leadership(Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[2] or None))
    print("leads" if lead.try_acquire() else "follows", flush=True)
    time.sleep(60)
""")


@contextmanager
def _other_process(data_dir: Path, url: str = "") -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline().strip()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


@pytest.mark.parametrize("backend", ["file", "postgres"])
def test_one_leader_and_a_killed_one_is_replaced(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else ""
    mine = leadership(Settings(data_dir=tmp_path, database_url=url or None))
    assert isinstance(mine, PostgresLeadership if url else FileLeadership)
    with _other_process(tmp_path, url) as (other, said):
        assert said == "leads"
        assert not mine.try_acquire() and not mine.held
        os.kill(other.pid, signal.SIGKILL)
        other.wait(10)
        assert mine.try_acquire() and mine.held
        assert mine.try_acquire()  # asking again keeps it
    with _other_process(tmp_path, url) as (_, said):
        assert said == "follows"
    mine.release()
    with _other_process(tmp_path, url) as (_, said):
        assert said == "leads"


def test_the_loops_of_one_process_share_its_lead(tmp_path: Path) -> None:
    """Watch deliveries and feed polling both ask; a second flock in the same process would be
    refused by the first, so they get the same leadership."""
    settings = Settings(data_dir=tmp_path)
    deliveries, polling = leadership(settings), leadership(settings)
    assert deliveries is polling
    assert deliveries.try_acquire() and polling.held
    deliveries.release()


@pytest.mark.parametrize("backend", ["file", "postgres"])
def test_loops_of_one_process_asking_at_once_all_lead(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The bot's feed and watch loops ask from worker threads, maybe at the same moment: the
    process leads, so every one of them must hear so (a second lock of its own would fail)."""
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    shared = leadership(Settings(data_dir=tmp_path, database_url=url))
    start = threading.Barrier(8)

    def ask() -> bool:
        start.wait()
        return shared.try_acquire()

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(lambda _: ask(), range(8)))
    shared.release()


@pytest.mark.parametrize("backend", ["file", "postgres"])
def test_a_follower_hears_who_leads(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """`newsbot feeds poll` tells the operator which process holds the lead (pid and machine)."""
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else ""
    mine = leadership(Settings(data_dir=tmp_path, database_url=url or None))
    with _other_process(tmp_path, url) as (other, said):
        assert said == "leads" and not mine.try_acquire()
        who = mine.holder()
        assert who is not None and who.startswith(f"pid {other.pid} on {socket.gethostname()}")
    assert mine.try_acquire()
    assert (mine.holder() or "").startswith(f"pid {os.getpid()} on ")
    mine.release()


@pytest.mark.parametrize("backend", ["file", "postgres"])
def test_a_poller_leading_the_writer_work_leaves_the_deliveries_to_a_bot(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """`newsbot feeds poll` leads the writer work only: a bot still leads the watch deliveries,
    which need Discord, and another bot does not."""
    url = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    settings = Settings(data_dir=tmp_path, database_url=url)
    with _other_process(tmp_path, url or "") as (_, said):  # holds the writer's lead
        assert said == "leads" and not leadership(settings).try_acquire()
        bot = leadership(settings, DELIVERIES)
        assert bot is not leadership(settings) and bot.try_acquire()
        other_bot = FileLeadership(tmp_path, DELIVERIES) if not url else PostgresLeadership(url, DELIVERIES)
        assert not other_bot.try_acquire()
        bot.release()
        assert other_bot.try_acquire()
        other_bot.release()
