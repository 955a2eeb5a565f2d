"""Which fixes a run applies: the safe ones, and the unsafe ones only when asked (ruff's model).

A fixer says how safe each fix is (:class:`~remediate.yaml.model.Applicability`, decided case by
case: its docstring's "Fix safety" section says why). ``--write`` and ``--diff`` apply the safe
fixes; ``--unsafe-fixes`` (or ``unsafe-fixes: true`` in the config) applies the unsafe ones too. A
display-only fix is never applied.

A team that knows more than k8sfix can see moves fixes between the classes in its config::

    extend-safe-fixes: [security-context/run-as-user]   # our images all run as non-root
    extend-unsafe-fixes: [container-probes]             # every probe change gets a review

An entry names a fixer (id or code), or one of its rules as ``fixer/rule``. The more specific
entry wins (a rule over its fixer); between the two lists at one level, unsafe wins.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from remediate.kube.findings import Finding
from remediate.yaml.model import Applicability, Fix


class FixPolicy(NamedTuple):
    """What a run applies, and how config reclassifies fixes."""

    unsafe_fixes: bool = False
    extend_safe: frozenset[str] = frozenset()
    """Fixer ids, codes and ``fixer/rule`` names whose unsafe fixes count as safe."""
    extend_unsafe: frozenset[str] = frozenset()
    """Likewise, for safe fixes that count as unsafe."""

    def applies(self, fix: Fix) -> bool:
        """True when this run applies ``fix`` (as the fixer or the config classed it)."""
        if fix.applicability is Applicability.SAFE:
            return True
        return self.unsafe_fixes and fix.applicability is Applicability.UNSAFE

    def classify(self, finding: Finding) -> Finding:
        """``finding`` with its fix in the class the config puts it in (the same finding when the
        config says nothing about it)."""
        fix = finding.fix
        if fix is None or fix.applicability is Applicability.DISPLAY_ONLY:
            return finding
        if not (self.extend_safe or self.extend_unsafe):
            return finding
        wanted = self._class_of({finding.rule_id}) if finding.rule else None
        wanted = wanted or self._class_of({finding.fixer, finding.code})
        if wanted is None or wanted is fix.applicability:
            return finding
        return replace(finding, fix=fix._replace(applicability=wanted))

    def _class_of(self, names: set[str]) -> Applicability | None:
        if names & self.extend_unsafe:
            return Applicability.UNSAFE
        if names & self.extend_safe:
            return Applicability.SAFE
        return None


def held_back(finding: Finding, fixed: frozenset[tuple], policy: FixPolicy) -> bool:
    """True for a finding left unfixed only because its fix is unsafe and the run did not ask for
    unsafe fixes: ``--unsafe-fixes`` would fix it."""
    fix = finding.fix
    return (
        fix is not None
        and fix.applicability is Applicability.UNSAFE
        and not policy.unsafe_fixes
        and finding.identity not in fixed
    )
