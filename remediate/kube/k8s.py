"""Domain knowledge as data: where each kind keeps its pod spec, and how to walk to the containers.

The tables follow kube-score's: a pod-bearing kind maps to the path of its pod spec. Users add
custom kinds (Argo Rollouts, OpenShift DeploymentConfigs, ...) in the config file's ``pod-kinds``.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from remediate.kube.findings import ObjectRef
from remediate.yaml.document import Document, Mapping, Node, Scalar, Sequence

POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
"""Built-in pod-bearing kinds and the path from the object to its pod spec."""

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
"""The pod spec keys that hold containers, in the order kubelet starts them. Security settings
apply to all three (the Pod Security Standards check ephemeral containers too)."""

DECLARED_CONTAINERS = ("initContainers", "containers")
"""The containers a manifest really declares and a fix may give resources, ports or a pull policy:
ephemeral containers are added to a running pod by ``kubectl debug`` through their own API, and
Kubernetes refuses resources, ports and probes on them; one written in a manifest is a copy of a
debugging session, not something to tune."""

SERVING_CONTAINERS = ("containers",)
"""The containers that run as long as the pod and serve it: probes belong to them only (init
containers run to completion before them, and Kubernetes refuses readiness and liveness probes on
init containers)."""

CONTAINER_NOUNS = {
    "containers": "container",
    "initContainers": "init container",
    "ephemeralContainers": "ephemeral container",
}

LONG_RUNNING_KINDS = frozenset(
    {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"}
)
"""Kinds whose pods are expected to keep running (probes make sense for them)."""


class PodKind(NamedTuple):
    """A pod-bearing kind: ``api_version`` None matches every version of ``kind`` (of ``group``
    alone, when it is set)."""

    kind: str
    api_version: str | None
    pod_spec_path: tuple[str, ...]
    group: str | None = None

    def matches(self, manifest: Manifest) -> bool:
        if self.kind != manifest.kind or self.api_version not in (None, manifest.api_version):
            return False
        return self.group is None or manifest.api_version.split("/", 1)[0] == self.group


COMMON_CUSTOM_POD_KINDS = (
    PodKind("Rollout", None, ("spec", "template", "spec"), group="argoproj.io"),
    PodKind("DeploymentConfig", None, ("spec", "template", "spec"), group="apps.openshift.io"),
    PodKind("DeploymentConfig", "v1", ("spec", "template", "spec")),  # OpenShift 3's legacy API
    PodKind("Notebook", None, ("spec", "template", "spec"), group="kubeflow.org"),
)
"""Custom kinds common enough to be known without a ``pod-kinds`` entry: Argo Rollouts, OpenShift
DeploymentConfigs and Kubeflow Notebooks, whose pod templates are those of a Deployment. (Knative
Services are not: Knative's webhook rejects pod-level securityContext fields by default.)"""

BUILTIN_POD_KINDS = (
    *(PodKind(kind, None, path) for kind, path in POD_SPEC_PATHS.items()),
    *COMMON_CUSTOM_POD_KINDS,
)


@dataclass(eq=False)
class Manifest:
    """One Kubernetes object: a document's root, or an item of a ``kind: List``."""

    document: Document
    node: Mapping
    kind: str
    api_version: str
    memo: dict[str, Any] = field(default_factory=dict, repr=False)
    """What checks work out once per object and share (its pod template, the workload guard's
    problems)."""

    @property
    def metadata(self) -> Mapping | None:
        node = self.node.get("metadata")
        return node if isinstance(node, Mapping) else None

    @property
    def name(self) -> str:
        metadata = self.metadata
        return (metadata.str("name") or metadata.str("generateName") or "") if metadata else ""

    @property
    def namespace(self) -> str | None:
        metadata = self.metadata
        return metadata.str("namespace") if metadata else None

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.name, self.namespace)

    @property
    def label(self) -> str:
        """``Kind/name`` as users write it with kubectl."""
        return f"{self.kind}/{self.name}" if self.name else self.kind


class PodTemplate(NamedTuple):
    """The pod part of a workload: its spec and the metadata its pods get."""

    spec: Mapping
    metadata: Mapping | None


class Container(NamedTuple):
    """A container of a pod spec; ``group`` is ``containers``, ``initContainers`` or
    ``ephemeralContainers``."""

    node: Mapping
    group: str
    name: str

    @property
    def image(self) -> str | None:
        return self.node.str("image")

    @property
    def subject(self) -> str:
        """How a message names it: ``container "web"``, ``init container "migrate"``."""
        return f'{CONTAINER_NOUNS.get(self.group, "container")} "{self.name}"'


class ContainerPort(NamedTuple):
    """A port a container declares: ``containerPort`` as written (a number when valid), its ``name``
    when it is a string, and its protocol, ``TCP`` when none is given (as the API server defaults it)."""

    number: Any
    name: str | None
    protocol: str

    @property
    def valid_number(self) -> int | None:
        """The port number, when it is one Kubernetes accepts (1 to 65535)."""
        return self.number if is_port_number(self.number) else None


