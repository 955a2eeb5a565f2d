"""The run index's grouped lookups answer exactly what a scan of every object answers, in the same
order, for the index of a run and for indexes derived from it with ``with_file`` (nested too)."""

from __future__ import annotations

import itertools
import random

from remediate.index import IndexedObject, RunIndex

NAMESPACES = ("default", "shop", "ops")


def make(file: str, number: int, rng: random.Random) -> IndexedObject:
    kind = rng.choice(("Service", "NetworkPolicy", "Deployment", "ConfigMap"))
    app = rng.choice(("web", "db", "cache"))
    spec = None
    if kind == "Service":
        spec = {"selector": {"app": app}, "type": rng.choice(("ClusterIP", "ExternalName"))}
    elif kind == "NetworkPolicy":
        spec = {"podSelector": rng.choice(({}, {"matchLabels": {"app": app}})), "policyTypes": ["Ingress"]}
    return IndexedObject(
        file=file,
        kind=kind,
        api_version="networking.k8s.io/v1" if kind == "NetworkPolicy" else "v1",
        name=f"{kind.lower()}-{number}",
        namespace=rng.choice(NAMESPACES),
        labels={},
        pod_labels={"app": app} if kind == "Deployment" else None,
        spec=spec,
    )


def scanned(index: RunIndex, namespace: str, labels: dict[str, str]) -> tuple[list, list, list, tuple]:
    """The lookups computed from a plain index holding the same objects (no derived groups)."""
    plain = RunIndex({file: list(entries) for file, entries in index.by_file.items()})
    return lookups(plain, namespace, labels)


def lookups(index: RunIndex, namespace: str, labels: dict[str, str]) -> tuple[list, list, list, tuple]:
    coverage = index.policy_coverage(labels, namespace)
    return (
        [o.name for o in index.services_selecting(labels, namespace)],
        [o.name for o in index.network_policies(namespace)],
        [o.name for o in index.workloads(namespace)],
        tuple(o.name for o in coverage.ingress),
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
    checked = 0
    for index in [base, *derived]:
        for namespace in NAMESPACES:
            for app in ("web", "db", "cache"):
                found = lookups(index, namespace, {"app": app})
                assert found == scanned(index, namespace, {"app": app})
                checked += sum(map(len, found))
    assert checked > 100  # the random run exercised the lookups


def test_adding_objects_after_a_lookup_is_seen() -> None:
    index = RunIndex()
    first = make("a.yaml", 1, random.Random(1))
    index.add([first])
    assert [o.name for o in index.workloads(first.namespace)] == ([first.name] if first.pod_labels else [])
    deployment = IndexedObject("b.yaml", "Deployment", "apps/v1", "late", first.namespace, {}, {"app": "x"})
    index.add([deployment])
    assert "late" in [o.name for o in index.workloads(first.namespace)]
