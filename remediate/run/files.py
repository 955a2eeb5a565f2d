"""Which files a run reads, and how fixed files are written back.

Directories are walked recursively for ``*.yaml``, ``*.yml`` and ``*.json``, in sorted order,
skipping hidden directories (``.git``, ``.venv``, ...), symbolic links to directories (so a link
loop cannot trap the walk) and what git ignores (:mod:`remediate.run.gitignore`). ``--include`` globs
replace the three suffixes, ``--exclude`` globs leave files and whole directories out; both use
``.gitignore`` syntax relative to the directory walked (``*.json``, ``legacy/``, ``charts/**/crds``).
Files named on the command line are read whatever their extension, and no glob filters them.

A repository is untrusted input, so what a walk lists is held to what the user named:

- a symbolic link met in a walk whose target lies outside the directory walked is skipped with a
  note (a committed link must not make ``--write`` rewrite a file elsewhere on the machine); a
  link named on the command line is followed, and writing through it replaces its target, never
  the link;
- FIFOs, sockets and devices are skipped without being opened (a FIFO would block the run);
- two paths that are one file (``a.yaml ./a.yaml``, ``. sub/``, two links, hard links) are listed
  once, under the first name met.

Helm chart templates and kustomize patches are listed with a skip note (:mod:`remediate.kube.skips`),
so the summary counts them.

Writes replace only regular files. They are atomic: the new bytes go to a temporary file in the
same directory, are flushed to disk, get the original file's mode and owner, and replace the
original with one ``rename``, so a reader sees the old file or the new one, never a mix. Right
before the rename the file is read again, and if it no longer holds what k8sfix read (an editor
saved it meanwhile) it is not overwritten. A read-only file, or a file in a read-only directory, is
refused even for root (a rename needs only the directory's permission, so both are checked). Two
kinds of file are rewritten in place instead, so that what a rename would lose survives: a file
with several hard links (every link must see the fix) and a file whose owner or group a new file
could not be given (k8sfix not running as root). That write is not atomic.
"""

from __future__ import annotations

import errno
import functools
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

from remediate.kube import kustomize, skips
from remediate.yaml.source import NotRegularFile, file_kind, read_regular

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

    from remediate.run.gitignore import GitIgnore

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
MANIFEST_GLOBS = tuple(f"*{suffix}" for suffix in MANIFEST_SUFFIXES)

OUTSIDE_LINK = "a symbolic link out of the directory walked"
SPECIAL_FILE = "not a regular file"
"""The heads of skip notes (:func:`remediate.kube.skips.reason` counts skips by them)."""


Status = tuple[int, int, int, int, int, int]
"""A file's size, modification and change times (ns), inode and device, as ``stat`` gave them
(links followed), and a time (ns) taken before that ``stat``."""


class Candidate(NamedTuple):
    """A file to read: its display name, the error that kept it from being listed, or why it is
    skipped; ``identity`` is its ``(device, inode)``, the same for every name of one file, and
    ``status`` what the listing's ``stat`` found (:data:`Status`), which the context cache compares
    with the status it kept the file's blob id with instead of taking it again."""

    path: str
    error: str | None = None
    skip: str | None = None
    identity: tuple[int, int] | None = None
    status: Status | None = None


def status_of(found: os.stat_result, taken: int) -> Status:
    """The :data:`Status` of a file ``found`` by a ``stat`` made after the time ``taken``."""
    return found.st_size, found.st_mtime_ns, found.st_ctime_ns, found.st_ino, found.st_dev, taken


class Globs:
    """The ``--include`` and ``--exclude`` patterns of a walk, matched against paths relative to
    the directory walked. Patterns that are all ``*`` and a plain suffix (the default ``*.yaml``,
    ``*.yml``, ``*.json``) are matched as suffixes of the name, which is what they mean: a pattern
    without ``/`` matches the last name of a path. A walk of 24,000 files spent a quarter of its
    time matching them."""

    def __init__(self, include: list[str], exclude: list[str]) -> None:
        self._include = _compiled(tuple(include))
        self._suffixes = _plain_suffixes(include)
        self._exclude = _compiled(tuple(exclude)) if exclude else None

    def includes(self, relative: str, name: str) -> bool:
        """True when the file ``name``, at ``relative`` below the directory walked, is to be read."""
        if self._suffixes is not None:
            return name.endswith(self._suffixes)
        return self._include.match_file(relative)

    def excludes(self, relative: str) -> bool:
        """True when ``relative`` (ending in ``/`` for a directory) is left out."""
        return self._exclude is not None and self._exclude.match_file(relative)


def _plain_suffixes(patterns: list[str]) -> tuple[str, ...] | None:
    """The suffixes of ``patterns`` when each is ``*`` followed by a suffix without another glob
    character, escape or ``/``; else None."""
    if not patterns or any(
        not pattern.startswith("*") or any(char in pattern[1:] for char in "*?[]\\/!# ")
        for pattern in patterns
    ):
        return None
    return tuple(pattern[1:] for pattern in patterns)


