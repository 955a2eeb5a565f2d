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


def scanned(index: RunIndex, namespace: str, labels: dict[str, str]) -> tuple[list, ...]:
    """The lookups answered by scanning every object of the index, in the order of the run."""
    objects = [o for o in index.objects if o.namespace == namespace]
    policies = [o for o in objects if o.kind == "NetworkPolicy" and isinstance(policy_spec(o), dict)]
    workloads = [o for o in objects if o.pod_labels is not None]
    return (
        [
            o.name
            for o in objects
            if o.kind == "Service" and o.service_pairs and o.service_pairs <= labels.items()
        ],
        [o.name for o in policies],
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
        [o.name for o in index.network_policies(namespace)],
        [o.name for o in index.workloads(namespace)],
        [o.name for o in coverage.ingress],
        [[o.name for o in index.workloads_selected_by(selector, namespace)] for selector in SELECTORS],
        [o.name for o in index.workloads_named(namespace, "deployment-5")],
        [index.has_policy_named(namespace, name) for name in ("networkpolicy-3", "networkpolicy-4")],
    )


def test_derived_indexes_look_up_what_a_scan_finds_in_the_same_order() -> None:
    rng = random.Random(7)
    counter = itertools.count()
    base = RunIndex()
    for file in (f"f{n}.yaml" for n in range(12)):
        base.add(make(file, next(counter), rng) for _ in range(rng.randrange(0, 6)))
    derived = [
        base.with_file("f3.yaml", [make("f3.yaml", next(counter), rng) for _ in range(4)]),  # in place
        base.with_file("f0.yaml", []),  # emptied
        base.with_file("new.yaml", [make("new.yaml", next(counter), rng) for _ in range(3)]),  # appended
    ]
    derived.append(derived[0].with_file("planned", [make("planned", next(counter), rng) for _ in range(3)]))
    derived.append(derived[2].with_file("f7.yaml", [make("f7.yaml", next(counter), rng)]))
    growing = base.with_file("planned", [])
    derived.append(growing)
    checked = 0
    for round_ in range(3):
        for index in [base, *derived]:
            for namespace in NAMESPACES:
                for labels in ({"app": app} | tier for app in APPS for tier in ({}, {"tier": "back"})):
                    found = lookups(index, namespace, labels)
                    assert found == scanned(index, namespace, labels), (round_, namespace, labels)
                    checked += sum(len(part) for part in found[:4])
        growing.add([make("planned", next(counter), rng) for _ in range(3)])
    assert checked > 300  # the random run exercised the lookups


def test_adding_objects_after_a_lookup_is_seen() -> None:
    index = RunIndex()
    first = make("a.yaml", 1, random.Random(1))
    index.add([first])
    assert [o.name for o in index.workloads(first.namespace)] == ([first.name] if first.pod_labels else [])
    deployment = IndexedObject("b.yaml", "Deployment", "apps/v1", "late", first.namespace, {}, {"app": "x"})
    index.add([deployment])
    assert "late" in [o.name for o in index.workloads(first.namespace)]
