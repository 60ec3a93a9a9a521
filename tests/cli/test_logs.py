"""`newsbot logs` through typer's CliRunner, against a real query log file."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from newsbot.cli.logs import logs_app, safe
from newsbot.querylog import QueryRecord, Shown, SqliteQueryLog

GUILD_A, GUILD_B = 111, 222
NOW = datetime.now(UTC)
HOSTILE = (
    "[bold red]markup[/] **md** @everyone \x1b[31mred\x1b[0m \x1b]0;pwned\x07 \x00\x07"
    "\r\nnext line \u202eevil " + "x" * 10_000
)
STORED = HOSTILE.replace("\x00", "")  # the query log drops NUL (no PostgreSQL text holds it)
runner = CliRunner()


def rec(question: str, **kw: object) -> QueryRecord:
    fields: dict[str, object] = {
        "interface": "slash",
        "outcome": "answered",
        "guild_id": GUILD_A,
        "user_id": 7,
        "user_name": "ann",
    }
    fields.update(kw)
    return QueryRecord(question, **fields)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No stray .env or NEWSBOT_* settings from the developer's shell."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSBOT_LOG_RETENTION_DAYS", "90")


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    """A --data-dir holding a query log (not the one NEWSBOT_DATA_DIR names)."""
    path = tmp_path / "elsewhere" / "querylog.sqlite3"
    path.parent.mkdir()
    with SqliteQueryLog(path) as store:
        store.record(
            rec(
                "Who won the chess title?",
                latency_ms=10.0,
                shown=(Shown("chess-3", 0, "Teenager wins national chess title", 3.5),),
                created_at=NOW - timedelta(minutes=5),
            )
        )
        store.record(
            rec(
                "what is the gdp?", outcome="no_match", latency_ms=20.0, created_at=NOW - timedelta(minutes=4)
            )
        )
        store.record(
            rec("What is the GDP", outcome="no_match", user_id=8, created_at=NOW - timedelta(minutes=3))
        )
        store.record(
            rec("beta guild question", guild_id=GUILD_B, user_id=7, created_at=NOW - timedelta(minutes=2))
        )
        hostile = store.record(
            rec(
                HOSTILE,
                outcome="no_match",
                user_name=HOSTILE[:200],
                shown=(Shown("h", 1, HOSTILE, 1.0),),
                created_at=NOW - timedelta(minutes=1),
            )
        )
        store.vote(1, 9, up=True)
        store.flag(GUILD_A, hostile, 5, HOSTILE)
    return path.parent


def run(*args: str, input: str | None = None) -> Result:
    return runner.invoke(logs_app, list(args), input=input, env={"COLUMNS": "200"})


def ok(*args: str, input: str | None = None) -> Result:
    result = run(*args, input=input)
    assert result.exit_code == 0, result.output
    return result


def raw(result: Result) -> str:
    """stdout exactly: Result.stdout turns CRLF into LF, and CSV cares."""
    return result.stdout_bytes.decode("utf-8")


def assert_defanged(out: str) -> None:
    assert not {"\x1b", "\x00", "\x07", "\u202e"} & set(out)
    assert len(out) < 8_000  # the 10 kB question was cut


def test_recent_table_and_json_and_csv(log_dir: Path) -> None:
    table = ok("recent", "--data-dir", str(log_dir)).stdout
    assert "Who won the chess title?" in table
    assert "[bold red]markup[/]" in table  # shown as text, not applied
    assert_defanged(table)

    rows = json.loads(ok("recent", "--data-dir", str(log_dir), "--json").stdout)
    assert [r["id"] for r in rows] == [5, 4, 3, 2, 1]
    assert rows[0]["question"] == STORED  # JSON is exact

    scoped = json.loads(
        ok(
            "recent",
            "--data-dir",
            str(log_dir),
            "--guild",
            str(GUILD_A),
            "--json",
            "--outcome",
            "no_match",
            "--user",
            "7",
        ).stdout
    )
    assert [r["id"] for r in scoped] == [5, 2]
    paged = json.loads(
        ok("recent", "--data-dir", str(log_dir), "--json", "--limit", "2", "--offset", "1").stdout
    )
    assert [r["id"] for r in paged] == [4, 3]

    csv_rows = list(
        csv.DictReader(io.StringIO(raw(ok("recent", "--data-dir", str(log_dir), "--csv")), newline=""))
    )
    assert [r["id"] for r in csv_rows] == ["5", "4", "3", "2", "1"]
    assert csv_rows[0]["question"] == STORED  # a pipe gets the exact data

    assert run("recent", "--data-dir", str(log_dir), "--json", "--csv").exit_code == 1


def test_show(log_dir: Path) -> None:
    out = ok("show", "1", "--data-dir", str(log_dir)).stdout
    assert "Teenager wins national chess title" in out
    assert "+1 / -0" in out
    data = json.loads(ok("show", "5", "--data-dir", str(log_dir), "--json").stdout)
    assert (data["question"], data["flags"][0]["reason"]) == (STORED, STORED)
    hostile = ok("show", "5", "--data-dir", str(log_dir)).stdout
    assert_defanged(hostile)
    assert "Flags" in hostile

    missing = run("show", "99", "--data-dir", str(log_dir))
    assert missing.exit_code == 1
    assert "no query log row 99" in missing.stderr
    assert run("show", "4", "--data-dir", str(log_dir), "--guild", str(GUILD_A)).exit_code == 1


def test_unanswered(log_dir: Path) -> None:
    groups = json.loads(ok("unanswered", "--data-dir", str(log_dir), "--json").stdout)
    assert (groups[0]["key"], groups[0]["count"]) == ("what is the gdp", 2)
    assert groups[0]["example"] == "What is the GDP"
    table = ok("unanswered", "--data-dir", str(log_dir), "--guild", str(GUILD_A)).stdout
    assert "What is the GDP" in table
    assert_defanged(table)
    assert (
        json.loads(ok("unanswered", "--data-dir", str(log_dir), "--guild", str(GUILD_B), "--json").stdout)
        == []
    )


def test_stats(log_dir: Path) -> None:
    s = json.loads(ok("stats", "--data-dir", str(log_dir), "--json").stdout)
    assert (s["total"], s["answered"], s["no_match"], s["votes_up"], s["flagged"]) == (5, 2, 3, 1, 1)
    a = json.loads(
        ok("stats", "--data-dir", str(log_dir), "--guild", str(GUILD_A), "--json", "--days", "0").stdout
    )
    assert (a["total"], a["since"]) == (4, None)
    table = ok("stats", "--data-dir", str(log_dir)).stdout
    assert "Questions" in table and "Top questions" in table
    assert_defanged(table)


def test_export(log_dir: Path, tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(raw(ok("export", "--data-dir", str(log_dir))), newline="")))
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5"]  # oldest first
    assert rows[-1]["question"] == STORED
    data = json.loads(ok("export", "--data-dir", str(log_dir), "--json", "--guild", str(GUILD_B)).stdout)
    assert [r["question"] for r in data] == ["beta guild question"]

    out = tmp_path / "out.csv"
    ok("export", "--data-dir", str(log_dir), "--csv", "-o", str(out))
    with out.open(newline="", encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 5
    out_json = tmp_path / "out.json"
    ok("export", "--data-dir", str(log_dir), "--json", "--output", str(out_json), "--days", "1")
    assert len(json.loads(out_json.read_text(encoding="utf-8"))) == 5


def test_forget(log_dir: Path) -> None:
    aborted = run("forget", "7", "--data-dir", str(log_dir), input="n\n")
    assert aborted.exit_code == 1
    assert len(json.loads(ok("recent", "--data-dir", str(log_dir), "--json").stdout)) == 5

    done = json.loads(
        ok("forget", "7", "--data-dir", str(log_dir), "--guild", str(GUILD_A), "--yes", "--json").stdout
    )
    assert done == {"user_id": 7, "guild_id": GUILD_A, "deleted": 3}
    left = json.loads(ok("recent", "--data-dir", str(log_dir), "--json").stdout)
    assert [(r["guild_id"], r["user_id"]) for r in left] == [(GUILD_B, 7), (GUILD_A, 8)]

    assert "Deleted 1 questions" in ok("forget", "7", "--data-dir", str(log_dir), input="y\n").stdout
    assert [r["user_id"] for r in json.loads(ok("recent", "--data-dir", str(log_dir), "--json").stdout)] == [
        8
    ]


def test_store_path_comes_from_settings(tmp_path: Path) -> None:
    assert "no query log at" in run("recent").stderr
    with SqliteQueryLog(tmp_path / "data" / "querylog.sqlite3") as store:
        store.record(rec("from settings?"))
    assert json.loads(ok("recent", "--json").stdout)[0]["question"] == "from settings?"


def test_safe() -> None:
    assert safe("[b]x[/b]") == r"\[b]x\[/b]"
    assert safe("a\x1b[2Jb\x1b]8;;http://x\x07c\x00d\u202ee\r\n f") == "abcde f"
    assert safe("y" * 500, limit=10) == "y" * 9 + "…"
    assert safe(None) == ""
