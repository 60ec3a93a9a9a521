"""The bot's reindex in a child process: the same result, built by another process."""

from __future__ import annotations

import dataclasses
import os
import shutil

import pytest

from newsbot.engine import Engine
from newsbot.errors import CorpusMismatch, NewsbotError
from newsbot.index import versions
from newsbot.settings import Settings


@pytest.fixture
def elsewhere(settings: Settings) -> Settings:
    return dataclasses.replace(settings, reindex_in_child=True)


def test_a_reindex_in_a_child_process_lands_and_is_answered_here(elsewhere: Settings) -> None:
    engine = Engine.open(dataclasses.replace(elsewhere, reindex_in_child=False))
    engine = Engine(elsewhere, engine.index)
    (elsewhere.corpus_dir / "kiwi.txt").write_text(
        "Kiwi chicks hatch\n\nThree kiwi chicks hatched at the sanctuary.\n"
    )
    steps: list[str] = []
    report = engine.reindex(progress=lambda stage, done, total: steps.append(stage))
    assert report.added == 1 and "analysing" in steps  # progress crossed the process boundary
    holder = versions.holder(elsewhere.index_dir)
    assert holder.startswith("pid ") and holder.split()[1] != str(os.getpid())  # built elsewhere
    assert engine.version == versions.current(elsewhere.index_dir)
    assert engine.ask("how many kiwi chicks hatched?").hits[0].citation.title == "Kiwi chicks hatch"
    assert not engine.reindexing


def test_the_childs_errors_arrive_here_with_their_type_and_message(elsewhere: Settings) -> None:
    engine = Engine(elsewhere, Engine.open(dataclasses.replace(elsewhere, reindex_in_child=False)).index)
    for path in elsewhere.corpus_dir.iterdir():
        if path.suffix == ".jsonl":
            path.unlink()  # most of the articles
    with pytest.raises(CorpusMismatch, match="would remove"):
        engine.reindex()
    shutil.rmtree(elsewhere.corpus_dir)
    with pytest.raises(NewsbotError, match="does not exist"):
        engine.reindex()
    assert not engine.reindexing