class ProjectExcludes(NamedTuple):
    """The config file's ``exclude`` patterns, relative to its directory ``base``."""

    base: str
    patterns: tuple[str, ...]

    def match(self, path: str, *, is_dir: bool) -> bool:
        relative = os.path.relpath(os.path.abspath(path), self.base)
        if relative.startswith(os.pardir) or not self.patterns:
            return False
        return _compiled(self.patterns).match_file(relative + ("/" if is_dir else ""))


@functools.cache
def _compiled(patterns: tuple[str, ...]) -> GitIgnoreSpec:
    """The patterns as one matcher, compiled once (a walk asks for every directory and file, and
    pre-commit names every file)."""
    from pathspec import GitIgnoreSpec

    return GitIgnoreSpec.from_lines(patterns)


def expand(
    paths: Sequence[str],
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    project: ProjectExcludes | None = None,
    *,
    force_exclude: bool = False,
) -> Iterator[Candidate]:
    """The files named, and the manifest files found below the directories named, each file once;
    left out: what ``exclude`` (below each directory walked) or ``project`` match, in walks, and
    with ``force_exclude`` in the files and directories named too (pre-commit names each file)."""
    seen: set[tuple[int, int]] = set()
    for path in paths:
        if path == "-":
            yield Candidate(path)
            continue
        if force_exclude and _excluded_by_name(path, exclude or [], project):
            continue
        if os.path.isdir(path):
            found: Iterable[Candidate] = _walk(path, include or list(MANIFEST_GLOBS), exclude or [], project)
        elif os.path.lexists(path):
            found = (named(path),)
        else:
            found = (Candidate(path, "no such file or directory"),)
        for candidate in found:
            if candidate.identity is not None:
                if candidate.identity in seen:
                    continue
                seen.add(candidate.identity)
            yield candidate


def bad_glob(include: list[str] | None, exclude: list[str] | None) -> str | None:
    """The first ``--include`` or ``--exclude`` glob that is not a ``.gitignore`` pattern, as an error."""
    if not include and not exclude:
        return None  # and pathspec stays unimported: a one-file run starts faster
    from remediate.run.gitignore import valid_pattern

    for option, globs in (("--include", include or []), ("--exclude", exclude or [])):
        for glob in globs:
            if not valid_pattern(glob):
                return f"{option} {glob!r}: not a .gitignore pattern"
    return None


def named(path: str) -> Candidate:
    """A file named on the command line (or a policy file): links are followed, special files
    skipped, chart templates, the patches of the kustomizations beside or above it and test
    assertions skipped with a note."""
    return _stated(
        path,
        lambda found: skips.chart_template(found) or skips.listed_patch(found) or skips.test_assertion(found),
    )


def _stated(
    path: str,
    skip_of: Callable[[str], str | None],
    status: os.stat_result | None = None,
    taken: int | None = None,
) -> Candidate:
    """The candidate ``path`` is, by ``os.stat`` (links followed; ``status`` when it is taken
    already, after the time ``taken``): unreadable, a special file that is never opened, or a file
    with its identity, status and the note ``skip_of`` gives it (None: read it)."""
    if status is None or taken is None:
        taken = time.time_ns()
        try:
            status = os.stat(path)
        except OSError as exc:
            return Candidate(path, f"cannot read: {exc.strerror}")
    kind = file_kind(status.st_mode)
    if kind is not None:
        return Candidate(path, skip=f"{SPECIAL_FILE} ({kind}): not read")
    return Candidate(
        path, skip=skip_of(path), identity=(status.st_dev, status.st_ino), status=status_of(status, taken)
    )


def identity(path: str) -> tuple[int, int] | None:
    """The ``(device, inode)`` of the file at ``path`` (links followed); None when there is none."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def inside(path: str, directory: str) -> bool:
    """True when ``path``, every link on the way resolved, lies in ``directory`` or below it."""
    real, top = os.path.realpath(path), os.path.realpath(directory)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def _excluded_by_name(path: str, exclude: list[str], project: ProjectExcludes | None) -> bool:
    """True when a path named on the command line is excluded: by ``--exclude`` (from the current
    directory) or by the config's patterns."""
    is_dir = os.path.isdir(path)
    relative = os.path.relpath(path) + ("/" if is_dir else "")
    if exclude and not relative.startswith(os.pardir) and _compiled(tuple(exclude)).match_file(relative):
        return True
    return project is not None and project.match(path, is_dir=is_dir)


