"""The compiled chunk table numbers chunks as a dict numbering them in order of first sight
would, whatever it has to grow, and a batch's text is cut where `str.split` would cut it; a
batch's postings are ranked among their term's."""

import random
import sys

import numpy as np

from newsbot.index.chunktable import ChunkTable, rank_terms
from newsbot.index.workers import _plain, _plain_ascii


def numbered_by_dict(known: dict[bytes, int], data: bytes, end: bytes) -> tuple[list[int], list[bytes]]:
    numbers, new = [], []
    for chunk in data.split(b" "):
        if not chunk:
            continue
        if chunk == end:
            numbers.append(0)
            continue
        if chunk not in known:
            known[chunk] = len(known) + 1
            new.append(chunk)
        numbers.append(known[chunk])
    return numbers, new


def test_chunks_are_numbered_in_order_of_first_sight_across_batches() -> None:
    table = ChunkTable()
    numbers, new = table.number(b"the cat  sat \x00 on the mat \x00", b"\x00")
    assert numbers.tolist() == [1, 2, 3, 0, 4, 1, 5, 0]
    assert new == [b"the", b"cat", b"sat", b"on", b"mat"]
    numbers, new = table.number(b" cat \x00\x00 \x00 dog", b"\x00\x00")  # a longer end marker
    assert numbers.tolist() == [2, 0, 6, 7] and new == [b"\x00", b"dog"] and len(table) == 7


def test_a_table_that_grows_many_times_numbers_as_a_dict() -> None:
    rng = random.Random(7)
    words = [b"%d" % n + bytes(rng.choices(b"abcxyz\xc3\xa9.0", k=rng.randint(0, 9))) for n in range(100_000)]
    table, known = ChunkTable(), dict[bytes, int]()
    for _ in range(4):
        data = b" ".join(rng.choice(words) if rng.random() < 0.97 else b"\x01" for _ in range(40_000))
        numbers, new = table.number(data, b"\x01")
        want_numbers, want_new = numbered_by_dict(known, data, b"\x01")
        assert numbers.tolist() == want_numbers and new == want_new
    assert len(table) == len(known) > 65_536  # grown twice from room for 32k chunks


def test_cleared_it_numbers_from_one_again() -> None:
    table = ChunkTable()
    table.number(b"a b c", b"\x00")
    table.clear()
    numbers, new = table.number(b"c a", b"\x00")
    assert numbers.tolist() == [1, 2] and new == [b"c", b"a"]


def test_an_empty_text_has_no_chunks() -> None:
    numbers, new = ChunkTable().number(b"   ", b"\x00")
    assert len(numbers) == 0 and new == [] and numbers.dtype == np.int32


def test_every_whitespace_character_cuts_a_chunk_as_str_split_does() -> None:
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    for space in spaces:
        assert ChunkTable().number(_plain_ascii(f"a{space}b"), b"\x00")[1] == [b"a", b"b"], hex(ord(space))
    text = "x".join(spaces) + "é\ud800y"  # a lone surrogate too
    new = ChunkTable().number(_plain_ascii(text), b"\x00")[1]
    assert [c.decode("utf-8", "surrogatepass") for c in new] == list(dict.fromkeys(text.split()))


def test_the_table_cuts_text_where_plain_puts_spaces() -> None:
    """Beyond ASCII, the table finds the separators itself (`_plain_ascii` leaves them): the
    same chunks as `_plain`'s text cut by `str.split`, as the in-process analysis cuts it."""
    separators = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()] + list("–—‘’“”…")
    rng = random.Random(5)
    alphabet = ["a", "é", "ж", "\u2010", "\u2011", "\u2030", "\u20ac", "\u3001", "\xa9", ".", *separators]
    for _ in range(300):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 20)))
        numbers, new = ChunkTable().number(_plain_ascii(text), b"\x00")
        cut = _plain(text).decode("utf-8", "surrogatepass").split()
        chunks = [c.encode("utf-8", "surrogatepass") for c in cut]
        assert new == list(dict.fromkeys(chunks)) and len(numbers) == len(chunks), repr(text)


def test_each_position_is_ranked_among_the_earlier_positions_of_its_term() -> None:
    rng = np.random.default_rng(3)
    tally = np.zeros(40, dtype=np.int32)
    for _ in range(3):  # the tally is left as it was given, ready for the next batch
        terms = rng.integers(0, 40, 5_000).astype(np.int32)
        seen: dict[int, int] = {}
        want = []
        for term in terms.tolist():
            want.append(seen.get(term, 0))
            seen[term] = want[-1] + 1
        ranks = rank_terms(terms, tally)
        assert ranks.dtype == np.uint16 and ranks.tolist() == want
        assert not tally.any()
