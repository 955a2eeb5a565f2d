"""The schema guard's passes, kept between runs, so that a one-file run need not load the schemas.

Every fix is checked against the Kubernetes schema (:mod:`remediate.kube.validation`), and that
check needs jsonschema and the schemas of the target version: about a tenth of a second to load,
more than everything else a pre-commit run of one file does. Fixes write the same values again and
again (the usual ``securityContext``, ``imagePullPolicy``, resources), so the guard's passes are
kept in the user's cache directory (:func:`remediate.run.context_cache.directory`), in one file for
all repositories: each is a digest of everything its verdict depends on
(:func:`remediate.kube.validation.verdict_key`), never the values themselves. A value not passed
before is validated, and a refusal is always worked out again.

The file holds the passes this run learnt or used first, then earlier ones, up to :data:`LIMIT`
(0.7 MB). It is read when the guard first asks, written atomically when the run learnt a
pass, and belongs to the code and the schemas that made it: a change to k8sfix's modules (its
:func:`~remediate.run.context_cache.code_fingerprint`) or to the installed schemas starts it
afresh. A file that cannot be read, or holds anything unexpected, counts as empty; one that
cannot be written is not kept. Passes learnt by worker processes (``--jobs``) are not kept: they
matter to runs of a few files, which run in one process. ``--no-cache`` does without it.
"""

from __future__ import annotations

import importlib.util
import os

from remediate.kube import validation, versions
from remediate.run import context_cache

FORMAT = 1
"""The layout of the file; a change to it starts the cache afresh."""

LIMIT = 20_000
"""The most passes kept. All fixers on the shared corpus's 1,525 files learn about 450."""

BYTES = 4 * 1024 * 1024
"""The largest file read (:data:`LIMIT` passes take 0.7 MB); a larger one counts as empty."""

FILE_NAME = "schema-verdicts.json"


def open_cache(enabled: bool) -> validation.Verdicts:
    """The run's verdicts: kept between runs when ``enabled`` and there is a cache directory,
    else for this process only."""
    folder = context_cache.directory()
    if not enabled or folder is None:
        return validation.Verdicts()
    return VerdictCache(os.path.join(folder, FILE_NAME), fingerprint())


JUDGES = ("kubernetes_validate", "jsonschema", "referencing")
"""The packages whose code gives a verdict: an upgrade of any of them starts the cache afresh."""


def fingerprint() -> str:
    """What the passes belong to: k8sfix's code; the installed schemas (each schema folder's path,
    inode and time, which an upgrade of ``kubernetes-validate`` changes); and the validating
    packages, each by its ``__init__.py``'s path, inode, size and time (an install writes it anew).
    The packages are found, not imported (:func:`importlib.util.find_spec`): a run that meets only
    known verdicts never loads them. A schema file edited in place, in a checkout of
    ``kubernetes-validate`` installed for development, is not noticed: ``--no-cache`` is for that."""
    facts = [context_cache.code_fingerprint()]
    for root in versions.schema_roots():
        status = os.stat(root)
        facts.append(f"{root} {status.st_ino} {status.st_mtime_ns}")
    for name in JUDGES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        facts.append(f"{name} {origin} {_status(origin)}")
    return " ".join(facts)


def _status(path: str | None) -> str:
    """The inode, size and time of the file at ``path``; nothing when it has none (inside a zip
    file, say: its path alone counts)."""
    try:
        status = os.stat(path) if path else None
    except OSError:
        status = None
    return "" if status is None else f"{status.st_ino} {status.st_size} {status.st_mtime_ns}"


class VerdictCache(validation.Verdicts):
    """The guard's passes, read from ``path`` when first asked for; :meth:`save` keeps them."""

    def __init__(self, path: str, fingerprint: str) -> None:
        super().__init__()
        self.path = path
        self.fingerprint = fingerprint
        self._earlier: dict[str, None] | None = None
        """The passes of earlier runs, in the file's order (None: not read yet)."""
        self._used: dict[str, None] = {}

    def passed(self, key: str) -> bool:
        if key in self.learnt:
            return True
        if self._earlier is None:
            self._earlier = dict.fromkeys(self._load())
        if key in self._earlier:
            self._used[key] = None
            return True
        return False

    def _load(self) -> list[str]:
        stored = context_cache.read_cache(self.path, BYTES)
        if not isinstance(stored, dict) or stored.get("fingerprint") != [FORMAT, self.fingerprint]:
            return []
        passed = stored.get("passed")
        if not isinstance(passed, list) or not all(isinstance(key, str) for key in passed):
            return []
        return passed

    def save(self) -> None:
        """Write the passes, when this run learnt any: its own first, then earlier ones."""
        if not self.learnt:
            return
        kept = dict.fromkeys(sorted(self.learnt))
        kept.update(self._used)
        kept.update(self._earlier or {})
        passed = list(kept)[:LIMIT]
        context_cache.write_cache(self.path, {"fingerprint": [FORMAT, self.fingerprint], "passed": passed})
