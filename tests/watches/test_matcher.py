"""The strength of an article for a query, and the watch index."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from newsbot.index.bm25 import BM25Params
from newsbot.index.build import build_index
from newsbot.index.store import Index
from newsbot.text.analyzer import default_analyzer
from newsbot.text.passages import split_passages
from newsbot.watches import Watches
from newsbot.watches.matcher import ArticleTerms, IndexStatistics, Query, WatchIndex
from newsbot.watches.quote import quote
from tests.watches.conftest import NOW, SANCTIONS, article, background, write_corpus

TERMS = ["sanction", "russian", "bank"]


def test_article_terms_are_the_index_passages_terms(index: Index) -> None:
    """Analysing a new article gives the passages, counts and lengths the index stored for it."""
    number = [a.id for a in index.articles].index(SANCTIONS.id)
    fresh = ArticleTerms.analyse(SANCTIONS, default_analyzer())
    stored = ArticleTerms.from_index(index, number, default_analyzer())
    assert fresh.counts == stored.counts and fresh.lengths == stored.lengths
    start = int(index.article_start[number])
    assert list(fresh.lengths) == [int(index.passage_length[start])]
    assert fresh.counts[0]["sanction"] == 3  # twice in the text, once in the title


def test_strength_is_bm25_over_the_best_possible_score(index: Index) -> None:
    stats = IndexStatistics(index)
    query = Query.of(TERMS, stats)
    assert query is not None
    strength, passage = query.strength(ArticleTerms.analyse(SANCTIONS, default_analyzer()), stats)
    ids = index.term_ids(TERMS)
    number = [a.id for a in index.articles].index(SANCTIONS.id)
    raw = float(index.scores(ids)[int(index.article_start[number])])  # the index's own BM25
    assert passage == 0
    assert abs(strength - raw / (sum(float(index.idf[i]) for i in ids) * (index.params.k1 + 1))) < 1e-12
    assert 0 < strength < 1


def test_the_best_passage_counts() -> None:
    long_text = "\n\n".join(["Weather was mild and the market was quiet."] * 60 + [SANCTIONS.text])
    article = replace(SANCTIONS, title="Briefing", text=long_text)
    terms = ArticleTerms.analyse(article, default_analyzer(), target=40)
    assert len(terms.passages) == len(split_passages(long_text, 40)) > 1

    class Flat:
        params = BM25Params()
        avgdl = 20.0

        def idf(self, term: str) -> float:
            return 2.0

    query = Query.of(TERMS, Flat())
    assert query is not None
    strength, passage = query.strength(terms, Flat())
    assert passage == len(terms.passages) - 1 and strength > 0.3


def test_the_rarest_term_keys_the_watch(index: Index) -> None:
    stats = IndexStatistics(index)
    query = Query.of(["bank", "zeppelin"], stats)  # zeppelin is in no passage
    assert query is not None and query.key == "zeppelin" and query.required == {"zeppelin"}
    assert Query.of([], stats) is None


def test_candidates_are_the_watches_keyed_by_an_article_term(index: Index) -> None:
    stats = IndexStatistics(index)
    queries = {1: "sanctions on Russian banks", 2: "chess title", 3: "zeppelin"}
    analyzer = default_analyzer()
    watch_index = WatchIndex(
        (i, q) for i, text in queries.items() if (q := Query.of(analyzer.terms(text), stats)) is not None
    )
    sanctions = ArticleTerms.analyse(SANCTIONS, default_analyzer())
    assert watch_index.candidates(sanctions) == [1]
    chess = ArticleTerms.analyse(background()[2], default_analyzer())
    assert watch_index.candidates(chess) == [2]


def test_a_title_only_article_has_one_passage() -> None:
    terms = ArticleTerms.analyse(replace(SANCTIONS, text=""), default_analyzer())
    assert terms.counts == (Counter({"sanction": 1, "target": 1, "russian": 1, "bank": 1, "new": 1}),)


def test_strength_moves_far_less_than_raw_bm25_as_the_corpus_grows(tmp_path: Path) -> None:
    """Forty more articles on other topics raise every idf; the strength stays nearly put."""
    small, large = tmp_path / "small", tmp_path / "large"
    write_corpus(small, [*background(), SANCTIONS])
    others = [
        article(
            f"other-{i}",
            f"Weather report for day {i}",
            f"Rain and wind on day {i}; the harbour ferry ran late. Schools closed early and the "
            "coast road flooded near the old lighthouse.",
        )
        for i in range(40)
    ]
    write_corpus(large, [*background(), SANCTIONS, *others])
    terms = ArticleTerms.analyse(SANCTIONS, default_analyzer())
    found = []
    for root in (small, large):
        stats = IndexStatistics(build_index(root, default_analyzer())[0])
        query = Query.of(TERMS, stats)
        assert query is not None
        strength, _ = query.strength(terms, stats)
        found.append((strength, strength * query.best))
    (s1, raw1), (s2, raw2) = found
    assert raw2 / raw1 - 1 > 1  # raw BM25 more than doubled (every idf rose)
    # The strength moved by under a tenth of that: here only through the average passage length,
    # which BM25's length normalisation follows in both.
    assert abs(s2 / s1 - 1) < (raw2 / raw1 - 1) / 10


def test_quote_marks_the_watch_words_in_the_best_sentence(watches: Watches, index: Index) -> None:
    watches.add("sanctions on Russian banks", now=NOW - timedelta(hours=1))
    [match] = watches.match([SANCTIONS], index, now=NOW)
    sentence = quote(match, default_analyzer())
    assert sentence is not None
    assert sentence.text == "The European Union announced sanctions on three Russian banks on Monday."
    assert [sentence.text[s:e] for s, e in sentence.marks] == ["sanctions", "Russian", "banks"]
