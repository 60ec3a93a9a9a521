"""The fast paths give exactly what the plain ones give: tokens, scores, top-k, indexes."""

from __future__ import annotations

import json
import random
import threading
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from nltk.tokenize import RegexpTokenizer
from rank_bm25 import BM25Okapi

from newsbot.answers.ranking import Ranking, prior, rank
from newsbot.index.bm25 import BM25Params
from newsbot.index.build import build_index
from newsbot.index.search import _pick
from newsbot.index.store import Index
from newsbot.records import Filters
from newsbot.text.analyzer import TOKEN_PATTERN, Analyzer, word_list
from tests.index.reference import scores
from tests.index.test_bm25 import index_tokens

TRICKY = [
    "The U.S.-led “coalition” — a.b.c… «São Paulo» ½ ² café cafe\u0301 İstanbul ΣΑΣ Ⅻ x\u200dy",
    "Kadyrov’s 9/11 ‘e.g.’ „x“ ‹y› –3.5— naïve\u00a0test ＡＢＣ ١٢٣ •bullet £3.85bn Zoë Łódź ×÷ ß",
]


def plain_tokens(text: str) -> list[str]:
    """The analyzer's tokens as first written: nltk's tokenizer over the whole lowercased text."""
    tokens = RegexpTokenizer(TOKEN_PATTERN).tokenize(text.lower())
    return [t.replace(".", "") if "." in t else t for t in tokens]


def test_tokens_and_terms_match_the_plain_tokenizer() -> None:
    rng = random.Random(11)
    alphabet = "ab.’“” –—…1Z_\u0301é½«» x.y.-•£ÿĀɏ×÷\u200bßΣ\n"
    texts = TRICKY + ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(3000)]
    analyzer, reference = Analyzer(), Analyzer()
    stop = word_list("stopwords.txt")
    for text in texts:
        tokens = plain_tokens(text)
        assert analyzer.tokens(text) == tokens, text
        expected = [reference.term(t) for t in tokens if t not in stop and len(t) <= 40]
        assert analyzer.terms(text) == [t for t in expected if t], text
        assert analyzer.terms(text) == analyzer.terms(text)  # cached the same


def _corpus(tmp_path: Path, n: int = 160, seed: int = 3) -> Path:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(300)] + ["harbour", "strike", "volcano", "court", "solar"]
    rows = []
    for i in range(n):
        paragraphs = [
            " ".join(rng.choice(words[: rng.randint(5, len(words))]) for _ in range(rng.randint(5, 120)))
            for _ in range(rng.randint(1, 4))
        ]
        rows.append(
            {
                "id": f"a{i}",
                "title": " ".join(rng.sample(words, 3)),
                "text": "\n\n".join(paragraphs),
                "date": f"2024-{i % 12 + 1:02d}-01",
                "source": rng.choice(["Herald", "Ledger", "Post"]),
            }
        )
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "wire.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    return root


def _reference(
    index: Index,
    term_ids: list[int],
    k: int,
    filters: Filters,
    per_article: int,
    factor: np.ndarray | None = None,
) -> list:
    """Every passage scored in query order (times its factor), ranked by score then passage,
    picked per article."""
    scores = index.scores(term_ids)
    if filters.active:
        scores[~index.filter_mask(filters)] = 0.0
    if factor is not None:
        scores *= factor
    docs = np.flatnonzero(scores)
    order = docs[np.lexsort((docs, -scores[docs]))]
    picked = _pick(order, index.passage_article, k, per_article)
    return [(int(order[i]), float(scores[order[i]])) for i in picked]


