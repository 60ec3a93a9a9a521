"""What the bot's delivery loop does per new index version, with 1,000 watches and 100 new articles.

    python -m benchmarks.watch_check                       # realtimeqa from ../shared/data (--data)
    python -m benchmarks.watch_check --watches 1000 --articles 100 --backlog 2000

The newest `backlog` + `articles` realtimeqa articles are written (undated, so none is too old to
fire) to a temporary corpus; the backlog is indexed and taken as seen by a first
`Watches.check`. The first `watches` dev questions become watches spread over 10 servers; then the
new articles are added, reindexed, and `Watches.check` (what `bot/deliveries.py` runs once per
version) is timed, and so is drawing every instant post (`quote` + `match_embed`). Posting is
Discord's network time and is not measured. Figures go to docs/performance.md ("Watches").
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsbot.bot.embeds.watchrender import match_embed
from newsbot.engine import Engine
from newsbot.quality.questions import load_questions
from newsbot.settings import Settings
from newsbot.watches import BadWatch, Delivery, Watches, open_watch_store
from newsbot.watches.quote import quote

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "realtimeqa"  # ../shared/data


def newest(path: Path, n: int) -> list[dict[str, object]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rows.sort(key=lambda r: (str(r.get("date") or ""), str(r.get("id"))))
    return [{**r, "date": None} for r in rows[-n:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watches", type=int, default=1000)
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--data", type=Path, default=DATA, help="the realtimeqa folder")
    args = parser.parse_args()
    rows = newest(args.data / "articles.jsonl.gz", args.backlog + args.articles)
    questions, _ = load_questions(args.data / "questions_dev.jsonl.gz")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        (corpus / "backlog.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[: args.backlog]))
        settings = Settings(corpus_dir=corpus, data_dir=Path(tmp) / "data")
        engine = Engine.open(settings)
        watches = Watches(open_watch_store(settings), hourly_cap=10**6)
        watches.check(engine.index)  # the backlog
        created = datetime.now(UTC) - timedelta(hours=1)
        added = 0
        for n, q in enumerate(questions):
            if added == args.watches:
                break
            try:
                watches.add(q.question, guild_id=1 + n % 10, user_id=n, now=created)
                added += 1
            except BadWatch:
                continue
        (corpus / "new.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[args.backlog :]))
        tick = time.perf_counter()
        engine.reindex()
        reindex_s = time.perf_counter() - tick
        tick = time.perf_counter()
        report = watches.check(engine.index)
        check_ms = 1000 * (time.perf_counter() - tick)
        posts = [m for m in report.matches if m.delivery is Delivery.NOW]
        tick = time.perf_counter()
        for m in posts:
            match_embed(m, quote(m, watches.analyzer))
        render_ms = 1000 * (time.perf_counter() - tick)
        watches.close()
        engine.close()
    print(
        f"{added:,} watches x {report.looked_at} new articles (backlog {args.backlog:,}): "
        f"reindex {reindex_s:.1f} s, Watches.check {check_ms:.0f} ms, "
        f"{len(report.matches)} matches, drawing {len(posts)} posts {render_ms:.0f} ms"
    )


if __name__ == "__main__":
    main()
