import gzip
import hashlib
import json
import random
import re
from pathlib import Path

from newsbot.corpus.dedupe import content_hash, dedupe, dedupe_keys, text_key
from newsbot.corpus.read import clean, looks_binary, read_file
from newsbot.index.build import build_index
from newsbot.records import Article
from newsbot.text.analyzer import Analyzer


def read(path: Path):
    return read_file(path, path.parent)


def reasons(result) -> list[str]:
    return [s.reason for s in result.skipped]


def test_txt_title_is_first_nonempty_line(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("\n\n  Big title  \n\nBody line one.\n\nBody two.")
    (article,) = read(path).articles
    assert article.id == "a" and article.title == "Big title"
    assert article.text.strip().startswith("Body line one.")
    assert article.content_hash and article.text_hash


def test_the_content_hash_stays_what_saved_indexes_hold(tmp_path: Path) -> None:
    """A reader makes the article with its hash (`hash_of`): the same as `content_hash` of it,
    and as every earlier release made it (else a reindex would re-analyse every article)."""
    path = tmp_path / "h.json"
    fields = {"id": "h1", "title": "Café “talks”", "text": "Body — ünïcode.\nLine two.", "source": "Wire"}
    fields |= {"url": "https://example.com/a", "author": "A. Writer", "date": "2024-02-03"}
    path.write_text(json.dumps(fields, ensure_ascii=False))
    (article,) = read(path).articles
    assert article.content_hash == content_hash(article) == "3354562ecd59cc7492ca93fb44f18acd9114ccee"


def test_md_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "n.md"
    path.write_text(
        '---\ntitle: "Floods"\ndate: 2024-02-03\nsource: Herald\n'
        "url: https://example.org/f\nauthor: Kim\n---\nRivers rose.\n"
    )
    (a,) = read(path).articles
    assert (a.title, a.date.isoformat(), a.source, a.url, a.author) == (
        "Floods",
        "2024-02-03",
        "Herald",
        "https://example.org/f",
        "Kim",
    )
    assert a.text.strip() == "Rivers rose."


def test_md_without_front_matter_uses_heading(tmp_path: Path) -> None:
    path = tmp_path / "n.md"
    path.write_text("# Heading here\n\nText.")
    assert read(path).articles[0].title == "Heading here"


def test_json_list_and_jsonl_gz(tmp_path: Path) -> None:
    objs = [
        {"id": "x1", "title": "T1", "text": "Body one", "date": "2020-01-02"},
        {"id": "x2", "title": "T2", "text": "Body two", "url": "https://e.org"},
    ]
    (tmp_path / "a.json").write_text(json.dumps(objs))
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as fh:
        fh.write("\n".join(json.dumps(o) for o in objs))
    assert [a.id for a in read(tmp_path / "a.json").articles] == ["x1", "x2"]
    assert [a.id for a in read(tmp_path / "b.jsonl.gz").articles] == ["x1", "x2"]


def test_bad_inputs_are_skipped_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bin.txt").write_bytes(b"\x89PNG\x00\x00\x01")
    (tmp_path / "title_only.txt").write_text("Only a title\n")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "lines.jsonl").write_text(
        '{"id": "ok", "title": "Fine", "text": "Body"}\n{broken\n[1, 2]\n'
        '{"id": "nobody", "title": "No body"}\n'
    )
    assert reasons(read(tmp_path / "empty.txt")) == ["empty file"]
    assert reasons(read(tmp_path / "bin.txt")) == ["binary file, not text"]
    assert reasons(read(tmp_path / "title_only.txt")) == ["no body text"]
    assert reasons(read(tmp_path / "bad.json"))[0].startswith("malformed JSON")
    lines = read(tmp_path / "lines.jsonl")
    assert [a.id for a in lines.articles] == ["ok"]
    assert [s.where for s in lines.skipped] == ["lines.jsonl:2", "lines.jsonl:3", "lines.jsonl:4"]
    assert lines.skipped[0].reason.startswith("malformed JSON line")
    assert lines.skipped[1].reason == "expected a JSON object, got list"


