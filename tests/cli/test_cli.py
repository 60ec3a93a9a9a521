import json
from pathlib import Path

from typer.testing import CliRunner

from newsbot.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_ask_builds_index_first_and_answers(corpus_dir: Path, tmp_path: Path) -> None:
    opts = ["--corpus", str(corpus_dir), "--data-dir", str(tmp_path / "d")]
    result = invoke("ask", "who was sanctioned?", *opts)
    assert result.exit_code == 0, result.output
    assert "Kadyrov" in result.output and "UK’s Boris Johnson" in result.output
    data = json.loads(invoke("ask", "who was sanctioned?", "--json", *opts).stdout)
    assert data["matched"] and data["hits"][0]["citation"]["article_id"] == "000_1e09d41da4d2db93"


def test_index_stats_and_filters(corpus_dir: Path, tmp_path: Path) -> None:
    opts = ["--corpus", str(corpus_dir), "--data-dir", str(tmp_path / "d")]
    built = invoke("index", *opts)
    assert built.exit_code == 0 and "Indexed 4 articles" in built.output
    stats = json.loads(invoke("stats", "--json", *opts).stdout)
    assert stats["articles"] == 4 and stats["sources"][0] == ["Daily Ledger", 2]
    data = json.loads(invoke("ask", "strike pay union", "--json", "--source", "Coast Herald", *opts).stdout)
    assert all(h["citation"]["source"] == "Coast Herald" for h in data["hits"])


def test_errors_are_one_clear_line(corpus_dir: Path, tmp_path: Path) -> None:
    opts = ["--corpus", str(corpus_dir), "--data-dir", str(tmp_path / "d")]
    result = invoke("ask", "who?", "--since", "tomorrow", *opts)
    assert result.exit_code != 0 and "not a date I understand" in str(result.exception)


def test_questions_are_logged_and_reviewable(corpus_dir: Path, tmp_path: Path) -> None:
    opts = ["--corpus", str(corpus_dir), "--data-dir", str(tmp_path / "d")]
    invoke("ask", "who was sanctioned?", *opts)
    invoke("ask", "who?", *opts)
    rows = json.loads(invoke("logs", "recent", "--data-dir", str(tmp_path / "d"), "--json").stdout)
    assert [(r["question"], r["outcome"], r["interface"]) for r in rows] == [
        ("who?", "refused", "cli"),
        ("who was sanctioned?", "answered", "cli"),
    ]


def test_dates_in_the_question_are_shown(corpus_dir: Path, tmp_path: Path) -> None:
    opts = ["--corpus", str(corpus_dir), "--data-dir", str(tmp_path / "d")]
    result = invoke("ask", "strike pay union in 2024?", *opts)
    assert result.exit_code == 0, result.output
    assert "news since 2024" in result.output
    data = json.loads(invoke("ask", "strike pay union in 2024?", "--json", *opts).stdout)
    assert data["period"] == "news since 2024"
    assert all(h["citation"]["date"] >= "2024-01-01" for h in data["hits"])


def test_index_named_files_only(corpus_dir: Path, tmp_path: Path) -> None:
    """`newsbot index FILE...` updates what those files hold and leaves the rest unread."""
    opts = ["--corpus", str(corpus_dir), "--data-dir", str(tmp_path / "d")]
    assert invoke("index", *opts).exit_code == 0
    added = corpus_dir / "late.json"
    added.write_text(
        json.dumps({"id": "late-1", "title": "Lighthouse keeper retires", "text": "The keeper of Gull Rock "
                    "lighthouse retired after forty years of tending its lamp.", "date": "2024-05-02"})
    )  # fmt: skip
    unread = corpus_dir / "unread.json"  # not named: must not be indexed
    unread.write_text(
        json.dumps({"id": "unread-1", "title": "Orchard frost", "text": "Frost hit the pear orchard."})
    )
    result = invoke("index", str(added), *opts)
    assert result.exit_code == 0, result.output
    stats = json.loads(invoke("stats", "--json", *opts).stdout)
    assert stats["articles"] == 5
    data = json.loads(invoke("ask", "Gull Rock lighthouse keeper", "--json", *opts).stdout)
    assert data["hits"][0]["citation"]["article_id"] == "late-1"
    added.unlink()  # a named file that is gone: its articles leave the index
    assert invoke("index", str(added), *opts).exit_code == 0
    assert json.loads(invoke("stats", "--json", *opts).stdout)["articles"] == 4
    outside = tmp_path / "elsewhere.json"
    outside.write_text(unread.read_text())
    refused = invoke("index", str(outside), *opts)
    assert refused.exit_code != 0 and "Not in the corpus folder" in str(refused.exception or refused.output)
    assert invoke("index", str(unread), "--full", *opts).exit_code != 0
    folder = invoke("index", str(corpus_dir), *opts)
    assert folder.exit_code != 0 and "Name files, not folders" in str(folder.exception or folder.output)
