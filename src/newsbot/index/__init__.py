"""The index: BM25 postings with exactly rank-bm25's scores, built, merged, saved and searched."""
