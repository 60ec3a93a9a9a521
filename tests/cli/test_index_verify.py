"""`newsbot index --verify N`: parity with rank-bm25 reported, a difference exits non-zero."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from newsbot.cli import app
from newsbot.index.store import Index
from newsbot.index.verify import Parity, verify
from newsbot.text.analyzer import Analyzer
from tests.index.test_merge import _corpus

runner = CliRunner()


def test_index_verify_reports_parity(tmp_path: Path) -> None:
    root = _corpus(tmp_path, 30)
    result = runner.invoke(
        app, ["index", "--corpus", str(root), "--data-dir", str(tmp_path / "d"), "--verify", "12"]
    )
    assert result.exit_code == 0, result.output
    assert "12/12 queries identical to rank-bm25" in result.output


def test_index_verify_exits_non_zero_on_a_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _corpus(tmp_path, 30)

    def on_damaged_weights(index: Index, analyzer: Analyzer, n: int, **options: Any) -> Parity:
        """The real check, of the built index with every passage norm a little off."""
        return verify(replace(index, norm=index.norm * 1.001), analyzer, n, **options)

    monkeypatch.setattr("newsbot.cli.verify", on_damaged_weights)
    result = runner.invoke(
        app, ["index", "--corpus", str(root), "--data-dir", str(tmp_path / "d"), "--verify", "5"]
    )
    assert result.exit_code == 1
    assert "0/5 queries identical" in result.output and "Differs" in result.output
