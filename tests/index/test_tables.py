"""`Table.of` sorts with numpy: the same arrays and extras as sorting (key, value) bytes in Python."""

import random
from pathlib import Path

import numpy as np

from newsbot.index.tables import Table


def _same(a: Table, b: Table) -> None:
    assert a._keys.dtype == b._keys.dtype and a._values.dtype == b._values.dtype
    assert a._keys.tolist() == b._keys.tolist() and a._values.tolist() == b._values.tolist()
    assert list(a._extra.items()) == list(b._extra.items())


def test_a_table_is_sorted_as_python_sorts_its_utf8_keys() -> None:
    rng = random.Random(15)
    alphabet = "abz09éßж中\U0001f600-"
    for n in range(60):
        words = {"".join(rng.choices(alphabet, k=rng.randint(1, 30 if n % 2 else 8))) for _ in range(n * 5)}
        stems = {w: w[: rng.randint(1, 40)] * rng.randint(1, 2) for w in words}
        _same(Table.of(stems, f"S{Table.WIDTH}"), Table._of_sorted_in_python(stems, f"S{Table.WIDTH}"))
        ids = {w: i for i, w in enumerate(words)}
        _same(Table.of(ids, "int32"), Table._of_sorted_in_python(ids, "int32"))
    table = Table.of({"b": "x", "a" * 30: "y", "ä": "z" * 30, "a": "w"}, f"S{Table.WIDTH}")
    assert table._keys.tolist() == [b"a", b"b"] and table._extra == {"a" * 30: "y", "ä": "z" * 30}
    assert dict(table.items()) == {"b": "x", "a" * 30: "y", "ä": "z" * 30, "a": "w"}
    assert len(Table.of({}, "int32")) == 0 and Table.of({}, "int32")._values.dtype == np.int32


def test_keys_with_nul_bytes_are_sorted_in_python() -> None:
    mapping = {"a\x00": 1, "a": 2, "\x00": 3}
    _same(Table.of(mapping, "int32"), Table._of_sorted_in_python(mapping, "int32"))
    assert Table.of(mapping, "int32")["a"] == 2


def test_many_keys_at_once_are_each_ones_get(tmp_path: Path) -> None:
    rng = random.Random(3)
    words = ["naïve", "ĳssel", "x" * 30, "zebra", "a\x00b", "ä" * 13] + [
        "".join(rng.choices("abcé", k=rng.randint(1, 8))) for _ in range(300)
    ]
    stems = {w: w[: rng.randint(1, len(w))] for w in words[::2]}
    stems["long"] = "y" * 30  # a value too long for the width
    Table.of(stems, f"S{Table.WIDTH}").save(tmp_path, "stems")
    for table in (
        Table.open(tmp_path, "stems"),
        Table.open(tmp_path, "stems").extended({"zebra": "z", "new": "n"}),
    ):
        asked = [*words, "long", "new", "absent", "", "x" * 30]
        assert table.get_many(asked) == [table.get(w) for w in asked]
        plain = [w for w in asked if w.isascii()]  # (encoded by numpy)
        assert table.get_many(plain) == [table.get(w) for w in plain]
        assert table.get_many([]) == []
    numbers = {w: n for n, w in enumerate(words)}
    assert Table.of(numbers, "int32").get_many([*words, "absent"]) == [*map(numbers.get, words), None]
