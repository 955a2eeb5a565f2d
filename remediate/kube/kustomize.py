"""What kustomization files say about the manifests beside them, read once per file.

A directory's ``kustomization.yaml`` (or ``.yml``, or ``Kustomization``) decides two things k8sfix
needs: the namespace its objects end up in (``namespace:``), and which files are patches rather
than whole objects (``patches``, ``patchesStrategicMerge``, ``patchesJson6902``). A kustomization
that cannot be read or parsed says nothing (the run goes on as without it).
"""

from __future__ import annotations

import os
from functools import cache

from remediate.yaml.document import Mapping, Scalar, Sequence, parse
from remediate.yaml.source import InputError, Source, read_regular

NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
"""The names kustomize looks for in a directory, in its order."""

PATCH_LISTS = ("patches", "patchesStrategicMerge", "patchesJson6902")


def forget() -> None:
    """Drop what was read: the next run reads the kustomization files as they are then."""
    _root.cache_clear()
    patch_files.cache_clear()


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


def namespace(directory: str) -> str | None:
    """The ``namespace:`` of the kustomization of ``directory`` (absolute), if it sets one."""
    kustomization = in_directory(directory)
    root = _root(kustomization) if kustomization else None
    return root.str("namespace") if root is not None else None


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
