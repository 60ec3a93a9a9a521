"""A row is durable once record() returns, even if the process is killed -9 right after."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from newsbot.querylog import SqliteQueryLog

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from newsbot.querylog import QueryRecord, SqliteQueryLog

    store = SqliteQueryLog(Path(sys.argv[1]))
    row_id = store.record(QueryRecord("survives kill -9?", "cli", "answered", user_id=7))
    print("recorded", row_id, flush=True)
    time.sleep(60)  # killed long before: the store is never closed, nothing is checkpointed
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_row_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        assert line[0] == "recorded"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()

    with SqliteQueryLog(path) as store:
        q = store.get(None, int(line[1]))
    assert (q.record.question, q.record.user_id) == ("survives kill -9?", 7)
