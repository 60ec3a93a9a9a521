"""A cold build's texts kept in temporary files: written here or by the reader processes, read
back by place, by this process or by forked analysis workers."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path

import pytest

from newsbot.index import readers
from newsbot.index.processes import start_context
from newsbot.index.readers import files_read
from newsbot.index.textspill import ReaderTexts, TextSpill, entry, move_into, write_new
from newsbot.index.workers import Analysed, analysed
from newsbot.records import Article
from newsbot.text.analyzer import Analyzer


def utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def passages(results: list[Analysed]) -> bytes:
    """The passages' texts of analysed batches: a forked worker with a spill wrote them to a file."""
    assert all(bool(r.text_file) == (r.text == b"") for r in results)
    return b"".join(Path(r.text_file).read_bytes() if r.text_file else r.text for r in results)


def test_the_text_spill_gives_back_each_articles_title_and_text_by_its_place() -> None:
    spill = TextSpill()
    try:
        first = Article(
            id="a", title="Σίσυφος — “quoted”", text="Line one.\n\nΣ two \ud800 lone", content_hash="ab12"
        )
        second = Article(id="b", title="", text="x" * 70_000, content_hash="cd34")
        copy = Article(id="c", title="other title", text="same text, same hash", content_hash="ab12")
        kept = [spill.put(a) for a in (first, second, copy)]
        assert [a.text for a in kept] == ["", "", ""]  # held by the spill, not the article
        fds = spill.written()
        assert entry(fds, spill.place(first)) == (utf8(first.title), utf8(first.text))
        assert entry(fds, spill.place(second)) == (b"", utf8(second.text))
        assert spill.place(copy) == spill.place(first)  # one entry a content hash
        assert spill.place(second)[2] == 4 + 70_000
    finally:
        spill.close()


def test_entries_a_reader_wrote_are_found_by_their_place_and_not_written_again() -> None:
    spill = TextSpill()
    folder = spill.folder()
    try:
        articles = [
            Article(
                id=f"a{n}",
                title=f"Título {n}",
                text=f"Text {n} — ünïcode. " * (n + 1),
                content_hash=f"{n:04x}",
            )
            for n in range(3)
        ]
        reader = ReaderTexts(folder)  # as a reader process makes it (named after its process)
        places = reader.write(articles[:2]) + reader.write(articles[2:])  # two tasks' worth
        number = spill.adopt(reader.name)
        assert spill.adopt(reader.name) == number >= 1  # opened once; file 0 is the spill's own
        spill.note(articles, number, places)
        bare = [
            spill.put(Article(id=a.id, title=a.title, text="", content_hash=a.content_hash)) for a in articles
        ]
        assert spill.end == 0  # nothing written again
        own = spill.put(Article(id="here", title="Here", text="Read in this process.", content_hash="ff00"))
        fds = spill.written()
        for article, kept in zip(articles, bare, strict=True):
            assert kept.text == ""
            assert entry(fds, spill.place(article)) == (utf8(article.title), utf8(article.text))
        assert entry(fds, spill.place(own)) == (b"Here", b"Read in this process.")
        assert spill.place(own)[0] == 0
    finally:
        spill.close()
    assert not folder.exists()  # the readers' files go with it


def test_reader_processes_spill_the_texts_of_a_cold_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a spill, the readers' articles come without their texts, which the spill holds; the
    same articles otherwise, in the same order (several tasks over two processes)."""
    monkeypatch.setattr(readers, "_READ_FILES", 2)
    root = tmp_path / "corpus"
    root.mkdir()
    for n in range(9):
        (root / f"{n}.json").write_text(
            json.dumps({"id": f"a{n}", "title": f"T{n}", "text": f"Body {n} " * 50})
        )
    (root / "bad.json").write_text("{not json")
    rels = sorted(os.listdir(root))
    plain = list(files_read(root, rels, workers=2))
    spill = TextSpill()
    try:
        reads = list(files_read(root, rels, workers=2, spill=spill))
        assert [r.skipped for r in reads] == [r.skipped for r in plain]
        got = [a for r in reads for a in r.articles]
        want = [a for r in plain for a in r.articles]
        assert [a.id for a in got] == [a.id for a in want] and {a.text for a in got} == {""}
        assert len(spill.fds) == 2 and spill.end == 0  # both readers wrote; nothing went through here
        fds = spill.written()
        assert [entry(fds, spill.place(a)) for a in got] == [(utf8(a.title), utf8(a.text)) for a in want]
        here = list(analysed(want, Analyzer(), 30, 1))
        forked = list(analysed([spill.put(a) for a in got], Analyzer(), 30, 2, spill))
        assert len(forked) > 1 and passages(forked) == passages(here)
    finally:
        spill.close()


def test_entries_past_4_gb_of_text_are_read_back_by_forked_workers() -> None:
    # A corpus of ~13 GB of text (the benchmark's 10M passages) puts entries past 2**32 bytes:
    # their places must not overflow on the way to the workers (they did, as one packed int64).
    # The file is made sparse: the first 5 GiB are a hole, not written.
    spill = TextSpill()
    try:
        spill.file.seek(5 << 30)
        spill.end = 5 << 30
        texts = [
            Article(
                id=f"a{n}", title=f"Title {n}", text=f"Words of article {n}. " * 40, content_hash=f"{n:04x}"
            )
            for n in range(12)
        ]
        articles = [spill.put(a) for a in texts]
        assert spill.place(articles[-1])[1] > 1 << 32
        here = list(analysed(texts, Analyzer(), 30, 1))  # the texts themselves
        forked = list(analysed(articles, Analyzer(), 30, 2, spill))
        assert spill.at == {}  # the places were taken, not kept through the analysis
        assert len(forked) > 1  # several batches, in two processes
        # Forked (as a build is, unless other threads run): each batch's passages in a file.
        assert all(bool(r.text_file) == (start_context().get_start_method() == "fork") for r in forked)
        assert passages(forked) == passages(here)
        assert passages(here).count(b"Words of article 11.") == 40
    finally:
        spill.close()


@pytest.mark.parametrize("kernel", [True, False], ids=["copy_file_range", "copied here"])
def test_a_workers_passages_are_moved_into_the_builders_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel: bool
) -> None:
    def refuse(*args: object) -> int:
        raise OSError(errno.EXDEV, "not between these file systems")

    if not kernel:  # not Linux, or a file system that cannot: copied through this process
        monkeypatch.setattr(os, "copy_file_range", refuse)
    batch = tmp_path / "passages-1-0"
    write_new(batch, "Texte — ünïcode ".encode() * 5000)
    with pytest.raises(FileExistsError):  # each batch its own new file
        write_new(batch, b"again")
    with tempfile.TemporaryFile() as out:
        out.write(b"before|")
        assert move_into(batch, out) == len("Texte — ünïcode ".encode()) * 5000
        out.write(b"|after")
        out.seek(0)
        assert out.read() == b"before|" + "Texte — ünïcode ".encode() * 5000 + b"|after"
    assert not batch.exists()
