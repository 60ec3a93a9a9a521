import json
import logging
import math
import sys
import threading
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from newsbot.answers.ranking import prior, reference_day
from newsbot.engine import Engine
from newsbot.errors import BadUpload, IndexBusy, NewsbotError, NotFound
from newsbot.index.build import build_index
from newsbot.index.store import Index
from newsbot.settings import Settings
from newsbot.text.analyzer import Analyzer
from tests.index.test_store import damage


def test_open_builds_when_missing_then_loads(settings: Settings) -> None:
    engine = Engine.open(settings)
    assert engine.ask("who was sanctioned?").matched
    again = Engine.open(settings, build_if_missing=False)
    assert again.version == engine.version


def test_warm_loads_the_compiled_search_and_needs_no_index(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    Engine.open(settings, build_if_missing=False).warm()  # no index yet: nothing to do, no error
    monkeypatch.delitem(sys.modules, "newsbot.index.kernels")
    engine = Engine.open(settings)
    engine.warm()
    assert "newsbot.index.kernels" in sys.modules


def test_no_index_message(settings: Settings) -> None:
    engine = Engine.open(settings, build_if_missing=False)
    with pytest.raises(NewsbotError, match="newsbot index"):
        engine.ask("who was sanctioned?")


def test_stats_and_sources(settings: Settings) -> None:
    engine = Engine.open(settings)
    stats = engine.stats()
    assert (stats.articles, stats.sources[0]) == (4, ("Daily Ledger", 2))
    assert stats.first_date.isoformat() == "2023-11-12"  # type: ignore[union-attr]
    assert engine.sources() == ["Coast Herald", "Daily Ledger"]


def test_add_then_reindex_then_remove(settings: Settings) -> None:
    engine = Engine.open(settings)
    (added,) = engine.add_file("../../evil name.md", b"---\ntitle: Volcano\n---\nA volcano erupted.")
    assert (settings.corpus_dir / "uploads" / "evil_name.md").is_file()
    report = engine.reindex()
    assert report.added == 1 and engine.ask("volcano erupted").hits[0].citation.title == "Volcano"
    engine.remove_article(added.id)
    assert not (settings.corpus_dir / "uploads" / "evil_name.md").exists()
    engine.remove_article("rail-2")  # lives in a multi-article file: excluded, file kept
    report = engine.reindex()
    assert report.removed == 2 and (settings.corpus_dir / "wire.jsonl").exists()
    with pytest.raises(NotFound):
        engine.remove_article("rail-2")


def test_add_indexes_the_named_files_and_answers_from_them(settings: Settings) -> None:
    engine = Engine.open(settings)
    before = engine.version
    new = settings.corpus_dir / "feeds" / "volcano.md"
    new.parent.mkdir()
    new.write_text("---\ntitle: Volcano\n---\nA volcano erupted near the harbour.")
    report = engine.add([new])
    assert (report.added, report.unchanged) == (1, 4) and engine.version != before
    assert engine.ask("volcano erupted").hits[0].citation.title == "Volcano"
    assert Engine.open(settings, build_if_missing=False).version == engine.version  # saved, live
    new.unlink()
    assert engine.add([new]).removed == 1 and not engine.ask("volcano erupted").matched
    assert engine.reindex().added == engine.reindex().removed == 0  # a scan agrees
    with pytest.raises(NewsbotError, match="Not in the corpus folder"):
        engine.add([settings.data_dir / "elsewhere.md"])


def test_passages_of_another_length_stay_so_through_additions(settings: Settings) -> None:
    """`passage_words` (benchmarks at a given passage count): a build and an addition both split
    at that length, and an engine at the default length sees the index as analysed otherwise."""
    words = " ".join(f"word{i}." for i in range(40))
    (settings.corpus_dir / "long.md").write_text(f"---\ntitle: Long\n---\n{words}")
    default = Engine.open(replace(settings, data_dir=settings.data_dir / "default"))
    short = Engine.open(settings, passage_words=10)
    assert short.index.n_live > default.index.n_live
    new = settings.corpus_dir / "feeds" / "long2.md"
    new.parent.mkdir()
    new.write_text(f"---\ntitle: Long two\n---\n{words.replace('word', 'term')}")
    report = short.add([new])
    assert report.added == 1 and report.unchanged == 5  # not a rebuild of everything
    assert short.index.analysis["passage_words"] == 10
    assert Engine.open(settings, build_if_missing=False, passage_words=10).version == short.version
    assert Engine.open(settings).index.analysis["passage_words"] != 10  # rebuilt at the default


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("a.pdf", b"%PDF", "Unsupported file type"),
        ("a.txt", b"", "No article could be read"),
        ("a.txt", b"x" * 2000, "the limit is 1,000"),
        ("a.jsonl", b"{broken", "malformed JSON"),
    ],
)
def test_bad_uploads(tmp_path: Path, corpus_dir: Path, name: str, data: bytes, message: str) -> None:
    engine = Engine(Settings(corpus_dir=corpus_dir, data_dir=tmp_path / "d", max_upload_bytes=1000))
    with pytest.raises(BadUpload, match=message):
        engine.add_file(name, data)


