"""The values that flow between fixers and the YAML engine: edits and fixes.

All of them are immutable records: named tuples, which cost a run's start-up a tenth of what a frozen
dataclass does, and less to make. A fixer never changes text; it returns findings
(:mod:`remediate.kube.findings`), each with an optional :class:`Fix` made of :class:`Edit` splices
and the :class:`Touch` paths it promises to change. :mod:`remediate.yaml.apply` applies the edits and
:mod:`remediate.yaml.verify` holds the fix to its promise. Nothing here knows Kubernetes.
"""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

YamlPath = tuple[str | int, ...]
"""Keys and list indices from a document's root to a value, e.g. ``("spec", "replicas")``."""


class Edit(NamedTuple):
    """Replace ``text[start:end]`` of the file by ``new``; ``start == end`` inserts."""

    start: int
    end: int
    new: str


class Absent(enum.Enum):
    """The value of a :class:`Touch` that removes a key: after the fix, ``path`` does not exist."""

    DELETED = "deleted"


DELETED = Absent.DELETED


class Touch(NamedTuple):
    """A promise of a fix: after it, the value at ``path`` of document ``doc`` is ``value``
    (:data:`DELETED`: the path no longer exists)."""

    doc: int
    path: YamlPath
    value: Any


class NewDocument(NamedTuple):
    """A document a fix adds to another file, ``file`` (created when missing): network-policy's
    ``policy-file`` gathers a directory's new NetworkPolicies so. :mod:`remediate.run.delivery` adds
    them once every file is processed."""

    file: str
    value: dict[str, Any]
    comment: str | None = None


class Applicability(enum.Enum):
    """How safe a fix is to apply without a human looking at it (ruff's ``Applicability``).

    ``safe``: it cannot stop a working object from working, given what k8sfix can see; applied by
    ``--write`` and shown by ``--diff``. ``unsafe``: usually right, but it can break some workloads;
    applied only when asked for. ``display-only``: shown as a suggestion, never applied.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


class Fix(NamedTuple):
    """How to resolve a finding: the splices, and what they change (verified after applying);
    or, for a fix made in another file, the documents it adds there (``adds``, no edits)."""

    title: str
    edits: tuple[Edit, ...]
    touches: tuple[Touch, ...]
    adds: tuple[NewDocument, ...] = ()
    applicability: Applicability = Applicability.SAFE
