"""Packaging as a Python engineer expects it: declared imports, one version, a wheel that works."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from importlib.metadata import packages_distributions, version
from pathlib import Path

import pytest

import newsbot

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "newsbot"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SEED = next((ROOT / "corpus").glob("000_*.txt"))

LEFTOVERS = ("*.egg-info", "__pycache__", "build", "dist")
# Imported only where they are needed, which says how to install them when missing: `newsbot eval`,
# and NEWSBOT_DATABASE_URL (PostgreSQL).
OPTIONAL = {"ir-measures": "eval", "psycopg": "postgres", "psycopg-pool": "postgres"}
# Declared but not imported by src/ on every branch: the user's chosen scorer, which
# `newsbot index --verify` compares the index against at run time.
KEPT = {"rank-bm25", "lxml-html-clean"}  # and trafilatura's own need, which it does not declare


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements: list[str]) -> set[str]:
    return {normalized(re.match(r"[A-Za-z0-9._-]+", r).group()) for r in requirements}  # type: ignore[union-attr]


def third_party_imports() -> dict[str, set[str]]:
    """Top-level module imported anywhere in src/ (not stdlib, not newsbot) -> the files importing it."""
    found: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("newsbot", "__future__"):
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_import_is_a_declared_dependency() -> None:
    runtime = requirement_names(PYPROJECT["project"]["dependencies"])
    extras = {k: requirement_names(v) for k, v in PYPROJECT["project"]["optional-dependencies"].items()}
    providers = packages_distributions()
    imported: set[str] = set()
    for module, files in sorted(third_party_imports().items()):
        dists = {normalized(d) for d in providers.get(module, [])}
        assert dists, f"`import {module}` ({', '.join(sorted(files))}): no installed distribution has it"
        imported |= dists
        optional = [d for d in dists if d in OPTIONAL]
        if optional:
            assert all(d in extras[OPTIONAL[d]] for d in optional), (module, files)
        else:
            assert dists & runtime, f"`import {module}` ({', '.join(sorted(files))}) needs {dists} declared"
    assert {"aiohttp", "yarl", "discord-py"} <= imported  # the scan sees bot/
    assert runtime - imported <= KEPT, "declared but never imported"


def test_the_version_lives_in_pyproject_only() -> None:
    number = PYPROJECT["project"]["version"]
    assert newsbot.__version__ == version("newsbot") == number
    written = [p for p in SRC.rglob("*.py") if f'"{number}"' in p.read_text(encoding="utf-8")]
    assert written == []


def run(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.mark.wheel
def test_the_built_wheel_installs_and_answers_in_a_fresh_venv(tmp_path: Path) -> None:
    # Build as a user would (sdist, then the wheel from the sdist, each in an isolated env), from
    # a copy without the build's leftovers: a stale *.egg-info would feed its old file list in.
    source = tmp_path / "source"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns(*LEFTOVERS))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    log = run(sys.executable, "-m", "build", "--outdir", tmp_path / "dist", source)
    assert "SetuptoolsDeprecationWarning" not in log
    (wheel,) = (tmp_path / "dist").glob("newsbot-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(f"newsbot-{newsbot.__version__}.dist-info/METADATA").decode()
    data = sorted(p.name for p in (SRC / "text" / "data").glob("*.txt"))
    assert data and {f"newsbot/text/data/{name}" for name in data} <= names
    assert "License-Expression: MIT" in metadata
    assert {"aiohttp", "yarl"} <= {
        normalized(m) for m in re.findall(r"^Requires-Dist: ([A-Za-z0-9._-]+)[^;\n]*$", metadata, re.M)
    }

    # A fresh venv that sees the test environment's packages as its dependencies (a .pth line
    # per folder; their own .pth files, the editable install of src/ among them, stay unread),
    # so nothing is downloaded and newsbot itself can only come from the wheel.
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "test_environment.pth").write_text("\n".join(sorted(deps)) + "\n")
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        wheel,
    )

    work = tmp_path / "work"
    (work / "corpus").mkdir(parents=True)
    (work / "corpus" / SEED.name).write_bytes(SEED.read_bytes())
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NEWSBOT_", "DISCORD_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["COLUMNS"] = "200"
    where = run(python, "-c", "import newsbot; print(newsbot.__file__)", cwd=work, env=env)
    assert Path(where.strip()).is_relative_to(site)
    assert run(venv / "bin" / "newsbot", "--version", cwd=work, env=env) == f"newsbot {newsbot.__version__}\n"
    answer = run(venv / "bin" / "newsbot", "ask", "who was sanctioned?", cwd=work, env=env)
    assert "Kadyrov" in answer and SEED.stem in answer
    json_answer = run(python, "-m", "newsbot", "ask", "who was sanctioned?", "--json", cwd=work, env=env)
    assert f'"article_id": "{SEED.stem}"' in json_answer
