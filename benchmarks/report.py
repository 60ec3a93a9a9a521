"""Markdown tables from a benchmark run's results (see `benchmarks.run`)."""

from __future__ import annotations

from typing import Any

import numpy as np

REFERENCE = "rank-bm25+nb"  # rank-bm25 on newsbot's tokens: the scores newsbot must equal


def figures(result: dict[str, Any]) -> dict[str, Any]:
    """One engine's headline figures (seconds, milliseconds, bytes, queries per second)."""
    f: dict[str, Any] = {}
    build = result.get("build", {})
    if "seconds" in build:
        s = build["seconds"]
        f["read_s"] = s.get("read")
        f["analysis_s"] = s.get("analysis")
        f["index_s"] = s.get("index")
        f["save_s"] = s.get("save")
        # Cold build: analysis included, reading the corpus file excluded (the same reader for all).
        f["build_s"] = sum(s.get(k, 0.0) for k in ("analysis", "index", "save"))
        f["build_rss"] = build["rss_peak"]
        f["build_workers_rss"] = build.get("children_rss_peak") or None  # newsbot's analysis processes
        f["size"] = build["size"]
        f["passages"] = build.get("passages")
    query = result.get("query", {})
    if "latencies" in query:
        ms = np.array(query["latencies"]) * 1000
        f["p50_ms"], f["p95_ms"], f["p99_ms"] = (float(np.percentile(ms, q)) for q in (50, 95, 99))
        f["mean_ms"] = float(ms.mean())
        f["n_queries"] = len(ms)
        f["import_s"] = query["import_s"]
        f["open_s"] = query["seconds"]["open"]
        f["startup_s"] = query.get("startup_s", query["import_s"] + query["seconds"]["open"])
        f["first_query_ms"] = query["first_query_s"] * 1000
        f["query_rss"] = query["rss_peak"]
        f["open_rss"] = query["rss_open"] - query["rss_start"]
    if "qps" in result.get("throughput", {}):
        f["qps"] = result["throughput"]["qps"]
    reindex = result.get("reindex", {})
    if "seconds" in reindex:
        s = reindex["seconds"]
        f["reindex_s"] = (
            s["build"] + s.get("save", 0.0)
            if "build" in s
            else sum(s.get(k, 0.0) for k in ("analysis", "index", "save"))
        )
        f["reindex_incremental"] = reindex.get("incremental")
        cold = f.get("build_s", 0.0) + (f.get("read_s") or 0.0)
        f["reindex_share"] = f["reindex_s"] / cold if cold else None
    named = result.get("reindex_named", {})
    if "seconds" in named:
        f["reindex_named_s"] = named["seconds"]["build"] + named["seconds"]["save"]
    rounds = result.get("additions", {}).get("rounds")
    if rounds:
        f["added_first_s"] = rounds[0]["seconds"]
        f["added_next_s"] = max(r["seconds"] for r in rounds[1:]) if len(rounds) > 1 else None
        f["added_found"] = all(r["found"] for r in rounds)
    return f


def problems(result: dict[str, Any]) -> list[str]:
    out = []
    if "skipped" in result:
        out.append(f"skipped: {result['skipped']}")
    for phase in ("build", "query", "throughput", "reindex_named", "reindex", "additions"):
        if "error" in result.get(phase, {}):
            out.append(f"{phase} failed: {result[phase]['error']}")
    return out


def parity(engines: dict[str, Any]) -> str:
    """How many of the sampled queries newsbot answers exactly as rank-bm25 (same ids and floats)."""
    ours = engines.get("newsbot", {}).get("query", {}).get("hits")
    ref = engines.get(REFERENCE, {}).get("query", {}).get("hits")
    if not ours or not ref:
        return "not checked (rank-bm25 not run)"
    same = sum(1 for a, b in zip(ours, ref, strict=False) if [tuple(x) for x in a] == [tuple(x) for x in b])
    return f"{same} of {len(ref)} sampled queries: identical top-10 passages and scores (float equality)"


def _t(x: float | None, unit: str = "s") -> str:
    if x is None:
        return "–"
    if unit == "ms":
        return f"{x:.2f} ms" if x < 10 else f"{x:,.0f} ms"
    return f"{x:.2f} s" if x < 10 else f"{x:,.1f} s"


def _mb(x: float | None) -> str:
    return "–" if x is None else f"{x / 1e6:,.0f} MB"


def _ratio(ours: float | None, peer: float | None, higher_better: bool = False) -> str:
    if not ours or not peer:
        return "–"
    r = ours / peer if higher_better else peer / ours
    return f"{r:,.1f}×" if r < 100 else f"{r:,.0f}×"


ROWS: list[tuple[str, str, str]] = [  # label, figure, unit
    ("passages", "passages", "n"),
    ("build: analysis", "analysis_s", "s"),
    ("build: index", "index_s", "s"),
    ("build: save", "save_s", "s"),
    ("**cold build** (analysis + index + save)", "build_s", "s"),
    ("reading the corpus files (newsbot only)", "read_s", "s"),
    ("peak RSS, build", "build_rss", "b"),
    ("peak RSS, build: its largest child process", "build_workers_rss", "b"),
    ("index size on disk", "size", "b"),
    ("**start-up**: process launch to index open", "startup_s", "s"),
    ("of which: the engine's imports", "import_s", "s"),
    ("of which: opening the saved index", "open_s", "s"),
    ("first query after start-up", "first_query_ms", "ms"),
    ("**query p50**", "p50_ms", "ms"),
    ("**query p95**", "p95_ms", "ms"),
    ("query p99", "p99_ms", "ms"),
    ("queries timed", "n_queries", "n"),
    ("throughput, one process per core", "qps", "qps"),
    ("peak RSS, open + all queries", "query_rss", "b"),
    ("reindex after 1% of articles changed", "reindex_s", "s"),
    ("reindex after 1% changed, the changed files named (`newsbot index FILE...`)", "reindex_named_s", "s"),
    ("reindex ÷ cold build (reading included)", "reindex_share", "%"),
    ("10 new articles added and answerable: first in a process", "added_first_s", "s"),
    ("10 new articles added and answerable: next times (worst)", "added_next_s", "s"),
]
RATIO_ROWS = [
    ("cold build", "build_s", False),
    ("query p50", "p50_ms", False),
    ("query p95", "p95_ms", False),
    ("query p99", "p99_ms", False),
    ("throughput", "qps", True),
    ("start-up", "startup_s", False),
    ("peak RSS, queries", "query_rss", False),
    ("index size on disk", "size", False),
    ("reindex after 1% change", "reindex_s", False),
]


