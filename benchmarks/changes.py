"""newsbot's small-change phases alone, one fresh process per run: quicker than `benchmarks.run`
for comparing two versions of the code side by side (run each with its own `PYTHONPATH`).

    python -m benchmarks.changes prepare --articles ../shared/data/realtimeqa/articles.jsonl.gz \\
        --work /tmp/changes                  # the 215k scale's corpus, and its index (once per format)
    python -m benchmarks.changes reindex --work /tmp/changes    # the benchmark's 1% reindex
    python -m benchmarks.changes reindex --named --work /tmp/changes    # ... told which files changed
    python -m benchmarks.changes add --work /tmp/changes        # benchmarks.additions' 3 rounds
    python -m benchmarks.changes add --after-reindex --work /tmp/changes   # ... after that reindex

Every run starts from a copy of the prepared index (`index-base-<format>`), so runs compare. The
work folder lives outside the repository: it holds the data set's text.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import data


def prepare(articles: Path, work: Path, scale: str) -> dict[str, Any]:
    """The scale's corpus and changes (`data.prepare`) unless there, and the index this code builds."""
    from newsbot.index.build import build_index
    from newsbot.index.store import FORMAT
    from newsbot.text.analyzer import Analyzer

    chosen = data.SCALES[scale]
    info_path = work / "info.json"
    if not info_path.is_file():
        info = data.prepare(data.read_articles(articles), chosen, work)
        info_path.write_text(json.dumps(info))
    base = work / f"index-base-{FORMAT}"
    began = time.perf_counter()
    index, _ = build_index(work / "corpus", Analyzer(), target_words=chosen.words)
    shutil.rmtree(base, ignore_errors=True)
    index.save(base, keep=0)
    return {**json.loads(info_path.read_text()), "build_s": time.perf_counter() - began}


def _fresh_copy(work: Path, name: str) -> Path:
    from newsbot.index.store import FORMAT

    index_dir = work / f"{name}-{FORMAT}"
    shutil.rmtree(index_dir, ignore_errors=True)
    shutil.copytree(work / f"index-base-{FORMAT}", index_dir)
    return index_dir


def _cpu() -> float:
    """CPU seconds of this process so far, every thread's, user and system: on a machine shared
    with other jobs, what a change of code changes when wall times are mostly waiting for a core."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def reindex(work: Path, named: bool = False) -> dict[str, Any]:
    """The benchmark's reindex phase: the changed articles' files rewritten, the saved index
    updated by a scan of the corpus (`named`: told which files changed) and saved (timed, and
    its CPU), the files put back."""
    from benchmarks.engines import SPECS, Newsbot, Timer

    class CpuTimer(Timer):
        def __init__(self) -> None:
            super().__init__()
            self.cpu: dict[str, float] = {}

        @contextmanager
        def __call__(self, name: str) -> Iterator[None]:
            began = _cpu()
            try:
                with super().__call__(name):
                    yield
            finally:
                self.cpu[name] = self.cpu.get(name, 0.0) + _cpu() - began

    info = json.loads((work / "info.json").read_text())
    engine = Newsbot(next(s for s in SPECS if s.name == "newsbot"), work, info["words"])
    timer = CpuTimer()
    out = engine.reindex(_fresh_copy(work, "index-reindex"), timer, named)
    return {**out, "seconds": timer.seconds, "cpu": timer.cpu, "nltk_imported": "nltk" in sys.modules}


def add(work: Path, after_reindex: bool = False) -> dict[str, Any]:
    """benchmarks.additions: 10 new articles added and answered, 3 times in one process (with
    the CPU of the 3 rounds, writing the new files included); `after_reindex`: to the index the
    1% reindex left (dead passages in the big segment, as in `benchmarks.run`), in this process."""
    from benchmarks.additions import additions
    from newsbot.index.store import FORMAT

    info = json.loads((work / "info.json").read_text())
    if after_reindex:
        reindex(work)
        index_dir = work / f"index-reindex-{FORMAT}"
    else:
        index_dir = _fresh_copy(work, "index-add")
    began = _cpu()
    out = additions(work, info["words"], index_dir)
    return {**out, "cpu": _cpu() - began}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m benchmarks.changes", description=__doc__.split("\n")[0])
    p.add_argument("phase", choices=("prepare", "reindex", "add"))
    p.add_argument("--work", type=Path, required=True, help="the prepared folder (outside the repository)")
    p.add_argument("--articles", type=Path, help="prepare: the articles (.jsonl.gz)")
    p.add_argument("--scale", default=data.MAIN, choices=sorted(data.SCALES))
    p.add_argument("--after-reindex", action="store_true", help="add: to the index the 1%% reindex left")
    p.add_argument("--named", action="store_true", help="reindex: told which files changed (no scan)")
    args = p.parse_args(argv)
    if args.phase == "prepare":
        if args.articles is None:
            p.error("prepare needs --articles")
        args.work.mkdir(parents=True, exist_ok=True)
        result = prepare(args.articles, args.work, args.scale)
    else:
        result = (
            reindex(args.work, args.named) if args.phase == "reindex" else add(args.work, args.after_reindex)
        )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
