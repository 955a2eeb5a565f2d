"""The Kubernetes version a run targets (``--kubernetes-version`` or the config's ``kubernetes-version``).

Versions are written ``1.29``, ``v1.29`` or ``1.29.3``; only major and minor matter, since APIs are
added and removed in minor releases. Without one, the target is the newest version whose schemas the
``kubernetes-validate`` package ships (imported only when that is needed: it takes ~0.1 s).
"""

from __future__ import annotations

import re
from functools import cache

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.\d+)?")


def parse_version(text: str) -> tuple[int, int]:
    """``"v1.29.3"`` -> ``(1, 29)``; raise ValueError for anything else."""
    match = _VERSION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"invalid Kubernetes version {text!r} (expected e.g. 1.29)")
    return int(match[1]), int(match[2])


@cache
def latest_known() -> tuple[int, int]:
    """The newest Kubernetes version ``kubernetes-validate`` has schemas for."""
    from kubernetes_validate import latest_version

    return parse_version(latest_version())


def target(configured: str | None) -> tuple[int, int]:
    """The version to target: the configured one, else the newest known."""
    return parse_version(configured) if configured else latest_known()


def show(version: tuple[int, int]) -> str:
    """``(1, 29)`` -> ``"1.29"``."""
    return f"{version[0]}.{version[1]}"
