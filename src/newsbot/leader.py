"""Which of several processes does a duty of the background work; one leader per duty.

- `WRITER`, the writer work (feed polling, scheduled reindexes): any process may try (a bot shard,
  a second bot, `newsbot feeds poll`).
- `DELIVERIES`, posting watches' matches: only bot processes try (it needs Discord), so a
  `newsbot feeds poll` holding the writer's lead never stops the watches.
Exactly one process leads a duty at a time. Leadership is a lock the operating system or the
database drops by itself when its holder dies, so a killed leader is replaced at the next try of
another process:
- on one machine, an `flock` on `<data dir>/.leader.lock` (deliveries: `.deliveries.lock`);
- with `NEWSBOT_DATABASE_URL`, a PostgreSQL session advisory lock, for processes on several machines.
Answering questions never needs leadership; builds are serialised by the index's writer lock
(`newsbot.index.versions.writer`) whoever starts them.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from newsbot.db.postgres import NEEDS_DRIVER
from newsbot.errors import ConfigError
from newsbot.settings import Settings

log = logging.getLogger(__name__)
Duty = Literal["writer", "deliveries"]
WRITER: Duty = "writer"
DELIVERIES: Duty = "deliveries"
_LOCK_FILES: dict[Duty, str] = {WRITER: ".leader.lock", DELIVERIES: ".deliveries.lock"}
# Any constants the processes agree on: "newslead", "newsdeli".
_ADVISORY_KEYS: dict[Duty, int] = {WRITER: 0x6E657773_6C656164, DELIVERIES: 0x6E657773_64656C69}


class Leadership(Protocol):
    @property
    def held(self) -> bool: ...
    def try_acquire(self) -> bool:
        """Lead if no one else does; True while this process leads."""
        ...

    def release(self) -> None: ...

    def holder(self) -> str | None:
        """Who leads, as that process described itself (`whoami`); None when unknown."""
        ...


def whoami() -> str:
    """How this process names itself to the others while it leads: pid, machine, command, since."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("python")
    name = argv0.parent.name if argv0.name == "__main__.py" else argv0.name  # python -m newsbot
    words: list[str] = []
    for arg in sys.argv[1:]:
        if arg.startswith("-") or len(words) == 2:
            break
        words.append(arg)
    since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"pid {os.getpid()} on {socket.gethostname()} ({' '.join([name, *words])}, since {since})"


class FileLeadership:
    """Leadership among processes sharing one data folder."""

    def __init__(self, data_dir: Path, duty: Duty = WRITER) -> None:
        self.path = data_dir / _LOCK_FILES[duty]
        self._handle: IO[bytes] | None = None
        self._me = ""  # how this process named itself when it took the lead
        # The loops of one process ask from worker threads, maybe at once: a second flock of the
        # same file would fail against the first and tell that loop it does not lead.
        self._asking = threading.RLock()

    @property
    def held(self) -> bool:
        return self._handle is not None

    def try_acquire(self) -> bool:
        with self._asking:
            return self._try()

    def _try(self) -> bool:
        if self._handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._handle = handle
        self._me = whoami()
        handle.truncate(0)  # the lock file names its holder, for the processes that wait
        handle.write(self._me.encode() + b"\n")
        handle.flush()
        log.info("This process (pid %d) now leads the background work.", os.getpid())
        return True

    def release(self) -> None:
        with self._asking:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def holder(self) -> str | None:
        if self._handle is not None:
            return self._me
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return None
        return text[:200] or None


class PostgresLeadership:
    """Leadership among processes sharing one PostgreSQL database, on any machine."""

    def __init__(self, url: str, duty: Duty = WRITER) -> None:
        self.url = url
        self.key = _ADVISORY_KEYS[duty]
        self._conn: Any = None
        self._asking = threading.RLock()  # as for FileLeadership: one question at a time

    @property
    def held(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def try_acquire(self) -> bool:
        with self._asking:
            return self._try()

    def _try(self) -> bool:
        try:
            import psycopg
        except ImportError:
            raise ConfigError(NEEDS_DRIVER) from None

        if self.held:
            try:  # a dropped connection has lost the lock with it
                self._conn.execute("SELECT 1")
                return True
            except psycopg.Error:
                self.release()
        try:
            # The session's name tells the processes that wait who leads (`holder`).
            conn = psycopg.connect(
                self.url, autocommit=True, connect_timeout=10, application_name=_pg_name(whoami())
            )
        except psycopg.Error as exc:
            log.warning("Cannot reach the database to take the lead: %s", type(exc).__name__)
            return False
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        if not (row and row[0]):
            conn.close()
            return False
        self._conn = conn
        log.info("This process (pid %d) now leads the background work.", os.getpid())
        return True

    def release(self) -> None:
        with self._asking:
            if self._conn is not None:
                self._conn.close()  # ends the session, and so its advisory lock
                self._conn = None

    def holder(self) -> str | None:
        import psycopg

        # A bigint advisory key shows in pg_locks as its high and low 32 bits.
        query = (
            "SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.classid::bigint = %s AND l.objid::bigint = %s"
        )
        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                row = conn.execute(query, (self.key >> 32, self.key & 0xFFFFFFFF)).fetchone()
        except psycopg.Error as exc:
            log.warning("Cannot ask the database who leads: %s", type(exc).__name__)
            return None
        if row is None:
            return None
        return row[0] or f"a process whose database session is pid {row[1]}"


def _pg_name(text: str) -> str:
    """PostgreSQL keeps 63 bytes of a session's name: drop the start time first, then cut."""
    short = text.split(", since ")[0] + ")" if len(text.encode()) > 63 else text
    return short.encode()[:63].decode(errors="ignore")


_SHARED: dict[str, Leadership] = {}


def leadership(settings: Settings, duty: Duty = WRITER) -> Leadership:
    """The leadership of `duty` that fits the settings: the database's when one is shared, else
    the folder's.

    One per process, place and duty, shared by every loop of the process that does the duty: an
    flock belongs to one open file, so two of them in one process would refuse each other and one
    loop would never run."""
    key = f"{duty}:" + (settings.database_url or f"file:{settings.data_dir.resolve()}")
    if key not in _SHARED:
        _SHARED[key] = (
            PostgresLeadership(settings.database_url, duty)
            if settings.database_url
            else FileLeadership(settings.data_dir, duty)
        )
    return _SHARED[key]
