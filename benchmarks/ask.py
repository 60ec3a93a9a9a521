"""Time whole answers on a saved index: `python -m benchmarks.ask INDEX_DIR --questions Q`.

What `/ask` and `newsbot ask` run for a question once the index is open (`answers.answer`, the
shipped defaults: 3 stories, one passage per article, the recency prior, the headline, snippets and
no-match), not Discord. One warm-up pass over the first questions, then each question timed, in
wall time and in this thread's CPU time (on a machine shared with other work, the CPU time is what
the code costs). Keep an index with `benchmarks.run ... --workdir DIR --keep-workdir` (it is under
DIR/<scale>/index/newsbot) or `benchmarks.changes prepare` (WORK/index-base-<format>).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.data import read_questions


def timed(index: Any, analyzer: Any, questions: list[str], warmup: int) -> dict[str, Any]:
    """Per question, wall and CPU milliseconds of `answers.answer`; how many matched."""
    from newsbot.answers.answer import answer
    from newsbot.errors import BadQuestion

    def ask(question: str) -> bool | None:  # matched, or None: refused with a reason
        try:
            return answer(index, analyzer, question).matched
        except BadQuestion:  # (only common words, say): `/ask` replies with the reason
            return None

    for q in questions[:warmup]:
        ask(q)
    wall, cpu, outcomes = [], [], []
    for q in questions:
        began, began_cpu = time.perf_counter(), time.thread_time()
        outcomes.append(ask(q))
        cpu.append((time.thread_time() - began_cpu) * 1000)
        wall.append((time.perf_counter() - began) * 1000)
    return {
        "questions": len(questions),
        "matched": outcomes.count(True),
        "refused": outcomes.count(None),
        **{f"wall_p{q}_ms": float(np.percentile(wall, q)) for q in (50, 95, 99)},
        **{f"cpu_p{q}_ms": float(np.percentile(cpu, q)) for q in (50, 95, 99)},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ask", description=__doc__.split("\n\n")[0])
    p.add_argument("index", type=Path, help="an index folder")
    p.add_argument("--questions", type=Path, required=True, help="questions (.jsonl.gz, as the benchmark's)")
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=50)
    args = p.parse_args(argv)

    from newsbot.index.store import Index
    from newsbot.text.analyzer import default_analyzer

    index = Index.load(args.index)
    assert index is not None, f"no index under {args.index}"
    analyzer = default_analyzer().knowing(index.stems)
    load = os.getloadavg()[0]
    out = {
        "passages": index.n_live,
        "segments": len(index.segments),
        "load_average": round(load, 2),
        **timed(index, analyzer, read_questions(args.questions, args.queries), args.warmup),
    }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
