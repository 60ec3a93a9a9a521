"""The CLI against hostile corpora and surprising uses (issue 11), through `newsbot …` itself."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from typer.testing import CliRunner

from newsbot.cli import app

ESC = "\x1b"
HOSTILE = {
    "id": "esc\x1b[2J-1",
    "title": "Lighthouse keepers\u202e strike",
    "text": "Lighthouse keepers went on strike at the old lighthouse on Monday.",
    "source": "\x1b]8;;https://evil.example\x07Evil\x1b]8;;\x07 \x1b[31mWire",
    "url": "https://example.org/\x1b[5mblink",
    "date": "2024-02-02",
}


def test_terminal_escapes_from_the_corpus_are_never_printed(corpus_dir: Path, tmp_path: Path) -> None:
    (corpus_dir / "hostile.jsonl").write_text(json.dumps(HOSTILE) + "\n")
    (corpus_dir / "bad\x1b[31m.json").write_text("{not json")
    opts = ["--corpus", str(corpus_dir), "--data-dir", str(tmp_path / "d")]
    for args in (("index", *opts), ("ask", "lighthouse keepers strike", *opts), ("stats", *opts)):
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 0, result.output
        assert ESC not in result.output and "\x07" not in result.output and "\u202e" not in result.output
    assert "Lighthouse keepers" in CliRunner().invoke(app, ["ask", "lighthouse keepers strike", *opts]).output


def test_one_bad_file_never_stops_an_index_build(corpus_dir: Path, tmp_path: Path) -> None:
    (corpus_dir / "deep.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    (corpus_dir / "deep-lines.jsonl").write_bytes(b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"\n")
    good = json.dumps({"id": "torn-1", "title": "Torn", "text": "A torn archive."}).encode() + b"\n"
    (corpus_dir / "torn.jsonl.gz").write_bytes(gzip.compress(good * 200)[:-30] + b"junk")
    (corpus_dir / "noise.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 500)
    (corpus_dir / "bomb.jsonl.gz").write_bytes(gzip.compress(b"\n" * 50_000_000, 9))
    opts = ["--corpus", str(corpus_dir), "--data-dir", str(tmp_path / "d")]
    result = CliRunner().invoke(app, ["index", *opts])
    assert result.exit_code == 0, result.output
    assert "Indexed 4 articles" in result.output
    for name in ("deep.json", "deep-lines.jsonl", "torn.jsonl.gz", "noise.jsonl.gz", "bomb.jsonl.gz"):
        assert name in result.output
    assert "nested too deeply" in result.output and "refused" in result.output
