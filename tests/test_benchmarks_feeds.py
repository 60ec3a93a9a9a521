"""A smoke run of benchmarks/feeds.py on a few articles, so it never rots."""

from __future__ import annotations

from benchmarks import feeds
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
