"""What every command shares: --version, the logging set-up, a bad setting, and the flags' help."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from newsbot.answers.filters import parse_date
from newsbot.cli import app
from newsbot.cli.common import DATE_FORMATS, progress_bar

runner = CliRunner()
WIDE = {"COLUMNS": "300"}  # help text on one line per option


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No .env or NEWSBOT_* settings from the developer's shell; the root logger restored."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("NEWSBOT_", "DISCORD_")):
            monkeypatch.delenv(name)
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


def test_version_is_the_installed_distributions() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"newsbot {version('newsbot')}\n"


COMMANDS = [
    ["ask", "who was sanctioned?"],
    ["index"],
    ["stats"],
    ["run"],
    ["sync"],
    ["eval", "questions.jsonl"],
    ["logs", "recent"],
    ["logs", "show", "1"],
    ["logs", "unanswered"],
    ["logs", "stats"],
    ["logs", "export"],
    ["logs", "forget", "1", "--yes"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_refuses_a_bad_log_level_in_one_line(args: list[str]) -> None:
    result = runner.invoke(app, args, env={"NEWSBOT_LOG_LEVEL": "LOUD"})
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: NEWSBOT_LOG_LEVEL='LOUD' is not valid: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
    ]


def test_a_bad_log_level_from_the_shell_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "NEWSBOT_LOG_LEVEL": "LOUD", "COLUMNS": "80"}
    done = subprocess.run(
        [sys.executable, "-m", "newsbot", "stats"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("Error: NEWSBOT_LOG_LEVEL='LOUD' is not valid")
    assert not (tmp_path / ".newsbot").exists()  # refused before anything was opened


def test_a_command_sets_up_logging_at_the_settings_level(corpus_dir: Path, tmp_path: Path) -> None:
    opts = ["--corpus", str(corpus_dir), "--data-dir", str(tmp_path / "d")]
    for _ in range(2):
        result = runner.invoke(app, ["stats", "--json", *opts], env={"NEWSBOT_LOG_LEVEL": "warning"})
        assert result.exit_code == 0, result.output
    root = logging.getLogger()
    assert root.level == logging.WARNING
    assert [h.get_name() for h in root.handlers].count("newsbot") == 1  # replaced, not stacked


# typer carries its own copy of click, so commands and options are told apart by their attributes.
def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def _options(command: Any) -> list[Any]:
    return [p for p in command.params if p.param_type_name == "option"]


ALL = list(_commands(typer.main.get_group(app)))


def test_every_command_is_walked() -> None:
    assert {" ".join(path) for path, _ in ALL} >= {"ask", "index", "stats", "run", "sync", "eval"} | {
        f"logs {name}" for name in ("recent", "show", "unanswered", "stats", "export", "forget")
    }


@pytest.mark.parametrize(("path", "command"), ALL, ids=[" ".join(p) for p, _ in ALL])
def test_help_shows_booleans_as_bare_flags(path: tuple[str, ...], command: Any) -> None:
    result = runner.invoke(app, [*path, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    flags = [p for p in _options(command) if p.is_flag]
    for option in flags:
        assert not option.secondary_opts, option.opts  # no --json/--no-json twin
        line = next(line for line in result.stdout.splitlines() if option.opts[0] in line)
        assert "<bool>" not in line, line
    assert "--no-" not in result.stdout


def test_one_flag_name_per_idea() -> None:
    names: dict[str, set[str]] = {}
    for _, command in ALL:
        for p in _options(command):
            names.setdefault(p.name, set()).update(o for o in p.opts if o.startswith("--"))
    assert names["data_dir"] == {"--data-dir"}
    assert names["as_json"] == {"--json"}
    assert names["corpus"] == {"--corpus"}
    assert names["guild"] == {"--guild"}
    assert "db" not in names
    # Every command reads the settings, so every one takes the same --data-dir; the watch
    # measurements read only the files they are given.
    measuring = [("watches", "replay"), ("watches", "bench")]
    assert [path for path, c in ALL if "data_dir" not in {p.name for p in c.params}] == measuring


def test_the_date_formats_in_help_are_the_ones_read() -> None:
    help_text = runner.invoke(app, ["ask", "--help"], env=WIDE).stdout
    assert help_text.count(DATE_FORMATS) == 2  # --since and --until
    assert "YYYY, YYYY-MM or YYYY-MM-DD" in DATE_FORMATS
    assert [parse_date(t).isoformat() for t in ("2024", "2024-05", "2024-05-17")] == [
        "2024-01-01",
        "2024-05-01",
        "2024-05-17",
    ]


@pytest.mark.usefixtures("terminal_ctrl_c")
def test_a_ctrl_c_that_something_swallowed_still_stops_at_the_next_step() -> None:
    """Python drops a KeyboardInterrupt raised while a finalizer runs; the bar raises it again."""
    moves: list[str] = []
    with pytest.raises(typer.Exit) as stopped, progress_bar() as progress:
        progress("reading", 1, 2)
        moves.append("reading")
        try:  # stands for a finalizer that the interrupt hit
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            moves.append("swallowed")
        progress("saving", 0, 1)
        moves.append("saved")  # never: the build stops before it publishes
    assert stopped.value.exit_code == 130
    assert moves == ["reading", "swallowed"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


@pytest.mark.usefixtures("terminal_ctrl_c")
def test_the_bar_leaves_an_ignored_ctrl_c_ignored() -> None:
    """A background job's SIGINT stays ignored (`nohup`, `&` in a script)."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with progress_bar() as progress:
            os.kill(os.getpid(), signal.SIGINT)
            progress("saving", 0, 1)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