def test_encodings_repaired(tmp_path: Path) -> None:
    (tmp_path / "cp.txt").write_bytes("Price\nIt cost £5 café".encode("cp1252"))
    mixed = "Title\nUTF-8 line café\n".encode() + "cp1252 line £9".encode("cp1252")
    (tmp_path / "mixed.txt").write_bytes(mixed)
    cp = read(tmp_path / "cp.txt")
    assert "£5 café" in cp.articles[0].text and cp.skipped[0].repaired
    assert "not UTF-8" in cp.skipped[0].reason
    mx = read(tmp_path / "mixed.txt")
    assert "café" in mx.articles[0].text and "£9" in mx.articles[0].text
    assert "mixed encodings (1 of 3 lines)" in mx.skipped[0].reason


def test_missing_title_repaired_and_bad_date_ignored(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"id": "n", "text": "First line is used.\nMore.", "date": "someday"}) + "\n"
    )
    r = read(tmp_path / "a.jsonl")
    assert r.articles[0].title == "First line is used." and r.articles[0].date is None
    assert sorted(s.reason for s in r.skipped) == [
        "no title: the first line of the text is used",
        "unreadable date 'someday' ignored",
    ]


def test_huge_text_truncated_and_control_chars_removed(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"id": "h", "title": "T\x1b[31m", "text": "word " * 60_000}) + "\n"
    )
    r = read(tmp_path / "a.jsonl")
    assert len(r.articles[0].text) <= 200_000 and "\x1b" not in r.articles[0].title
    assert "truncated" in r.skipped[0].reason


def test_the_text_key_is_the_kept_texts_after_cleaning_or_truncating(tmp_path: Path) -> None:
    # (A reader hands `text_key` the UTF-8 that cleaning made: only of a text kept as it was.)
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"id": "c", "title": "T", "text": "Bell \x07 rang \x1b here"})
        + "\n"
        + json.dumps({"id": "t", "title": "T", "text": "Word " * 50_000})
        + "\n"
        + json.dumps({"id": "p", "title": "T", "text": "Plain \u2019text\r\nhere"})
        + "\n"
    )
    articles = read(tmp_path / "a.jsonl").articles
    assert articles[0].text == "Bell  rang  here" and len(articles[1].text) <= 200_000
    assert all(a.text_hash == text_key(a.text) for a in articles)


