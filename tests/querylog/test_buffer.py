"""BufferedQueryLog over a real SQLite log whose disk fills up (SQLite's page cap) and frees again:
rows wait in memory, are written once it works, and past the capacity the oldest are dropped and
counted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsbot.querylog import QueryLog, QueryRecord, SqliteQueryLog
from newsbot.querylog.buffer import BufferedQueryLog, Deferred

GUILD_A, GUILD_B = 111, 222


class FillingDisk:
    """A real SQLite log on a "disk" that can be made full (SQLITE_FULL) or read-only, and
    freed again."""

    def __init__(self, path: Path) -> None:
        self.store = SqliteQueryLog(path)

    def fill(self) -> None:
        """Cap the file at its size: a row that needs a new page fails with SQLITE_FULL."""
        assert self.store.database.connection is not None
        pages = self.store.database.connection.execute("PRAGMA page_count").fetchone()[0]
        self.store.database.connection.execute(f"PRAGMA max_page_count = {pages}")

    def remount_read_only(self) -> None:
        """Every write fails, as on a file system Linux remounted read-only after an error."""
        assert self.store.database.connection is not None
        self.store.database.connection.execute("PRAGMA query_only = ON")

    def free(self) -> None:
        assert self.store.database.connection is not None
        self.store.database.connection.execute("PRAGMA max_page_count = 1073741823")
        self.store.database.connection.execute("PRAGMA query_only = OFF")

    def questions(self) -> list[str]:
        return [q.record.question.split(" ")[0] for q in reversed(self.store.recent(None, limit=100))]


def rec(name: str, guild: int = GUILD_A, user: int = 7) -> QueryRecord:
    # Each row needs new pages (a full disk refuses it), and the first word names it.
    return QueryRecord(
        question=f"{name} " + "x" * 20_000,
        interface="slash",
        outcome="answered",
        guild_id=guild,
        user_id=user,
    )


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[FillingDisk]:
    disk = FillingDisk(tmp_path / "querylog.sqlite3")
    yield disk
    disk.store.close()


def test_it_is_a_query_log(disk: FillingDisk) -> None:
    assert isinstance(BufferedQueryLog(disk.store), QueryLog)


def test_rows_wait_while_the_disk_is_full_and_are_all_written_once_it_is_not(disk: FillingDisk) -> None:
    log = BufferedQueryLog(disk.store)
    log.record(rec("before"))
    disk.fill()
    for n in range(3):
        with pytest.raises(Deferred, match="not writable"):
            log.record(rec(f"during{n}"))
    assert log.outages == 1 and log.problem is not None and "full" in log.problem
    assert (log.unwritten().waiting, log.unwritten().dropped) == (3, 0)
    assert log.retry() == 0  # still full: nothing is lost, nothing written
    assert log.unwritten().waiting == 3

    disk.free()
    assert log.retry() == 3
    assert log.problem is None and log.unwritten().waiting == 0
    log.record(rec("after"))
    assert disk.questions() == ["before", "during0", "during1", "during2", "after"]  # in order


def test_past_the_capacity_the_oldest_rows_are_dropped_and_counted_per_guild(disk: FillingDisk) -> None:
    log = BufferedQueryLog(disk.store, capacity=3)
    disk.fill()
    for n, guild in enumerate([GUILD_A, GUILD_B, GUILD_A, GUILD_A, GUILD_B]):
        with pytest.raises(Deferred):
            log.record(rec(f"q{n}", guild))
    assert log.unwritten().dropped == 2 and log.unwritten().waiting == 3
    a, b = log.unwritten(GUILD_A), log.unwritten(GUILD_B)
    assert (a.dropped, a.waiting, b.dropped, b.waiting) == (1, 2, 1, 1)  # q0 (A) and q1 (B) went

    disk.free()
    assert log.retry() == 3
    assert disk.questions() == ["q2", "q3", "q4"]
    assert log.unwritten(GUILD_A).dropped == 1  # drops stay counted after the recovery


def test_a_second_outage_counts_again(disk: FillingDisk) -> None:
    log = BufferedQueryLog(disk.store)
    for _ in range(2):
        disk.fill()
        with pytest.raises(Deferred):
            log.record(rec("lost-for-now"))
        disk.free()
        log.retry()
    assert log.outages == 2 and disk.questions() == ["lost-for-now", "lost-for-now"]


def test_forgetting_a_user_forgets_their_waiting_rows_too(disk: FillingDisk) -> None:
    log = BufferedQueryLog(disk.store)
    disk.fill()
    for name, user in (("mine", 1), ("theirs", 2)):
        with pytest.raises(Deferred):
            log.record(rec(name, user=user))
    log.forget_user(GUILD_A, 1)
    disk.free()
    log.retry()
    assert disk.questions() == ["theirs"]
