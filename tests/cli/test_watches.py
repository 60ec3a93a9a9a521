"""`newsbot watches` through typer's CliRunner, over a real corpus, index and watches file."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from newsbot.cli import app
from newsbot.cli.watches import parse_duration
from newsbot.watches import BadWatch

runner = CliRunner()
NEWS = {
    "id": "sanctions-9",
    "title": "New sanctions target Russian banks",
    "text": "The EU announced sanctions on three Russian banks.\n\nOfficials said the assets are frozen.",
    "source": "Coast Herald",
}


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env


def invoke(data: Path, *args: str) -> Result:
    return runner.invoke(app, ["watches", *args, "--data-dir", str(data)])


def test_add_list_check_mute_remove(corpus_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    index = ["--corpus", str(corpus_dir), "--data-dir", str(data)]
    assert runner.invoke(app, ["index", *index]).exit_code == 0
    first = runner.invoke(app, ["watches", "check", *index])
    assert first.exit_code == 0 and "taken as already seen" in first.output
    added = invoke(data, "add", "sanctions on Russian banks")
    assert added.exit_code == 0 and "Watch #1 added" in added.output
    assert invoke(data, "add", "chess", "--mode", "daily", "--source", "Daily Ledger").exit_code == 0
    listed = json.loads(invoke(data, "list", "--json").stdout)
    assert [(w["id"], w["mode"], w["source"]) for w in listed] == [
        (1, "instant", None),
        (2, "daily", "Daily Ledger"),
    ]

    (corpus_dir / "new.jsonl").write_text(json.dumps(NEWS) + "\n")
    checked = runner.invoke(app, ["watches", "check", "--reindex", *index])
    assert checked.exit_code == 0, checked.output
    assert "New sanctions target Russian banks" in checked.output and "1 matches" in checked.output
    again = runner.invoke(app, ["watches", "check", *index])
    assert "0 new or changed articles" in again.output

    muted = invoke(data, "mute", "1", "--for", "2h")
    assert muted.exit_code == 0 and "muted until" in muted.output
    assert "muted until" in invoke(data, "list").output
    assert invoke(data, "resume", "1").exit_code == 0
    assert invoke(data, "remove", "1").exit_code == 0
    gone = invoke(data, "remove", "1")
    assert gone.exit_code != 0 and "no watch #1" in str(gone.exception)


def test_bad_input_is_one_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stop = invoke(data, "add", "the of and")
    assert stop.exit_code != 0 and isinstance(stop.exception, BadWatch)
    assert invoke(data, "add", "x", "--mode", "hourly").exit_code != 0
    assert isinstance(invoke(data, "mute", "1", "--for", "soon").exception, BadWatch)


@pytest.mark.parametrize(
    ("text", "expected"), [("30m", 30 * 60), ("2h", 7200), (" 3D ", 3 * 86400), ("1w", 604800)]
)
def test_durations(text: str, expected: int) -> None:
    assert parse_duration(text) == timedelta(seconds=expected)
