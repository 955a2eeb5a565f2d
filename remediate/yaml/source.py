"""Bytes in, text out, and back again without changing a byte that was not edited.

A manifest file is decoded as UTF-8 (with or without a byte-order mark). The text keeps its own line
endings: CRLF files stay CRLF because edits are spliced into the original text and new lines use the
file's dominant line ending (:attr:`Source.newline`). A file whose lines end with a lone CR (old Mac
style, which YAML accepts) is read with LF in place of each CR, so that every part of k8sfix sees
ordinary lines, and written back with CR again (:attr:`Source.cr_only`): the swap is one character
for one, so offsets do not move. Positions are character offsets into :attr:`Source.text`, as the
YAML parser reports them.
"""

from __future__ import annotations

import bisect
import os
import stat
from dataclasses import dataclass, field

BOM = "\ufeff"

MAX_BYTES = 20 * 1024 * 1024
"""Largest file read. Parsing is linear but costly in memory (a 50 MB manifest took 800 MB and a
minute just to parse), and the largest real manifests (CRD bundles) stay well below it."""


class NotRegularFile(OSError):
    """A path that is a FIFO, a socket or a device: never opened for reading (a FIFO would block
    the run forever, a device could be endless), nor replaced."""

    def __init__(self, kind: str):
        super().__init__(f"not a regular file ({kind})")
        self.kind = kind
        self.strerror = f"not a regular file ({kind})"


class TooLarge(OSError):
    """A file larger than :data:`MAX_BYTES`, refused by its size before anything is read."""

    def __init__(self, size: int):
        message = (
            f"{size / 1024 / 1024:.1f} MB, larger than the {MAX_BYTES // 1024 // 1024} MB k8sfix "
            "reads in one file: refused (split it into smaller files)"
        )
        super().__init__(message)
        self.message = message
        self.strerror = message


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
)


def file_kind(mode: int) -> str | None:
    """What a non-regular file is ("a FIFO", "a socket", ...); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "a special file")


def read_regular(path: str, limit: int = MAX_BYTES) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file at ``path`` (links followed) and its status.

    Everything a repository holds is read through here, manifests and configuration alike, so that
    no file it contains can hang or exhaust a run: a FIFO, socket or device raises
    :class:`NotRegularFile` without being opened, and a file larger than ``limit`` raises
    :class:`TooLarge` from its size alone. The file is opened without blocking and checked again
    on the open descriptor (it may have been swapped meanwhile), and at most ``limit + 1`` bytes
    are read, so a file that grows while it is read is refused too; a file that reports a size of
    zero but has content (as in ``/proc``) is read to the limit all the same.
    """
    kind = file_kind(os.stat(path).st_mode)
    if kind is not None:
        raise NotRegularFile(kind)
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        kind = file_kind(status.st_mode)
        if kind is not None:
            raise NotRegularFile(kind)
        if status.st_size > limit:
            raise TooLarge(status.st_size)
        # Ask for what the status says is there (and one byte more, to see it grow): a request
        # for ``limit + 1`` would have the reader allocate that much for every file, small or not.
        want = status.st_size + 1
        data = handle.read(want)
        if len(data) == want:
            data += handle.read(limit + 1 - want)
    if len(data) > limit:
        raise TooLarge(len(data))
    return data, status


class InputError(Exception):
    """A file that cannot be read as a manifest; ``line``/``column`` are 1-based when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Source:
    """The decoded text of one file, and what is needed to write it back byte for byte."""

    name: str
    text: str
    bom: bool = False
    newline: str = "\n"
    cr_only: bool = False
    """The file ends its lines with a lone CR; :attr:`text` has LF there (see the module docstring)."""
    _line_starts: list[int] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> Source:
        """Decode ``data``; raise :class:`InputError` naming the first byte that is not UTF-8, or for a
        file larger than :data:`MAX_BYTES`."""
        if len(data) > MAX_BYTES:
            raise InputError(TooLarge(len(data)).message)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            raise InputError(
                f"not UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded "
                "(Kubernetes manifests must be UTF-8; re-encode the file)",
                line,
                column,
            ) from None
        return cls.from_text(name, text)

    @classmethod
    def from_text(cls, name: str, text: str) -> Source:
        bom = text.startswith(BOM)
        if bom:
            text = text[1:]
        cr_only = "\r" in text and "\n" not in text
        if cr_only:
            text = text.replace("\r", "\n")
        crlf = text.count("\r\n")
        newline = "\r\n" if crlf and crlf * 2 > text.count("\n") else "\n"
        return cls(name, text, bom, newline, cr_only)

    def with_text(self, text: str) -> Source:
        """The same file with new text (same name, BOM and line-ending style)."""
        return Source(self.name, text, self.bom, self.newline, self.cr_only)

    def real_text(self, text: str | None = None) -> str:
        """``text`` (default: this source's) with the file's own line breaks: CR again in a CR-only file."""
        body = self.text if text is None else text
        return body.replace("\n", "\r") if self.cr_only else body

    def to_bytes(self, text: str | None = None) -> bytes:
        """Encode ``text`` (default: this source's text) as the file was encoded."""
        return ((BOM if self.bom else "") + self.real_text(text)).encode("utf-8")

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        starts = self._line_starts
        if not starts:
            starts.append(0)
            find = self.text.find
            index = find("\n")
            while index >= 0:
                starts.append(index + 1)
                index = find("\n", index + 1)
        line = bisect.bisect_right(starts, offset) - 1
        return line + 1, offset - starts[line] + 1
