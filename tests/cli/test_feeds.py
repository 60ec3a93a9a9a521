"""`newsbot feeds` against the local feed server, then `newsbot ask` answering from a feed article."""

import json
from pathlib import Path

from typer.testing import CliRunner

from newsbot.cli import app
from tests.feeds.server import FIXTURES, Item, ThreadedServer, page, rss

runner = CliRunner()
ENV = {"NEWSBOT_FEEDS_ALLOW_PRIVATE": "1"}


def test_add_list_poll_ask_status_remove(corpus_dir: Path, tmp_path: Path) -> None:
    opts = ["--corpus", str(corpus_dir), "--data-dir", str(tmp_path / "d")]

    def invoke(*args: str) -> str:
        result = runner.invoke(app, [*args, *opts], env=ENV)
        assert result.exit_code == 0, result.output
        return result.output

    with ThreadedServer() as server:
        fixture = FIXTURES[2]
        server.serve("/news/wall", page(fixture.title, fixture.text))
        link = server.url("/news/wall?utm_source=rss")
        server.serve(
            "/feed", rss([Item(fixture.title, fixture.text, link=link, guid="w1")], title="Harwick Post")
        )
        assert "Following “Harwick Post” (#1, 1 items now)" in invoke("feeds", "add", server.url("/feed"))
        assert "harwick" in invoke("feeds", "list").lower()
        polled = invoke("feeds", "poll", "--once")
        assert "1 new" in polled and "Reindexed" in polled
        answer = json.loads(
            runner.invoke(app, ["ask", "Harwick sea wall objections", "--json", *opts]).stdout
        )
        citation = answer["hits"][0]["citation"]
        assert citation["title"] == fixture.title and citation["source"] == "Harwick Post"
        assert citation["url"] == server.url("/news/wall")  # tracking parameters dropped
        assert "No feed is due" in invoke("feeds", "poll", "--once")
        again = invoke("feeds", "poll", "--all")  # the same feed body: not modified, no reindex
        assert "not modified (same body)" in again and "Reindexed" not in again
        status = invoke("feeds", "status")
        assert "articles: 1" in status and "errors in a row: 0" in status
        assert "Stopped following" in invoke("feeds", "remove", "Harwick Post")
        assert "No feeds yet" in invoke("feeds", "list")


def test_add_refuses_private_addresses_unless_allowed(tmp_path: Path) -> None:
    opts = ["--data-dir", str(tmp_path / "d")]
    with ThreadedServer() as server:
        server.serve("/feed", rss([]))
        result = runner.invoke(
            app, ["feeds", "add", server.url("/feed"), *opts], env={"NEWSBOT_FEEDS_ALLOW_PRIVATE": "0"}
        )
        assert result.exit_code != 0 and server.hits("/feed") == []
    bad = runner.invoke(app, ["feeds", "add", "http://example.org/rss", "--every", "1m", *opts])
    assert bad.exit_code != 0
