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


@cache
def latest_known() -> tuple[int, int]:
    """The newest Kubernetes version ``kubernetes-validate`` has schemas for."""
    return known()[-1]


@cache
def known() -> tuple[tuple[int, int], ...]:
    """The Kubernetes versions ``kubernetes-validate`` has schemas for, oldest first.

    Read from the names of its schema directories (``kubernetes-json-schema/v1.33.0``, as its own
    ``all_versions()`` does) without importing the package, which imports jsonschema (~0.1 s).
    """
    spec = importlib.util.find_spec("kubernetes_validate")
    locations = list(spec.submodule_search_locations or []) if spec else []
    found = {
        parse_version(match[1])
        for location in locations
        if os.path.isdir(os.path.join(location, SCHEMA_DIRECTORY))
        for name in os.listdir(os.path.join(location, SCHEMA_DIRECTORY))
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
