"""What kustomization files say about the manifests they build, read once per file.

A directory's ``kustomization.yaml`` (or ``.yml``, or ``Kustomization``; a kustomize Component is
one too) decides two things k8sfix needs: the namespace its objects end up in (``namespace:``), and
which files are patches rather than whole objects (``patches``, ``patchesStrategicMerge``,
``patchesJson6902``). A kustomization that cannot be read or parsed says nothing (the run goes on as
without it).

Neither is only the business of the kustomization beside a file. A kustomization includes files
through its ``resources`` (and the older ``bases``) and ``components``: files directly, and
directories, whose own kustomization includes more. ``kustomize build`` of the outermost one sets
the namespace of everything it includes (an overlay's ``namespace:`` wins over its base's), and a
patch may be listed by a kustomization several directories up. So k8sfix looks at the
kustomizations of the file's directory and of the directories above it, up to the repository's
top (the directory holding ``.git``) and at most :data:`MAX_LEVELS` levels.
"""

from __future__ import annotations

import os
import re
from functools import cache
from typing import Any

from remediate.yaml.document import Mapping, Scalar, Sequence, parse
from remediate.yaml.source import InputError, Source, read_regular
from remediate.yaml.values import to_data

NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
"""The names kustomize looks for in a directory, in its order."""

PATCH_LISTS = ("patches", "patchesStrategicMerge", "patchesJson6902")

INCLUDING_LISTS = ("resources", "bases", "components")
"""The lists whose entries a kustomization builds: files, and directories with a kustomization."""

MAX_LEVELS = 16
"""How many directories up from a file k8sfix looks for kustomizations that include it."""


def forget() -> None:
    """Drop what was read: the next run reads the kustomization files as they are then."""
    _root.cache_clear()
    patch_files.cache_clear()
    in_directory.cache_clear()
    included_files.cache_clear()
    _above_directory.cache_clear()
    _namespaces_above.cache_clear()


@cache
def in_directory(directory: str) -> str | None:
    """The kustomization file of ``directory``, if it has one."""
    for name in NAMES:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    return None


@cache
def _root(kustomization: str) -> Mapping | None:
    """The top mapping of a kustomization file; None when it cannot be read or is not one."""
    try:
        documents = parse(Source.from_bytes(kustomization, read_regular(kustomization)[0]).text)
    except (OSError, InputError):
        return None
    root = documents[0].root if documents else None
    return root if isinstance(root, Mapping) else None


def _namespace_set_by(kustomization: str) -> str | None:
    root = _root(kustomization)
    return root.str("namespace") if root is not None else None


def ancestors(directory: str) -> list[str]:
    """``directory`` (absolute) and those above it, nearest first: up to the first that holds
    ``.git`` (the repository's top), the filesystem's root, or :data:`MAX_LEVELS` of them."""
    found = []
    current = os.path.abspath(directory)
    for _ in range(MAX_LEVELS):
        found.append(current)
        parent = os.path.dirname(current)
        if parent == current or os.path.exists(os.path.join(current, ".git")):
            break
        current = parent
    return found


def above(path: str) -> list[str]:
    """The kustomizations of the directory of the file ``path`` and of those above it, nearest first."""
    return list(_above_directory(os.path.dirname(os.path.abspath(path))))


@cache
def _above_directory(directory: str) -> tuple[str, ...]:
    """The kustomizations of ``directory`` (absolute) and of those above it, found once per
    directory: a repository's files share few directories, and a run asks for each file."""
    return tuple(k for k in map(in_directory, ancestors(directory)) if k is not None)


def namespace(path: str) -> str | None:
    """The namespace kustomize gives the objects of the file ``path`` that name none, if any: that
    of the outermost kustomization above it that includes the file and sets one. The
    kustomization beside the file counts whether or not it lists it."""
    target = path if os.path.isabs(path) else os.path.abspath(path)
    if not _namespaces_above(os.path.dirname(target)):  # most files: answered once per directory
        return None
    target = os.path.normpath(target)  # what abspath makes of a path that is absolute already
    chosen = None
    for number, kustomization in enumerate(_above_directory(os.path.dirname(target))):
        beside = number == 0 and os.path.dirname(kustomization) == os.path.dirname(target)
        if beside or target in included_files(kustomization):
            chosen = _namespace_set_by(kustomization) or chosen
    return chosen


