"""What several fixers share and Kubernetes does not define (that lives in :mod:`remediate.kube`).

Modules of this package whose names start with ``_`` hold no fixer; the registry skips them.
"""

from __future__ import annotations


class TemplateProblem(Exception):
    """A template from a fixer's options (a probe template, a NetworkPolicy template) that cannot
    make what the fixer needs for an object; the message completes the finding's, and says why."""
