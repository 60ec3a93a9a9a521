"""A smoke run of benchmarks/feeds.py on a few articles, so it never rots."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import feeds, feeds_load
from tests.conftest import ARTICLES
from tests.feeds.server import FIXTURES


def test_dups_counts_misses_and_extra_folds() -> None:
    rows = [{"id": f"a{i}", "text": f.text, "date": "2024-03-01"} for i, f in enumerate(FIXTURES)]
    rows.append({"id": "copy", "text": FIXTURES[0].text.upper(), "date": "2024-03-02"})
    rows.append({"id": "near", "text": FIXTURES[1].text.rsplit(".", 2)[0] + ". By the wire.", "date": None})
    result = feeds.dups("tiny", rows, {"copy": "a0"}, feeds.WINDOW)
    assert result["marked duplicates"] == 1 and result["missed"] == 0
    assert result["folded"] == 2 and result["folded, not marked"] == 1
    assert result["folded not marked"][0][:2] == ("near", "a1")


def test_ingest_runs_against_the_local_server() -> None:
    result = feeds.run_ingest(articles=4, feeds=2)
    assert result["items"] == 4 and result["errors"] == [] and result["articles a minute"] > 0


def test_load_polls_every_feed_on_schedule_beside_the_questions(tmp_path: Path) -> None:
    """benchmarks/feeds_load.py in seconds: 3 feeds, each polled once in a 15 s period (0.1 s
    between two requests, not 1 s), new items in feeds not polled yet."""
    articles = tmp_path / "wire.jsonl"
    articles.write_text("\n".join(json.dumps(a) for a in ARTICLES) + "\n")
    asked = ["Who opened the floating solar farm?", "Who is the?"]  # the second one is refused
    result = feeds_load.run(
        feeds=3,
        minutes=0.25,  # the child process that polls starts in the first seconds
        baseline=0.05,
        rate=10,
        new_every=1.0,
        spacing=0.1,
        articles=articles,
        asked=asked,
    )
    assert result["articles"] == len(ARTICLES)
    assert result["warm-up: articles written and indexed"] == 6  # two items a feed
    assert result["polls in the period (feeds polled)"] == 3
    assert result["new items published"] >= 1 and result["rounds that indexed"] >= 1
    assert result["passages after"] > result["passages"]
    assert result["while polling"]["questions"] == 150
    assert result["baseline"]["questions"] == 30 and result["p95 ratio, polling / baseline"] > 0
