"""`KeyLookup`: where each id, text key and corpus file is among a version's articles."""

from newsbot.index.catalog import KeyLookup, Keys


def _keys(rows: list[tuple[str, str | None, str]]) -> Keys:
    return Keys([r[0] for r in rows], [r[1] for r in rows], [f"h{r[0]}" for r in rows], [r[2] for r in rows])


ROWS = [
    ("a", "feed.jsonl", "t1"),
    ("b", "one.json", "t2"),
    ("c", "feed.jsonl", ""),  # an older index's article without a text key
    ("d", None, "t4"),  # an upload's, no corpus path
    ("e", "feed.jsonl", "t1"),  # (a build keeps one per text: the first is the one found)
]


def test_a_lookup_finds_ids_texts_and_every_article_of_a_file() -> None:
    lookup = KeyLookup.of(_keys(ROWS))
    assert lookup.ids == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}
    assert lookup.texts == {"t1": 0, "t2": 1, "t4": 3}
    assert lookup.in_file("feed.jsonl") == [0, 2, 4] and lookup.in_file("one.json") == [1]
    assert lookup.in_file("gone.json") == []


def test_an_extended_lookup_is_the_one_made_anew_and_leaves_its_base_as_it_was() -> None:
    base_keys = _keys(ROWS[:2])
    base = base_keys.lookup
    before = KeyLookup.of(base_keys)
    grown = _keys(ROWS)
    assert KeyLookup.of(grown, 2, base) == KeyLookup.of(grown)
    assert base == before  # the older version still reads its own
    added = base_keys.added([])  # made once, then carried: the same object's maps extended
    assert added.lookup == base and added.lookup is not base
