"""The systemd unit in deploy/ is one systemd accepts (where systemd-analyze is installed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "deploy" / "newsbot.service"
INSTALLED = "/opt/newsbot/.venv/bin/newsbot"


def test_the_unit_runs_newsbot_from_the_documented_place() -> None:
    text = UNIT.read_text()
    assert f"ExecStart={INSTALLED} run\n" in text
    assert "KillSignal=SIGINT" in text  # newsbot's clean stop


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    newsbot = Path(sys.executable).parent / "newsbot"
    if not newsbot.exists():
        pytest.skip(f"no newsbot script next to {sys.executable}")
    # verify checks that ExecStart exists: point it at this environment's newsbot.
    unit = tmp_path / "newsbot.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED, str(newsbot)))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
