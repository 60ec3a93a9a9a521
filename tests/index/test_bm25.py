"""newsbot's postings must give exactly rank-bm25's BM25Okapi scores for the same tokens."""

import random

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from newsbot.corpus.dedupe import dedupe
from newsbot.corpus.read import read_file
from newsbot.index.bm25 import BM25Params, Forward, Postings
from newsbot.text.analyzer import Analyzer
from tests.conftest import shared
from tests.index.reference import build_postings, scores


def index_tokens(docs: list[list[str]], params: BM25Params = BM25Params()) -> tuple[dict[str, int], Postings]:
    vocab: dict[str, int] = {}
    indptr, terms, counts = [0], [], []
    for doc in docs:
        seen: dict[str, int] = {}
        for w in doc:
            seen[w] = seen.get(w, 0) + 1
        for w, n in seen.items():
            terms.append(vocab.setdefault(w, len(vocab)))
            counts.append(n)
        indptr.append(len(terms))
    forward = Forward(
        np.array(indptr, dtype=np.int64), np.array(terms, dtype=np.int32), np.array(counts, dtype=np.uint16)
    )
    return vocab, build_postings(forward, len(vocab), params)


def assert_same(docs: list[list[str]], queries: list[list[str]], **kw: float) -> None:
    params = BM25Params(**kw)  # newsbot's defaults where not given
    reference = BM25Okapi(docs, k1=params.k1, b=params.b, epsilon=params.epsilon)
    vocab, postings = index_tokens(docs, params)
    for q in queries:
        ours = scores(postings, [vocab[w] for w in q if w in vocab])
        np.testing.assert_array_equal(ours, reference.get_scores(q), err_msg=str(q))


def test_small_fixture_exact() -> None:
    docs = [["cat", "sat", "mat"], ["dog", "sat"], ["cat", "cat", "dog"], []]
    assert_same(docs, [["cat"], ["sat", "dog"], ["cat", "cat"], ["unknown"], ["mat", "x", "cat"]])


def test_random_corpus_with_negative_idf_exact() -> None:
    rng = random.Random(7)
    words = [f"w{i}" for i in range(200)]
    docs = [[rng.choice(words[: rng.randint(3, 200)]) for _ in range(rng.randint(0, 50))] for _ in range(300)]
    queries = [[rng.choice(words) for _ in range(rng.randint(1, 8))] for _ in range(100)]
    assert_same(docs, queries)
    assert_same(docs, queries, k1=0.9, b=0.4, epsilon=0.1)


@pytest.mark.realdata
def test_bbc_articles_exact() -> None:
    path = shared("bbc_news/articles.jsonl.gz")
    articles, _ = dedupe(read_file(path, path.parent).articles)
    analyzer = Analyzer()
    docs = [analyzer.terms(a.title + "\n" + a.text) for a in articles]
    rng = random.Random(3)
    queries = [analyzer.terms(a.title) for a in rng.sample(articles, 40)]
    queries += [rng.sample(doc, min(5, len(doc))) for doc in rng.sample(docs, 40)]
    assert_same(docs, queries)
