"""The workload guard: what the API server would reject, or the kubelet would not run.

The schema guard (:mod:`remediate.kube.validation`) knows the shape of objects; this one knows the
rules between their fields that no schema states: a root user beside ``runAsNonRoot: true``, a
request above its limit, ``allowPrivilegeEscalation: false`` beside ``privileged: true``, a probe
with two handlers or a port that is not there, Linux-only fields on a Windows pod.

It is used twice. After fixing, the runner compares each fixed object with the input: a problem the
fixes brought in refuses, for that object, the fixes of the fixer whose field it is (and the
finding says why), so a fix never makes a workload worse. A problem the input already had is the
owning fixer's to report as a finding (:func:`problems` with ``owner``): k8sfix says what is broken
and leaves it for a human.

Each :class:`Problem` names the fixer whose fields it is about (``owner``) and the rule of that
fixer it belongs to, so that reports and config name it the way they name the fixer's findings.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from remediate.kube.k8s import (
    CONTAINER_LISTS,
    DECLARED_CONTAINERS,
    Container,
    Manifest,
    PodKind,
    containers,
    declared_ports,
    is_port_number,
    is_windows_pod,
    pod_template,
)
from remediate.kube.quantities import quantity_of
from remediate.kube.security_contexts import capabilities_added, effective, escalation_conflict, is_set
from remediate.yaml.document import Mapping, Node
from remediate.yaml.model import YamlPath
from remediate.yaml.values import to_data

SECURITY, RESOURCES, PROBES = "security-context", "container-resources", "container-probes"

LINUX_ONLY = {
    "runAsUser": "run-as-user",
    "runAsGroup": "run-as-user",
    "seccompProfile": "seccomp-profile",
    "capabilities": "capabilities",
    "readOnlyRootFilesystem": "read-only-root-filesystem",
    "allowPrivilegeEscalation": "privilege-escalation",
    "privileged": "privileged",
}
"""securityContext fields the API server refuses on a pod with ``spec.os.name: windows`` (among
those fixes write), with the security-context rule each belongs to."""

HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
PROBE_RULES = {"readinessProbe": "readiness", "livenessProbe": "liveness", "startupProbe": "liveness"}
AT_LEAST_ONE = ("periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold")
AT_LEAST_ZERO = ("initialDelaySeconds", "terminationGracePeriodSeconds")


@dataclass(frozen=True)
class Problem:
    """Something that keeps a workload from being admitted or from running.

    ``reported``: when the input has it, the owner reports it as a finding. (Only guards against
    fixes: a probe of a port number the container does not declare, which works, but which a fix
    must not guess.)
    """

    owner: str
    rule: str
    path: YamlPath
    message: str
    node: Node = field(compare=False, repr=False)
    reported: bool = True

    @property
    def key(self) -> tuple[str, str, YamlPath, str]:
        return (self.owner, self.rule, self.path, self.message)


def problems(manifest: Manifest, pod_kinds: tuple[PodKind, ...], owner: str | None = None) -> list[Problem]:
    """The problems of one object's pod spec (all, or only ``owner``'s); none for other objects."""
    found = manifest.memo.get("workload_guard")
    if found is None:  # each fixer asks for its own: work them out once per object
        template = pod_template(manifest, pod_kinds)
        found = manifest.memo["workload_guard"] = list(_pod_problems(template.spec)) if template else []
    return [problem for problem in found if owner is None or problem.owner == owner]


def _pod_problems(spec: Mapping) -> Iterator[Problem]:
    pod_context_node = spec.get("securityContext")
    pod_context = to_data(pod_context_node) if pod_context_node is not None else None
    windows = is_windows_pod(spec)
    listed = list(containers(spec, CONTAINER_LISTS))
    for container in listed:
        own_node = container.node.get("securityContext")
        own = to_data(own_node) if own_node is not None else None
        yield from _root_with_run_as_non_root(container, own, own_node, pod_context, pod_context_node)
        if isinstance(own, dict) and isinstance(own_node, Mapping):
            yield from _escalation(container, own, own_node)
            if windows:
                yield from _linux_only(container.subject, own, own_node)
        yield from _probe_problems(container)
    if windows and isinstance(pod_context, dict) and isinstance(pod_context_node, Mapping):
        yield from _linux_only("pod", pod_context, pod_context_node)
    yield from _resource_problems(spec, [c for c in listed if c.group in DECLARED_CONTAINERS])
    yield from _volume_problems(spec, listed)


def _root_with_run_as_non_root(
    container: Container, own: Any, own_node: Node | None, pod: Any, pod_node: Node | None
) -> Iterator[Problem]:
    """``runAsNonRoot: true`` with an effective ``runAsUser: 0``: the kubelet refuses to start it."""
    where = own_node if is_set(own, "runAsNonRoot") else pod_node
    non_root, user = effective("runAsNonRoot", own, pod), effective("runAsUser", own, pod)
    if non_root is True and user == 0 and where is not None:
        yield Problem(
            SECURITY,
            "run-as-non-root",
            where.path(),
            f"{container.subject} runs as root (runAsUser: 0) under runAsNonRoot: true, which the "
            "kubelet refuses to start",
            where,
        )


def _escalation(container: Container, own: dict, own_node: Mapping) -> Iterator[Problem]:
    """``allowPrivilegeEscalation: false`` beside ``privileged: true`` or SYS_ADMIN: rejected."""
    if own.get("allowPrivilegeEscalation") is not False:
        return
    conflict = escalation_conflict(own.get("privileged") is True, capabilities_added(own))
    if conflict:
        _, blocker = conflict
        yield Problem(
            SECURITY,
            "privilege-escalation",
            own_node.path(),
            f"{container.subject} has allowPrivilegeEscalation: false with {blocker}, which the API "
            "server rejects",
            own_node,
        )


def _linux_only(who: str, context: dict, node: Mapping) -> Iterator[Problem]:
    for key, rule in LINUX_ONLY.items():
        if context.get(key) is not None:
            yield Problem(
                SECURITY,
                rule,
                node.path() + (key,),
                f"{who} sets {key} on a Windows pod, which the API server rejects (os.name: windows) "
                "or a Windows node cannot apply",
                node.get(key) or node,
            )


def _probe_problems(container: Container) -> Iterator[Problem]:
    declared = declared_ports(container.node)
    names = {port.name for port in declared if port.name}
    numbers = {port.valid_number for port in declared if port.valid_number is not None}
    for key, rule in PROBE_RULES.items():
        node = container.node.get(key)
        probe = to_data(node) if node is not None else None
        if not isinstance(probe, dict) or not isinstance(node, Mapping):
            continue
        who = f"{container.subject} {key}"
        handlers = [handler for handler in HANDLERS if probe.get(handler) is not None]
        if len(handlers) > 1:
            message = f"{who} has more than one handler ({', '.join(handlers)}), which the API server rejects"
            yield Problem(PROBES, rule, node.path(), message, node)
        for handler in handlers:
            action = probe[handler]
            port = action.get("port") if isinstance(action, dict) else None
            found = _port_problem(port, handler, names, numbers)
            if found:
                text, reported = found
                yield Problem(PROBES, rule, node.path(), f"{who} {text}", node, reported=reported)
        for name in AT_LEAST_ONE + AT_LEAST_ZERO:
            value = probe.get(name)
            lowest = 1 if name in AT_LEAST_ONE else 0
            if isinstance(value, int) and not isinstance(value, bool) and value < lowest:
                message = f"{who} has {name}: {value}, below {lowest}, which the API server rejects"
                yield Problem(PROBES, rule, node.path() + (name,), message, node.get(name) or node)


def _port_problem(port: Any, handler: str, names: set[str], numbers: set[int]) -> tuple[str, bool] | None:
    """What is wrong with a probe's port, and whether the input's owner reports it."""
    if port is None or handler == "exec":
        return None
    if isinstance(port, str) and not port.isdigit():
        if handler == "grpc":
            return "checks a port by name, which grpc probes cannot do", True
        if port not in names:
            return f'checks port "{port}", which the container does not declare (never healthy)', True
        return None
    number = int(port) if isinstance(port, str) else port
    if not is_port_number(number):
        return f"checks port {port}, which is not a port number (1 to 65535)", True
    if numbers and number not in numbers:
        return f"checks port {port}, which the container does not declare among its ports", False
    return None


def _volume_problems(spec: Mapping, listed: list[Container]) -> Iterator[Problem]:
    """Two volumes of one name, a mount of a volume the pod lacks, two mounts at one path: all
    rejected by the API server. Only guards against fixes (a kustomize patch may add the volume)."""
    volumes_node = spec.get("volumes")
    volumes = to_data(volumes_node) if volumes_node is not None else None
    names = [v.get("name") for v in volumes if isinstance(v, dict)] if isinstance(volumes, list) else []
    if len(names) != len(set(names)) and volumes_node is not None:
        message = "pod has two volumes of one name, which the API server rejects"
        path = volumes_node.path()
        yield Problem(SECURITY, "read-only-root-filesystem", path, message, volumes_node, False)
    for container in listed:
        node = container.node.get("volumeMounts")
        mounts = to_data(node) if node is not None else None
        if node is None or not isinstance(mounts, list):
            continue
        paths = [posixpath.normpath(str(m.get("mountPath"))) for m in mounts if isinstance(m, dict)]
        missing = sorted({str(m.get("name")) for m in mounts if isinstance(m, dict)} - set(map(str, names)))
        if missing:
            message = f'{container.subject} mounts volume "{missing[0]}", which the pod does not have'
            yield Problem(SECURITY, "read-only-root-filesystem", node.path(), message, node, False)
        if len(paths) != len(set(paths)):
            message = f"{container.subject} mounts two volumes at one path, which the API server rejects"
            yield Problem(SECURITY, "read-only-root-filesystem", node.path(), message, node, False)


def _resource_problems(spec: Mapping, listed: list[Container]) -> Iterator[Problem]:
    """A request above its limit, a container limit above the pod's (``spec.resources``), and
    container requests that add up to more than the pod requests."""
    pod_node = spec.get("resources")
    pod = _quantities(pod_node)
    totals: dict[str, Decimal] = {}
    for container in listed:
        node = container.node.get("resources")
        own = _quantities(node)
        if not own or not isinstance(node, Mapping):
            continue
        for (section, resource), amount in own.items():
            if section == "requests":
                totals[resource] = totals.get(resource, Decimal(0)) + amount
                limit = own.get(("limits", resource))
                if limit is not None and amount > limit:
                    yield Problem(
                        RESOURCES,
                        "requests",
                        node.path() + ("requests", resource),
                        f"{container.subject} requests more {resource} than its limit, which the API "
                        "server rejects",
                        node,
                    )
            elif (pod_limit := pod.get(("limits", resource))) is not None and amount > pod_limit:
                yield Problem(
                    RESOURCES,
                    "limits",
                    node.path() + ("limits", resource),
                    f"{container.subject} has a {resource} limit above the pod's (spec.resources), which "
                    "the API server rejects",
                    node,
                )
    for resource, total in totals.items():
        pod_request = pod.get(("requests", resource))
        if pod_request is not None and total > pod_request and isinstance(pod_node, Mapping):
            yield Problem(
                RESOURCES,
                "requests",
                pod_node.path() + ("requests", resource),
                f"the containers request more {resource} than the pod (spec.resources), which the API "
                "server rejects",
                pod_node,
            )


def _quantities(node: Node | None) -> dict[tuple[str, str], Decimal]:
    """The quantities of a ``resources`` mapping by (section, resource), in base units."""
    found: dict[tuple[str, str], Decimal] = {}
    if not isinstance(node, Mapping):
        return found
    for section in ("requests", "limits"):
        values = node.get(section)
        if not isinstance(values, Mapping):
            continue
        for key, value in values.pairs:
            quantity = quantity_of(value)
            name = getattr(key, "key_value", None)
            if quantity is not None and isinstance(name, str):
                found[section, name] = quantity.amount
    return found
