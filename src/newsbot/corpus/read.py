"""Reading articles from the corpus: .txt, .md, .json, .jsonl and .jsonl.gz.

Bad input never stops a build and never passes silently: every file or record that is skipped
or repaired yields a `Skipped` with a one-line reason.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from newsbot.corpus.dedupe import hash_of, text_key
from newsbot.records import Article, Skipped

SUFFIXES = (".txt", ".md", ".json", ".jsonl", ".jsonl.gz")
MAX_SINGLE_FILE = 20_000_000  # bytes; a .txt/.md/.json this large is not one news article
MAX_TEXT_CHARS = 200_000  # longer article texts are truncated (crawler dumps, not news)
# Bounds on one .jsonl[.gz] file, so one hostile file (a gzip bomb) cannot exhaust memory or time:
# news text compresses 3-5 times, a bomb a thousand times; it is refused after reading the cap.
MAX_LINE_BYTES = 2_000_000  # one JSON line: a news article is far smaller
MAX_RECORDS = 2_000_000  # lines of one file
MAX_RATIO = 40  # decompressed bytes per compressed byte...
MIN_INFLATED = 4_000_000  # ...but always at least this many (tiny files compress poorly)
MAX_NOTES = 50  # skip notes kept per file; the rest are counted in one more note
_BLOCK = 1 << 20
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD]")  # JSON's escape of one (its "\u" is lowercase)
# A byte table for `clean`, which works on UTF-8 bytes: there an ASCII byte is always that ASCII
# character, so a per-byte table is exact and much faster than a regex.
_CONTROL_BYTES = bytes(b for b in range(128) if _CONTROL.match(chr(b)))


@dataclass(frozen=True)
class FileRead:
    """The articles of one corpus file and what was skipped or repaired in it."""

    articles: tuple[Article, ...]
    skipped: tuple[Skipped, ...]


def suffix_of(path: Path) -> str:
    name = path.name.lower()
    return ".jsonl.gz" if name.endswith(".jsonl.gz") else path.suffix.lower()


def _rel(path: Path, root: Path) -> str:
    if root.is_file():
        return path.name
    return path.relative_to(root).as_posix()


def read_file(path: Path, root: Path, rel: str | None = None) -> FileRead:
    """Read one corpus file into articles; never raises for bad content: every reader error
    (corrupt gzip, JSON nested too deeply, ...) becomes a skip note, so a build never dies on
    one file. `rel`: its path as the corpus names it, when the caller knows it (a build's
    listing: else worked out from `root`, a stat and a path's parsing a file)."""
    where = _rel(path, root) if rel is None else rel
    try:
        read = _read_file(path, where)
    except RecursionError:
        read = FileRead((), (Skipped(where, "JSON nested too deeply"),))
    except (ValueError, EOFError, zlib.error, MemoryError) as exc:
        read = FileRead((), (Skipped(where, f"cannot read: {_why(exc)}"),))
    if len(read.skipped) > MAX_NOTES:
        more = len(read.skipped) - MAX_NOTES
        read = FileRead(
            read.articles, (*read.skipped[:MAX_NOTES], Skipped(where, f"…and {more:,} more notes"))
        )
    return read


def _why(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]


def _read_file(path: Path, where: str) -> FileRead:
    try:
        kind = suffix_of(path)
        if kind in (".jsonl", ".jsonl.gz"):
            return _read_jsonl(path, where, kind == ".jsonl.gz")
        with open(path, "rb") as fh:  # one open for the size and the bytes
            size = os.fstat(fh.fileno()).st_size
            if size == 0:
                return FileRead((), (Skipped(where, "empty file"),))
            if size > MAX_SINGLE_FILE:
                return FileRead((), (Skipped(where, f"file too large ({size:,} bytes)"),))
            raw = fh.read(size)  # (a file growing meanwhile is cut, not read on)
        if b"\x00" in raw[:8192]:
            return FileRead((), (Skipped(where, "binary file, not text"),))
        text, note = decode(raw)
        # Clean UTF-8: the file's bytes are the text's own (no encoding it again to count).
        utf8 = None if note else raw.removeprefix(codecs.BOM_UTF8)
        if looks_binary(text, utf8):
            return FileRead((), (Skipped(where, "binary file, not text"),))
        notes = [Skipped(where, note, repaired=True)] if note else []
        if kind == ".json":
            return _read_json(text, where, notes)
        fields = _parse_md(text) if kind == ".md" else _parse_txt(text)
        fields.setdefault("id", Path(where).with_suffix("").as_posix())
        article, more = make_article(fields, where, where)
        return FileRead((article,) if article else (), tuple(notes + more))
    except OSError as exc:
        return FileRead((), (Skipped(where, f"cannot read: {exc.strerror or exc}"),))


_HEAD = 65536  # characters `looks_binary` checks
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f\ufffd]")
_NOT_TEXT_ASCII = bytes(b for b in range(128) if _NOT_TEXT.match(chr(b)))
_NOT_TEXT_C1 = re.compile(b"\xc2[\x80-\x9f]")  # U+0080-U+009F in UTF-8 (found by their first byte)


