"""Stems shared between a build's analysis processes, so that a word is stemmed about once.

Each analysis process meets most of the corpus' vocabulary; nltk's stemmer is pure Python (~8 us
a word), so without sharing most words are stemmed once per process. After each batch a process
appends the stems it made to a scratch file (opened for appending before the processes were
forked: each record is one `write`), and before each batch it reads what the others appended.

The index stays the same: a process analysing batch k uses only the stems made for batches
before k. So the first batch (in corpus order) with a word stems it and reports it, as without
sharing, and the stem table is filled in the same order.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import struct
import tempfile
from typing import BinaryIO

_HEAD = struct.Struct("<qq")  # batch number, payload length


def scratch() -> BinaryIO:
    """The file the processes share (by descriptor: forked ones inherit it), opened for appending."""
    file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the caller
    flags = fcntl.fcntl(file.fileno(), fcntl.F_GETFL)
    fcntl.fcntl(file.fileno(), fcntl.F_SETFL, flags | os.O_APPEND)
    return file


class SharedStems:
    """One analysis process's side of the scratch file: `known` holds the stems it has taken in."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.offset = 0  # read up to here
        self.pending: list[tuple[int, bytes]] = []  # records of later batches, not yet usable
        self.mine: set[int] = set()  # batches this process analysed (their stems it has)
        self.known: dict[str, str] = {}

    def learn(self, batch: int) -> None:
        """Take in the stems the other processes made for batches before `batch`."""
        size = os.fstat(self.fd).st_size
        if size > self.offset:
            data = os.pread(self.fd, size - self.offset, self.offset)
            at = 0
            while at + _HEAD.size <= len(data):
                number, length = _HEAD.unpack_from(data, at)
                end = at + _HEAD.size + length
                if end > len(data):  # still being written
                    break
                if number not in self.mine:
                    self.pending.append((number, data[at + _HEAD.size : end]))
                at = end
            self.offset += at
        later = []
        for number, payload in self.pending:
            if number < batch:
                self.known.update(pickle.loads(payload))
            else:
                later.append((number, payload))
        self.pending = later

    def tell(self, batch: int, stems: dict[str, str]) -> None:
        """Append the stems this process made for `batch`."""
        self.mine.add(batch)
        if stems:
            payload = pickle.dumps(stems, protocol=pickle.HIGHEST_PROTOCOL)
            os.write(self.fd, _HEAD.pack(batch, len(payload)) + payload)