def test_search_equals_scoring_every_passage(tmp_path: Path) -> None:
    index, _ = build_index(_corpus(tmp_path), Analyzer(), target_words=40)
    rng = random.Random(5)
    vocab = list(range(len(index.terms)))
    filters = [
        Filters(),
        Filters(since=date(2024, 6, 1)),
        Filters(source="ledger"),
        Filters(until=date(2024, 3, 1), source="post"),
    ]
    for n in range(400):
        query = [rng.choice(vocab) for _ in range(rng.randint(1, 12))]
        query += query[: rng.randint(0, 2)]  # repeated words count twice, as in rank-bm25
        k, per_article, f = rng.randint(1, 12), rng.choice([0, 1, 2]), filters[n % len(filters)]
        assert index.search(query, k, f, per_article) == _reference(index, query, k, f, per_article)


def test_search_with_a_prior_equals_scoring_every_passage(tmp_path: Path) -> None:
    index, _ = build_index(_corpus(tmp_path, seed=8), Analyzer(), target_words=40)
    rng = np.random.default_rng(4)
    vocab = list(range(len(index.terms)))
    # Bounded like the recency prior, coarse so that ties occur, and arbitrary, zeros included.
    factors = [
        1 + 0.5 * rng.random(index.n_passages),
        1 + rng.integers(0, 3, index.n_passages) / 4,
        rng.random(index.n_passages) * (rng.random(index.n_passages) > 0.2) * 7,
    ]
    picker = random.Random(6)
    for n in range(300):
        query = [picker.choice(vocab) for _ in range(picker.randint(1, 10))]
        k, per_article, factor = picker.randint(1, 12), picker.choice([0, 1, 2]), factors[n % 3]
        filters = Filters(source="ledger") if n % 5 == 0 else Filters()
        assert index.search(query, k, filters, per_article, factor) == _reference(
            index, query, k, filters, per_article, factor
        )


def test_recency_ranking_is_bm25_times_the_prior(tmp_path: Path) -> None:
    index, _ = build_index(_corpus(tmp_path, seed=9), Analyzer(), target_words=40)
    reference = date(2024, 7, 1).toordinal()
    ranking = Ranking()
    days = np.asarray(index.passage_day, dtype=np.int64)
    age = reference - days
    fresh = (days > 0) & (age >= 0)
    expected = 1.0 + ranking.boost * np.where(fresh, np.exp(-np.where(fresh, age, 0) / ranking.days), 0.0)
    np.testing.assert_array_equal(prior(index, reference, ranking), expected)
    assert expected.max() == 1.5 and expected.min() == 1.0  # a dated passage of that day; future ones
    picker = random.Random(7)
    for _ in range(100):
        query = [picker.randrange(len(index.terms)) for _ in range(picker.randint(1, 8))]
        assert rank(index, query, 5, reference=reference, ranking=ranking) == _reference(
            index, query, 5, Filters(), 1, expected
        )