def is_port_number(value: Any) -> bool:
    """True for a port number Kubernetes accepts: an integer from 1 to 65535."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536


def declared_ports(container: Mapping) -> list[ContainerPort]:
    """The ports a container declares, in order (entries without ``containerPort`` are no ports)."""
    listed = container.get("ports")
    if not isinstance(listed, Sequence):
        return []
    found = []
    for item in listed.items:
        item = item.resolve()
        number = item.get("containerPort") if isinstance(item, Mapping) else None
        if isinstance(item, Mapping) and isinstance(number, Scalar):
            protocol = item.str("protocol") or "TCP"
            found.append(ContainerPort(number.data, item.str("name"), protocol))
    return found


def manifests(documents: list[Document]) -> Iterator[Manifest]:
    """Every Kubernetes object in a stream; ``kind: List`` (and ``*List``) items are objects too."""
    for document in documents:
        root = document.root
        if not isinstance(root, Mapping):
            continue
        kind, api_version = root.str("kind"), root.str("apiVersion")
        if not kind or not api_version:
            continue
        items = root.get("items")
        if kind.endswith("List") and isinstance(items, Sequence):
            for item in items.items:
                item = item.resolve()
                if isinstance(item, Mapping) and item.str("kind") and item.str("apiVersion"):
                    yield Manifest(document, item, item.str("kind") or "", item.str("apiVersion") or "")
        else:
            yield Manifest(document, root, kind, api_version)


def pod_kind(manifest: Manifest, kinds: tuple[PodKind, ...]) -> PodKind | None:
    """The entry of ``kinds`` that describes this object, if it carries pods."""
    for entry in kinds:
        if entry.matches(manifest):
            return entry
    return None


def is_fragment(manifest: Manifest, kinds: tuple[PodKind, ...]) -> bool:
    """True for a pod-bearing object without ``metadata.name`` or ``generateName``: the API server
    takes none, so it is part of an object (a kubebuilder patch, a test fixture's expectation), and
    what a fixer adds to it would change what it patches or expects."""
    return not manifest.name and pod_kind(manifest, kinds) is not None


def undeclared_pod_template(manifest: Manifest, kinds: tuple[PodKind, ...]) -> bool:
    """True for an object of a kind k8sfix does not know that has a Deployment's pod template
    (``spec.template.spec.containers``): its pods go unchecked unless the kind is declared."""
    containers_node = follow(manifest.node, ("spec", "template", "spec", "containers"))
    return isinstance(containers_node, Sequence) and pod_kind(manifest, kinds) is None


def follow(node: Node | None, path: tuple[str, ...]) -> Node | None:
    """The node at ``path`` below ``node`` (mapping keys only), or None if any step is missing."""
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def pod_template(manifest: Manifest, kinds: tuple[PodKind, ...]) -> PodTemplate | None:
    """The pod spec and pod metadata of a pod-bearing object, or None for other objects (worked
    out once per object and ``kinds``: every fixer asks)."""
    known = manifest.memo.get("pod_template")
    if known is not None and known[0] is kinds:
        return known[1]
    manifest.memo["pod_template"] = (kinds, template := _pod_template(manifest, kinds))
    return template


def _pod_template(manifest: Manifest, kinds: tuple[PodKind, ...]) -> PodTemplate | None:
    entry = pod_kind(manifest, kinds)
    if entry is None:
        return None
    spec = follow(manifest.node, entry.pod_spec_path)
    if not isinstance(spec, Mapping):
        return None
    metadata = follow(manifest.node, entry.pod_spec_path[:-1] + ("metadata",))
    return PodTemplate(spec, metadata if isinstance(metadata, Mapping) else None)


def containers(spec: Mapping, groups: tuple[str, ...] = CONTAINER_LISTS) -> Iterator[Container]:
    """The containers of a pod spec, group by group, skipping entries that are not mappings."""
    for group in groups:
        listed = spec.get(group)
        if not isinstance(listed, Sequence):
            continue
        for item in listed.items:
            item = item.resolve()
            if isinstance(item, Mapping):
                yield Container(item, group, item.str("name") or "")


def annotations_of(node: Mapping | None) -> MappingABC[str, str]:
    """The string annotations of a metadata mapping."""
    if node is None:
        return {}
    found = node.get("annotations")
    if not isinstance(found, Mapping):
        return {}
    return {
        key: value.data
        for key, value in ((k, found.get(k)) for k in found.own)
        if isinstance(key, str) and isinstance(value, Scalar) and isinstance(value.data, str)
    }


OS_NODE_LABEL = "kubernetes.io/os"
"""The node label the kubelet sets to its operating system (``linux``, ``windows``)."""


def is_windows_pod(spec: Mapping) -> bool:
    """True for a pod spec that runs on Windows: ``os.name: windows``, or a node selector that
    picks Windows nodes. Kubernetes refuses the Linux-only securityContext fields (``runAsUser``,
    ``runAsGroup``, ``seccompProfile``, capabilities...) on the first, and the Windows kubelet
    cannot honour them on the second."""
    for path in (("os", "name"), ("nodeSelector", OS_NODE_LABEL)):
        value = follow(spec, path)
        if isinstance(value, Scalar) and value.data == "windows":
            return True
    return False
