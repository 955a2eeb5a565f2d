"""The Kubernetes version a run targets (``--kubernetes-version`` or the config's ``kubernetes-version``).

Versions are written ``1.29``, ``v1.29`` or ``1.29.3``; only major and minor matter, since APIs are
added and removed in minor releases. Without one, the target is the newest version whose schemas the
``kubernetes-validate`` package ships (imported only when that is needed: it takes ~0.1 s).
"""

from __future__ import annotations

import importlib.util
import os
import re
from functools import cache

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.\d+)?")
_SCHEMA_VERSION = re.compile(r"v(\d+\.\d+)(?:\.\d+)?(?:-.*)?$")
SCHEMA_DIRECTORY = "kubernetes-json-schema"


def parse_version(text: str) -> tuple[int, int]:
    """``"v1.29.3"`` -> ``(1, 29)``; raise ValueError for anything else."""
    match = _VERSION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"invalid Kubernetes version {text!r} (expected e.g. 1.29)")
    return int(match[1]), int(match[2])


OLDEST_KNOWN = (1, 16)
"""The oldest target k8sfix knows: its table of removed APIs (:mod:`remediate.kube.removed_apis`) starts
with the removals of 1.16. (Below the oldest schemas, 1.25, fixes are schema-checked with those.)"""


def check_known(text: str) -> tuple[int, int]:
    """The version ``text`` names; raise ValueError, naming the range k8sfix knows, for one outside it.

    A version newer than the newest schemas is not quietly treated as that one: k8sfix cannot know
    what a later release removed, so a run for it would promise what it cannot check.
    """
    version = parse_version(text)
    newest = latest_known()
    if not OLDEST_KNOWN <= version <= newest:
        raise ValueError(
            f"Kubernetes {show(version)} is outside the versions this k8sfix knows ({show(OLDEST_KNOWN)} "
            f"to {show(newest)}, the newest whose schemas it has); upgrade k8sfix, or target {show(newest)}"
        )
    return version


@cache
def latest_known() -> tuple[int, int]:
    """The newest Kubernetes version ``kubernetes-validate`` has schemas for."""
    return known()[-1]


@cache
def schema_roots() -> tuple[str, ...]:
    """The directories of ``kubernetes-validate``'s schemas (one per version inside), found without
    importing the package: its import pulls in PyYAML, jsonschema and more (a quarter of a second)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return tuple(
        os.path.join(location, SCHEMA_DIRECTORY)
        for location in locations
        if os.path.isdir(os.path.join(location, SCHEMA_DIRECTORY))
    )


@cache
def known() -> tuple[tuple[int, int], ...]:
    """The Kubernetes versions ``kubernetes-validate`` has schemas for, oldest first.

    Read from the names of its schema directories (``kubernetes-json-schema/v1.33.0``, as its own
    ``all_versions()`` does) without importing the package, which imports jsonschema (~0.1 s).
    """
    found = {
        parse_version(match[1])
        for root in schema_roots()
        for name in os.listdir(root)
        if (match := _SCHEMA_VERSION.match(name))
    }
    if not found:  # installed in a form without directories (a zip): ask the package
        from kubernetes_validate.utils import all_versions

        found = {parse_version(version) for version in all_versions()}
    return tuple(sorted(found))


def target(configured: str | None) -> tuple[int, int]:
    """The version to target: the configured one, else the newest known."""
    return parse_version(configured) if configured else latest_known()


def show(version: tuple[int, int]) -> str:
    """``(1, 29)`` -> ``"1.29"``."""
    return f"{version[0]}.{version[1]}"