def test_search_falls_back_when_weights_can_be_negative(tmp_path: Path) -> None:
    root = tmp_path / "c"
    root.mkdir()
    # "common" is in every passage but one: its rank-bm25 idf is negative, floored to epsilon * mean.
    rows = [{"id": f"a{i}", "title": "t", "text": "common " + ("rare" if i == 0 else "x")} for i in range(5)]
    rows.append({"id": "z", "title": "t", "text": "other words"})
    (root / "c.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    index, _ = build_index(root, Analyzer())
    query = index.term_ids(["common", "rare"])
    assert index.search(query, 3, per_article=0) == _reference(index, query, 3, Filters(), 0)
    factor = np.linspace(1.5, 1.0, index.n_passages)
    assert index.search(query, 3, Filters(), 0, factor) == _reference(index, query, 3, Filters(), 0, factor)


def test_large_term_counts_keep_exact_scores() -> None:
    rng = random.Random(2)
    docs = [[rng.choice("abcdefgh") for _ in range(rng.randint(0, 300))] for _ in range(150)]
    docs[5] = ["a"] * 300 + ["b"] * 500  # counts beyond what a compact posting holds
    docs[6] = ["c"] * 70 + ["a"] * 2
    params = BM25Params()
    reference = BM25Okapi(docs, k1=params.k1, b=params.b, epsilon=params.epsilon)
    vocab, postings = index_tokens(docs, params)
    assert len(postings.inverted.postings.big_at) >= 2
    for q in (["a"], ["b", "a", "b"], ["h", "c"]):
        np.testing.assert_array_equal(scores(postings, [vocab[w] for w in q]), reference.get_scores(q))


def test_parallel_analysis_builds_the_same_index(tmp_path: Path) -> None:
    root = _corpus(tmp_path, n=120)
    one, _ = build_index(root, Analyzer(), workers=1)
    two, _ = build_index(root, Analyzer(), workers=2)
    assert list(one.terms) == list(two.terms)
    assert bytes(one.segments[0].texts) == bytes(two.segments[0].texts)
    (a, _), (b, _) = one.parts[0], two.parts[0]
    for name in ("indptr", "terms", "counts"):
        np.testing.assert_array_equal(getattr(a.forward, name), getattr(b.forward, name))
    for name in ("indptr", "level", "unit"):
        np.testing.assert_array_equal(getattr(a.inverted, name), getattr(b.inverted, name))
    for name in ("gaps", "gaps16", "tf4", "big_tf"):
        np.testing.assert_array_equal(getattr(a.inverted.postings, name), getattr(b.inverted.postings, name))
    np.testing.assert_array_equal(one.idf, two.idf)
    np.testing.assert_array_equal(one.norm, two.norm)
    assert dict(one.stems) == dict(two.stems)


def test_saved_lookups_and_stems(tmp_path: Path) -> None:
    root = _corpus(tmp_path)
    built, _ = build_index(root, Analyzer())
    built.save(tmp_path / "idx")
    loaded = Index.load(tmp_path / "idx")
    assert loaded is not None
    assert list(loaded.terms) == list(built.terms) and dict(loaded.vocab) == dict(built.vocab)
    assert all(loaded.vocab[t] == i for i, t in enumerate(built.terms))
    assert loaded.vocab.get("never-seen") is None and "never-seen" not in loaded.vocab
    assert dict(loaded.stems) == dict(built.stems) and loaded.stems["harbour"] == "harbour"
    # An incremental build extends the saved lookups instead of rewriting them.
    new = {"id": "new", "title": "Brand new", "text": "Zebras galloping"}
    (root / "more.jsonl").write_text(json.dumps(new))
    second, _ = build_index(root, Analyzer(), previous=loaded)
    second.save(tmp_path / "idx")
    again = Index.load(tmp_path / "idx")
    assert again is not None and again.terms[again.vocab["zebra"]] == "zebra"
    assert again.vocab["zebra"] >= len(built.terms) and again.stems["galloping"] == "gallop"
    assert again.term_ids(["zebra", "harbour"]) == [again.vocab["zebra"], again.vocab["harbour"]]


@pytest.mark.parametrize("k", [1, 5])
def test_search_after_reload_is_the_same(tmp_path: Path, k: int) -> None:
    built, _ = build_index(_corpus(tmp_path), Analyzer())
    built.save(tmp_path / "idx")
    loaded = Index.load(tmp_path / "idx")
    assert loaded is not None
    for term in list(built.terms)[:50]:
        ids = loaded.term_ids([term, "harbour"])
        assert loaded.search(ids, k) == built.search(built.term_ids([term, "harbour"]), k)


def test_parallel_analysis_from_a_thread(tmp_path: Path) -> None:
    """A bot reindexes from a thread: workers then come from a fresh server process, not a fork."""
    root = _corpus(tmp_path, n=60)
    one, _ = build_index(root, Analyzer(), workers=1)
    out: dict[str, Index] = {}
    build = lambda: out.setdefault("two", build_index(root, Analyzer(), workers=2)[0])  # noqa: E731
    worker = threading.Thread(target=build)
    worker.start()
    worker.join(timeout=120)
    two = out["two"]
    np.testing.assert_array_equal(
        one.segments[0].inverted.postings.gaps, two.segments[0].inverted.postings.gaps
    )
    assert list(one.terms) == list(two.terms)
