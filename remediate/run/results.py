"""What happened to each file of a run: the values the runner returns and the outputs print.

They live apart from :mod:`remediate.run.runner` so that code that shows results (the text report,
JSON, SARIF, the reports) needs nothing of the machinery that makes them.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from remediate.kube.findings import Finding
from remediate.yaml.model import NewDocument
from remediate.yaml.source import Source


class Status(enum.Enum):
    UNCHANGED = "unchanged"
    CHANGED = "changed"
    SKIPPED = "skipped"
    FAILED = "failed"


class Problem(NamedTuple):
    """An error or note about a file; ``line``/``column`` are 1-based when known."""

    message: str
    line: int | None = None
    column: int | None = None


class FileResult(NamedTuple):
    """What happened to one file.

    ``findings`` are the problems of the input, at input positions; ``fixed`` holds the
    :attr:`~remediate.kube.findings.Finding.identity` of those the output no longer has. ``output`` is the
    fixed text when it differs from the input.
    """

    name: str
    status: Status
    source: Source | None = None
    findings: tuple[Finding, ...] = ()
    fixed: frozenset[tuple] = frozenset()
    output: str | None = None
    errors: tuple[Problem, ...] = ()
    skip_reason: str | None = None
    """Why the file was skipped (a Helm template, a kustomize patch...), for status SKIPPED."""
    documents: int = 0
    notes: tuple[Problem, ...] = ()
    """Remarks that are not errors, e.g. objects ``--validate`` has no schema for."""
    adds: tuple[NewDocument, ...] = ()
    """Documents the fixes add to other files (:mod:`remediate.run.delivery` writes them)."""
    created: bool = False
    """The file did not exist: the fixes create it (its diff starts from ``/dev/null``)."""

    @property
    def unfixed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.identity not in self.fixed)
