"""One engine, one phase, in a process of its own: `python -m benchmarks.worker TASK.json`.

So that peak RSS is per engine and per phase, and start-up is measured from a cold process.
Phases: `build` (cold build and save), `query` (start-up from the saved index, then latency),
`serve` (start-up, then queries for a while after the parent says go: throughput) and `reindex`
(after the 1% edit). The figures go to the task's `out` file as JSON.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.engines import Spec, Timer, make

IMPORTS = {
    "newsbot": ["newsbot.index.store", "newsbot.text.analyzer"],
    "rank_bm25": ["rank_bm25"],
    "bm25s": ["bm25s", "Stemmer"],
    "tantivy": ["tantivy"],
}


def rss_now() -> int:
    """Resident set size now, in bytes."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_peak() -> int:
    """Peak resident set size of this process since it started, in bytes.

    VmHWM, not getrusage: Linux carries ru_maxrss over `exec`, so a worker would report its
    parent's peak when that was higher.
    """
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def children_peak() -> int:
    """Peak RSS of the largest child process waited for (newsbot's analysis workers), in bytes."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(task_path: str, launched: float | None = None) -> None:
    task: dict[str, Any] = json.loads(Path(task_path).read_text())
    if task.get("memory_limit"):  # a MemoryError here rather than the kernel killing something else
        resource.setrlimit(resource.RLIMIT_DATA, (task["memory_limit"], task["memory_limit"]))
    spec = Spec(**{**task["spec"], "phases": tuple(task["spec"]["phases"])})
    engine = make(spec, Path(task["work"]), task["words"])
    index_dir = Path(task["index"])
    phase = task["phase"]
    began = time.perf_counter()
    modules = IMPORTS[spec.engine] + (["newsbot.text.analyzer"] if spec.tokens == "newsbot" else [])
    for name in modules:
        importlib.import_module(name)
    out: dict[str, Any] = {"import_s": time.perf_counter() - began, "rss_start": rss_now()}
    timer = Timer()
    if phase == "build":
        out.update(engine.build(index_dir, timer))
        out["size"] = folder_size(index_dir)
    elif phase == "reindex":
        out.update(engine.reindex(index_dir, timer))
        out["size"] = folder_size(index_dir)
    elif phase == "reindex_named":
        out.update(engine.reindex(index_dir, timer, named=True))
    elif phase == "additions":
        out.update(engine.additions(index_dir, timer))
    else:
        queries: list[str] = task["queries"]
        with timer("open"):
            handle = engine.open(index_dir)
        if launched is not None:  # from the parent's launch of this process: what a restart costs
            out["startup_s"] = time.time() - launched
        out["rss_open"] = rss_now()
        if phase == "query":
            first = time.perf_counter()
            engine.query(handle, queries[0])
            out["first_query_s"] = time.perf_counter() - first
            if task.get("warmup", True):
                for q in queries:
                    engine.query(handle, q)
            latencies, hits = [], []
            for q in queries:
                t = time.perf_counter()
                answer = engine.query(handle, q)
                latencies.append(time.perf_counter() - t)
                hits.append(engine.hits(handle, answer))
            out.update(latencies=latencies, hits=hits)
        else:  # serve: wait for the parent's go, then answer queries for `seconds`
            print("READY", flush=True)
            sys.stdin.readline()
            start = time.perf_counter()
            done = 0
            while done < len(queries) or time.perf_counter() - start < task["seconds"]:
                engine.query(handle, queries[done % len(queries)])
                done += 1
            out.update(
                served=done,
                start=time.time() - (time.perf_counter() - start),
                elapsed=time.perf_counter() - start,
            )
    out["seconds"] = timer.seconds
    out["rss_peak"] = rss_peak()
    out["children_rss_peak"] = children_peak()
    Path(task["out"]).write_text(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else None)
