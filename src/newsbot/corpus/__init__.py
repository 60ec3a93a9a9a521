"""The corpus: reading article files (every bad input reported) and editing the corpus."""
