"""Per-object opt-out: ``k8sfix.io/ignore`` and kube-score's ``kube-score/ignore`` annotations.

``k8sfix.io/ignore: "image-pull-policy,container-probes"`` (ids or codes) or ``"all"`` on an object's
metadata, or on its pod template's metadata, switches those fixers off for that object.
kube-score's ``kube-score/ignore: container-image-pull-policy`` is honoured through
:mod:`remediate.kube.crosswalk`, so objects already tuned for kube-score need no second annotation.
"""

from __future__ import annotations

from collections.abc import Iterable

from remediate.kube.crosswalk import kube_score_ignores
from remediate.kube.k8s import Manifest, PodKind, pod_template
from remediate.yaml.document import Mapping, Scalar

ANNOTATION = "k8sfix.io/ignore"
KUBE_SCORE_ANNOTATION = "kube-score/ignore"
ALL = "all"


def ignored(manifest: Manifest, pod_kinds: tuple[PodKind, ...], codes: dict[str, str]) -> set[str]:
    """Fixer ids switched off for ``manifest`` (``{"all"}`` for all); ``codes`` maps code to id."""
    places = _places(manifest, pod_kinds)
    found = {codes.get(name.upper(), name.lower()) for name in listed(places, ANNOTATION)}
    return found | kube_score_ignores(",".join(listed(places, KUBE_SCORE_ANNOTATION)))


def _places(manifest: Manifest, pod_kinds: tuple[PodKind, ...]) -> tuple[Mapping | None, Mapping | None]:
    """Where the annotations are read: the object's metadata, and its pod template's."""
    template = pod_template(manifest, pod_kinds)
    return manifest.metadata, template.metadata if template else None


def listed(metadata: Iterable[Mapping | None], annotation: str) -> set[str]:
    """The comma-separated names an annotation lists on any of these metadata mappings."""
    return {
        part.strip() for node in metadata for part in _annotation(node, annotation).split(",") if part.strip()
    }


def _annotation(metadata: Mapping | None, annotation: str) -> str:
    """The text of one annotation of a metadata mapping ('' when it has none or it is not text):
    what :func:`~remediate.kube.k8s.annotations_of` gives for it, without reading every other one
    (each object is asked for two, by every check of every pass)."""
    annotations = metadata.get("annotations") if metadata is not None else None
    if not isinstance(annotations, Mapping) or annotation not in annotations.own:
        return ""
    value = annotations.get(annotation)
    return value.data if isinstance(value, Scalar) and isinstance(value.data, str) else ""


def kube_score_checks(manifest: Manifest, pod_metadata: Mapping | None) -> set[str]:
    """The kube-score check ids that ``kube-score/ignore`` switches off for an object (on its
    metadata or its pod template's); fixers that honour single checks read them here."""
    return listed((manifest.metadata, pod_metadata), KUBE_SCORE_ANNOTATION)