def test_one_reindex_at_a_time_and_questions_answered_meanwhile(settings: Settings) -> None:
    engine = Engine.open(settings)
    started, release = threading.Event(), threading.Event()

    def slow(stage: str, done: int, total: int) -> None:
        started.set()
        release.wait(5)

    worker = threading.Thread(target=lambda: engine.reindex(full=True, progress=slow))
    worker.start()
    assert started.wait(5)
    assert engine.reindexing
    with pytest.raises(IndexBusy):
        engine.reindex()
    assert engine.ask("who was sanctioned?").matched  # the old index keeps answering
    release.set()
    worker.join(10)
    assert not engine.reindexing


def test_failed_reindex_keeps_old_index(settings: Settings) -> None:
    engine = Engine.open(settings)
    before = engine.version

    def boom(stage: str, done: int, total: int) -> None:
        if stage == "indexing":
            raise RuntimeError("crash")

    (settings.corpus_dir / "new.txt").write_text("New\nFresh story text.")
    with pytest.raises(RuntimeError):
        engine.reindex(progress=boom)
    assert engine.version == before and engine.ask("who was sanctioned?").matched


@pytest.mark.parametrize(
    "kind",
    [
        "truncated array",
        "garbage in CURRENT",
        "missing segment file",
        "garbage meta.json",
        "missing vocab keys",
    ],
)
def test_open_rebuilds_a_damaged_index_and_says_so(
    settings: Settings, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = Engine.open(settings).version
    blamed = damage(settings.index_dir, kind)
    with caplog.at_level(logging.WARNING, logger="newsbot.engine"):
        engine = Engine.open(settings)
    assert engine.version != before and engine.ask("who was sanctioned?").matched
    assert any("damaged" in r.getMessage() and blamed in r.getMessage() for r in caplog.records)
    assert Index.load(settings.index_dir) is not None  # the rebuilt index is saved


def test_a_damaged_index_is_reported_by_the_reindex_that_replaces_it(settings: Settings) -> None:
    Engine.open(settings)
    damage(settings.index_dir, "truncated array")
    engine = Engine.open(settings, build_if_missing=False)  # as `newsbot index` opens it
    assert engine.damage is not None and engine.version == "none"
    report = engine.reindex()
    assert "damaged" in report.full_because and "idf.npy" in report.full_because
    assert report.added == 4 and engine.damage is None


def test_a_changed_analyzer_rebuilds_everything(settings: Settings) -> None:
    Engine.open(settings)
    other = Engine(settings, Index.load(settings.index_dir), Analyzer(stopwords=frozenset({"the", "said"})))
    report = other.reindex()  # incremental, yet the analysis changed: every article again
    assert (report.unchanged, report.added + report.updated) == (0, 4)
    assert "stopwords" in report.full_because
    assert other.ask("what was said?").matched  # "said" is a word now
    again = other.reindex()
    assert (again.unchanged, again.full_because) == (4, "")


def test_open_rebuilds_an_index_analysed_otherwise(settings: Settings, corpus_dir: Path) -> None:
    index, _ = build_index(corpus_dir, Analyzer(), target_words=20)  # another passage size
    index.save(settings.index_dir)
    engine = Engine.open(settings)
    assert engine.version != index.version and engine.index.analysis["passage_words"] != 20


def _engine_over(tmp_path: Path, name: str, title: str, text: str) -> Engine:
    root = tmp_path / name / "corpus"
    root.mkdir(parents=True)
    (root / "a.json").write_text(json.dumps({"id": name, "title": title, "text": text, "date": "2024-03-01"}))
    return Engine.open(Settings(corpus_dir=root, data_dir=tmp_path / name / "data"))


def test_two_engines_share_no_stems(tmp_path: Path) -> None:
    a = _engine_over(tmp_path, "a", "Zebras galloping", "Zebras were galloping across the plain.")
    b = _engine_over(tmp_path, "b", "Harbours", "The harbours were dredged.")
    assert dict(a.index.stems).keys() != dict(b.index.stems).keys()
    assert a.analyzer.known_stems is a.index.stems and b.analyzer.known_stems is b.index.stems
    # Each engine's analyzer looks stems up in its own index only: give b's index a made-up stem.
    forged = Engine(b.settings, replace(b.index, stems={"zebras": "forged"}))
    assert forged.analyzer.term("zebras") == "forged"
    assert a.analyzer.term("zebras") == "zebra" and b.analyzer.term("zebras") == "zebra"
    assert a.ask("zebras galloping").matched and not b.ask("zebras galloping").matched


def test_two_engines_share_no_priors(tmp_path: Path) -> None:
    a = _engine_over(tmp_path, "a", "Zebras galloping", "Zebras were galloping across the plain.")
    b = _engine_over(tmp_path, "b", "Harbours", "The harbours were dredged.")
    # Even under one version (caches once keyed on it), each index keeps its own prior.
    twin = replace(b.index, version=a.index.version, passage_day=b.index.passage_day - 30)
    day = date(2024, 3, 1).toordinal()
    assert prior(a.index, day)[0] == pytest.approx(1.5)
    assert prior(twin, day)[0] == pytest.approx(1 + 0.5 * math.exp(-1))
    assert reference_day(a.index, date(2024, 3, 20)) == day
    assert reference_day(twin, date(2024, 3, 20)) == day - 30


def test_a_reindex_over_damaged_file_states_rebuilds_and_says_so(settings: Settings) -> None:
    engine = Engine.open(settings)
    (settings.index_dir / engine.version / "files.json").write_text("[garbage")  # read by a reindex only
    report = engine.reindex()
    assert "files.json" in report.full_because and (report.added, report.unchanged) == (4, 0)
    assert engine.ask("who was sanctioned?").matched


def test_a_reindex_parses_no_saved_article(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # Deciding what changed, and whether a build would drop most articles, takes the keys alone.
    from newsbot.index.catalog import Articles

    engine = Engine.open(settings)
    wire = settings.corpus_dir / "wire.jsonl"
    wire.write_text(wire.read_text().replace("chess champ", "checkers champ"))

    def parsed(*args: object) -> None:
        raise AssertionError("a saved article was parsed")

    monkeypatch.setattr(Articles, "__iter__", parsed)
    monkeypatch.setattr(Articles, "_item", parsed)
    report = engine.reindex()
    monkeypatch.undo()
    assert (report.updated, report.unchanged) == (1, 3)
    assert engine.index.term_ids(["checker"]) and engine.ask("who won the checkers championship?").matched