@cache
def _namespaces_above(directory: str) -> bool:
    """True when a kustomization of the absolute ``directory`` or above it sets a namespace: only
    then can one of its files get one."""
    return any(_namespace_set_by(k) for k in _above_directory(os.path.abspath(directory)))


@cache
def included_files(kustomization: str, _visiting: frozenset[str] = frozenset()) -> frozenset[str]:
    """Absolute paths of the files ``kustomization`` builds, through its ``resources``, ``bases``
    and ``components``: files named directly, and those the kustomizations of named directories
    build (remote resources, and a kustomization that includes itself, add nothing)."""
    root = _root(kustomization)
    if root is None or kustomization in _visiting:
        return frozenset()
    directory = os.path.dirname(os.path.abspath(kustomization))
    found: set[str] = set()
    for key in INCLUDING_LISTS:
        entries = root.get(key)
        for entry in entries.items if isinstance(entries, Sequence) else ():
            if not isinstance(entry, Scalar) or not entry.value or "://" in entry.value:
                continue
            named = os.path.normpath(os.path.join(directory, entry.value))
            inner = in_directory(named) if os.path.isdir(named) else None
            if inner is not None:
                found |= included_files(inner, _visiting | {kustomization})
            elif not os.path.isdir(named):
                found.add(named)
    return frozenset(found)


def leaving_out(path: str, other: str) -> str | None:
    """The nearest kustomization beside or above the file ``path`` that builds it but not the file
    ``other`` (a policy file written beside it, which that build would leave out), if any."""
    target, added = os.path.abspath(path), os.path.abspath(other)
    for kustomization in above(target):
        built = included_files(kustomization)
        if target in built and added not in built:
            return kustomization
    return None


def listing_patch(path: str) -> str | None:
    """The nearest kustomization above the file ``path`` that lists it as a patch, if any."""
    target = os.path.abspath(path)
    return next((k for k in above(target) if target in patch_files(k)), None)


@cache
def patch_files(kustomization: str) -> frozenset[str]:
    """Absolute paths of the patch files a kustomization lists (inline patches name no file).

    ``patchesStrategicMerge`` holds paths (or inline patches, which span lines); ``patches`` and
    ``patchesJson6902`` hold mappings whose ``path`` names the file.
    """
    root = _root(kustomization)
    if root is None:
        return frozenset()
    directory = os.path.dirname(os.path.abspath(kustomization))
    found: set[str] = set()
    for key in PATCH_LISTS:
        entries = root.get(key)
        if not isinstance(entries, Sequence):
            continue
        for entry in entries.items:
            named = entry.get("path") if isinstance(entry, Mapping) else entry
            if isinstance(named, Scalar) and named.value and "\n" not in named.value:
                found.add(os.path.normpath(os.path.join(directory, named.value)))
    return frozenset(found)


def template_labels_set(
    kustomization: str, kind: str, name: str, template_path: tuple[str, ...]
) -> dict[str, str]:
    """The labels ``kustomization`` writes on the pod template of the object ``kind``/``name``
    (``template_path``: where its pod template is, ``("spec", "template")`` for a Deployment) by
    means that leave selectors alone: ``labels`` entries with ``includeTemplates`` but not
    ``includeSelectors``, and patches (strategic merge, inline or in files, and JSON 6902 ``add`` or
    ``replace`` operations). ``commonLabels`` and ``labels`` with ``includeSelectors`` rewrite a
    NetworkPolicy's ``podSelector`` in the same build as the pods, so they are left out.
    """
    root = _root(kustomization)
    if root is None:
        return {}
    found: dict[str, str] = {}
    entries = root.get("labels")
    for entry in entries.items if isinstance(entries, Sequence) else ():
        data = to_data(entry) if isinstance(entry, Mapping) else None
        if (
            isinstance(data, dict)
            and data.get("includeTemplates") is True
            and not data.get("includeSelectors")
        ):
            pairs = data.get("pairs")
            found.update({str(k): str(v) for k, v in (pairs if isinstance(pairs, dict) else {}).items()})
    for patch in _patches(kustomization, root):
        found.update(_patched_labels(patch, kind, name, template_path))
    return found


