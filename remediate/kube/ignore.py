"""Per-object opt-out: ``k8sfix.io/ignore`` and kube-score's ``kube-score/ignore`` annotations.

``k8sfix.io/ignore: "image-pull-policy,container-probes"`` (ids or codes) or ``"all"`` on an object's
metadata, or on its pod template's metadata, switches those fixers off for that object.
kube-score's ``kube-score/ignore: container-image-pull-policy`` is honoured through
:mod:`remediate.kube.crosswalk`, so objects already tuned for kube-score need no second annotation.
"""

from __future__ import annotations

from remediate.kube.crosswalk import kube_score_ignores
from remediate.kube.k8s import Manifest, PodKind, annotations_of, pod_template

ANNOTATION = "k8sfix.io/ignore"
KUBE_SCORE_ANNOTATION = "kube-score/ignore"
ALL = "all"


def ignored(manifest: Manifest, pod_kinds: tuple[PodKind, ...], codes: dict[str, str]) -> set[str]:
    """Fixer ids switched off for ``manifest`` (``{"all"}`` for all); ``codes`` maps code to id."""
    found: set[str] = set()
    template = pod_template(manifest, pod_kinds)
    for metadata in (manifest.metadata, template.metadata if template else None):
        notes = annotations_of(metadata)
        for part in notes.get(ANNOTATION, "").split(","):
            part = part.strip()
            if part:
                found.add(codes.get(part.upper(), part))
        if KUBE_SCORE_ANNOTATION in notes:
            found |= kube_score_ignores(notes[KUBE_SCORE_ANNOTATION])
    return found