def test_huge_single_file_skipped(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("newsbot.corpus.read.MAX_SINGLE_FILE", 10)
    (tmp_path / "big.txt").write_text("Title\n" + "x" * 100)
    assert reasons(read(tmp_path / "big.txt"))[0].startswith("file too large")


def test_dedupe_keys_as_dedupe() -> None:
    keys = [("a", "f", "k1"), ("b", "f", "k1"), ("a", None, "k2"), ("a~2", "g", "k3"), ("a", "g", "k4")]
    kept, notes = dedupe_keys(keys)
    assert kept == [(0, "a"), (2, "a~2"), (3, "a~2~2"), (4, "a~3")]
    assert [n.where for n in notes] == ["f [b]", "a", "g [a~2]", "g [a]"]


def test_dedupe_texts_and_ids() -> None:
    def art(i: str, text: str) -> Article:
        return Article(id=i, title="t", text=text, path="f.jsonl")

    kept, notes = dedupe([art("a", "Same  text"), art("b", "same text"), art("a", "Other")])
    assert [a.id for a in kept] == ["a", "a~2"]
    assert notes[0].reason == "duplicate text of article a"
    assert notes[1].reason == "duplicate id a: renamed a~2" and notes[1].repaired


def test_text_key_is_the_hash_of_lowered_words() -> None:
    """text_key works on UTF-8 bytes; it must still match str.lower and str.split exactly."""
    samples = [
        "",
        "  ",
        "Plain ASCII  text\n\nNew paragraph. ",
        "\x1cA\x1fB\x0bC\x0cD\r\n",
        "caf\xe9 \u2019quoted\u201d \xa0nbsp\u2003em\u3000wide\x85next\u2028line",
        "\xc9COLE \u039f\u0394\u039f\u03a3 \u0130stanbul \u212a \xdf \u01c5 \U0001d400 \U0001f600",
        "\u03a3\xa0\u03a3 MIXED \xe9\xc9",
    ]
    for text in samples:
        expected = hashlib.sha1(" ".join(text.lower().split()).encode()).hexdigest()
        assert text_key(text) == expected, repr(text)
        assert text_key(text, text.encode()) == expected, repr(text)  # its UTF-8 at hand (a reader's)


def test_clean_drops_control_characters_in_any_text() -> None:
    control = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
    for text in [
        "no controls\tat all\n",
        "a\x00b\x1fc\x7fd\r\ne\rf",
        "\u2019\x07\u4e2d\x0b\U0001f600",
        "lone \ud800 surrogate\x01",
        "lone \udfff surrogate",
    ]:
        expected = control.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
        assert clean(text) == expected, repr(text)


def test_lone_surrogate_escapes_are_replaced_and_reported(tmp_path: Path) -> None:
    # "\ud800" is half of a UTF-16 pair: valid JSON, but not text, and not writable as UTF-8.
    (tmp_path / "wire.jsonl").write_text(
        '{"id": "s1", "title": "Bad \\ud800 title", "text": "Storm \\udc00 hits the coast \\ud83d\\ude00."}\n'
    )
    read = read_file(tmp_path / "wire.jsonl", tmp_path)
    (article,) = read.articles
    assert article.title == "Bad \ufffd title" and article.text == "Storm \ufffd hits the coast 😀."
    assert [(s.where, s.repaired) for s in read.skipped] == [("wire.jsonl:1", True)]
    index, _ = build_index(tmp_path, Analyzer())
    index.save(tmp_path / "index")
    assert index.passage_text(0).startswith("Storm \ufffd hits")


def test_looks_binary_counts_what_its_pattern_matches() -> None:
    """looks_binary counts on UTF-8 bytes; it must decide as the regex over characters does."""
    pattern = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f\ufffd]")
    rng = random.Random(15)
    alphabet = "ab \n\t\x00\x01\x1f\x7f\x80\x9f\xa0\xc2\ufffd\ufffe\u2019é\ud800\U0001f600"
    for n in range(400):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 60))) + "text " * rng.randint(0, 40 * (n % 3))
        head = text[:65536]
        expected = bool(head) and len(pattern.findall(head)) > len(head) * 0.02
        assert looks_binary(text) == expected, repr(text)
        assert looks_binary(text, text.encode("utf-8", "surrogatepass")) == expected, repr(text)
    assert looks_binary("\x80" * 10 + "a" * 100) and not looks_binary("\x80" + "a" * 100)


def test_a_file_decides_the_same_with_or_without_its_bom_and_past_the_checked_head(tmp_path: Path) -> None:
    # `looks_binary` counts on the file's own bytes when they are the text's UTF-8 (a BOM aside).
    body = "Storm \u2019s path " * 3 + "\x01\x02\x03" * 4
    for name, raw in [
        ("plain.txt", body.encode()),
        ("bom.txt", "\ufeff".encode() + body.encode()),  # (its BOM never counts as bad either way)
        ("long.txt", ("Title\n\n" + "x" * 66_000 + "\x01" * 2_000).encode()),  # past the head: unchecked
        ("binary.txt", "\ufeff".encode() + b"\x01\x02\x7f\xc2\x80" * 50 + b"tail"),
    ]:
        (tmp_path / name).write_bytes(raw)
    assert reasons(read(tmp_path / "plain.txt")) == ["binary file, not text"]
    assert reasons(read(tmp_path / "bom.txt")) == ["binary file, not text"]
    assert read(tmp_path / "long.txt").articles
    assert reasons(read(tmp_path / "binary.txt")) == ["binary file, not text"]


def test_surrogate_escapes_are_found_in_either_case(tmp_path: Path) -> None:
    (tmp_path / "wire.jsonl").write_text('{"id": "s1", "title": "T", "text": "Storm \\uDC00 hits."}\n')
    (article,) = read_file(tmp_path / "wire.jsonl", tmp_path).articles
    assert article.text == "Storm \ufffd hits."
