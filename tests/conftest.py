"""Shared fixtures: a tiny corpus written for the tests, and settings pointing at tmp folders."""

from __future__ import annotations

import json
import signal
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsbot.settings import Settings

pytest_plugins = ["tests.postgres"]  # the `postgres_url` fixture: a real server on 127.0.0.1

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "000_1e09d41da4d2db93.txt"
SHARED_DATA = ROOT.parent / "shared" / "data"

# Short made-up articles (written for these tests, not taken from any publisher).
ARTICLES = [
    {
        "id": "harbour-1",
        "title": "Harbour city opens floating solar farm",
        "text": "The harbour city of Lindqvist opened a floating solar farm on Monday.\n\n"
        "Mayor Anja Berg said the panels would power 4,000 homes. Critics said the "
        "project cost twice the first estimate.",
        "date": "2024-03-04",
        "source": "Coast Herald",
        "url": "https://example.org/solar",
    },
    {
        "id": "rail-2",
        "title": "Rail strike halts northern trains",
        "text": "Train drivers walked out over pay on Tuesday, halting services across the north.\n\n"
        "The union said talks with the operator had failed. Commuters faced long delays.",
        "date": "2024-05-20",
        "source": "Daily Ledger",
        "url": "https://example.org/rail",
    },
    {
        "id": "chess-3",
        "title": "Teenager wins national chess title",
        "text": "A 15-year-old from Marlow won the national chess championship on Sunday, "
        "beating the defending champion in a tense final game.",
        "date": "2023-11-12",
        "source": "Daily Ledger",
    },
]


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A corpus folder: the user's sample article plus a .jsonl of small fixtures."""
    root = tmp_path / "corpus"
    root.mkdir()
    (root / SEED.name).write_bytes(SEED.read_bytes())
    (root / "wire.jsonl").write_text("\n".join(json.dumps(a) for a in ARTICLES) + "\n")
    return root


@pytest.fixture
def settings(tmp_path: Path, corpus_dir: Path) -> Settings:
    # Reindexes in this process, so tests can hold one midway (tests/test_elsewhere.py runs one in a
    # child process, as the bot does by default).
    return Settings(corpus_dir=corpus_dir, data_dir=tmp_path / "data", reindex_in_child=False)


def shared(name: str) -> Path:
    """A file of ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent")
    return path


def _sigint() -> tuple[object, bool]:
    """This process's SIGINT handler, and whether the main thread blocks it."""
    return signal.getsignal(signal.SIGINT), signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])


@pytest.fixture(autouse=True)
def _sigint_left_as_found(request: pytest.FixtureRequest) -> Iterator[None]:
    """Warn, naming the test, when one leaves Ctrl-C changed: a SIGINT ignored or blocked here is
    inherited by every process a later test starts (a full run once reached the Ctrl-C tests so)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = _sigint()
    yield
    if _sigint() != before:
        warnings.warn(f"{request.node.nodeid} left SIGINT changed: {before} -> {_sigint()}", stacklevel=1)


@pytest.fixture
def terminal_ctrl_c() -> Iterator[None]:
    """Ctrl-C as a terminal's foreground job has it, whatever an earlier test left: the default
    handler, not blocked (processes started meanwhile inherit both)."""
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    blocked = signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        signal.signal(signal.SIGINT, handler)
