"""The objects of a whole run, for fixers that look across files.

A NetworkPolicy in ``policies.yaml`` covers the pods of a Deployment in ``app.yaml``; a probe's port
comes from a Service in another file. The index is built once per run over every input file (and
``--context`` paths, consulted but never rewritten). It holds small, picklable summaries, not node
graphs, so it costs little memory and crosses process boundaries in parallel runs.

Namespaces: an object without ``metadata.namespace`` is in the run's default namespace
(``--namespace``, else the ``namespace:`` of a ``kustomization.yaml`` beside the file, else
``default``), as ``kubectl apply`` and kustomize would place it. (kustomize's ``namespace:`` also
replaces a namespace that an object states; k8sfix keeps the stated one.)

NetworkPolicy semantics follow the API server: a policy selects pods of its own namespace only;
its ``podSelector`` is a label selector (absent or ``{}``: every pod); an omitted ``policyTypes``
means ``Ingress``, plus ``Egress`` when the policy has at least one egress rule. Only the built-in
API (``networking.k8s.io``, and the old ``extensions/v1beta1``) counts: Calico's and Cilium's
policies of the same kind name select pods differently.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from remediate import selectors
from remediate.document import Document, parse
from remediate.document import Mapping as MappingNode
from remediate.k8s import Manifest, PodKind, manifests, pod_template
from remediate.source import InputError, Source, read_regular
from remediate.values import to_data

SPEC_KINDS = frozenset({"Service", "NetworkPolicy"})
"""Kinds whose whole ``spec`` is kept in the index (selectors, ports, policy types)."""

NETWORK_POLICY_API_VERSIONS = frozenset({"networking.k8s.io/v1", "extensions/v1beta1"})
"""apiVersions of the built-in NetworkPolicy (not Calico's ``projectcalico.org/v3`` one)."""

DIRECTIONS = ("Ingress", "Egress")
RULES = {"Ingress": ("ingress", "from"), "Egress": ("egress", "to")}
"""Per direction: the spec key of its rules, and the rule key of its peers."""

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
PODS = "pods"
"""The role of pod-bearing objects in :meth:`RunIndex._group`."""


@dataclass(frozen=True)
class IndexedObject:
    """What other objects need to know about one object."""

    file: str
    kind: str
    api_version: str
    name: str
    namespace: str
    labels: Mapping[str, str]
    pod_labels: Mapping[str, str] | None = None
    spec: Any = None

    @cached_property
    def service_pairs(self) -> frozenset[tuple[str, str]]:
        """For a Service, the label pairs of the pods it sends traffic to; empty when it selects no
        pods (no selector, or ``type: ExternalName``, which has no endpoints). Computed once: the
        run asks for every container."""
        spec = self.spec if isinstance(self.spec, dict) else {}
        if spec.get("type") == "ExternalName":
            return frozenset()
        return selectors.selector_pairs(spec.get("selector"))


@dataclass(frozen=True)
class Coverage:
    """Which NetworkPolicies select a pod, by direction."""

    ingress: tuple[IndexedObject, ...] = ()
    egress: tuple[IndexedObject, ...] = ()

    def of(self, direction: str) -> tuple[IndexedObject, ...]:
        """The policies for ``"Ingress"`` or ``"Egress"``."""
        return self.ingress if direction == "Ingress" else self.egress

    def missing(self) -> tuple[str, ...]:
        """The directions no policy covers, in the order Ingress, Egress."""
        return tuple(direction for direction in DIRECTIONS if not self.of(direction))


@dataclass
class RunIndex:
    """Every indexed object of a run, by file, with the lookups fixers need.

    Lookups read groups of objects by namespace and role (Services, NetworkPolicies, pod-bearing
    objects), built once per index: a run asks for each container, and scanning every object of a
    large run each time made the lookups most of a run's time. An index made by :meth:`with_file`
    derives its groups from its parent's, replacing one file's entries in place, so its groups list
    objects in the order of :attr:`objects`. Add every object (:meth:`add`) before the first lookup.
    """

    by_file: dict[str, list[IndexedObject]] = field(default_factory=dict)
    _parent: tuple[RunIndex, str] | None = field(default=None, repr=False, compare=False)
    """For an index made by :meth:`with_file`: the index it was made from, and the file replaced."""
    _groups: dict[tuple[str, str], list[IndexedObject]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _ranks: dict[str, int] | None = field(default=None, init=False, repr=False, compare=False)

    def add(self, found: Iterable[IndexedObject]) -> None:
        for obj in found:
            self.by_file.setdefault(obj.file, []).append(obj)
        self._groups.clear()
        self._ranks = None

    @property
    def objects(self) -> Iterator[IndexedObject]:
        for entries in self.by_file.values():
            yield from entries

    def with_file(self, file: str, entries: list[IndexedObject]) -> RunIndex:
        """This index with ``file``'s entries replaced: how the run looks while that file is being fixed."""
        return RunIndex({**self.by_file, file: entries}, (self, file))

    def _group(self, namespace: str, role: str) -> list[IndexedObject]:
        """The objects of ``namespace`` with ``role`` (see :func:`roles`), in the order of :attr:`objects`."""
        key = (namespace, role)
        if key in self._groups:
            return self._groups[key]
        if self._parent is None:
            if not self._groups:
                for obj in self.objects:
                    for each in roles(obj):
                        self._groups.setdefault((obj.namespace, each), []).append(obj)
            return self._groups.setdefault(key, [])
        parent, file = self._parent
        kept = [obj for obj in parent._group(namespace, role) if obj.file != file]
        ranks = self._file_ranks()
        at = bisect.bisect_right(kept, ranks[file], key=lambda obj: ranks[obj.file])
        own = [obj for obj in self.by_file[file] if obj.namespace == namespace and role in roles(obj)]
        self._groups[key] = kept[:at] + own + kept[at:]
        return self._groups[key]

    def _file_ranks(self) -> dict[str, int]:
        """Each file's position in :attr:`by_file`: its parent's, unless :meth:`with_file` appended a file."""
        if self._ranks is None:
            if self._parent is not None and self._parent[1] in self._parent[0].by_file:
                self._ranks = self._parent[0]._file_ranks()
            else:
                self._ranks = {name: rank for rank, name in enumerate(self.by_file)}
        return self._ranks

    def services_selecting(self, pod_labels: Mapping[str, str], namespace: str) -> list[IndexedObject]:
        """Services in ``namespace`` whose selector selects pods with ``pod_labels``.

        An ``ExternalName`` Service has no endpoints, whatever its selector says.
        """
        labels = pod_labels.items()
        return [obj for obj in self._group(namespace, "Service") if (pairs := obj.service_pairs) and pairs <= labels]

    def network_policies(self, namespace: str) -> list[IndexedObject]:
        """The built-in NetworkPolicies of ``namespace`` (a policy without ``spec`` has an empty one)."""
        return [
            obj
            for obj in self._group(namespace, "NetworkPolicy")
            if obj.api_version in NETWORK_POLICY_API_VERSIONS and isinstance(policy_spec(obj), Mapping)
        ]

    def workloads(self, namespace: str) -> list[IndexedObject]:
        """The pod-bearing objects of ``namespace``."""
        return list(self._group(namespace, PODS))

    def policy_coverage(self, pod_labels: Mapping[str, str], namespace: str) -> Coverage:
        """The NetworkPolicies of ``namespace`` that select ``pod_labels``, per direction."""
        ingress: list[IndexedObject] = []
        egress: list[IndexedObject] = []
        for obj in self.network_policies(namespace):
            spec = policy_spec(obj)
            if not selects(spec, pod_labels):
                continue
            types = policy_types(spec)
            if "Ingress" in types:
                ingress.append(obj)
            if "Egress" in types:
                egress.append(obj)
        return Coverage(tuple(ingress), tuple(egress))

    def restricts(self, pod_labels: Mapping[str, str], namespace: str, direction: str) -> bool:
        """True when policies limit the ``direction`` traffic of these pods: some select them for
        it, and none of those allows all of it (a rule without peers and ports)."""
        covering = self.policy_coverage(pod_labels, namespace).of(direction)
        return bool(covering) and not any(allows_everything(policy_spec(obj), direction) for obj in covering)


def roles(obj: IndexedObject) -> tuple[str, ...]:
    """The groups an object is looked up in: its kind for Services and NetworkPolicies, and
    :data:`PODS` when it bears pods."""
    kind = (obj.kind,) if obj.kind in SPEC_KINDS else ()
    return kind + (PODS,) if obj.pod_labels is not None else kind


def policy_spec(policy: IndexedObject) -> Any:
    """A NetworkPolicy's spec as plain data: absent or null reads as the empty spec, like the API's."""
    return policy.spec if policy.spec is not None else {}


def selects(spec: Mapping[str, Any], pod_labels: Mapping[str, str]) -> bool:
    """True when a NetworkPolicy spec's ``podSelector`` selects ``pod_labels`` (absent: every pod)."""
    return selectors.matches(spec.get("podSelector"), pod_labels)


def policy_types(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """A NetworkPolicy's effective ``policyTypes``.

    Defaulted as the API server does when the list is omitted or empty: ``Ingress``, plus ``Egress``
    when the policy has at least one egress rule (``egress: []`` is no rule).
    """
    declared = spec.get("policyTypes")
    if isinstance(declared, list) and declared:
        return tuple(str(t) for t in declared)
    egress = spec.get("egress")
    return ("Ingress", "Egress") if isinstance(egress, list) and egress else ("Ingress",)


def allows_everything(spec: Mapping[str, Any], direction: str) -> bool:
    """True when one of the policy's rules for ``direction`` allows all traffic: a rule with no
    peers (``from``/``to``) and no ports, such as ``- {}``."""
    rules_key, peers_key = RULES[direction]
    rules = spec.get(rules_key)
    if not isinstance(rules, list):
        return False
    return any(_allows_all(rule, peers_key) for rule in rules)


def _allows_all(rule: Any, peers_key: str) -> bool:
    if rule is None:  # a null rule is the empty rule
        return True
    return isinstance(rule, Mapping) and not rule.get(peers_key) and not rule.get("ports")


def summarize(
    file: str, documents: list[Document], pod_kinds: tuple[PodKind, ...], default_namespace: str
) -> list[IndexedObject]:
    """Index entries for the objects of one parsed file."""
    return [summary(file, manifest, pod_kinds, default_namespace) for manifest in manifests(documents)]


def summary(file: str, manifest: Manifest, pod_kinds: tuple[PodKind, ...], default_namespace: str) -> IndexedObject:
    """The index entry of one object."""
    metadata = manifest.metadata
    template = pod_template(manifest, pod_kinds)
    spec = manifest.node.get("spec") if manifest.kind in SPEC_KINDS else None
    return IndexedObject(
        file=file,
        kind=manifest.kind,
        api_version=manifest.api_version,
        name=manifest.name,
        namespace=manifest.namespace or default_namespace,
        labels=labels_of(metadata),
        pod_labels=labels_of(template.metadata) if template is not None else None,
        spec=to_data(spec) if spec is not None else None,
    )


def labels_of(metadata: MappingNode | None) -> dict[str, str]:
    """The labels of a metadata mapping, values as text."""
    if metadata is None:
        return {}
    labels = metadata.get("labels")
    if not isinstance(labels, MappingNode):
        return {}
    data = to_data(labels)
    return {selectors.label_text(k): selectors.label_text(v) for k, v in data.items()}


def default_namespace(path: str, explicit: str | None) -> str:
    """The namespace of objects in ``path`` that name none."""
    if explicit:
        return explicit
    return _kustomization_namespace(os.path.dirname(os.path.abspath(path))) or "default"


@cache
def _kustomization_namespace(directory: str) -> str | None:
    for name in KUSTOMIZATION_NAMES:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            try:
                documents = parse(Source.from_bytes(candidate, read_regular(candidate)[0]).text)
            except (OSError, InputError):
                return None
            root = documents[0].root if documents else None
            if isinstance(root, MappingNode):
                return root.str("namespace")
    return None
