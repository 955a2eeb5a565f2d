"""Files k8sfix reads but leaves alone, and why: Helm templates, kustomize patches, other YAML.

A skipped file gets a note ``<reason> (<detail>)``; the summary counts skipped files by reason, the
part before the parenthesis (:func:`reason`).

- **Helm templates** are Go templates, not manifests: a file under a chart's ``templates/``
  directory (a directory beside ``Chart.yaml``), or a file that is not valid YAML and holds ``{{``.
  Fixing one would fix text that Helm rewrites before Kubernetes sees it.
- **kustomize patches** are not whole objects: kustomize merges them into a base object, so a
  setting added to a patch overrides the base, and a patch may lack ``apiVersion``/``kind``.
  A file is a patch when a ``kustomization.yaml`` (or a Component) beside it or in a directory
  above it lists it under ``patches``, ``patchesStrategicMerge`` or ``patchesJson6902``, or when
  its content has the shape of one: an object without ``apiVersion`` or ``kind`` that has
  ``metadata.name`` or a ``spec``, or a list of JSON 6902 operations (``op`` and ``path``).
- **Test assertions**: kuttl's ``<step>-assert.yaml`` and ``<step>-errors.yaml`` files hold the
  parts of objects a test expects to find (often with a ``status:``); a field added to one makes
  the test demand it of the real object.
- **Other YAML** (CI pipelines, Helm values, compose files): no document has ``kind`` and ``apiVersion``.
"""

from __future__ import annotations

import os
import re
from functools import cache

from remediate.kube import kustomize
from remediate.yaml.document import Document, Mapping, Sequence

HELM_TEMPLATE = "a Helm/Go template"
KUSTOMIZE_PATCH = "a kustomize patch, not a whole object"
NOT_KUBERNETES = "no Kubernetes objects"
TEST_ASSERTION = "a test assertion, not a manifest"

LABELS = {
    HELM_TEMPLATE: "Helm template",
    KUSTOMIZE_PATCH: "kustomize patch",
    NOT_KUBERNETES: "not Kubernetes",
    TEST_ASSERTION: "test assertion",
}
"""Short names of the reasons, for the summary."""


def reason(note: str) -> str:
    """The short reason of a skip note: ``"a Helm/Go template (in a chart)"`` -> ``"Helm template"``."""
    head = note.split(" (", 1)[0]
    return LABELS.get(head, head)


def forget() -> None:
    """Drop what was seen of charts: the next run looks at the directories as they are then."""
    _in_chart_templates.cache_clear()


def chart_template(path: str) -> str | None:
    """The skip note of a file below the ``templates/`` directory of a Helm chart."""
    return chart_template_in(os.path.dirname(os.path.abspath(path)))


def chart_template_in(directory: str) -> str | None:
    """The skip note of the files of ``directory`` (absolute) when it is, or is below, the
    ``templates/`` directory of a Helm chart (a walk asks once per directory)."""
    if _in_chart_templates(directory):
        return f"{HELM_TEMPLATE} (in a chart's templates/ directory)"
    return None


KUTTL_ASSERTION = re.compile(r"\d+-(?:.*-)?(?:assert|errors)\.ya?ml")
"""kuttl's names for a test step's assertions: ``00-assert.yaml``, ``01-errors.yaml``."""


def test_assertion(path: str) -> str | None:
    """The skip note of a kuttl assert or errors file."""
    name = path[path.rfind(os.sep) + 1 :]  # os.path.basename's answer; asked for every file walked
    if name[:1].isdigit() and KUTTL_ASSERTION.fullmatch(name):
        return f"{TEST_ASSERTION} (a kuttl assert or errors file)"
    return None


@cache
def _in_chart_templates(directory: str) -> bool:
    parent = os.path.dirname(directory)
    if parent == directory:
        return False
    if os.path.basename(directory) == "templates" and os.path.isfile(os.path.join(parent, "Chart.yaml")):
        return True
    return _in_chart_templates(parent)


def not_an_object(documents: list[Document]) -> str:
    """The skip note of a parsed file that holds no Kubernetes object."""
    for document in documents:
        root = document.root
        if isinstance(root, Mapping) and _partial_object(root):
            return f"{KUSTOMIZE_PATCH} (an object without apiVersion or kind)"
        if isinstance(root, Sequence) and root.items and all(map(_json6902_operation, root.items)):
            return f"{KUSTOMIZE_PATCH} (JSON 6902 operations)"
    return f"{NOT_KUBERNETES} (no kind and apiVersion)"


def _partial_object(root: Mapping) -> bool:
    metadata = root.get("metadata")
    named = isinstance(metadata, Mapping) and metadata.get("name") is not None
    whole = bool(root.str("kind") and root.str("apiVersion"))
    return (named or isinstance(root.get("spec"), Mapping)) and not whole


def _json6902_operation(item: object) -> bool:
    return isinstance(item, Mapping) and item.get("op") is not None and item.get("path") is not None


def listed_patch(path: str) -> str | None:
    """The skip note of ``path`` when a kustomization beside it or above it lists it as a patch."""
    kustomization = kustomize.listing_patch(path)
    return patch_note(_shown(kustomization, path)) if kustomization else None


def _shown(kustomization: str, path: str) -> str:
    """The kustomization's path as the user named ``path``: relative when ``path`` is."""
    return kustomization if os.path.isabs(path) else os.path.relpath(kustomization)


def patch_note(kustomization: str) -> str:
    return f"{KUSTOMIZE_PATCH} (listed in {kustomization})"
