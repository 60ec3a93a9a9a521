"""`KeyLookup`: where each id, text key and corpus file is among a version's articles."""

from newsbot.index.keys import KeyLookup, Keys


def _keys(rows: list[tuple[str, str | None, str]]) -> Keys:
    return Keys([r[0] for r in rows], [r[1] for r in rows], [f"h{r[0]}" for r in rows], [r[2] for r in rows])


ROWS = [
    ("a", "feed.jsonl", "t1"),
    ("b", "one.json", "t2"),
    ("c", "feed.jsonl", ""),  # an older index's article without a text key
    ("d", None, "t4"),  # an upload's, no corpus path
    ("e", "feed.jsonl", "t5"),
    ("f", "other.jsonl", "t6"),
    ("g", "other.jsonl", "t7"),
]


def test_a_lookup_finds_ids_texts_and_every_article_of_a_file() -> None:
    lookup = KeyLookup.of(_keys(ROWS))
    assert lookup.ids == {r[0]: n for n, r in enumerate(ROWS)}
    assert lookup.texts == {"t1": 0, "t2": 1, "t4": 3, "t5": 4, "t6": 5, "t7": 6}
    assert lookup.in_file("feed.jsonl") == (0, 2, 4) and lookup.in_file("one.json") == (1,)
    assert lookup.in_file("other.jsonl") == (5, 6) and lookup.in_file("gone.json") == ()


def test_an_extended_lookup_is_the_one_made_anew_and_leaves_its_base_as_it_was() -> None:
    base_keys = _keys(ROWS[:3])  # feed.jsonl holds two articles already: a list of its own
    base = base_keys.lookup
    before = KeyLookup.of(base_keys)
    grown = _keys(ROWS)
    assert KeyLookup.of(grown, 3, base) == KeyLookup.of(grown)
    assert base == before and base.in_file("feed.jsonl") == (0, 2)  # the older version reads its own
    added = base_keys.added([])  # made once, then carried: the same object's maps extended
    assert added.lookup == base and added.lookup is not base


def test_numbers_are_the_lookups_whether_or_not_it_was_made() -> None:
    keys = _keys(ROWS)
    assert keys.numbers() == {r[0]: n for n, r in enumerate(ROWS)}  # the lookup not made for it
    assert "lookup" not in keys.__dict__
    made = keys.lookup
    assert keys.numbers() is made.ids
