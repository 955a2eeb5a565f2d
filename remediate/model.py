"""The values that flow between fixers and the engine: edits, fixes and findings.

All of them are frozen dataclasses. A fixer never changes text; it returns findings, each with an
optional :class:`Fix` made of :class:`Edit` splices and the :class:`Touch` paths it promises to
change. :mod:`remediate.apply` applies the edits and :mod:`remediate.verify` holds the fix to its
promise.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

YamlPath = tuple[str | int, ...]
"""Keys and list indices from a document's root to a value, e.g. ``("spec", "replicas")``."""


@dataclass(frozen=True, order=True)
class Edit:
    """Replace ``text[start:end]`` of the file by ``new``; ``start == end`` inserts."""

    start: int
    end: int
    new: str


class Absent(enum.Enum):
    """The value of a :class:`Touch` that removes a key: after the fix, ``path`` does not exist."""

    DELETED = "deleted"


DELETED = Absent.DELETED


@dataclass(frozen=True)
class Touch:
    """A promise of a fix: after it, the value at ``path`` of document ``doc`` is ``value``
    (:data:`DELETED`: the path no longer exists)."""

    doc: int
    path: YamlPath
    value: Any


@dataclass(frozen=True)
class NewDocument:
    """A document a fix adds to another file, ``file`` (created when missing): network-policy's
    ``policy-file`` gathers a directory's new NetworkPolicies so. :mod:`remediate.delivery` adds
    them once every file is processed."""

    file: str
    value: dict[str, Any]
    comment: str | None = None


@dataclass(frozen=True)
class Fix:
    """How to resolve a finding: the splices, and what they change (verified after applying);
    or, for a fix made in another file, the documents it adds there (``adds``, no edits)."""

    title: str
    edits: tuple[Edit, ...]
    touches: tuple[Touch, ...]
    adds: tuple[NewDocument, ...] = ()


class Severity(enum.Enum):
    """How bad a finding is; ``error`` findings make security or availability worse."""

    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class ObjectRef:
    """Which Kubernetes object a finding is about."""

    kind: str
    name: str
    namespace: str | None


@dataclass(frozen=True)
class Finding:
    """One problem found in one object, at a position of the file it was read from."""

    code: str
    fixer: str
    message: str
    doc: int
    path: YamlPath
    line: int
    column: int
    obj: ObjectRef
    container: str | None = None
    severity: Severity = Severity.ERROR
    fix: Fix | None = field(default=None, compare=False)

    @property
    def identity(self) -> tuple[str, int, YamlPath]:
        """What stays the same for one problem across passes, whatever lines moved."""
        return (self.code, self.doc, self.path)
