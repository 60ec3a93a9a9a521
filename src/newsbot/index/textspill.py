"""A cold build's article titles and texts, kept in temporary files while the corpus is read and
read back a batch at a time for analysis: a build never holds the corpus' text in memory.

The build's reader processes write the texts they read to files of their own (`ReaderTexts`)
and send the build's process only where each one is: the texts never pass through it (piped,
unpickled and written again, they cost ~0.4 s of its 3.6 s of reading at 215k). Texts read in the
build's process itself (a small corpus) are written by `TextSpill.put` to its own file. So do
the analysis workers with the passages' texts of each batch (`write_new`), which the builder
appends to its own file by the kernel's copy (`move_into`).
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from array import array
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from newsbot.index import scratch
from newsbot.records import Article

Place = tuple[int, int, int]  # an entry's file (its number in the spill), start and bytes


class TextSpill:
    """The texts of a cold build, keyed by content hash (the same hash, the same text), which
    survives renaming duplicates; each entry's place is one int under the hash's bytes (~100
    bytes an article, not ~230: at 1.2M articles that is 150 MB). An entry is the title's length
    (4 bytes), the title and the text, in UTF-8: analysis processes forked by the build read their
    batches from the files by their places (`entry`), so neither the texts nor the titles pass
    through this process. File 0 is this process' own (an unnamed temporary file); the readers'
    are in a scratch folder (`folder`), named by them, opened here as they are met (`adopt`)."""

    def __init__(self) -> None:
        # Written through a 1 MB buffer: most entries are larger than the default 8 KB one, and
        # a write each cost the build's main process ~0.5 s at 215k.
        self.file = tempfile.TemporaryFile(buffering=_BUFFER)  # noqa: SIM115 - closed by `close`
        self.at: dict[bytes, int] = {}  # content hash -> (file << _START_BITS | start) << _SIZE_BITS | size
        self.end = 0
        self._folder: Path | None = None
        self.adopted: dict[str, int] = {}  # a reader's file name -> its number
        self.fds: list[int] = []  # the readers' files, open (file n is fds[n - 1])

    def put(self, article: Article) -> Article:
        """`article` without its text, which is kept here (with its title); one a reader wrote
        already (`note`) is not written again."""
        key = _key(article)
        if key not in self.at:
            size = self.file.write(_entry(article))
            self.at[key] = _pack(0, self.end, size)
            self.end += size
        return replace(article, text="") if article.text else article

    def folder(self) -> Path:
        """The scratch folder for the readers' and the workers' files (made when first asked for;
        named after this process, so that a later build removes it if this one is killed:
        `scratch`)."""
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix=scratch.prefix("newsbot-read-")))
        return self._folder

    def adopt(self, name: str) -> int:
        """The number of the reader's file `name` (in `folder`), opened here the first time."""
        number = self.adopted.get(name)
        if number is None:
            self.fds.append(os.open(self.folder() / name, os.O_RDONLY))
            number = self.adopted[name] = len(self.fds)
        return number

    def note(self, articles: Sequence[Article], file: int, places: Sequence[tuple[int, int]]) -> None:
        """Where a reader wrote `articles`' entries: file `file`, at (start, bytes) `places`."""
        for article, (start, size) in zip(articles, places, strict=True):
            self.at.setdefault(_key(article), _pack(file, start, size))

    def place(self, article: Article) -> Place:
        """Where `article`'s entry is: its file's number, its start, and its bytes (see `entry`)."""
        place = self.at[_key(article)]
        spot = place >> _SIZE_BITS
        return spot >> _START_BITS, spot & _START_MASK, place & _SIZE_MASK

    def take_places(self, articles: Sequence[Article]) -> tuple[array[int], array[int], array[int]]:
        """The places of `articles` as three arrays (files, starts, sizes: 18 bytes an article),
        the places kept here then dropped: a build's analysis asks once, as it starts, and the
        dict (~100 bytes an article, ~120 MB at 10M passages) is not held through it."""
        files, starts, sizes = array("H"), array("q"), array("q")
        for number, start, size in map(self.place, articles):
            files.append(number)
            starts.append(start)
            sizes.append(size)
        self.at = {}
        return files, starts, sizes

    def written(self) -> tuple[int, ...]:
        """The files' descriptors, by number, once all that was put is in them (for `entry`)."""
        self.file.flush()
        return (self.file.fileno(), *self.fds)

    def close(self) -> None:
        self.at = {}
        self.file.close()
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


class ReaderTexts:
    """A reader process' file of entries, in a `TextSpill`'s folder: named after the process, so
    that each reader has its own and tells the build which it is."""

    def __init__(self, folder: Path) -> None:
        self.name = f"texts-{os.getpid()}"
        self.fd = os.open(folder / self.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.end = 0

    def write(self, articles: Sequence[Article]) -> list[tuple[int, int]]:
        """Write `articles`' entries (one write: a batch of files' worth), and give their places."""
        entries = [_entry(a) for a in articles]
        _write_all(self.fd, b"".join(entries))
        places = []
        for one in entries:
            places.append((self.end, len(one)))
            self.end += len(one)
        return places


def write_new(path: Path, data: bytes) -> None:
    """`data` as the new file `path`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def move_into(path: Path, out: BinaryIO) -> int:
    """Append the file `path` to `out` and remove it; returns its bytes. The kernel copies it
    (`copy_file_range`) where it can: the bytes never pass through this process."""
    out.flush()
    with open(path, "rb") as source:
        size = os.fstat(source.fileno()).st_size
        done = 0
        try:
            while done < size:
                copied = os.copy_file_range(source.fileno(), out.fileno(), size - done)
                if not copied:
                    break
                done += copied
        except (AttributeError, OSError):  # not Linux, or not between these files
            pass
        out.seek(0, os.SEEK_END)  # the file object's position, after the copy's
        if done < size:
            source.seek(done)
            shutil.copyfileobj(source, out)
    os.unlink(path)
    return size


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def entry(fds: Sequence[int], place: Place) -> tuple[bytes, bytes]:
    """The (title, text), in UTF-8, of the entry at `place` of a `TextSpill`'s files (`fds`, as
    `TextSpill.written` gives them, shared by forking)."""
    file, start, size = place
    data = os.pread(fds[file], size, start)
    end = _TITLE.size + _TITLE.unpack_from(data)[0]
    return data[_TITLE.size : end], data[end:]


def _entry(article: Article) -> bytes:
    title = article.title.encode("utf-8", "surrogatepass")
    return b"".join((_TITLE.pack(len(title)), title, article.text.encode("utf-8", "surrogatepass")))


def _pack(file: int, start: int, size: int) -> int:
    return (file << _START_BITS | start) << _SIZE_BITS | size


def _key(article: Article) -> bytes:
    try:
        return bytes.fromhex(article.content_hash)
    except ValueError:  # not a hex digest (made by hand): as it is
        return article.content_hash.encode()


_TITLE = struct.Struct("<I")
_BUFFER = 1 << 20
_SIZE_BITS = 32  # an entry's bytes (a corpus caps texts far below 4 GB)
_SIZE_MASK = (1 << _SIZE_BITS) - 1
_START_BITS = 42  # where it starts in its file (up to 4 TB)
_START_MASK = (1 << _START_BITS) - 1
