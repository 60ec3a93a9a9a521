"""Following RSS/Atom feeds: fetch politely and safely, parse, write articles into the corpus."""
