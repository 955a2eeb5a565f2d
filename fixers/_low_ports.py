"""The pod sysctl that lets a container made to run as a non-root user still listen below port 1024.

Linux lets only root bind a port below ``net.ipv4.ip_unprivileged_port_start`` (1024 unless set).
nginx, WordPress's Apache and Traefik start as root and listen on 80 or 443: given ``runAsUser:
10001``, they stop at start-up with ``bind() to 0.0.0.0:80 failed (13: Permission denied)``. Adding
the ``NET_BIND_SERVICE`` capability back does not help: Kubernetes gives a process that is not root
no ambient capabilities. The sysctl does: it is namespaced (it holds in the pod's own network
namespace only), in the kubelet's safe set since Kubernetes 1.22, allowed by the baseline and
restricted Pod Security Standards, and Docker and Podman set it to 0 in every container. So the fix
that makes such a container run as non-root also sets it on the pod, to the lowest port the
container listens on, as a human would::

      securityContext:
        sysctls:
          - name: net.ipv4.ip_unprivileged_port_start
            value: "80"

The ports counted are those the container declares (``containerPort``) and those its image listens
on by default (:mod:`remediate.kube.images`). The sysctl is not added where the pod sets it already
(its value is left as chosen), and cannot be on a pod in the node's network (``hostNetwork: true``:
the kubelet refuses namespaced network sysctls there) or for a Kubernetes before 1.22, which does
not count it safe: the finding then says that the container would lose its port.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from remediate.kube.fixer import Context
from remediate.kube.images import Image
from remediate.kube.k8s import Container, declared_ports
from remediate.yaml.document import Mapping
from remediate.yaml.values import to_data

UNPRIVILEGED_PORT_START = "net.ipv4.ip_unprivileged_port_start"
PRIVILEGED_BELOW = 1024
"""Ports below this need root (the sysctl's default)."""
SAFE_SINCE = (1, 22)
"""The first Kubernetes whose kubelet allows the sysctl without being told to."""


def low_ports(container: Container, image: Image | None) -> list[int]:
    """The ports below 1024 the container listens on, lowest first: declared, or its image's."""
    declared = [port.valid_number for port in declared_ports(container.node)]
    known = [port.number for port in image.ports] if image is not None else []
    return sorted({port for port in [*declared, *known] if port is not None and port < PRIVILEGED_BELOW})


def lowest(containers: Iterable[tuple[Container, Image | None]]) -> int | None:
    """The lowest port below 1024 that any of ``containers`` (with their images) listens on."""
    return min(
        (port for container, image in containers for port in low_ports(container, image)), default=None
    )


def sysctls_of(spec: Mapping) -> list[Any]:
    """The pod's ``securityContext.sysctls``, as plain data (empty when it sets none)."""
    context = spec.get("securityContext")
    data = to_data(context) if context is not None else None
    listed = data.get("sysctls") if isinstance(data, dict) else None
    return listed if isinstance(listed, list) else []


def sets_sysctl(spec: Mapping) -> bool:
    """True when the pod sets ``net.ipv4.ip_unprivileged_port_start`` already, to whatever value."""
    return any(
        isinstance(item, dict) and item.get("name") == UNPRIVILEGED_PORT_START for item in sysctls_of(spec)
    )


def refusal(spec: Mapping, ctx: Context) -> str | None:
    """Why the pod cannot be given the sysctl (None: it can)."""
    host_network = spec.get("hostNetwork")
    if host_network is not None and to_data(host_network) is True:
        return "which a pod in the node's network (hostNetwork: true) may not change"
    if ctx.target_version < SAFE_SINCE:
        return f"which Kubernetes {ctx.target_version[0]}.{ctx.target_version[1]} does not count safe"
    return None


def wanted(port: int) -> dict[str, Any]:
    """What the pod's securityContext gets, to let any user listen on ``port`` and above."""
    return {"sysctls": [{"name": UNPRIVILEGED_PORT_START, "value": str(port)}]}
