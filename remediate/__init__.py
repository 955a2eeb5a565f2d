"""k8sfix's engine: finds unsafe Kubernetes manifests and fixes them by splicing text.

The engine knows no particular fixer. It reads files (:mod:`remediate.source`), composes them into
positioned nodes (:mod:`remediate.document`), lets the fixers of :mod:`fixers` look at them, applies
the edits they propose (:mod:`remediate.apply`) and proves each result (:mod:`remediate.verify`).
"""

__version__ = "0.1.0"
