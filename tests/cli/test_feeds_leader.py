"""`newsbot feeds poll` polls only while it leads: real processes on one data folder, one feed server."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner

from newsbot.cli import app
from tests.feeds.server import FIXTURES, FeedServer, Item, ThreadedServer, page, rss
from tests.test_leader import _other_process

runner = CliRunner()
ENV = {"NEWSBOT_FEEDS_ALLOW_PRIVATE": "1"}


class Poller:
    """`python -m newsbot feeds poll` in a process of its own, its output read line by line."""

    def __init__(self, opts: list[str], cwd: Path) -> None:
        env = {**os.environ, **ENV, "PYTHONUNBUFFERED": "1", "COLUMNS": "400"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "newsbot", "feeds", "poll", "--retry", "0.2", *opts],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=cwd,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} within {timeout} s: {self.seen}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)  # the service manager's stop
        self.proc.wait(20)


@contextmanager
def poller(opts: list[str], cwd: Path) -> Iterator[Poller]:
    p = Poller(opts, cwd)
    try:
        yield p
    finally:
        if p.proc.poll() is None:
            os.kill(p.proc.pid, signal.SIGKILL)
        p.proc.wait(10)


def _feed(server: FeedServer, n: int) -> None:
    """The feed with the first `n` fixture articles, each with its page."""
    items = []
    for i, fixture in enumerate(FIXTURES[:n]):
        server.serve(f"/a/{i}", page(fixture.title, fixture.text))
        items.append(Item(fixture.title, fixture.text, link=server.url(f"/a/{i}"), guid=f"g{i}"))
    server.serve("/feed", rss(items, title="Harwick Post"))


def test_poll_waits_for_the_leader_names_it_and_takes_over(corpus_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "d"
    opts = ["--corpus", str(corpus_dir), "--data-dir", str(data)]

    def invoke(*args: str) -> str:
        result = runner.invoke(app, [*args, *opts], env=ENV)
        assert result.exit_code == 0, result.output
        return result.output

    with ThreadedServer() as server:
        _feed(server, 1)
        invoke("feeds", "add", server.url("/feed"))
        assert len(server.hits("/feed")) == 1  # the check when added
        with _other_process(data) as (leader, said):  # as a running `newsbot run` would
            assert said == "leads"
            once = invoke("feeds", "poll", "--once")  # a cron job beside the bot: status 0
            assert f"Not polled: pid {leader.pid} on " in once and "polls the feeds" in once
            assert len(server.hits("/feed")) == 1 and not (corpus_dir / "feeds").exists()
            with poller(opts, tmp_path) as first:
                first.wait_for(f"Waiting: pid {leader.pid} on ")
                time.sleep(1.0)  # tries every 0.2 s, and never polls meanwhile
                assert len(server.hits("/feed")) == 1
                os.kill(leader.pid, signal.SIGKILL)  # the leader dies: the poller takes over
                first.wait_for("This process leads")
                first.wait_for("1 new")
                first.wait_for("Reindexed 1 new or changed files")
                answer = json.loads(
                    runner.invoke(app, ["ask", "Lindqvist tram line", "--json", *opts]).stdout
                )
                assert answer["hits"][0]["citation"]["title"] == FIXTURES[0].title
                assert answer["hits"][0]["citation"]["source"] == "Harwick Post"

                with poller(opts, tmp_path) as second:  # a second poller follows the first
                    second.wait_for(f"Waiting: pid {first.proc.pid} on ")
                    assert f"pid {first.proc.pid} on " in invoke("feeds", "poll", "--all")
                    assert len(server.hits("/feed")) == 2  # polled once, by the leader only
                    _feed(server, 2)  # a new item, then the first poller stops
                    first.stop()
                    assert first.proc.returncode == 0
                    second.wait_for("This process leads")
                    time.sleep(0.5)  # the feed is not due for 30 min: the new leader waits
                    assert len(server.hits("/feed")) == 2
                    second.stop()
        polled = invoke("feeds", "poll", "--all")  # no one leads now: this process polls
        assert "1 new" in polled and len(server.hits("/feed")) == 3
