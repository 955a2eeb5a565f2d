"""Reading securityContexts (as plain data): what a container's own context and its pod's say
together, and the settings Kubernetes refuses in combination. Shared by the security-context
fixer, which writes contexts, and the workload guard, which judges them."""

from __future__ import annotations

from typing import Any

SYS_ADMIN = ("SYS_ADMIN", "CAP_SYS_ADMIN")
"""How an added SYS_ADMIN capability is spelled (Kubernetes validation looks for the second);
names are compared in capitals, as container runtimes read them."""


def is_set(context: Any, key: str) -> bool:
    """True when a securityContext holds a non-null ``key``; Kubernetes ignores nulls."""
    return isinstance(context, dict) and context.get(key) is not None


def effective(key: str, own: Any, pod: Any) -> Any:
    """A container's value of ``key``: its own, else the pod's (None when neither sets it)."""
    if is_set(own, key):
        return own[key]
    return pod[key] if is_set(pod, key) else None


def capabilities_added(context: dict) -> list[str]:
    """The names in ``capabilities.add``, as written."""
    capabilities = context.get("capabilities")
    added = capabilities.get("add") if isinstance(capabilities, dict) else None
    return [str(name) for name in added] if isinstance(added, list) else []


def escalation_conflict(privileged: bool, added: list[str]) -> tuple[tuple[str, ...], str] | None:
    """The setting that makes Kubernetes refuse ``allowPrivilegeEscalation: false`` (its validation
    rule): its path in the securityContext and how it reads, or None."""
    if privileged:
        return ("privileged",), "privileged: true"
    name = next((name for name in added if name.upper() in SYS_ADMIN), None)
    return (("capabilities", "add"), f"capabilities.add {name}") if name else None
