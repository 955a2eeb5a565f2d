"""Which files a run reads, and how fixed files are written back.

Directories are walked recursively for ``*.yaml``, ``*.yml`` and ``*.json``, in sorted order,
skipping hidden directories (``.git``, ``.venv``, ...), symbolic links to directories (so a link
loop cannot trap the walk) and what git ignores (:mod:`remediate.gitignore`). ``--include`` globs
replace the three suffixes, ``--exclude`` globs leave files and whole directories out; both use
``.gitignore`` syntax relative to the directory walked (``*.json``, ``legacy/``, ``charts/**/crds``).
Files named on the command line are read whatever their extension, and no glob filters them.

Helm chart templates and kustomize patches are listed with a skip note (:mod:`remediate.skips`),
so the summary counts them.

Writes are atomic: the new bytes go to a temporary file in the same directory, are flushed to disk,
get the original file's mode, and replace the original with one ``rename``. A reader sees the old
file or the new one, never a mix. If the file changed on disk since k8sfix read it, it is not
overwritten; nor is a read-only file (a rename needs only the directory's permission, so the file's
own is checked first).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from remediate import skips

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

    from remediate.gitignore import GitIgnore

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
MANIFEST_GLOBS = tuple(f"*{suffix}" for suffix in MANIFEST_SUFFIXES)


@dataclass(frozen=True)
class Candidate:
    """A file to read: its display name, the error that kept it from being listed, or why it is skipped."""

    path: str
    error: str | None = None
    skip: str | None = None


@dataclass(frozen=True)
class Globs:
    """The ``--include`` and ``--exclude`` patterns of a walk."""

    include: GitIgnoreSpec
    exclude: GitIgnoreSpec


def expand(
    paths: list[str], include: list[str] | None = None, exclude: list[str] | None = None
) -> Iterator[Candidate]:
    """The files named, and the manifest files found below the directories named."""
    for path in paths:
        if path == "-":
            yield Candidate(path)
        elif os.path.isdir(path):
            yield from _walk(path, include or list(MANIFEST_GLOBS), exclude or [])
        elif os.path.exists(path) or os.path.islink(path):
            yield Candidate(path, skip=_skip_note(path))
        else:
            yield Candidate(path, "no such file or directory")


def _skip_note(path: str) -> str | None:
    """Why a file named on the command line is skipped: a chart template, or a listed kustomize patch."""
    return skips.chart_template(path) or skips.listed_patch(path)


def _walk(top: str, include: list[str], exclude: list[str]) -> Iterator[Candidate]:
    """The files below ``top``; the patches of every kustomization found are marked once the walk is done,
    as an overlay may list a patch of a directory walked before it."""
    from pathspec import GitIgnoreSpec  # imported by walks only: a one-file run starts faster

    from remediate.gitignore import GitIgnore

    globs = Globs(GitIgnoreSpec.from_lines(include), GitIgnoreSpec.from_lines(exclude))
    found: list[Candidate] = []
    kustomizations: list[str] = []
    ignore = GitIgnore(top)
    errors: list[OSError] = []
    for directory, subdirectories, names in os.walk(top, onerror=errors.append):
        subdirectories[:] = sorted(
            d for d in subdirectories
            if not d.startswith(".") and not os.path.islink(os.path.join(directory, d))
            and not _left_out(os.path.join(directory, d), top, globs, ignore, is_dir=True)
        )
        kustomization = skips.kustomization_in(directory)
        if kustomization:
            kustomizations.append(kustomization)
        for name in sorted(names):
            path = os.path.join(directory, name)
            if name.startswith(".") or not globs.include.match_file(_relative(path, top)):
                continue
            if _left_out(path, top, globs, ignore, is_dir=False):
                continue
            found.append(Candidate(path, skip=skips.chart_template(path)))
        while errors:
            error = errors.pop(0)
            found.append(Candidate(error.filename or directory, f"cannot read directory: {error.strerror}"))
    # os.walk reports a directory it cannot enter after the last one it yields (or instead of ``top``)
    for error in errors:
        found.append(Candidate(error.filename or top, f"cannot read directory: {error.strerror}"))
    yield from mark_patches(found, kustomizations)


def mark_patches(candidates: Iterable[Candidate], kustomizations: Iterable[str]) -> Iterator[Candidate]:
    """The candidates, those that one of ``kustomizations`` lists as a patch marked as skipped."""
    patches = {patch: listing for listing in kustomizations for patch in skips.patch_files(listing)}
    for candidate in candidates:
        listed = patches.get(os.path.abspath(candidate.path))
        if listed and candidate.skip is None and candidate.error is None:
            candidate = Candidate(candidate.path, skip=skips.patch_note(listed))
        yield candidate


def _relative(path: str, top: str) -> str:
    return os.path.relpath(path, top).replace(os.sep, "/")


def _left_out(path: str, top: str, globs: Globs, ignore: GitIgnore, *, is_dir: bool) -> bool:
    """True when an ``--exclude`` glob or git ignores ``path``."""
    relative = _relative(path, top) + ("/" if is_dir else "")
    return globs.exclude.match_file(relative) or ignore.ignored(path, is_dir=is_dir)


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
    if not status.st_mode & 0o222 or not os.access(target, os.W_OK):  # the bits too: root can always write
        # a rename needs only the directory's permission: check the file's, or it would be overridden
        raise PermissionError(errno.EACCES, "the file is read-only; not overwritten (make it writable first)")
    temporary = _temporary_copy(target, data, stat.S_IMODE(status.st_mode))
    try:
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


def create_atomic(path: str, data: bytes) -> None:
    """Create ``path`` holding ``data``, never a part of it; refuse if the file exists by then.

    The data goes to a temporary file that is then hard-linked to ``path``: a link fails when the
    name is taken (someone created the file meanwhile), where a rename would replace their file.
    """
    umask = os.umask(0)
    os.umask(umask)
    temporary = _temporary_copy(path, data, 0o666 & ~umask)  # an editor's new file, not mkstemp's 0600
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise ChangedOnDisk("the file appeared on disk while k8sfix ran; not overwritten") from None
    finally:
        os.unlink(temporary)


def _temporary_copy(path: str, data: bytes, mode: int) -> str:
    """A temporary file beside ``path`` holding ``data`` (flushed to disk) with ``mode``, to be
    renamed or linked over ``path``; removed again if writing it fails."""
    handle, temporary = tempfile.mkstemp(prefix=".k8sfix-", suffix=".tmp", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary
