"""newsbot's retrieval against rank-bm25, bm25s and tantivy, on the same passages and queries.

    python -m benchmarks.run --articles ../shared/data/realtimeqa/articles.jsonl.gz \\
        --questions ../shared/data/realtimeqa/questions_dev.jsonl.gz

Every engine builds, opens, queries and reindexes in processes of its own (see
`benchmarks.worker`); peers that are not installed (`pip install -e '.[bench]'`) are skipped with
the reason. Inputs are prepared in a temporary folder outside the repository; the results go to
`--out` as `results.json` and `results.md`. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import data
from benchmarks.engines import EXTRA_MODULES, MODULES, SPECS, Spec
from benchmarks.feeds_ingest import feeds_ingest
from benchmarks.report import render

ROOT = Path(__file__).resolve().parents[1]
SCALE_ENGINES = "newsbot,rank-bm25,bm25s,tantivy"
TOO_BIG = {  # why the largest scales are left out, on a 24 GiB machine
    "rank_bm25": "a dict per passage (~10 GB at 2M) and get_scores at ~7 s a query",
    "bm25s": "its tokenizer keeps every token id as a Python int (~10 GB at 2M)",
}


def missing(spec: Spec) -> str | None:
    """Why an engine cannot run here, or None."""
    for module in [MODULES[spec.engine], *EXTRA_MODULES.get(spec.engine, [])]:
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[bench]')"
    return None


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    except OSError:
        memory = 0
    versions = {}
    for name in ("numpy", "nltk", "rank_bm25", "bm25s", "tantivy", "PyStemmer", "scipy"):
        try:
            versions[name] = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


class Runner:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args, self.work = args, work
        self.env = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "NUMBA_NUM_THREADS": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }

    def task(self, spec: Spec, folder: Path, words: int, phase: str, **extra: Any) -> tuple[Path, Path]:
        name = f"{spec.name}-{phase}-{time.monotonic_ns()}"
        out = self.work / "tasks" / f"{name}.out.json"
        path = self.work / "tasks" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "spec": asdict(spec),
                    "work": str(folder),
                    "words": words,
                    "index": str(folder / "index" / spec.name),
                    "phase": phase,
                    "out": str(out),
                    "memory_limit": int(self.args.memory_limit * 2**30),
                    **extra,
                }
            )
        )
        return path, out

    def run(self, spec: Spec, folder: Path, words: int, phase: str, **extra: Any) -> dict[str, Any]:
        path, out = self.task(spec, folder, words, phase, **extra)
        began = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.worker", str(path), str(time.time())],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=self.args.timeout,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {self.args.timeout} s"}
        if done.returncode != 0 or not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return {"error": f"exit {done.returncode}: " + " | ".join(tail)}
        result: dict[str, Any] = json.loads(out.read_text())
        result["wall_s"] = time.perf_counter() - began
        return result

    def serve(self, spec: Spec, folder: Path, words: int, queries: list[str]) -> dict[str, Any]:
        """Throughput: one process per core, each loads the index, then all start together."""
        procs, outs = [], []
        for _ in range(self.args.processes):
            path, out = self.task(
                spec, folder, words, "serve", queries=queries, seconds=self.args.throughput_seconds
            )
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.worker", str(path)],
                    env=self.env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
            outs.append(out)
        try:
            for p in procs:
                assert p.stdout is not None
                if p.stdout.readline().strip() != "READY":
                    raise RuntimeError(p.stderr.read() if p.stderr else "worker failed")
            for p in procs:
                assert p.stdin is not None
                p.stdin.write("GO\n")
                p.stdin.flush()
            for p in procs:
                p.wait(timeout=self.args.timeout)
            results = [json.loads(o.read_text()) for o in outs]
        except Exception as exc:
            for p in procs:
                p.kill()
            return {"error": str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)}
        start = min(r["start"] for r in results)
        end = max(r["start"] + r["elapsed"] for r in results)
        served = sum(r["served"] for r in results)
        return {
            "processes": len(results),
            "served": served,
            "seconds": end - start,
            "qps": served / (end - start),
            "rss_peak": max(r["rss_peak"] for r in results),
        }

    def engine(
        self,
        spec: Spec,
        folder: Path,
        info: dict[str, Any],
        queries: list[str],
        main: bool,
        result: dict[str, Any],
        saved: Callable[[], None] = lambda: None,
    ) -> dict[str, Any]:
        """Run `spec`'s phases, each one's figures put into `result` (and `saved`) as it ends:
        a long run stopped halfway keeps what it measured."""
        result["spec"] = asdict(spec)
        reason = missing(spec)
        if reason:
            result["skipped"] = reason
            return result
        limit = {"rank_bm25": self.args.rank_bm25_max_passages, "bm25s": self.args.bm25s_max_passages}.get(
            spec.engine
        )
        if limit is not None and info["passages"] > limit:
            result["skipped"] = f"not run above {limit:,} passages: {TOO_BIG[spec.engine]}"
            return result
        words = info["words"]
        sample = queries[: self.args.sample] if spec.engine == "rank_bm25" else queries
        say(f"  {spec.name}: build")
        result["build"] = self.run(spec, folder, words, "build")
        saved()
        if "error" in result["build"]:
            return result
        if "query" in spec.phases:
            say(f"  {spec.name}: query ({len(sample)} questions)")
            result["query"] = self.run(
                spec, folder, words, "query", queries=sample, warmup=spec.engine != "rank_bm25"
            )
            saved()
        if main and "throughput" in spec.phases:
            say(f"  {spec.name}: throughput ({self.args.processes} processes)")
            result["throughput"] = self.serve(spec, folder, words, sample)
            saved()
        if main and "reindex_named" in spec.phases:  # first: on a copy of the built index
            say(f"  {spec.name}: reindex after {info['changed']} articles changed, the files named")
            result["reindex_named"] = self.run(spec, folder, words, "reindex_named")
            saved()
        if main and "reindex" in spec.phases:
            say(f"  {spec.name}: reindex after {info['changed']} articles changed")
            result["reindex"] = self.run(spec, folder, words, "reindex")
            saved()
        if main and "additions" in spec.phases:
            say(f"  {spec.name}: 10 new articles added and answered, 3 times")
            result["additions"] = self.run(spec, folder, words, "additions")
            saved()
        if not self.args.keep_workdir:  # kept: re-query it (`benchmarks.query`) without a rebuild
            shutil.rmtree(folder / "index" / spec.name, ignore_errors=True)
        return result


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--articles", type=Path, required=True, help="articles .jsonl(.gz), newsbot's reader")
    p.add_argument("--questions", type=Path, required=True, help="questions .jsonl(.gz), field `question`")
    p.add_argument("--queries", type=int, default=500, help="questions used as queries (default 500)")
    p.add_argument(
        "--sample",
        type=int,
        default=20,
        help="questions for rank-bm25, whose get_scores takes ~1 s each at 215k (default 20)",
    )
    p.add_argument(
        "--scales",
        default=",".join(data.DEFAULT_SCALES),
        help=f"scales to run (default: {','.join(data.DEFAULT_SCALES)}; also: 10M)",
    )
    p.add_argument("--main-scale", default=data.MAIN, help="the scale of the head-to-head table")
    p.add_argument("--engines", default=",".join(s.name for s in SPECS), help="engine configurations")
    p.add_argument("--scale-engines", default=SCALE_ENGINES, help="configurations at the other scales")
    p.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="throughput processes")
    p.add_argument("--throughput-seconds", type=float, default=5.0)
    p.add_argument("--rank-bm25-max-passages", type=int, default=500_000)
    p.add_argument("--bm25s-max-passages", type=int, default=1_000_000)
    p.add_argument("--change-every", type=int, default=100, help="reindex: every n-th article edited")
    p.add_argument("--timeout", type=float, default=3600.0, help="per process, seconds")
    p.add_argument(
        "--memory-limit",
        type=float,
        default=21.0,
        help="per process, GiB of data (not maps); newsbot's 2M build needs ~18",
    )
    p.add_argument(
        "--feed-articles",
        type=int,
        default=2000,
        help="feed ingest: article pages served by the local feed server and polled (0: skipped)",
    )
    p.add_argument("--feeds", type=int, default=20, help="feed ingest: feeds they are spread over")
    p.add_argument("--workdir", type=Path, help="inputs and indexes (default: a temporary folder)")
    p.add_argument(
        "--keep-workdir",
        action="store_true",
        help="keep the inputs and indexes; a later run with the same --workdir reuses the inputs",
    )
    p.add_argument(
        "--prepare-only",
        action="store_true",
        help="write the scales' inputs into --workdir (kept) and stop: a later run reuses them",
    )
    p.add_argument("--out", type=Path, default=ROOT / "bench-results", help="results folder")
    p.add_argument(
        "--scale-passages", default="", help="override scale sizes, e.g. 10k=200,50k=500 (for smoke runs)"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    if args.prepare_only:
        if not args.workdir:
            raise SystemExit("--prepare-only needs --workdir")
        args.keep_workdir = True
    scales = {name: data.SCALES[name] for name in args.scales.split(",") if name}
    for item in filter(None, args.scale_passages.split(",")):
        name, n = item.split("=")
        scales[name] = replace(scales[name], passages=int(n))
    specs = {s.name: s for s in SPECS}
    chosen = [specs[n] for n in args.engines.split(",") if n]
    at_scale = [specs[n] for n in args.scale_engines.split(",") if n]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="newsbot-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    command = "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:])
    results: dict[str, Any] = {
        "command": command,
        "machine": machine(),
        "started": time.time(),
        "queries": args.queries,
        "sample": args.sample,
        "scales": {},
    }
    try:
        say(f"reading {args.articles}")
        began = time.perf_counter()
        articles = data.read_articles(args.articles)
        results["read_s"] = time.perf_counter() - began
        queries = data.read_questions(args.questions, args.queries)
        results["n_queries"] = len(queries)
        runner = Runner(args, work)
        for name, scale in scales.items():
            main_scale = name == args.main_scale
            folder = work / name
            engines_here = chosen if main_scale else at_scale
            # The peers' passages (~13 GB of text at 10M) only when a peer runs.
            docs = any(spec.engine != "newsbot" for spec in engines_here)
            info = data.prepared(folder, scale, args.change_every, docs)
            if info is None:
                say(f"scale {name}: preparing inputs")
                began = time.perf_counter()
                info = data.prepare(articles, scale, folder, args.change_every, docs)
                info["prepare_s"] = time.perf_counter() - began
                info.update(change_every=args.change_every, copies=scale.copies, limit=scale.passages)
                (folder / "prepared.json").write_text(json.dumps(info))
            else:
                say(f"scale {name}: reusing the inputs in {folder}")
            if args.prepare_only:
                results["scales"][name] = {"info": info, "main": main_scale, "engines": {}}
                continue
            say(f"scale {name}: {info['articles']:,} articles, {info['passages']:,} passages")
            engines: dict[str, Any] = {}
            results["scales"][name] = {"info": info, "main": main_scale, "engines": engines}
            for spec in engines_here:
                engines[spec.name] = {}
                runner.engine(
                    spec,
                    folder,
                    info,
                    queries,
                    main_scale,
                    engines[spec.name],
                    lambda: write(args.out, results),
                )
                if "skipped" in engines[spec.name]:
                    say(f"  {spec.name}: skipped: {engines[spec.name]['skipped']}")
            if not args.keep_workdir:
                shutil.rmtree(folder, ignore_errors=True)
            write(args.out, results)
    finally:
        if not args.keep_workdir and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    if args.feed_articles and not args.prepare_only:
        say(f"feed ingest: {args.feed_articles:,} article pages over {args.feeds} feeds")
        results["feed_ingest"] = feeds_ingest(args.feed_articles, args.feeds, runner.env, args.timeout)
    results["finished"] = time.time()
    write(args.out, results)
    print(render(results))
    return results


def write(out: Path, results: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "results.md").write_text(render(results))


if __name__ == "__main__":
    main()