def looks_binary(text: str, utf8: bytes | None = None) -> bool:
    """Control characters and undecodable bytes in more than 2% of the first 64k characters:
    binary data without NUL bytes (an image, an archive), which would index as mojibake.
    `utf8`: the text in UTF-8, when at hand."""
    head = text[:_HEAD]
    if not head:
        return False
    # Counted on UTF-8 bytes (an ASCII byte is that character; U+0080-U+009F are \xc2 and a
    # byte, U+FFFD three): a regex over every character cost reading ~10%.
    data = utf8 if utf8 is not None and len(text) <= _HEAD else head.encode("utf-8", "surrogatepass")
    bad = len(data) - len(data.translate(None, _NOT_TEXT_ASCII))
    if not head.isascii():
        bad += len(_NOT_TEXT_C1.findall(data)) + data.count("\ufffd".encode())
    return bad > len(head) * 0.02


def decode(raw: bytes) -> tuple[str, str | None]:
    """Decode bytes as UTF-8, repairing cp1252 and mixed encodings line by line."""
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    lines = raw.split(b"\n")
    bad = good = 0  # lines that fail as UTF-8 / non-ASCII lines that pass
    out = []
    for line in lines:
        try:
            out.append(line.decode("utf-8"))
            good += not line.isascii()
        except UnicodeDecodeError:
            bad += 1
            out.append(line.decode("cp1252", errors="replace"))
    how = f"mixed encodings ({bad} of {len(lines)} lines)" if good else "not UTF-8"
    return "\n".join(out), f"{how}: decoded as cp1252"


def _parse_txt(text: str) -> dict[str, Any]:
    """First non-empty line is the title, the rest is the body."""
    lines = text.strip().split("\n", 1)
    return {"title": lines[0].strip(), "text": lines[1] if len(lines) > 1 else ""}


def _parse_md(text: str) -> dict[str, Any]:
    """Optional front matter between `---` lines (title, date, source, url, author), then body."""
    fields: dict[str, Any] = {}
    match = re.match(r"\A\s*---\s*\n(.*?)\n---\s*(?:\n|\Z)", text, re.S)
    if match:
        for line in match.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() in ("title", "date", "source", "url", "author", "id"):
                fields[key.strip().lower()] = value.strip().strip("\"'")
        text = text[match.end() :]
    if "title" not in fields:
        first = _parse_txt(text)
        fields["title"] = first["title"].lstrip("#").strip()
        text = first["text"]
    fields["text"] = text
    return fields


def _read_json(text: str, where: str, notes: list[Skipped]) -> FileRead:
    try:
        data = _loads(text, where, notes)
    except json.JSONDecodeError as exc:
        return FileRead((), (*notes, Skipped(where, f"malformed JSON: {exc.msg} at line {exc.lineno}")))
    except RecursionError:
        return FileRead((), (*notes, Skipped(where, "JSON nested too deeply")))
    items = data if isinstance(data, list) else [data]
    return _from_objects(((f"{where}#{i + 1}", obj) for i, obj in enumerate(items)), where, notes)


class TooLarge(Exception):
    """A file past one of the reading bounds: refused whole."""


def _lines(fh: Any, cap: int) -> Iterator[tuple[int, bytes | None]]:
    """(number, line) of a binary file, None for a line over MAX_LINE_BYTES (not kept). Read a
    block at a time, so a file of empty lines costs no Python per line beyond its count; raises
    TooLarge past `cap` bytes or MAX_RECORDS lines."""
    total = number = 0
    rest = b""
    skipping = False  # inside a line already too long
    while True:
        block = fh.read(_BLOCK)
        total += len(block)
        if total > cap:
            raise TooLarge(f"more than {cap:,} bytes of text (a compression bomb?): refused")
        if not block:
            if rest or skipping:
                yield number + 1, None if skipping else rest
            return
        parts = (rest + block).split(b"\n")
        rest = parts.pop()
        if number + len(parts) > MAX_RECORDS:
            raise TooLarge(f"more than {MAX_RECORDS:,} lines: refused")
        for part in parts:
            number += 1
            if skipping or len(part) > MAX_LINE_BYTES:
                skipping = False
                yield number, None
            else:
                yield number, part
        if len(rest) > MAX_LINE_BYTES:
            skipping, rest = True, b""


