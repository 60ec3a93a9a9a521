"""Text analysis: the one analyzer (tokens, stopwords, Snowball stems), sentences and passages."""