def _walk(
    top: str, include: list[str], exclude: list[str], project: ProjectExcludes | None = None
) -> Iterator[Candidate]:
    """The files below ``top``; the patches of every kustomization found are marked once the walk is done,
    as an overlay may list a patch of a directory walked before it."""
    # imported by walks only: a one-file run starts faster
    from remediate.run.gitignore import GitIgnore, relative_prefix

    globs = Globs(include, exclude)
    found: list[Candidate] = []
    kustomizations: list[str] = []
    ignore = GitIgnore(top)
    errors: list[OSError] = []
    taken = time.time_ns()  # before every status the walk takes: so each is known to be no older
    for directory, subdirectories, names in os.walk(top, onerror=errors.append):
        # the paths of a directory's entries are made from the directory's, once per directory: a
        # repository of 24,000 files spent a second in os.path making each one absolute and relative
        place = _Place(directory, relative_prefix(directory, top), ignore)
        subdirectories[:] = sorted(
            d
            for d in subdirectories
            if not d.startswith(".")
            and not os.path.islink(os.path.join(directory, d))
            and not _left_out(place, d, globs, is_dir=True)
            and not (project is not None and project.match(os.path.join(directory, d), is_dir=True))
        )
        kustomization = kustomize.in_directory(directory)
        if kustomization:
            kustomizations.append(kustomization)
        prefix = os.path.join(directory, "")  # the directory and a separator: what each join made
        for name in sorted(names):
            if name.startswith(".") or not globs.includes(place.relative + name, name):
                continue
            if _left_out(place, name, globs, is_dir=False):
                continue
            path = prefix + name
            if project is not None and project.match(path, is_dir=False):
                continue
            found.append(_walked(path, top, place, taken))
        while errors:
            error = errors.pop(0)
            found.append(Candidate(error.filename or directory, f"cannot read directory: {error.strerror}"))
    # os.walk reports a directory it cannot enter after the last one it yields (or instead of ``top``)
    for error in errors:
        found.append(Candidate(error.filename or top, f"cannot read directory: {error.strerror}"))
    # and those above ``top``, which may list patches below it (as the pre-commit hook names files)
    walked = {os.path.abspath(k) for k in kustomizations}
    outer = kustomize.above(os.path.join(os.path.abspath(top), "-"))
    kustomizations += [os.path.relpath(k) for k in outer if k not in walked]
    yield from mark_patches(found, kustomizations)


def _walked(path: str, top: str, place: _Place, taken: int) -> Candidate:
    """A file met in the walk of ``top``, in the directory ``place``, after the time ``taken``: a
    link is followed only when its target is below ``top``. One ``lstat``: a file that is not a link
    needs no other."""
    try:
        status = os.lstat(path)
    except OSError as exc:
        return Candidate(path, f"cannot read: {exc.strerror}")
    is_link = stat.S_ISLNK(status.st_mode)
    if is_link and not inside(path, top):  # dangling or not: not k8sfix's to follow
        return Candidate(path, skip=f"{OUTSIDE_LINK} (to {os.path.realpath(path)}): not followed")
    return _stated(path, place.skip_of, None if is_link else status, taken)  # a link's target: by _stated


def mark_patches(candidates: Iterable[Candidate], kustomizations: Iterable[str]) -> Iterator[Candidate]:
    """The candidates, those that one of ``kustomizations`` lists as a patch marked as skipped."""
    patches = {patch: listing for listing in kustomizations for patch in kustomize.patch_files(listing)}
    if not patches:
        yield from candidates
        return
    for candidate in candidates:
        listed = patches.get(os.path.abspath(candidate.path))
        if listed and candidate.skip is None and candidate.error is None:
            candidate = candidate._replace(skip=skips.patch_note(listed))
        yield candidate


class _Place:
    """A directory of a walk, with what its entries share: its path relative to the walk's top in
    the form globs match (``/`` between names, ending in ``/``; empty for the top itself), the ignore
    rules in force in it, and the skip note of a chart's templates when it holds some."""

    def __init__(self, directory: str, relative: str, ignore: GitIgnore) -> None:
        absolute = os.path.abspath(directory)
        self.relative = relative
        self.ignore = ignore.in_directory(absolute)
        self.template_note = skips.chart_template_in(absolute)

    def skip_of(self, path: str) -> str | None:
        """The skip note of the file ``path`` of this directory (None: read it)."""
        return self.template_note or skips.test_assertion(path)


def _left_out(place: _Place, name: str, globs: Globs, *, is_dir: bool) -> bool:
    """True when an ``--exclude`` glob or git ignores the entry ``name`` of the directory ``place``."""
    if globs.excludes(place.relative + name + ("/" if is_dir else "")):
        return True
    return place.ignore.ignores(name, is_dir=is_dir)


class ChangedOnDisk(Exception):
    """The file is no longer what k8sfix read; writing would lose someone else's change."""