def _read_jsonl(path: Path, where: str, gz: bool) -> FileRead:
    notes: list[Skipped] = []
    size = path.stat().st_size
    cap = max(MIN_INFLATED, MAX_RATIO * size) if gz else max(size, 1)

    def objects() -> Iterator[tuple[str, Any]]:
        opener = gzip.open if gz else open
        with opener(path, "rb") as fh:
            for number, line in _lines(fh, cap):
                if line is None:
                    notes.append(Skipped(f"{where}:{number}", f"line longer than {MAX_LINE_BYTES:,} bytes"))
                    continue
                if not line.strip():
                    continue
                text, note = decode(line)
                if note:
                    notes.append(Skipped(f"{where}:{number}", note, repaired=True))
                try:
                    yield f"{where}:{number}", _loads(text, f"{where}:{number}", notes)
                except json.JSONDecodeError as exc:
                    notes.append(Skipped(f"{where}:{number}", f"malformed JSON line: {exc.msg}"))
                except RecursionError:
                    notes.append(Skipped(f"{where}:{number}", "JSON nested too deeply"))

    try:
        read = _from_objects(objects(), where, notes)
    except TooLarge as exc:
        return FileRead((), (Skipped(where, str(exc)),))
    except (OSError, EOFError, zlib.error) as exc:
        return FileRead((), (*notes, Skipped(where, f"cannot read: {exc}")))
    if not read.articles and not read.skipped:
        return FileRead((), (Skipped(where, "empty file"),))
    return read


def _loads(text: str, where: str, notes: list[Skipped]) -> Any:
    """JSON, with lone surrogates (escapes like \\ud800 that are half a character, not text, and
    cannot be written as UTF-8) replaced by U+FFFD."""
    data = json.loads(text)
    # Only then can there be any. One regex scan: `in` twice cost twice as much on the usual text
    # with characters beyond Latin-1 (~15 us an article).
    if _ESCAPED_SURROGATE.search(text):
        fixed = _without_surrogates(data)
        if fixed != data:
            notes.append(Skipped(where, "broken \\u escapes (lone surrogates) replaced", repaired=True))
        return fixed
    return data


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value


def _from_objects(items: Iterable[tuple[str, Any]], path: str, notes: list[Skipped]) -> FileRead:
    articles = []
    for where, obj in items:
        if not isinstance(obj, dict):
            notes.append(Skipped(where, f"expected a JSON object, got {type(obj).__name__}"))
            continue
        article, more = make_article(obj, where, path)
        notes.extend(more)
        if article:
            articles.append(article)
    return FileRead(tuple(articles), tuple(notes))


def make_article(fields: dict[str, Any], where: str, path: str) -> tuple[Article | None, list[Skipped]]:
    """Validate and clean one article's fields; repair what can be repaired."""
    notes: list[Skipped] = []
    text, utf8 = _cleaned(_str(fields.get("text") or fields.get("body") or fields.get("content")))
    title = clean(_str(fields.get("title")))
    title = " ".join(title.split())
    if not text.strip():
        if not title:
            return None, [Skipped(where, "no title and no text")]
        return None, [Skipped(where, "no body text")]
    if len(text) > MAX_TEXT_CHARS:
        text, utf8 = text[:MAX_TEXT_CHARS].rsplit(" ", 1)[0], None
        notes.append(Skipped(where, f"text truncated to {MAX_TEXT_CHARS:,} characters", True))
    if not title:
        first = text.strip().split("\n", 1)[0]
        title = first if len(first) <= 120 else first[:117].rsplit(" ", 1)[0] + "…"
        notes.append(Skipped(where, "no title: the first line of the text is used", True))
    raw_id = _str(fields.get("id")).strip()
    day, bad_date = parse_article_date(fields.get("date"))
    if bad_date:
        notes.append(Skipped(where, f"unreadable date {bad_date!r} ignored", True))
    title = title[:500]
    source = _str(fields.get("source")).strip() or None
    url = _str(fields.get("url")).strip() or None
    author = _author(fields.get("author") or fields.get("authors"))
    article = Article(
        id=raw_id or "h" + hashlib.sha1(text.encode()).hexdigest()[:16],
        title=title,
        text=text,
        source=source,
        date=day,
        url=url,
        author=author,
        path=path,
        content_hash=hash_of(title, text, source, url, author, day),
        text_hash=text_key(text, utf8),
    )
    return article, notes


def clean(text: str) -> str:
    """Drop control characters (keeping newlines and tabs) and normalise line ends."""
    return _cleaned(text)[0]


def _cleaned(text: str) -> tuple[str, bytes | None]:
    """`clean(text)`, and its UTF-8 when that was made on the way (for `text_key`).

    Texts rarely hold control characters: a byte-level check finds that much faster than the
    regex, which then runs only when there is something to drop.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    data = text.encode("utf-8", "surrogatepass")
    if len(data.translate(None, _CONTROL_BYTES)) == len(data):
        return text, data
    return _CONTROL.sub("", text), None


def parse_article_date(value: Any) -> tuple[date | None, str | None]:
    """(date, None) when readable; (None, the raw text) when not; (None, None) when absent."""
    if value is None or value == "":
        return None, None
    text = str(value).strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date(), None
    except ValueError:
        pass
    for fmt in ("%Y/%m/%d", "%d %B %Y", "%B %d, %Y", "%d-%b-%Y"):
        try:
            return datetime.strptime(text, fmt).date(), None
        except ValueError:
            continue
    return None, text[:40]


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n\n".join(_str(v) for v in value)
    return str(value)


def _author(value: Any) -> str | None:
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value if v)
    text = _str(value).strip()
    return text or None
