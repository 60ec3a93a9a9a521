"""Several processes on one data folder, for real: a bot-like reader follows CLI rebuilds, two
writers at once both land, and writers killed with SIGKILL never break readers or the next writer."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from newsbot.engine import Engine
from newsbot.index import versions
from newsbot.settings import Settings

# A reader like the bot: follows new versions, answers each "ask" line with the version it used
# and the titles it found.
READER = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from newsbot.engine import Engine
    from newsbot.settings import Settings

    engine = Engine.open(Settings(corpus_dir=Path(sys.argv[1]), data_dir=Path(sys.argv[2])))
    engine.follow(every=0.2)
    print(json.dumps({"version": engine.version}), flush=True)
    for line in sys.stdin:
        try:
            found = engine.ask(line.strip(), k=5)
            out = {"version": engine.version, "titles": [h.citation.title for h in found.hits]}
        except Exception as e:  # the test asserts there are none
            out = {"version": engine.version, "error": repr(e)}
        print(json.dumps(out), flush=True)
""")


def _title(n: int) -> str:
    return f"Quokka census {_word(n)}"


def _word(n: int) -> str:
    """A word of its own per article (numbers alone are not searchable words)."""
    return "qk" + "".join("abcdefghij"[int(d)] for d in str(n))


def _article(corpus: Path, n: int) -> None:
    (corpus / f"zz-{n}.txt").write_text(
        f"{_title(n)}\n\nRangers counted quokkas on the island for census {_word(n)}.\n"
    )


def _index(corpus: Path, data: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "newsbot", "index", "--corpus", str(corpus), "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextmanager
def _reader(corpus: Path, data: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", READER, str(corpus), str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and json.loads(proc.stdout.readline())["version"] != "none"
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _ask(reader: subprocess.Popen[str], question: str) -> dict[str, object]:
    assert reader.stdin is not None and reader.stdout is not None
    reader.stdin.write(question + "\n")
    reader.stdin.flush()
    reply: dict[str, object] = json.loads(reader.stdout.readline())
    assert "error" not in reply, reply
    return reply


def _on_version(reader: subprocess.Popen[str], live: str | None, question: str) -> dict[str, object]:
    """The reader's answer once it answers from `live`, which it must within 2 s."""
    deadline = time.monotonic() + 2.0
    while (reply := _ask(reader, question))["version"] != live:
        assert time.monotonic() < deadline, f"still on {reply['version']}, {live} is live"
        time.sleep(0.05)
    return reply


def test_a_reader_follows_five_cli_rebuilds_within_two_seconds(settings: Settings) -> None:
    corpus, data = settings.corpus_dir, settings.data_dir
    Engine.open(settings).close()
    with _reader(corpus, data) as reader:
        for n in range(5):
            _article(corpus, n)
            writer = _index(corpus, data)
            while writer.poll() is None:  # questions keep being answered during the rebuild
                _ask(reader, "who was sanctioned?")
            assert writer.returncode == 0, writer.stderr.read() if writer.stderr else ""
            reply = _on_version(reader, versions.current(settings.index_dir), f"quokka census {_word(n)}")
            assert _title(n) in reply["titles"]  # type: ignore[operator]


def test_two_writers_at_once_both_land(settings: Settings) -> None:
    corpus, data = settings.corpus_dir, settings.data_dir
    Engine.open(settings).close()
    for round_ in range(3):
        _article(corpus, 100 + round_)
        first = _index(corpus, data)
        time.sleep(random.uniform(0, 0.5))
        _article(corpus, 200 + round_)  # may come after the first writer listed the corpus
        second = _index(corpus, data)
        for writer in (first, second):
            writer.wait(120)
            assert writer.returncode == 0, writer.stderr.read() if writer.stderr else ""
        titles = {a.title for a in Engine.open(settings, build_if_missing=False).index.articles}
        assert {_title(100 + round_), _title(200 + round_)} <= titles


def test_writers_killed_at_random_moments_never_break_readers_or_the_next_writer(settings: Settings) -> None:
    corpus, data = settings.corpus_dir, settings.data_dir
    Engine.open(settings).close()
    rng = random.Random(7)
    with _reader(corpus, data) as reader:
        for n in range(20):
            _article(corpus, 300 + n)
            writer = _index(corpus, data)
            time.sleep(rng.uniform(0.0, 1.5))
            if writer.poll() is None:
                os.kill(writer.pid, signal.SIGKILL)
            writer.wait(30)
            _ask(reader, "who was sanctioned?")
        final = _index(corpus, data)
        final.wait(120)
        assert final.returncode == 0, final.stderr.read() if final.stderr else ""
        assert not [p.name for p in settings.index_dir.iterdir() if p.name.startswith((".tmp-", ".trash-"))]
        engine = Engine.open(settings, build_if_missing=False)
        titles = {a.title for a in engine.index.articles}
        assert {_title(300 + n) for n in range(20)} <= titles
        reply = _on_version(reader, engine.version, f"quokka census {_word(319)}")
        assert _title(319) in reply["titles"]  # type: ignore[operator]
