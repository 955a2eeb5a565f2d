"""Which files a run reads, and how fixed files are written back.

Directories are walked recursively for ``*.yaml``, ``*.yml`` and ``*.json``, in sorted order,
skipping hidden directories (``.git``, ``.venv``, ...) and symbolic links to directories (so a link
loop cannot trap the walk). Files named on the command line are read whatever their extension.

Writes are atomic: the new bytes go to a temporary file in the same directory, are flushed to disk,
get the original file's mode, and replace the original with one ``rename``. A reader sees the old
file or the new one, never a mix. If the file changed on disk since k8sfix read it, it is not
overwritten.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Candidate:
    """A file to read: its display name, and the error that kept it from being listed, if any."""

    path: str
    error: str | None = None


def expand(paths: list[str]) -> Iterator[Candidate]:
    """The files named, and the manifest files found below the directories named."""
    for path in paths:
        if path == "-":
            yield Candidate(path)
        elif os.path.isdir(path):
            yield from _walk(path)
        elif os.path.exists(path) or os.path.islink(path):
            yield Candidate(path)
        else:
            yield Candidate(path, "no such file or directory")


def _walk(top: str) -> Iterator[Candidate]:
    errors: list[OSError] = []
    for directory, subdirectories, names in os.walk(top, onerror=errors.append):
        subdirectories[:] = sorted(
            d for d in subdirectories
            if not d.startswith(".") and not os.path.islink(os.path.join(directory, d))
        )
        for name in sorted(names):
            if name.endswith(MANIFEST_SUFFIXES) and not name.startswith("."):
                yield Candidate(os.path.join(directory, name))
        while errors:
            error = errors.pop(0)
            yield Candidate(error.filename or directory, f"cannot read directory: {error.strerror}")


def read_bytes(path: str) -> tuple[bytes, os.stat_result]:
    """The bytes of a file and its status (for the changed-on-disk check and the mode)."""
    with open(path, "rb") as handle:
        status = os.fstat(handle.fileno())
        return handle.read(), status


class ChangedOnDisk(Exception):
    """The file is no longer what k8sfix read; writing would lose someone else's change."""


def write_atomic(path: str, data: bytes, original: bytes) -> None:
    """Replace ``path`` by ``data`` atomically, keeping its mode; refuse if it no longer holds ``original``."""
    target = os.path.realpath(path)
    current, status = read_bytes(target)
    if current != original:
        raise ChangedOnDisk("the file changed on disk while k8sfix ran; not overwritten")
    directory = os.path.dirname(target) or "."
    handle, temporary = tempfile.mkstemp(prefix=".k8sfix-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, stat.S_IMODE(status.st_mode))
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
