"""The objects of a whole run, for fixers that look across files.

A NetworkPolicy in ``policies.yaml`` covers the pods of a Deployment in ``app.yaml``; a probe's port
comes from a Service in another file. The index is built once per run over every input file (and
``--context`` paths, consulted but never rewritten). It holds small, picklable summaries, not node
graphs, so it costs little memory and crosses process boundaries in parallel runs.

Namespaces: an object without ``metadata.namespace`` is in the run's default namespace
(``--namespace``, else the ``namespace:`` kustomize gives it: that of the outermost
kustomization beside or above the file that includes it, :func:`remediate.kube.kustomize.namespace`;
else ``default``), as ``kubectl apply`` and ``kustomize build`` would place it. (kustomize's
``namespace:`` also replaces a namespace that an object states; k8sfix keeps the stated one.)

NetworkPolicy semantics follow the API server: a policy selects pods of its own namespace only;
its ``podSelector`` is a label selector (absent or ``{}``: every pod); an omitted ``policyTypes``
means ``Ingress``, plus ``Egress`` when the policy has at least one egress rule. Only the built-in
API (``networking.k8s.io``, and the old ``extensions/v1beta1``) counts: Calico's and Cilium's
policies of the same kind name select pods differently.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from remediate.kube import kustomize, selectors
from remediate.kube.k8s import Manifest, PodKind, manifests, pod_template
from remediate.yaml.document import Document
from remediate.yaml.document import Mapping as MappingNode
from remediate.yaml.values import to_data

SPEC_KINDS = frozenset(
    {
        "Service",
        "NetworkPolicy",
        "CiliumNetworkPolicy",
        "CiliumClusterwideNetworkPolicy",
        "ClusterNetworkPolicy",
        "GlobalNetworkPolicy",
        "AdminNetworkPolicy",
        "BaselineAdminNetworkPolicy",
    }
)
"""Kinds whose whole ``spec`` is kept in the index (selectors, ports, policy types; the selectors
of other engines' policies, :func:`other_policy_covers`)."""

NETWORK_POLICY_API_VERSIONS = frozenset({"networking.k8s.io/v1", "extensions/v1beta1"})
"""apiVersions of the built-in NetworkPolicy (not Calico's ``projectcalico.org/v3`` one)."""

DIRECTIONS = ("Ingress", "Egress")
RULES = {"Ingress": ("ingress", "from"), "Egress": ("egress", "to")}
"""Per direction: the spec key of its rules, and the rule key of its peers."""


@dataclass(frozen=True, slots=True)
class IndexedObject:
    """What other objects need to know about one object. (A repository of 200,000 files has an
    index of about 400,000 of them: slots, and the texts many share interned, keep each small.)"""

    file: str
    kind: str
    api_version: str
    name: str
    namespace: str
    labels: Mapping[str, str]
    pod_labels: Mapping[str, str] | None = None
    spec: Any = None
    service_pairs: frozenset[tuple[str, str]] = field(init=False, repr=False, compare=False)
    """For a Service, the label pairs of the pods it sends traffic to; empty when it selects no
    pods (no selector, or ``type: ExternalName``, which has no endpoints), and for other kinds.
    Computed once: the run asks for every container."""

    def __post_init__(self) -> None:
        for name in ("kind", "api_version", "namespace"):
            object.__setattr__(self, name, sys.intern(getattr(self, name)))
        object.__setattr__(self, "service_pairs", _service_pairs(self.kind, self.spec))


NO_PAIRS: frozenset[tuple[str, str]] = frozenset()
"""The pairs of everything but a Service that selects pods: one object for all of them."""


def _service_pairs(kind: str, spec: Any) -> frozenset[tuple[str, str]]:
    if kind != "Service" or not isinstance(spec, dict) or spec.get("type") == "ExternalName":
        return NO_PAIRS
    return selectors.selector_pairs(spec.get("selector")) or NO_PAIRS


class Coverage(NamedTuple):
    """Which NetworkPolicies select a pod, by direction."""

    ingress: tuple[IndexedObject, ...] = ()
    egress: tuple[IndexedObject, ...] = ()

    def of(self, direction: str) -> tuple[IndexedObject, ...]:
        """The policies for ``"Ingress"`` or ``"Egress"``."""
        return self.ingress if direction == "Ingress" else self.egress

    def missing(self) -> tuple[str, ...]:
        """The directions no policy covers, in the order Ingress, Egress."""
        return tuple(direction for direction in DIRECTIONS if not self.of(direction))


_Rank = tuple[int, int]
"""Where an object stands in a run: (its file's place, its place in the file)."""

_AFTER_ALL = 1 << 62
"""The file rank of a file :meth:`RunIndex.with_file` adds: after every file of the run."""


OTHER_POLICY_KINDS: dict[tuple[str, str], str] = {
    ("cilium.io", "CiliumNetworkPolicy"): "namespaced",
    ("cilium.io", "CiliumClusterwideNetworkPolicy"): "cluster",
    ("crd.projectcalico.org", "NetworkPolicy"): "namespaced",
    ("projectcalico.org", "NetworkPolicy"): "namespaced",
    ("crd.projectcalico.org", "GlobalNetworkPolicy"): "cluster",
    ("projectcalico.org", "GlobalNetworkPolicy"): "cluster",
    ("crd.antrea.io", "NetworkPolicy"): "namespaced",
    ("crd.antrea.io", "ClusterNetworkPolicy"): "cluster",
    ("policy.networking.k8s.io", "AdminNetworkPolicy"): "cluster",
    ("policy.networking.k8s.io", "BaselineAdminNetworkPolicy"): "cluster",
}
"""Policies of other engines, by API group and kind, and whether they hold for their namespace or
the whole cluster. Kubernetes NetworkPolicies add up with each other, but these decide traffic
too: an allow-all NetworkPolicy beside a CiliumNetworkPolicy that locks a namespace down opens it."""


class _Lookups:
    """Inverted indexes over some objects, so that each lookup costs what it finds, not the run.

    Objects are filed by namespace under the label pairs (and keys) a match needs (:func:`filings`):
    a Service under one pair of its selector, a NetworkPolicy under one pair (or key) its
    ``podSelector`` requires, or among those that need none (an empty selector selects every pod), a
    pod-bearing object under every pair and key of its pod labels. A lookup gathers the candidates
    for the labels it asks about and keeps those that really match, in the order of the run.
    """

    def __init__(self) -> None:
        self.services: dict[tuple[str, str, str], list[IndexedObject]] = defaultdict(list)
        self.policies: dict[tuple[str, Any], list[IndexedObject]] = defaultdict(list)
        self.workloads: dict[tuple[str, Any], list[IndexedObject]] = defaultdict(list)
        self.workload_list: dict[str, list[IndexedObject]] = defaultdict(list)
        self.names: dict[tuple[str, str, str], list[IndexedObject]] = defaultdict(list)
        """Pod-bearing objects (role "pods") and policies (role "NetworkPolicy") by namespace and name."""
        self.kustomizations: dict[tuple[()], list[IndexedObject]] = defaultdict(list)
        """The kustomization files of the run (:data:`KUSTOMIZATION`), by absolute path in ``name``,
        all under the key ``()``."""
        self.foreign: dict[str, list[IndexedObject]] = defaultdict(list)
        """Policies of other engines (:data:`OTHER_POLICY_KINDS`) by namespace; ``*`` for those that
        apply to the whole cluster."""
        self.ranks: dict[int, _Rank] = {}

    def add(self, obj: IndexedObject, rank: _Rank) -> None:
        self.ranks[id(obj)] = rank
        for table, key in filings(obj):
            getattr(self, table)[key].append(obj)


def filings(obj: IndexedObject) -> Iterator[tuple[str, Any]]:
    """Where :class:`_Lookups` files ``obj``: each the name of one of its tables and a key in it."""
    namespace = obj.namespace
    if obj.kind == "Service" and obj.service_pairs:
        yield "services", (namespace, *min(obj.service_pairs))
    if obj.kind == "NetworkPolicy" and obj.api_version in NETWORK_POLICY_API_VERSIONS:
        spec = policy_spec(obj)
        if isinstance(spec, Mapping):
            yield "names", (namespace, "NetworkPolicy", obj.name)
            for hint in selectors.requirement_hints(spec.get("podSelector")):
                yield "policies", (namespace, hint)
    if obj.kind == KUSTOMIZATION and not obj.api_version:
        yield "kustomizations", ()
    scope = OTHER_POLICY_KINDS.get((obj.api_version.split("/", 1)[0], obj.kind))
    if scope is not None:
        yield "foreign", namespace if scope == "namespaced" else "*"
    if obj.pod_labels is not None:
        yield "workload_list", namespace
        yield "names", (namespace, "pods", obj.name)
        for pair in obj.pod_labels.items():
            yield "workloads", (namespace, pair)
            yield "workloads", (namespace, pair[0])


def bucket(table: str, key: Any) -> str | None:
    """The bucket of the objects :class:`_Lookups` files in ``table`` under ``key`` (see
    :func:`buckets`): the key itself for Services, policies and their names, so that a lookup makes
    the files that hold what it reads; one bucket for everything about the pods of a namespace
    (their lookups read all of it); None for what every lookup may meet (cluster-wide policies)
    or only the run-wide one reads (kustomizations). Texts that run together (a NUL in a name)
    only make a lookup make more files."""
    if table == "services":
        return "services " + "\0".join(key)
    if table == "policies":
        namespace, hint = key
        return f"policies {namespace}\0" + (hint if isinstance(hint, str) else "\0".join(hint))
    if table == "names" and key[1] == "NetworkPolicy":
        return f"policy names {key[0]}\0{key[2]}"
    if table in ("names", "workload_list", "workloads"):
        return f"pods {key if isinstance(key, str) else key[0]}"
    if table == "foreign" and key != "*":
        return f"foreign {key}"
    return None


def buckets(obj: IndexedObject) -> set[str | None]:
    """The lookups that may find ``obj``, each named by one text (:func:`bucket`), as
    :class:`_Lookups` files it. A file kept for later (:class:`Later`) is made by the first lookup
    of one of its objects' buckets: a lookup of the Services that select some pods then makes the
    files with a Service filed under one of the pods' labels, not every file of the namespace."""
    return {bucket(table, key) for table, key in filings(obj)}


class Later:
    """The objects of one file, made only when a lookup first asks about one of ``buckets`` (see
    :func:`buckets`): a run kept from the context cache holds every file of a repository, and a
    pre-commit run's fixes look for a few kinds of objects of a namespace or two of them
    (:meth:`RunIndex.add_later`)."""

    __slots__ = ("buckets", "file", "load")

    def __init__(self, file: str, buckets: Iterable[str | None], load: Callable[[], list[IndexedObject]]):
        self.file = file
        self.buckets = frozenset(buckets)
        self.load = load
        """Makes the file's objects, in the order of the file."""


class RunIndex:
    """Every indexed object of a run, by file, with the lookups fixers need.

    Lookups are answered from inverted indexes (:class:`_Lookups`) and list objects in the order of
    the run: files in the order they were added, objects in the order of their file. A run asks for
    every container, and a scan of every object each time made a repository's cost grow with the
    square of its size. :meth:`with_file` gives the run as it looks while one file is being fixed:
    an overlay that keeps only that file's new entries and answers from its parent's indexes minus
    the file's old entries, so making one costs the size of the file, not of the run.
    """

    def __init__(self) -> None:
        self._parent: RunIndex | None = None
        self._replaced: str | None = None
        self._files: dict[str, list[IndexedObject]] = {}
        self._file_ranks: dict[str, int] = {}
        self._lookups = _Lookups()
        self._later: dict[str | None, list[Later]] = {}
        """The files whose objects are not made yet, by the buckets of their objects."""

    def __getstate__(self) -> dict[str, Any]:
        """What a worker process started by ``spawn`` is sent: the objects by file, every one made
        (a :class:`Later` holds a function). The lookups are not sent: they are filed by the
        objects' ``id``, which the copies do not keep; :meth:`__setstate__` files them again."""
        self._make(list(self._later))
        return {name: value for name, value in self.__dict__.items() if name != "_lookups"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lookups = _Lookups()
        for file, entries in self._files.items():
            for position, obj in enumerate(entries):
                self._lookups.add(obj, (self._file_ranks[file], position))

    def add(self, found: Iterable[IndexedObject]) -> None:
        """Add objects (of any files; a file's objects in their order)."""
        for obj in found:
            self._add(obj)

    def add_later(self, later: Later) -> None:
        """Add a file's objects, to be made by the first lookup that may find one of them. The file
        takes its place in the run's order now, as with :meth:`add`."""
        if later.file not in self._file_ranks:
            self._file_ranks[later.file] = self._rank_of_new_file(later.file)
        self._files.setdefault(later.file, [])
        for place in later.buckets:
            self._later.setdefault(place, []).append(later)

    def _make(self, wanted: Iterable[str | None]) -> None:
        """Make the objects of the buckets ``wanted`` (:func:`buckets`), and those every lookup may find."""
        for place in {*wanted, None}:
            for later in self._later.pop(place, ()):
                if not self._files[later.file]:  # not made through another of its buckets
                    self.add(later.load())

    def _add(self, obj: IndexedObject) -> None:
        if obj.file not in self._file_ranks:
            self._file_ranks[obj.file] = self._rank_of_new_file(obj.file)
        entries = self._files.setdefault(obj.file, [])
        self._lookups.add(obj, (self._file_ranks[obj.file], len(entries)))
        entries.append(obj)

    def _rank_of_new_file(self, file: str) -> int:
        if self._parent is None:
            return len(self._file_ranks)
        parent_rank = self._parent._rank_of(file)
        return parent_rank if parent_rank is not None else _AFTER_ALL + len(self._file_ranks)

    def _rank_of(self, file: str) -> int | None:
        if file in self._file_ranks:
            return self._file_ranks[file]
        return self._parent._rank_of(file) if self._parent is not None else None

    def with_file(self, file: str, entries: list[IndexedObject]) -> RunIndex:
        """This index with ``file``'s entries replaced: how the run looks while that file is being fixed.

        More objects of ``file`` can be added to the result with :meth:`add` (the policies a file is
        about to get, one by one)."""
        overlay = RunIndex()
        overlay._parent, overlay._replaced = self, file
        overlay.add(entries)
        overlay._files.setdefault(file, [])
        return overlay

    def _gather(
        self,
        pick: Callable[[_Lookups], Iterable[IndexedObject]],
        table: str,
        keys: Iterable[Any],
    ) -> list[IndexedObject]:
        """The objects ``pick`` finds in this index and its parents (without the replaced files'
        old entries), each once, in the order of the run; ``pick`` reads the ``keys`` of the
        :class:`_Lookups` table ``table``, whose buckets (:func:`bucket`), and those every lookup may
        meet, are made first when files are kept for later. The buckets are named only then: most
        runs keep nothing for later, and ask for every container."""
        found: dict[int, tuple[_Rank, IndexedObject]] = {}
        index: RunIndex | None = self
        hidden: set[str] = set()
        wanted: list[str | None] | None = None
        while index is not None:
            if index._later:
                if wanted is None:
                    wanted = [bucket(table, key) for key in keys]
                index._make(wanted)
            lookups = index._lookups
            for obj in pick(lookups):
                if obj.file not in hidden and id(obj) not in found:
                    found[id(obj)] = (lookups.ranks[id(obj)], obj)
            if index._parent is not None:  # an overlay's files hide its parents' entries of them
                hidden.update(index._files)
                if index._replaced:
                    hidden.add(index._replaced)
            index = index._parent
        return [obj for _, obj in sorted(found.values(), key=lambda item: item[0])]

    def services_selecting(self, pod_labels: Mapping[str, str], namespace: str) -> list[IndexedObject]:
        """Services in ``namespace`` whose selector selects pods with ``pod_labels``.

        An ``ExternalName`` Service has no endpoints, whatever its selector says.
        """
        labels = pod_labels.items()

        def pick(lookups: _Lookups) -> Iterator[IndexedObject]:
            for key, value in labels:
                for obj in lookups.services.get((namespace, key, value), ()):
                    if obj.service_pairs <= labels:
                        yield obj

        return self._gather(pick, "services", ((namespace, key, value) for key, value in labels))

    def kustomizations(self) -> list[IndexedObject]:
        """The kustomization files of the run (see :func:`kustomization_entry`)."""
        return self._gather(lambda lookups: lookups.kustomizations.get((), ()), "kustomizations", [()])

    def other_engine_policies(self, namespace: str) -> list[IndexedObject]:
        """Policies of other engines that may decide the traffic of pods in ``namespace``: theirs,
        and the cluster-wide ones (:data:`OTHER_POLICY_KINDS`)."""
        return self._gather(
            lambda lookups: [*lookups.foreign.get(namespace, ()), *lookups.foreign.get("*", ())],
            "foreign",
            (namespace,),
        )

    def has_policy_named(self, namespace: str, name: str) -> bool:
        """True when a NetworkPolicy of ``namespace`` is called ``name``."""
        names = (namespace, "NetworkPolicy", name)
        return bool(self._gather(lambda lookups: lookups.names.get(names, ()), "names", (names,)))

    def workloads(self, namespace: str) -> list[IndexedObject]:
        """The pod-bearing objects of ``namespace``."""
        return self._gather(
            lambda lookups: lookups.workload_list.get(namespace, ()), "workload_list", (namespace,)
        )

    def workloads_named(self, namespace: str, name: str) -> list[IndexedObject]:
        """The pod-bearing objects of ``namespace`` called ``name`` (of any kind)."""
        names = (namespace, "pods", name)
        return self._gather(lambda lookups: lookups.names.get(names, ()), "names", (names,))

    def workloads_selected_by(self, selector: Any, namespace: str) -> list[IndexedObject]:
        """The pod-bearing objects of ``namespace`` whose pods the label selector ``selector`` selects."""
        hints = selectors.requirement_hints(selector)

        def pick(lookups: _Lookups) -> Iterator[IndexedObject]:
            if selectors.ANY in hints:  # requires nothing this index files objects by
                candidates: Iterable[IndexedObject] = lookups.workload_list.get(namespace, ())
            else:
                candidates = (obj for hint in hints for obj in lookups.workloads.get((namespace, hint), ()))
            return (obj for obj in candidates if selectors.matches(selector, obj.pod_labels or {}))

        return self._gather(pick, "workload_list", (namespace,))

    def policy_coverage(self, pod_labels: Mapping[str, str], namespace: str) -> Coverage:
        """The NetworkPolicies of ``namespace`` that select ``pod_labels``, per direction."""
        keys = [selectors.ANY, *pod_labels.items(), *pod_labels]

        def pick(lookups: _Lookups) -> Iterator[IndexedObject]:
            for key in keys:
                for obj in lookups.policies.get((namespace, key), ()):
                    if selects(policy_spec(obj), pod_labels):
                        yield obj

        ingress: list[IndexedObject] = []
        egress: list[IndexedObject] = []
        for obj in self._gather(pick, "policies", ((namespace, key) for key in keys)):
            types = policy_types(policy_spec(obj))
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
    """Index entries for the objects of one parsed file that a lookup can find (:func:`consulted`).
    The others (ConfigMaps, RBAC, custom resources: two objects in five of the test corpus) would
    only take room in the index and in the context cache, and time to read back."""
    found = (summary(file, manifest, pod_kinds, default_namespace) for manifest in manifests(documents))
    return [obj for obj in found if consulted(obj)]


def consulted(obj: IndexedObject) -> bool:
    """Whether a lookup of :class:`RunIndex` can find ``obj``: a pod-bearing object, a Service that
    selects pods, a NetworkPolicy of the built-in API, another engine's policy, a kustomization
    (what :class:`_Lookups` files)."""
    return (
        obj.pod_labels is not None
        or bool(obj.service_pairs)
        or (
            obj.kind == "NetworkPolicy"
            and obj.api_version in NETWORK_POLICY_API_VERSIONS
            and isinstance(policy_spec(obj), Mapping)
        )
        or (obj.kind == KUSTOMIZATION and not obj.api_version)
        or (obj.api_version.split("/", 1)[0], obj.kind) in OTHER_POLICY_KINDS
    )


def summary(
    file: str, manifest: Manifest, pod_kinds: tuple[PodKind, ...], default_namespace: str
) -> IndexedObject:
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


KUSTOMIZATION = "Kustomization"


CILIUM_SOURCES = ("k8s:", "any:")
"""Prefixes Cilium label keys may carry (the label's source)."""
CILIUM_NAMESPACE = "io.kubernetes.pod.namespace"
"""The label Cilium gives every endpoint with its namespace."""


def other_policy_covers(policy: IndexedObject, labels: Mapping[str, str], namespace: str) -> bool:
    """Whether another engine's policy (:data:`OTHER_POLICY_KINDS`) may decide the traffic of pods
    with ``labels`` in ``namespace``. Selectors read: Cilium's ``endpointSelector`` (a policy with
    only a ``nodeSelector`` is for nodes), Antrea's ``appliedTo`` pod selectors, and the
    ``subject.pods`` of AdminNetworkPolicies for every namespace. Any other selector (Calico's
    expressions, namespace labels the run does not know) counts as covering the pods: a new
    NetworkPolicy beside it could open what it closes."""
    spec = policy.spec
    if not isinstance(spec, dict):
        return True
    group = policy.api_version.split("/", 1)[0]
    if group == "cilium.io":
        if "endpointSelector" not in spec:
            return "nodeSelector" not in spec
        return _cilium_covers(spec["endpointSelector"], labels, namespace)
    if group == "crd.antrea.io":
        applied = spec.get("appliedTo")
        if not isinstance(applied, list) or not applied:
            return True
        return any(
            not isinstance(entry, dict)
            or set(entry) != {"podSelector"}
            or selectors.matches(entry["podSelector"], labels)
            for entry in applied
        )
    if group == "policy.networking.k8s.io":
        subject = spec.get("subject")
        pods = subject.get("pods") if isinstance(subject, dict) else None
        if not isinstance(pods, dict) or pods.get("namespaceSelector") != {}:
            return True
        return selectors.matches(pods.get("podSelector"), labels)
    return True


def _cilium_covers(selector: Any, labels: Mapping[str, str], namespace: str) -> bool:
    """Whether a Cilium endpoint selector may select pods with ``labels`` in ``namespace``: its
    keys' sources stripped, its namespace label compared; True where it needs labels k8sfix does
    not know (Cilium's own)."""
    if not isinstance(selector, dict):
        return True
    pairs: dict[str, Any] = {}
    for key, value in (selector.get("matchLabels") or {}).items():
        name = _cilium_key(str(key))
        if name == CILIUM_NAMESPACE:
            if str(value) != namespace:
                return False  # a policy for pods of another namespace
            continue
        if name.startswith(("io.cilium.", "io.kubernetes.")):
            return True
        pairs[name] = value
    expressions = []
    for expression in selector.get("matchExpressions") or []:
        name = _cilium_key(str(expression.get("key"))) if isinstance(expression, dict) else ""
        if not name or name.startswith(("io.cilium.", "io.kubernetes.")):
            return True
        expressions.append({**expression, "key": name})
    return selectors.matches({"matchLabels": pairs, "matchExpressions": expressions}, labels)


def _cilium_key(key: str) -> str:
    for source in CILIUM_SOURCES:
        if key.startswith(source):
            return key[len(source) :]
    return key


def kustomization_entry(file: str, path: str) -> IndexedObject:
    """The index entry of a kustomization file of the run (``path`` on disk): overlays are found
    through it, wherever they sit (:meth:`RunIndex.kustomizations`). Its ``api_version`` is empty,
    which no object of a file has."""
    return IndexedObject(file, KUSTOMIZATION, "", os.path.abspath(path), "", {})


def labels_of(metadata: MappingNode | None) -> dict[str, str]:
    """The labels of a metadata mapping, values as text."""
    if metadata is None:
        return {}
    labels = metadata.get("labels")
    if not isinstance(labels, MappingNode):
        return {}
    data = to_data(labels)
    return {sys.intern(selectors.label_text(k)): sys.intern(selectors.label_text(v)) for k, v in data.items()}


def default_namespace(path: str, explicit: str | None) -> str:
    """The namespace of objects in ``path`` that name none."""
    if explicit:
        return explicit
    return kustomize.namespace(path) or "default"
