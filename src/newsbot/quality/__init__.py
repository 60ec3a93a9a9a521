"""Quality: `newsbot eval` on news-quiz questions and the BEIR SciFact BM25 check."""
