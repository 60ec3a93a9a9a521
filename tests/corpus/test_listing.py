from pathlib import Path

from newsbot.corpus.listing import listing, scan


def test_scan_reports_unsupported_and_ignores_hidden(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("T\nB")
    (tmp_path / "b.pdf").write_bytes(b"%PDF")
    (tmp_path / ".hidden.txt").write_text("T\nB")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.md").write_text("T\nB")
    files, skipped = scan(tmp_path)
    assert [f.name for f in files] == ["a.txt", "c.md"]
    assert [(s.where, s.reason) for s in skipped] == [("b.pdf", "unsupported file type .pdf")]


def test_listing_is_scan_with_each_files_stat(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("T\nB")
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    (tmp_path / ".hidden.txt").write_text("T\nB")
    for folder in ("sub", "sub.x", "sub/deeper"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "c.JSONL.gz").write_bytes(b"")
        (tmp_path / folder / "noext").write_text("x")
    files, skipped = scan(tmp_path)
    listed, notes = listing(tmp_path)
    assert listed.paths == [f.relative_to(tmp_path).as_posix() for f in files]
    assert listed.sizes == [f.stat().st_size for f in files]
    assert listed.mtimes == [f.stat().st_mtime_ns for f in files]
    assert notes == skipped and len(skipped) == 4
    one, none = listing(tmp_path / "b.txt")
    assert (one.paths, one.sizes, none) == (["b.txt"], [3], [])
    assert listing(tmp_path / "a.pdf")[1] == scan(tmp_path / "a.pdf")[1]


def test_listing_names_suffixes_as_scan_does(tmp_path: Path) -> None:
    names = ["a.JSON", "b.jsonl.GZ", "c.gz", "d.", "e.tar.gz", "f.jsonl", "jsonl.gz", "g.x.jsonl.gz", "h.Md"]
    for name in names:
        (tmp_path / name).write_text("T\nB")
    files, skipped = scan(tmp_path)
    listed, notes = listing(tmp_path)
    assert (
        listed.paths == [f.name for f in files] == ["a.JSON", "b.jsonl.GZ", "f.jsonl", "g.x.jsonl.gz", "h.Md"]
    )
    assert notes == skipped and [s.reason for s in notes] == [
        "unsupported file type .gz",
        "unsupported file type (none)",
        "unsupported file type .gz",
        "unsupported file type .gz",
    ]


def test_listing_follows_links_to_files_not_to_folders(tmp_path: Path) -> None:
    corpus, elsewhere = tmp_path / "corpus", tmp_path / "elsewhere"
    corpus.mkdir()
    elsewhere.mkdir()
    (elsewhere / "far.txt").write_text("Title\nA body long enough.")
    (elsewhere / "inner.md").write_text("T\nB")
    (corpus / "a.txt").symlink_to(elsewhere / "far.txt")
    (corpus / "b.txt").symlink_to(tmp_path / "missing.txt")  # broken: ignored
    (corpus / "folder").symlink_to(elsewhere)  # not walked into (a loop could be endless)
    (corpus / "real").mkdir()
    (corpus / "real" / "c.txt").write_text("T\nB")
    listed, notes = listing(corpus)
    assert listed.paths == ["a.txt", "real/c.txt"] and notes == []
    assert listed.sizes[0] == (elsewhere / "far.txt").stat().st_size  # the file's, not the link's
    assert [f.relative_to(corpus).as_posix() for f in scan(corpus)[0]] == listed.paths