def _patches(kustomization: str, root: Mapping) -> list[Any]:
    """The patches of a kustomization as plain data, each with its ``target`` (None when the entry
    names none): each document of each patch file, each inline patch, and each list of JSON 6902
    operations."""
    directory = os.path.dirname(os.path.abspath(kustomization))
    found: list[Any] = []
    for key in PATCH_LISTS:
        entries = root.get(key)
        for entry in entries.items if isinstance(entries, Sequence) else ():
            data = to_data(entry)
            target = data.get("target") if isinstance(data, dict) else None
            text = None
            if isinstance(data, str):
                text = data if "\n" in data else _read_text(os.path.join(directory, data))
            elif isinstance(data, dict) and isinstance(data.get("patch"), str):
                text = data["patch"]
            elif isinstance(data, dict) and isinstance(data.get("path"), str):
                text = _read_text(os.path.join(directory, data["path"]))
            for document in _documents(text):
                found.append({"target": target, "patch": document})
    return found


def _read_text(path: str) -> str | None:
    try:
        return Source.from_bytes(path, read_regular(path)[0]).text
    except (OSError, InputError):
        return None


def _documents(text: str | None) -> list[Any]:
    if not text:
        return []
    try:
        return [document.data for document in parse(text)]
    except InputError:
        return []


REMOVED = "\0removed"
"""What a JSON 6902 ``remove`` of a label leaves: no value a selector can match."""


def _targets(target: Any, kind: str, name: str) -> bool:
    """Whether a patch's ``target`` picks ``kind``/``name`` (kustomize reads its fields as regular
    expressions); no target, or no kind and name in it, picks what the patch itself names."""
    if not isinstance(target, dict):
        return True
    for field, value in (("kind", kind), ("name", name)):
        wanted = target.get(field)
        if wanted is None:
            continue
        try:
            if not re.fullmatch(str(wanted), value):
                return False
        except re.error:
            return str(wanted) == value
    return True


def _patched_labels(patch: Any, kind: str, name: str, template_path: tuple[str, ...]) -> dict[str, str]:
    """The pod template labels one patch sets (or removes: :data:`REMOVED`) on ``kind``/``name``."""
    if not isinstance(patch, dict) or not _targets(patch.get("target"), kind, name):
        return {}
    body = patch.get("patch")
    if isinstance(body, list):  # JSON 6902 operations
        prefix = "/" + "/".join((*template_path, "metadata", "labels"))
        found = {}
        for operation in body:
            if not isinstance(operation, dict) or operation.get("op") not in ("add", "replace", "remove"):
                continue
            path = str(operation.get("path") or "")
            removed = operation.get("op") == "remove"
            if path == prefix and isinstance(operation.get("value"), dict):
                found.update({str(k): str(v) for k, v in operation["value"].items()})
            elif path.startswith(prefix + "/"):
                key = path[len(prefix) + 1 :].replace("~1", "/").replace("~0", "~")
                found[key] = REMOVED if removed else str(operation.get("value"))
        return found
    if not isinstance(body, dict):
        return {}
    metadata = body.get("metadata")
    if patch.get("target") is None and (
        body.get("kind") != kind or not isinstance(metadata, dict) or metadata.get("name") != name
    ):
        return {}
    labels: Any = body
    for key in (*template_path, "metadata", "labels"):
        labels = labels.get(key) if isinstance(labels, dict) else None
    if not isinstance(labels, dict):
        return {}
    return {str(k): REMOVED if v is None else str(v) for k, v in labels.items()}  # null: deleted
