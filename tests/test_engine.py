import threading
from pathlib import Path

import pytest

from newsbot.engine import Engine
from newsbot.errors import BadUpload, IndexBusy, NewsbotError, NotFound
from newsbot.settings import Settings


def test_open_builds_when_missing_then_loads(settings: Settings) -> None:
    engine = Engine.open(settings)
    assert engine.ask("who was sanctioned?").matched
    again = Engine.open(settings, build_if_missing=False)
    assert again.version == engine.version


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
