"""The run index's lookups answer exactly what a scan of every object answers, in the same order,
for the index of a run and for indexes derived from it with ``with_file`` (nested too, and with
objects added to the derived index afterwards)."""

from __future__ import annotations

import itertools
import random

from remediate.kube import selectors
from remediate.kube.index import IndexedObject, RunIndex, policy_spec, policy_types

NAMESPACES = ("default", "shop", "ops")
APPS = ("web", "db", "cache")
SELECTORS = (
    {},
    None,
    {"matchLabels": {"app": "web"}},
    {"matchLabels": {"app": "db", "tier": "back"}},
    {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "cache"]}]},
    {"matchExpressions": [{"key": "tier", "operator": "Exists"}]},
    {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["db"]}]},
    {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]},
    {"matchLabels": "not a map"},
)


def make(file: str, number: int, rng: random.Random) -> IndexedObject:
    kind = rng.choice(("Service", "NetworkPolicy", "Deployment", "ConfigMap"))
    app = rng.choice(("web", "db", "cache"))
    spec = None
    if kind == "Service":
        spec = {"selector": {"app": app}, "type": rng.choice(("ClusterIP", "ExternalName"))}
    elif kind == "NetworkPolicy":
        spec = {"podSelector": rng.choice(SELECTORS), "policyTypes": ["Ingress"]}
    return IndexedObject(
        file=file,
        kind=kind,
        api_version="networking.k8s.io/v1" if kind == "NetworkPolicy" else "v1",
        name=f"{kind.lower()}-{number}",
        namespace=rng.choice(NAMESPACES),
        labels={},
        pod_labels=({"app": app} | ({"tier": "back"} if rng.random() < 0.5 else {}))
        if kind == "Deployment"
        else None,
        spec=spec,
    )


Files = dict[str, list[IndexedObject]]
"""What an index holds, file by file in the order of the run: the model the lookups are checked against."""


def replaced(files: Files, file: str, entries: list[IndexedObject]) -> Files:
    """The model of ``with_file``: ``file``'s entries replaced in place, or a new file at the end."""
    return {**files, file: list(entries)}


def scanned(files: Files, namespace: str, labels: dict[str, str]) -> tuple[list, ...]:
    """The lookups answered by scanning every object of the model, in the order of the run."""
    objects = [o for entries in files.values() for o in entries if o.namespace == namespace]
    policies = [o for o in objects if o.kind == "NetworkPolicy" and isinstance(policy_spec(o), dict)]
    workloads = [o for o in objects if o.pod_labels is not None]
    return (
        [
            o.name
            for o in objects
            if o.kind == "Service" and o.service_pairs and o.service_pairs <= labels.items()
        ],
        [o.name for o in workloads],
        [
            o.name
            for o in policies
            if selectors.matches(policy_spec(o).get("podSelector"), labels)
            and "Ingress" in policy_types(policy_spec(o))
        ],
        [[o.name for o in workloads if selectors.matches(selector, o.pod_labels)] for selector in SELECTORS],
        [o.name for o in workloads if o.name == "deployment-5"],
        [any(o.name == name for o in policies) for name in ("networkpolicy-3", "networkpolicy-4")],
    )


def lookups(index: RunIndex, namespace: str, labels: dict[str, str]) -> tuple[list, ...]:
    coverage = index.policy_coverage(labels, namespace)
    return (
        [o.name for o in index.services_selecting(labels, namespace)],
        [o.name for o in index.workloads(namespace)],
        [o.name for o in coverage.ingress],
        [[o.name for o in index.workloads_selected_by(selector, namespace)] for selector in SELECTORS],
        [o.name for o in index.workloads_named(namespace, "deployment-5")],
        [index.has_policy_named(namespace, name) for name in ("networkpolicy-3", "networkpolicy-4")],
    )


def test_derived_indexes_look_up_what_a_scan_finds_in_the_same_order() -> None:
    rng = random.Random(7)
    counter = itertools.count()
    base, model = RunIndex(), {}
    for file in (f"f{n}.yaml" for n in range(12)):
        entries = [make(file, next(counter), rng) for _ in range(rng.randrange(0, 6))]
        base.add(entries)
        model[file] = entries
    indexes: list[tuple[RunIndex, Files]] = [(base, model)]

    def derive(parent: int, file: str, count: int) -> tuple[RunIndex, Files]:
        index, files = indexes[parent]
        entries = [make(file, next(counter), rng) for _ in range(count)]
        indexes.append((index.with_file(file, entries), replaced(files, file, entries)))
        return indexes[-1]

    derive(0, "f3.yaml", 4)  # replaced in place
    derive(0, "f0.yaml", 0)  # emptied
    derive(0, "new.yaml", 3)  # appended
    derive(1, "planned", 3)  # nested
    derive(3, "f7.yaml", 1)
    growing, growing_files = derive(0, "planned", 0)
    checked = 0
    for round_ in range(3):
        for index, files in indexes:
            for namespace in NAMESPACES:
                for labels in ({"app": app} | tier for app in APPS for tier in ({}, {"tier": "back"})):
                    found = lookups(index, namespace, labels)
                    assert found == scanned(files, namespace, labels), (round_, namespace, labels)
                    checked += sum(len(part) for part in found[:3])
        more = [make("planned", next(counter), rng) for _ in range(3)]
        growing.add(more)
        growing_files["planned"] += more
    assert checked > 200  # the random run exercised the lookups


def test_adding_objects_after_a_lookup_is_seen() -> None:
    index = RunIndex()
    first = make("a.yaml", 1, random.Random(1))
    index.add([first])
    assert [o.name for o in index.workloads(first.namespace)] == ([first.name] if first.pod_labels else [])
    deployment = IndexedObject("b.yaml", "Deployment", "apps/v1", "late", first.namespace, {}, {"app": "x"})
    index.add([deployment])
    assert "late" in [o.name for o in index.workloads(first.namespace)]
