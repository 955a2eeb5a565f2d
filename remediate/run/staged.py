"""The repository as git's index holds it: what a commit will contain (``--context-staged``).

A pre-commit hook checks the staged files against the rest of the repository: a NetworkPolicy in
another file covers their pods, a Service selects them. Read from the working tree, that context
is wrong both ways: an untracked policy lets a commit pass that CI (which sees only what was
committed) then fails, and a policy whose staged version differs is seen as it is on disk. So the
context is read from the index instead: every staged regular file whose name a manifest has
(``*.yaml``, ``*.yml``, ``*.json``), with the content staged for it. Links and submodules are
left out; each file is read up to :data:`~remediate.yaml.source.MAX_BYTES`.

git runs with the repository's fsmonitor switched off: reading the index must not run a program
the repository's configuration names (a repository is untrusted input).
"""

from __future__ import annotations

import os
import subprocess
from typing import NamedTuple

from remediate.yaml.source import MAX_BYTES

GIT = ["git", "-c", "core.fsmonitor=false", "-c", "core.untrackedCache=false"]
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
REGULAR_MODES = ("100644", "100755")
TIMEOUT = 60


class NotARepository(Exception):
    """The current directory is not in a git work tree (or git is missing); the message says which."""


class StagedFile(NamedTuple):
    """A staged manifest: its path (relative to the current directory when below it), the git blob
    id of its staged content, and the repository's top directory (:func:`read` gets the content)."""

    path: str
    blob: str
    top: str
    absolute: str


def staged_manifests() -> list[StagedFile]:
    """Every staged manifest of the repository holding the current directory (see the module
    docstring), without its content; :class:`NotARepository` outside one."""
    top = repository_top()
    listing = os.fsdecode(_git("-C", top, "ls-files", "--stage", "-z"))  # as each name alone decodes
    here = os.getcwd()
    below = here.rstrip(os.sep) + os.sep
    found = []
    for record in listing.split("\0"):
        meta, _, path = record.partition("\t")
        fields = meta.split()
        if (
            len(fields) == 3
            and fields[0] in REGULAR_MODES
            and fields[2] == "0"
            and path.lower().endswith(MANIFEST_SUFFIXES)
        ):
            absolute = os.path.join(top, path)
            found.append(StagedFile(_shown(absolute, here, below), fields[1], top, absolute))
    return found


def _shown(absolute: str, here: str, below: str) -> str:
    """``absolute`` relative to the directory ``here`` (the current one; ``below`` is it with a
    separator after it) when below it, else as it is."""
    if absolute.startswith(below):
        return absolute[len(below) :]
    relative = os.path.relpath(absolute, here)
    return absolute if relative.startswith(os.pardir) else relative


def repository_top() -> str:
    """The top directory of the repository holding the current directory; :class:`NotARepository`."""
    return _git("rev-parse", "--show-toplevel").decode().strip()


def read(staged: list[StagedFile]) -> list[bytes]:
    """The staged contents of ``staged`` (of one repository), in order."""
    return _blobs(staged[0].top, [each.blob for each in staged]) if staged else []


def _git(*arguments: str) -> bytes:
    try:
        done = subprocess.run([*GIT, *arguments], capture_output=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as problem:
        raise NotARepository(f"git could not be run: {problem}") from None
    if done.returncode != 0:
        raise NotARepository(done.stderr.decode(errors="replace").strip() or "not a git repository")
    return done.stdout


def _blobs(top: str, blobs: list[str]) -> list[bytes]:
    """The contents of ``blobs``, in order (``git cat-file --batch``), each cut at MAX_BYTES + 1
    (a file larger than a manifest can be is then reported as too large, not read whole)."""
    if not blobs:
        return []
    request = "".join(f"{blob}\n" for blob in blobs).encode()
    try:
        done = subprocess.run(
            [*GIT, "-C", top, "cat-file", "--batch"],
            input=request,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as problem:
        raise NotARepository(f"git could not be run: {problem}") from None
    out, contents, at = done.stdout, [], 0
    for _ in blobs:
        header_end = out.index(b"\n", at)
        header = out[at:header_end].split()
        if len(header) != 3:  # "<blob> missing": a broken index holds nothing to read
            contents.append(b"")
            at = header_end + 1
            continue
        size = int(header[2])
        start = header_end + 1
        contents.append(out[start : start + min(size, MAX_BYTES + 1)])
        at = start + size + 1
    return contents