def write_atomic(path: str, data: bytes, original: bytes) -> None:
    """Replace the file at ``path`` (its target, when ``path`` is a link) by ``data``, keeping its mode,
    owner and links; refuse unless it is a writable regular file that still holds ``original``."""
    target = os.path.realpath(path)
    status = os.lstat(target)
    kind = file_kind(status.st_mode)
    if kind is not None:
        raise NotRegularFile(kind)
    _check_writable(target, status)
    if status.st_nlink > 1 or not _can_give_owner(status):
        _write_in_place(target, data, original)
        return
    temporary = _temporary_copy(target, data, stat.S_IMODE(status.st_mode), (status.st_uid, status.st_gid))
    try:
        _check_unchanged(target, original)  # as late as can be: an editor may have saved meanwhile
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


def create_atomic(path: str, data: bytes) -> None:
    """Create ``path`` holding ``data``, never a part of it; refuse if the name is taken by then.

    The data goes to a temporary file that is then hard-linked to ``path``: a link fails when the
    name exists (someone created the file meanwhile, or a symbolic link sits there), where a rename
    would replace it. Missing directories on the way are created (``policies/network.yaml``). Run as
    root, the new file and directories get the owner and group of the directory they are made in,
    so that a repository's files stay its owner's.
    """
    directory = os.path.dirname(os.path.abspath(path))
    existing = directory
    while not os.path.isdir(existing):
        existing = os.path.dirname(existing)
    _check_directory_writable(existing)
    parent = os.stat(existing)
    owner = (parent.st_uid, parent.st_gid) if os.geteuid() == 0 else None
    _make_directories(directory, existing, owner)
    umask = os.umask(0)
    os.umask(umask)
    temporary = _temporary_copy(path, data, 0o666 & ~umask, owner)  # an editor's new file, not mkstemp's 0600
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise ChangedOnDisk("the file appeared on disk while k8sfix ran; not overwritten") from None
    finally:
        os.unlink(temporary)


def _make_directories(directory: str, existing: str, owner: tuple[int, int] | None) -> None:
    """Create ``directory`` and those above it down from ``existing``, giving each ``owner``."""
    missing = []
    while directory != existing:
        missing.append(directory)
        directory = os.path.dirname(directory)
    for made in reversed(missing):
        os.mkdir(made)
        if owner is not None:
            os.chown(made, *owner)


def _check_writable(target: str, status: os.stat_result) -> None:
    """Refuse a read-only file, by its bits too (root may write any file), or one in a read-only directory."""
    if not status.st_mode & 0o222 or not os.access(target, os.W_OK):
        # a rename needs only the directory's permission: check the file's, or it would be overridden
        raise PermissionError(errno.EACCES, "the file is read-only; not overwritten (make it writable first)")
    _check_directory_writable(os.path.dirname(target))


def _check_directory_writable(directory: str) -> None:
    """Refuse to write in a read-only directory, even as root: whoever made it so wants it kept."""
    mode = os.stat(directory).st_mode
    if not mode & 0o222 or not os.access(directory, os.W_OK):
        raise PermissionError(
            errno.EACCES, "the directory is read-only; not written (make it writable first)"
        )


def _can_give_owner(status: os.stat_result) -> bool:
    """True when a new file can be given the owner and group of the file it replaces."""
    if os.geteuid() == 0:
        return True
    return status.st_uid == os.geteuid() and (
        status.st_gid == os.getegid() or status.st_gid in os.getgroups()
    )


def _check_unchanged(target: str, original: bytes) -> None:
    try:
        current, _ = read_regular(target)
    except FileNotFoundError:
        raise ChangedOnDisk("the file was removed while k8sfix ran; not written") from None
    if current != original:
        raise ChangedOnDisk("the file changed on disk while k8sfix ran; not overwritten")


def _write_in_place(target: str, data: bytes, original: bytes) -> None:
    """Rewrite the file itself (same inode: its links and owner stay), if it still holds ``original``."""
    descriptor = os.open(target, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(descriptor, "r+b") as handle:
        kind = file_kind(os.fstat(handle.fileno()).st_mode)
        if kind is not None:
            raise NotRegularFile(kind)
        if handle.read(len(original) + 1) != original:
            raise ChangedOnDisk("the file changed on disk while k8sfix ran; not overwritten")
        handle.seek(0)
        handle.write(data)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())


def _temporary_copy(path: str, data: bytes, mode: int, owner: tuple[int, int] | None) -> str:
    """A temporary file beside ``path`` holding ``data`` (flushed to disk) with ``mode`` and ``owner``
    (uid, gid), to be renamed or linked over ``path``; removed again if writing it fails."""
    handle, temporary = tempfile.mkstemp(prefix=".k8sfix-", suffix=".tmp", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if owner is not None and owner != (os.geteuid(), os.getegid()):
            os.chown(temporary, *owner)
        os.chmod(temporary, mode)  # after chown, which clears the set-user-ID and set-group-ID bits
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary
