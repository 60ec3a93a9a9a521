"""The feeds' ingest throughput as a phase of `benchmarks.run` (see `benchmarks.feeds ingest`)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def feeds_ingest(articles: int, feeds: int, env: dict[str, str], timeout: float) -> dict[str, Any]:
    """`benchmarks.feeds ingest` in a process of its own: one poll of every feed, pages fetched
    from the local test server, text extracted, duplicates checked, article files written."""
    command = [sys.executable, "-m", "benchmarks.feeds", "ingest"]
    command += ["--articles", str(articles), "--feeds", str(feeds)]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: " + " | ".join(done.stderr.strip().splitlines()[-3:])}
    result: dict[str, Any] = json.loads(done.stdout)
    return result
