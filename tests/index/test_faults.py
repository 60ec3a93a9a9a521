"""Faults a long-running bot meets: flipped bits, damaged versions, a full disk."""

from __future__ import annotations

import errno
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import newsbot.index.build as build
from newsbot.cli import app
from newsbot.engine import Engine
from newsbot.errors import IndexCorrupt
from newsbot.index import versions
from newsbot.index.build import build_index
from newsbot.index.segment import check_soon, checks_settled
from newsbot.index.store import Index
from newsbot.querylog import QueryLogError
from newsbot.settings import Settings
from newsbot.text.analyzer import default_analyzer

runner = CliRunner()


def _live(settings: Settings) -> Path:
    return settings.index_dir / (versions.current(settings.index_dir) or "")


def _flip(path: Path, offsets: tuple[int, ...] = (-40, -30, -20, -10, -5)) -> None:
    data = bytearray(path.read_bytes())
    for at in offsets:
        data[at] ^= 0x10
    path.write_bytes(bytes(data))


def _add(settings: Settings, n: int) -> None:
    (settings.corpus_dir / f"extra-{n}.txt").write_text(
        f"Otter count {n}\n\nThe otters numbered {n} this spring.\n"
    )


def test_flipped_bits_in_postings_are_found_and_never_carried_forward(settings: Settings) -> None:
    engine = Engine.open(settings)
    postings = _live(settings) / f"{engine.index.segments[0].name}.post_gaps.npy"
    _flip(postings)
    with pytest.raises(IndexCorrupt, match=r"post_gaps.*checksum"):
        engine.index.verify_files()
    _add(settings, 1)
    args = ["--corpus", str(settings.corpus_dir), "--data-dir", str(settings.data_dir)]
    result = runner.invoke(app, ["index", "--verify", "3", *args])
    assert result.exit_code == 0, result.output
    assert "post_gaps" in result.output and "checksum" in result.output  # why it was rebuilt
    rebuilt = Engine.open(settings, build_if_missing=False).index
    rebuilt.verify_files()
    assert not any((_live(settings) / n).samefile(postings) for n in rebuilt.segments[0].file_names)


def test_a_damaged_live_version_falls_back_to_the_newest_that_loads(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    first = Engine.open(settings).version
    _add(settings, 1)
    Engine.open(settings).reindex()
    (_live(settings) / "meta.json").write_text("{ garbage")
    with caplog.at_level(logging.WARNING):
        engine = Engine.open(settings, build_if_missing=False)
    assert engine.version == first and engine.ask("who was sanctioned?").matched
    assert "meta.json" in caplog.text and f"newest intact version, {first}" in caplog.text


@pytest.mark.parametrize("damage", ["garbage CURRENT", "missing meta", "truncated array"])
def test_the_tool_recovers_every_damage(settings: Settings, damage: str) -> None:
    Engine.open(settings)
    live = _live(settings)
    if damage == "garbage CURRENT":
        (settings.index_dir / "CURRENT").write_bytes(b"\x00\xff../..")
    elif damage == "missing meta":
        (live / "meta.json").unlink()
    else:
        array = next(live.glob("*.post_gaps.npy"))
        array.write_bytes(array.read_bytes()[: array.stat().st_size // 2])
    args = ["--corpus", str(settings.corpus_dir), "--data-dir", str(settings.data_dir)]
    for command in (["index", "--full"], ["index"], ["ask", "who was sanctioned?"]):
        result = runner.invoke(app, [*command, *args])
        assert result.exit_code == 0, (command, result.output)
    assert "Magnitsky" in result.output or "Kadyrov" in result.output


def test_a_failed_save_leaves_no_temporary_folder(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine.open(settings)
    _add(settings, 1)
    real = np.save

    def full_disk(fh: Any, array: Any, *args: Any, **kwargs: Any) -> None:
        if getattr(fh, "name", "").endswith("idf.npy"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fh, array, *args, **kwargs)

    monkeypatch.setattr(np, "save", full_disk)
    with pytest.raises(OSError, match="No space"):
        engine.reindex()
    assert not list(settings.index_dir.glob(".tmp-*"))
    monkeypatch.setattr(np, "save", real)
    assert engine.reindex().added == 1  # nothing left behind blocks the next one


def test_too_little_space_is_refused_before_writing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine.open(settings)
    _add(settings, 1)
    usage = shutil.disk_usage(settings.index_dir)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=1000))
    with pytest.raises(versions.NoSpace, match="needs about"):
        engine.reindex()
    assert not list(settings.index_dir.glob(".tmp-*"))


def test_a_dead_writers_temporary_folder_is_removed_by_the_next_writer(settings: Settings) -> None:
    engine = Engine.open(settings)
    leftover = settings.index_dir / ".tmp-20990101-000000-dead-beef-4242"
    leftover.mkdir()
    (leftover / "big.npy").write_bytes(b"x" * 1000)
    _add(settings, 1)
    engine.reindex()
    assert not leftover.exists()


def test_ask_prints_its_answer_when_the_log_cannot_be_written(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    Engine.open(settings)

    def broken(settings: Settings) -> Any:
        raise QueryLogError("the disk holding the query log is full")

    monkeypatch.setattr("newsbot.cli.open_query_log", broken)
    result = runner.invoke(
        app,
        [
            "ask",
            "who was sanctioned?",
            "--json",
            "--corpus",
            str(settings.corpus_dir),
            "--data-dir",
            str(settings.data_dir),
        ],
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["matched"] is True
    assert "not logged" in result.stderr


def test_old_index_versions_in_use_by_a_reader_are_not_pruned(settings: Settings) -> None:
    reader = Engine.open(settings)
    held = reader.version
    writer = Engine.open(settings, build_if_missing=False)
    for n in range(3):
        _add(settings, n)
        writer.reindex()
    assert (settings.index_dir / held).is_dir()  # the reader's lease kept it
    assert reader.ask("who was sanctioned?").matched
    reader.close()
    _add(settings, 9)
    writer.reindex()
    assert not (settings.index_dir / held).exists()
    assert isinstance(Index.load(settings.index_dir), Index)


def test_checks_started_in_the_background_find_flipped_bits(corpus_dir: Path, tmp_path: Path) -> None:
    index = build_index(corpus_dir, default_analyzer())[0].save(tmp_path / "index")
    segment = index.segments[0]
    postings = tmp_path / "index" / index.version / f"{segment.name}.post_gaps.npy"
    check_soon(index.segments)
    checks_settled()
    segment.verify()  # intact: the check made in the background is taken
    _flip(postings)  # after the check: the file changed since, so it is read again
    with pytest.raises(IndexCorrupt, match=r"post_gaps.*checksum"):
        segment.verify()
    check_soon(index.segments)  # started on the damaged file: the damage is handed to `verify`
    with pytest.raises(IndexCorrupt, match=r"post_gaps.*checksum"):
        segment.verify()


def test_an_addition_beside_background_checks_refuses_a_damaged_segment(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "spare_core", lambda: True)  # checks and listing in threads
    engine = Engine.open(settings)
    postings = _live(settings) / f"{engine.index.segments[0].name}.post_gaps.npy"
    _flip(postings)
    _add(settings, 1)
    report = engine.add([settings.corpus_dir / "extra-1.txt"])
    assert "post_gaps" in report.full_because and "checksum" in report.full_because  # rebuilt
    assert not any((_live(settings) / n).samefile(postings) for n in engine.index.segments[0].file_names)
    assert engine.ask("How many otters were counted?").matched
