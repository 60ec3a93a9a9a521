"""A smoke run of the benchmark on a tiny corpus written here (seconds), so it never rots.

Peers that are not installed (CI installs only `.[dev]`) are skipped with the reason.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from benchmarks import run
from benchmarks.engines import SPECS
from benchmarks.report import figures

WORDS = [
    "harbour",
    "solar",
    "farm",
    "mayor",
    "panels",
    "homes",
    "rail",
    "strike",
    "union",
    "drivers",
    "pay",
    "talks",
    "chess",
    "champion",
    "final",
    "volcano",
    "village",
    "erupted",
    "minister",
    "budget",
    "election",
    "votes",
    "court",
    "ruling",
    "storm",
    "flood",
    "river",
    "bridge",
    "museum",
    "painting",
    "stolen",
    "police",
    "vaccine",
    "trial",
    "hospital",
    "football",
    "league",
    "goal",
    "transfer",
]


def write_fixture(folder: Path) -> tuple[Path, Path]:
    """40 made-up articles and 8 questions, as .jsonl.gz like the real inputs."""
    rng = random.Random(5)
    articles = []
    for i in range(40):
        paragraphs = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 90))).capitalize() + "."
            for _ in range(rng.randint(1, 5))
        ]
        articles.append(
            {
                "id": f"a{i}",
                "title": " ".join(rng.sample(WORDS, 4)).title(),
                "text": "\n\n".join(paragraphs),
                "date": f"2024-01-{i % 28 + 1:02d}",
                "source": rng.choice(["Coast Herald", "Daily Ledger"]),
            }
        )
    questions = [
        {
            "question": f"Which {rng.choice(WORDS)} did the {rng.choice(WORDS)} "
            f"{rng.choice(WORDS)} in the {rng.choice(WORDS)}?"
        }
        for _ in range(8)
    ]
    paths = folder / "articles.jsonl.gz", folder / "questions.jsonl.gz"
    for path, rows in zip(paths, (articles, questions), strict=True):
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write("\n".join(json.dumps(r) for r in rows) + "\n")
    return paths


def test_benchmark_smoke_run(tmp_path: Path) -> None:
    articles, questions = write_fixture(tmp_path)
    engines = "newsbot,rank-bm25,rank-bm25+nb,bm25s,tantivy"
    results = run.main(
        [
            "--articles",
            str(articles),
            "--questions",
            str(questions),
            "--queries",
            "8",
            "--sample",
            "4",
            "--scales",
            "10k,215k",
            "--scale-passages",
            "10k=20",
            "--engines",
            engines,
            "--scale-engines",
            "newsbot",
            "--processes",
            "2",
            "--throughput-seconds",
            "0.1",
            "--change-every",
            "10",
            "--feed-articles",
            "12",
            "--feeds",
            "3",
            "--workdir",
            str(tmp_path / "work"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    main = results["scales"]["215k"]
    assert main["info"]["passages"] > main["info"]["articles"] == 40
    ours = figures(main["engines"]["newsbot"])
    assert ours["passages"] == main["info"]["passages"]  # newsbot split exactly as the peers' input
    for key in ("build_s", "p50_ms", "p99_ms", "qps", "query_rss", "size", "startup_s", "reindex_s"):
        assert ours[key] > 0, key
    assert main["engines"]["newsbot"]["reindex"]["reanalysed"] == 4  # every 10th of 40 articles
    named = main["engines"]["newsbot"]["reindex_named"]  # the same, told which files changed
    assert named["reanalysed"] == 4 and named["reused"] == 36 and ours["reindex_named_s"] > 0
    rounds = main["engines"]["newsbot"]["additions"]["rounds"]  # each added 10 and answered from them
    assert [r["added"] for r in rounds] == [10, 10, 10] and ours["added_found"] and ours["added_next_s"] > 0
    for name in engines.split(",")[1:]:
        result = main["engines"][name]
        if "skipped" in result:
            assert "not installed" in result["skipped"]
            continue
        assert "error" not in result["build"] and "error" not in result["query"], result
    if "skipped" not in main["engines"]["rank-bm25+nb"]:  # rank-bm25 is a core dependency
        ref = main["engines"]["rank-bm25+nb"]["query"]["hits"]
        assert main["engines"]["newsbot"]["query"]["hits"][: len(ref)] == ref  # identical floats
    assert "10k" in results["scales"] and (tmp_path / "out" / "results.md").read_text().count("|") > 50
    assert not list((tmp_path / "work").glob("*/corpus"))  # inputs are removed after each scale
    ingest = results["feed_ingest"]  # the feeds' ingest figures, from the local feed server
    assert ingest["feeds"] == 3 and ingest["written"] > 0 and not ingest["errors"], ingest
    assert "### Feed ingest" in (tmp_path / "out" / "results.md").read_text()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_missing_peers_are_skipped_with_a_reason(spec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run.importlib.util, "find_spec", lambda name: None)
    assert "not installed" in (run.missing(spec) or "")


def test_the_small_change_phases_alone(tmp_path: Path) -> None:
    from benchmarks import changes

    articles, _ = write_fixture(tmp_path)
    work = tmp_path / "work"
    info = changes.main(["prepare", "--articles", str(articles), "--work", str(work), "--scale", "215k"])
    assert info["articles"] == 40 and info["changed"] == 1  # every 100th article is edited
    reindexed = changes.main(["reindex", "--work", str(work)])
    assert reindexed["incremental"] and reindexed["reanalysed"] == 1 and reindexed["reused"] == 39
    assert reindexed["seconds"]["build"] > 0 and reindexed["seconds"]["save"] > 0
    assert set(reindexed["cpu"]) == {"build", "save"} and reindexed["cpu"]["build"] > 0
    named = changes.main(["reindex", "--named", "--work", str(work)])
    assert named["reanalysed"] == 1 and named["reused"] == 39 and named["seconds"]["save"] > 0
    added = changes.main(["add", "--work", str(work)])
    rounds = added["rounds"]
    assert added["cpu"] > 0
    assert [r["added"] for r in rounds] == [10, 10, 10] and all(r["found"] for r in rounds)
    assert not list((work / "corpus" / "zz-added").iterdir())  # the added files are gone
    after = changes.main(["add", "--after-reindex", "--work", str(work)])
    assert [r["added"] for r in after["rounds"]] == [10, 10, 10] and all(r["found"] for r in after["rounds"])


def test_whole_answers_are_timed_on_a_kept_index(tmp_path: Path) -> None:
    from benchmarks import ask, changes
    from newsbot.index.store import FORMAT

    articles, questions = write_fixture(tmp_path)
    work = tmp_path / "work"
    changes.main(["prepare", "--articles", str(articles), "--work", str(work), "--scale", "215k"])
    out = ask.main([str(work / f"index-base-{FORMAT}"), "--questions", str(questions), "--warmup", "2"])
    assert out["questions"] == 8 and out["passages"] > 40 and out["refused"] == 0
    assert out["matched"] > 0  # the questions are made of the articles' words
    assert 0 < out["cpu_p50_ms"] <= out["cpu_p95_ms"] <= out["cpu_p99_ms"]
