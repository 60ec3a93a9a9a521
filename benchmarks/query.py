"""Re-query a saved index without rebuilding it: `python -m benchmarks.query INDEX_DIR --questions Q`.

Times the questions as the benchmark's query phase does (one warm-up pass, then each timed) in two
ways: `bench`, the benchmark's own query (top 10, any number of passages per article, no prior),
and `answer`, what the answer path asks the index for (`answers.answer`: top 2 * 3 = 6, one
passage per article, the recency prior as of the newest article). `--check` also compares every
result with scoring every passage (ids and scores, exactly); `--profile` prints where the time of
one pass goes. Keep an index with `benchmarks.run ... --workdir DIR --keep-workdir`: it is under
DIR/<scale>/index/newsbot.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.data import read_questions
from benchmarks.engines import K

Query = Callable[[list[int]], list[tuple[int, float]]]


def modes(index: Any) -> dict[str, tuple[Query, Query]]:
    """Per mode, the search and the same search by scoring every passage."""
    from newsbot.answers.ranking import RANKING, prior, reference_day
    from newsbot.index.search import _search_all

    factor = prior(index, reference_day(index) or 1, RANKING)
    return {
        "bench": (
            lambda t: index.search(t, K, per_article=0),
            lambda t: _search_all(index, t, K, _no_filters(), 0, None),
        ),
        "answer": (
            lambda t: index.search(t, 6, per_article=1, factor=factor),
            lambda t: _search_all(index, t, 6, _no_filters(), 1, factor),
        ),
    }


def _no_filters() -> Any:
    from newsbot.records import Filters

    return Filters()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.query", description=__doc__.split("\n\n")[0])
    p.add_argument("index", type=Path, help="an index folder (DIR/<scale>/index/newsbot)")
    p.add_argument("--questions", type=Path, required=True)
    p.add_argument("--queries", type=int, default=500)
    p.add_argument("--modes", default="bench,answer")
    p.add_argument("--check", action="store_true", help="compare with scoring every passage")
    p.add_argument("--profile", action="store_true", help="profile one pass of each mode")
    args = p.parse_args(argv)

    from newsbot.index.store import Index
    from newsbot.text.analyzer import default_analyzer

    index = Index.load(args.index)
    assert index is not None, f"no index under {args.index}"
    analyzer = default_analyzer().knowing(index.stems)
    questions = read_questions(args.questions, args.queries)
    terms = [index.term_ids(analyzer.terms(q)) for q in questions]
    print(
        f"{index.n_passages:,} passages ({len(index.dead):,} dead), {len(index.segments)} segments, "
        f"{len(terms)} questions; load average {os.getloadavg()[0]:.2f}"
    )
    available = modes(index)
    for name in args.modes.split(","):
        search, exhaustive = available[name]
        for t in terms:  # warm-up, as the benchmark
            search(t)
        latencies = []
        cpu = time.process_time()
        for t in terms:
            began = time.perf_counter()
            search(t)
            latencies.append(time.perf_counter() - began)
        cpu = time.process_time() - cpu  # steadier than wall time on a shared machine
        print(
            f"{name}: p50 {percentile(latencies, 50):.2f} ms, p95 {percentile(latencies, 95):.2f} ms, "
            f"mean {np.mean(latencies) * 1000:.2f} ms, CPU {cpu / len(terms) * 1000:.2f} ms a query"
        )
        if args.check:
            wrong = sum(search(t) != exhaustive(t) for t in terms)
            print(f"{name}: {wrong} of {len(terms)} results differ from scoring every passage")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            for t in terms:
                search(t)
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(15)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
