"""What a check reports: a problem found in one Kubernetes object, and the fix it offers.

A :class:`Finding` names the *problem* (its message) and where it is (file position, YAML path,
object, container); its optional :class:`~remediate.yaml.model.Fix` names the *action*.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple

from remediate.yaml.model import Fix, YamlPath


class Severity(enum.Enum):
    """How bad a finding is; ``error`` findings make security or availability worse."""

    WARNING = "warning"
    ERROR = "error"


class ObjectRef(NamedTuple):
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
    rule: str = ""
    """Which of the fixer's rules found it (one of ``Fixer.rules``; a fixer with one rule leaves it
    empty). Rules are what config moves between safe and unsafe (``security-context/run-as-user``)."""

    @property
    def identity(self) -> tuple[str, str, int, YamlPath]:
        """What stays the same for one problem across passes, whatever lines moved."""
        return (self.code, self.rule, self.doc, self.path)

    @property
    def rule_id(self) -> str:
        """``fixer/rule``, or the fixer's id for a fixer with one rule."""
        return f"{self.fixer}/{self.rule}" if self.rule else self.fixer