def _cell(f: dict[str, Any], key: str, unit: str) -> str:
    x = f.get(key)
    if x is None:
        return "–"
    if unit == "n":
        return f"{x:,}"
    if unit == "b":
        return _mb(x)
    if unit == "qps":
        return f"{x:,.1f}/s"
    if unit == "%":
        return f"{x:.1%}"
    return _t(x, unit)


def render(results: dict[str, Any]) -> str:
    lines = [f"Command: `{results['command']}`", ""]
    m = results.get("machine", {})
    lines += [
        f"Machine: {m.get('cpu', '?')}, {m.get('cores')} cores, {m.get('memory', 0) / 2**30:.0f} GiB, "
        f"Python {m.get('python')}; " + ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items()),
        f"Load average at start: {m.get('load_average')}",
        "",
    ]
    for name, scale in results.get("scales", {}).items():
        if not scale.get("main"):
            continue
        info, engines = scale["info"], scale["engines"]
        f = {n: figures(r) for n, r in engines.items()}
        lines += [
            f"### {name}: {info['articles']:,} articles, {info['passages']:,} passages of "
            f"~{info['words']} words, {results.get('n_queries')} questions "
            f"(rank-bm25: the first {results.get('sample')})",
            "",
        ]
        names = list(engines)
        lines += ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for label, key, unit in ROWS:
            if any(f[n].get(key) is not None for n in names):
                lines.append(f"| {label} | " + " | ".join(_cell(f[n], key, unit) for n in names) + " |")
        lines.append(
            "| notes | "
            + " | ".join("; ".join([engines[n]["spec"]["note"], *problems(engines[n])]) for n in names)
            + " |"
        )
        lines += [
            "",
            f"Parity with rank-bm25 (`BM25Okapi.get_scores` on newsbot's tokens): {parity(engines)}.",
            "",
        ]
        ours = f.get("newsbot", {})
        peers = [n for n in names if not n.startswith("newsbot") and f[n]]
        if ours and peers:
            lines += [
                "newsbot's advantage (peer ÷ newsbot; for throughput newsbot ÷ peer; >1: newsbot is better):",
                "",
                "| | " + " | ".join(peers) + " |",
                "|---|" + "---|" * len(peers),
            ]
            for label, key, higher in RATIO_ROWS:
                lines.append(
                    f"| {label} | "
                    + " | ".join(_ratio(ours.get(key), f[p].get(key), higher) for p in peers)
                    + " |"
                )
            lines.append("")
    lines += _feed_ingest(results.get("feed_ingest"))
    scaling = [(name, s) for name, s in results.get("scales", {}).items()]
    if len(scaling) > 1:
        lines += [
            "### Scaling",
            "",
            "| scale | passages | engine | cold build | p50 | p95 | peak RSS build "
            "| peak RSS queries | index size |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, scale in scaling:
            for engine, result in scale["engines"].items():
                if engine not in ("newsbot", "rank-bm25", "bm25s", "tantivy"):
                    continue
                f1 = figures(result)
                trouble = "; ".join(problems(result))
                if trouble and not f1:
                    lines.append(f"| {name} | {scale['info']['passages']:,} | {engine} | {trouble} |||||| ")
                    continue
                lines.append(
                    f"| {name} | {scale['info']['passages']:,} | {engine} | {_t(f1.get('build_s'))} "
                    f"| {_t(f1.get('p50_ms'), 'ms')} | {_t(f1.get('p95_ms'), 'ms')} "
                    f"| {_mb(f1.get('build_rss'))} | {_mb(f1.get('query_rss'))} "
                    f"| {_mb(f1.get('size'))} |" + (f" {trouble}" if trouble else "")
                )
        lines.append("")
    return "\n".join(lines)


def _feed_ingest(ingest: dict[str, Any] | None) -> list[str]:
    """The feeds' ingest throughput (`benchmarks.feeds ingest`), as a table of its own."""
    if not ingest:
        return []
    lines = ["### Feed ingest: one poll of every feed (local server, no host spacing)", ""]
    if "error" in ingest:
        return [*lines, f"failed: {ingest['error']}", ""]
    summary = ingest["from the feed's summary"]
    lines += [
        "| feeds | items | articles written | folded as duplicates | from the feed's summary "
        "| errors | seconds | articles a minute |",
        "|---|---|---|---|---|---|---|---|",
        f"| {ingest['feeds']} | {ingest['items']:,} | {ingest['written']:,} | {ingest['folded']:,} "
        f"| {summary:,} | {len(ingest['errors'])} | {ingest['seconds']:.1f} "
        f"| {ingest['articles a minute']:,} |",
        "",
    ]
    return lines
