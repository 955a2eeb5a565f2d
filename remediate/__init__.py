"""k8sfix's engine: finds unsafe Kubernetes manifests and fixes them by splicing text.

The engine knows no particular fixer. It reads files (:mod:`remediate.yaml.source`), composes them into
positioned nodes (:mod:`remediate.yaml.document`), lets the fixers of :mod:`fixers` look at them, applies
the edits they propose (:mod:`remediate.yaml.apply`) and proves each result (:mod:`remediate.yaml.verify`).
"""

__version__ = "0.1.0"
