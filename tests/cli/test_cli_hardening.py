"""The CLI against hostile corpora and surprising uses (issue 11), through `newsbot …` itself."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsbot.bot import runner
from newsbot.cli import app, main

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


def opts(corpus: Path | None, data: Path) -> list[str]:
    return (["--corpus", str(corpus)] if corpus else []) + ["--data-dir", str(data)]


def test_the_index_remembers_its_corpus(corpus_dir: Path, tmp_path: Path) -> None:
    data, other = tmp_path / "d", tmp_path / "other"
    other.mkdir()
    (other / "one.txt").write_text("Moon landing\n\nAstronauts landed on the moon.")
    assert "Indexed 4 articles" in CliRunner().invoke(app, ["index", *opts(corpus_dir, data)]).output
    plain = CliRunner().invoke(app, ["index", *opts(None, data)])  # updates that corpus
    assert plain.exit_code == 0 and "Indexed 4 articles" in plain.output and "removed 0" in plain.output
    switch = CliRunner().invoke(app, ["index", *opts(other, data)])
    assert switch.exit_code != 0 and "--replace" in str(switch.exception)
    for command in (["ask", "moon landing"], ["stats"]):
        refused = CliRunner().invoke(app, [*command, *opts(other, data)])
        assert refused.exit_code != 0 and f"holds the corpus {corpus_dir}" in str(refused.exception)
    for path in corpus_dir.iterdir():  # an emptied folder
        path.unlink()
    emptied = CliRunner().invoke(app, ["index", *opts(None, data)])
    assert emptied.exit_code != 0 and "would remove 4 of the 4" in str(emptied.exception)
    replaced = CliRunner().invoke(app, ["index", "--replace", *opts(other, data)])
    assert replaced.exit_code == 0 and "Indexed 1 articles" in replaced.output
    assert "Moon landing" in CliRunner().invoke(app, ["ask", "moon landing", *opts(other, data)]).output


def test_a_year_or_a_month_means_its_whole_span(corpus_dir: Path, tmp_path: Path) -> None:
    for until in ("2023", "2023-11"):
        result = CliRunner().invoke(
            app, ["ask", "chess championship", "--until", until, "--json", *opts(corpus_dir, tmp_path / "d")]
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["hits"][0]["citation"]["article_id"] == "chess-3"  # of 2023-11-12


def test_sources_by_short_name_and_unknown_ones_named(corpus_dir: Path, tmp_path: Path) -> None:
    wire = {"id": "cnn-1", "title": "Storm", "text": "A storm hit the coast.", "source": "www.cnn.com"}
    (corpus_dir / "cnn.jsonl").write_text(json.dumps(wire) + "\n")
    for typed in ("CNN", "cnn.com", "https://www.cnn.com/"):
        result = CliRunner().invoke(
            app, ["ask", "storm coast", "--source", typed, "--json", *opts(corpus_dir, tmp_path / "d")]
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["hits"][0]["citation"]["source"] == "www.cnn.com"
    unknown = CliRunner().invoke(
        app, ["ask", "storm", "--source", "Daily Ledgr", *opts(corpus_dir, tmp_path / "d")]
    )
    assert unknown.exit_code != 0
    assert str(unknown.exception) == "No source is called “Daily Ledgr”. The closest: “Daily Ledger”."


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@pytest.mark.usefixtures("terminal_ctrl_c")
def test_one_ctrl_c_stops_an_index_build_with_one_line(tmp_path: Path) -> None:
    if not Path("/proc/self/task").exists():
        pytest.skip("needs /proc to see the build's worker processes")
    corpus = tmp_path / "big"
    corpus.mkdir()
    rng = random.Random(11)
    words = [f"w{n}" for n in range(20_000)]
    with (corpus / "big.jsonl").open("w") as fh:
        for n in range(2_500):
            text = " ".join(rng.choices(words, k=900)) + "."
            fh.write(json.dumps({"id": f"a{n}", "title": f"Article {n}", "text": text}) + "\n")
    build = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "newsbot",
            "index",
            "--corpus",
            str(corpus),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 60
        while len(children(build.pid)) < 2 and build.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert build.poll() is None, "the build ended before its workers started"
        time.sleep(0.3)
        os.killpg(build.pid, signal.SIGINT)  # what one Ctrl-C sends
        _out, err = build.communicate(timeout=20)
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
            build.wait()
    assert (build.returncode, err.strip()) == (130, "Stopped: the index was not changed."), err


def run_newsbot(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str]
) -> str:
    """`newsbot run` as the console script runs it (`main`); its stderr, which must be one line."""
    from discord.http import Route

    monkeypatch.setattr(Route, "BASE", Route.BASE)  # apply_endpoints sets it process wide
    monkeypatch.chdir(Path(env["NEWSBOT_DATA_DIR"]))  # no .env of the developer's
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["newsbot", "run"])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code in (1, 2)  # 2: a malformed setting (see tests/cli/test_common.py)
    err = capsys.readouterr().err
    assert err.count("Error:") == 1 and "Traceback" not in err, err
    return " ".join(err.split())  # one message, however the console wrapped it


def test_run_against_a_silent_endpoint_times_out_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(runner, "LOGIN_TIMEOUT", 0.5)
    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        env = {
            "DISCORD_TOKEN": "t",
            "DISCORD_API_BASE": f"http://127.0.0.1:{port}/api/v10",
            "NEWSBOT_DATA_DIR": str(tmp_path),
        }
        err = run_newsbot(monkeypatch, capsys, env)
    assert "accepted the connection but did not answer within 0.5 s" in err


def test_run_against_an_api_base_that_answers_404_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"message": "404: Not Found", "code": 0}')

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}/not-the-api"
        err = run_newsbot(
            monkeypatch,
            capsys,
            {"DISCORD_TOKEN": "t", "DISCORD_API_BASE": base, "NEWSBOT_DATA_DIR": str(tmp_path)},
        )
    finally:
        server.shutdown()
        server.server_close()
    assert "answered HTTP 404" in err and "DISCORD_API_BASE" in err


def test_run_with_a_bad_log_level_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env = {"DISCORD_TOKEN": "t", "NEWSBOT_LOG_LEVEL": "LOUD", "NEWSBOT_DATA_DIR": str(tmp_path)}
    assert "NEWSBOT_LOG_LEVEL='LOUD' is not valid" in run_newsbot(monkeypatch, capsys, env)


def test_logs_export_never_hands_a_spreadsheet_a_formula(corpus_dir: Path, tmp_path: Path) -> None:
    formula = '=HYPERLINK("https://evil.example","solar farm")'
    CliRunner().invoke(app, ["ask", formula, *opts(corpus_dir, tmp_path / "d")])
    result = CliRunner().invoke(app, ["logs", "export", "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    [row] = list(csv.DictReader(io.StringIO(result.stdout)))
    assert row["question"] == "'" + formula
