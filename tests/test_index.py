"""The cross-file index: label selectors, NetworkPolicy coverage, Services, and namespaces, with the
API server's semantics."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from remediate.cli.commands import RunOptions, run
from remediate.kube import kustomize, selectors
from remediate.kube.index import (
    IndexedObject,
    Later,
    RunIndex,
    allows_everything,
    buckets,
    default_namespace,
    kustomization_entry,
    other_policy_covers,
    policy_types,
    summarize,
)
from remediate.kube.k8s import BUILTIN_POD_KINDS
from remediate.yaml.document import parse
from remediate.yaml.values import to_data
from tests.conftest import ROOT

WEB = {"app": "web", "tier": "frontend"}


def summaries(text: str, namespace: str = "default", file: str = "run.yaml") -> list[IndexedObject]:
    return summarize(file, parse(text), BUILTIN_POD_KINDS, namespace)


def index_of(text: str, namespace: str = "default", file: str = "run.yaml") -> RunIndex:
    index = RunIndex()
    index.add(summaries(text, namespace, file))
    return index


def policy(spec: str, namespace: str = "", api_version: str = "networking.k8s.io/v1") -> str:
    metadata = f"{{name: p, namespace: {namespace}}}" if namespace else "{name: p}"
    return f"apiVersion: {api_version}\nkind: NetworkPolicy\nmetadata: {metadata}\nspec: {spec}\n"


# -- label selectors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "selected"),
    [
        ({"matchLabels": {"app": "web"}}, True),
        ({"matchLabels": {"app": "web", "tier": "frontend"}}, True),
        ({"matchLabels": {"app": "api"}}, False),
        ({"matchLabels": {"app": "web", "track": "stable"}}, False),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["api"]}]}, False),
        ({"matchExpressions": [{"key": "track", "operator": "In", "values": ["stable"]}]}, False),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["api"]}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, False),
        ({"matchExpressions": [{"key": "track", "operator": "NotIn", "values": ["canary"]}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "track", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "track", "operator": "DoesNotExist"}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, False),
        (  # matchLabels and matchExpressions must all hold
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}],
            },
            False,
        ),
    ],
)
def test_label_selector_requirements(selector: dict, selected: bool) -> None:
    assert selectors.matches(selector, WEB) is selected


def test_the_empty_selector_selects_everything() -> None:
    assert selectors.matches({}, WEB)
    assert selectors.matches({}, {})
    assert selectors.matches(None, {})
    assert selectors.matches({"matchLabels": None, "matchExpressions": []}, WEB)


@pytest.mark.parametrize(
    "selector",
    [
        "app=web",
        {"matchLabels": ["app", "web"]},
        {"matchExpressions": {"key": "app", "operator": "Exists"}},
        {"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["web"]}]},
        {"matchExpressions": [{"key": "app", "operator": "In"}]},
        {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": []}]},
        {"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["web"]}]},
    ],
)
def test_selectors_the_api_server_rejects_select_nothing(selector: object) -> None:
    assert not selectors.matches(selector, WEB)


def test_unknown_selector_keys_are_dropped_like_the_api_server_does() -> None:
    assert selectors.matches({"app": "api"}, WEB)


def test_label_values_compare_as_text() -> None:
    labels = "{ok: true, v: 1, x: null, on: y}"
    (pod,) = summaries(f"apiVersion: v1\nkind: Pod\nmetadata: {{labels: {labels}}}\nspec: {{}}\n")
    assert pod.pod_labels == {"ok": "true", "v": "1", "x": "", "true": "true"}  # go-yaml: on and y are true
    assert selectors.matches({"matchLabels": {"ok": "true", "v": 1, "x": None}}, pod.pod_labels)
    assert selectors.matches({"matchExpressions": [{"key": True, "operator": "Exists"}]}, pod.pod_labels)


def test_service_selectors_are_plain_maps() -> None:
    def selecting(selector: str) -> list[str]:
        service = f"apiVersion: v1\nkind: Service\nmetadata: {{name: s}}\nspec: {{selector: {selector}}}\n"
        return [o.name for o in index_of(service).services_selecting(WEB, "default")]

    assert selecting("{app: web}") == ["s"]
    assert selecting("{app: web, track: stable}") == []
    assert selecting("{}") == [] and selecting("null") == []  # no selector: endpoints managed by hand


# -- NetworkPolicy semantics -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "types"),
    [
        ({"policyTypes": ["Egress"], "ingress": [{}]}, ("Egress",)),
        ({}, ("Ingress",)),
        ({"ingress": [{}]}, ("Ingress",)),
        ({"egress": [{}]}, ("Ingress", "Egress")),
        ({"egress": []}, ("Ingress",)),  # the API server counts rules, not the key
        ({"egress": None}, ("Ingress",)),
        ({"policyTypes": [], "egress": [{"to": []}]}, ("Ingress", "Egress")),
    ],
)
def test_policy_types_default_like_the_api_server(spec: dict, types: tuple[str, ...]) -> None:
    assert policy_types(spec) == types


def test_coverage_per_direction() -> None:
    text = "\n---\n".join(
        [
            policy("{podSelector: {matchLabels: {app: web}}, ingress: [{}]}"),
            policy("{podSelector: {matchLabels: {tier: frontend}}, egress: [{}], policyTypes: [Egress]}"),
            policy("{podSelector: {matchLabels: {app: api}}, egress: [{}]}"),
        ]
    )
    coverage = index_of(text).policy_coverage(WEB, "default")
    assert len(coverage.ingress) == 1 and len(coverage.egress) == 1
    assert coverage.missing() == ()
    assert index_of(text).policy_coverage({"app": "api"}, "default").missing() == ()
    assert index_of(text).policy_coverage({"app": "db"}, "default").missing() == ("Ingress", "Egress")


def test_an_empty_pod_selector_covers_every_pod_of_its_namespace() -> None:
    index = index_of(policy("{podSelector: {}, policyTypes: [Ingress, Egress]}", namespace="prod"))
    assert index.policy_coverage({}, "prod").missing() == ()
    assert index.policy_coverage(WEB, "prod").missing() == ()
    assert index.policy_coverage(WEB, "default").missing() == ("Ingress", "Egress")


def test_a_policy_without_spec_or_pod_selector_selects_every_pod_for_ingress() -> None:
    without_spec = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
    assert index_of(without_spec).policy_coverage(WEB, "default").missing() == ("Egress",)
    assert index_of(policy("{egress: [{}]}")).policy_coverage(WEB, "default").missing() == ()


def test_only_the_built_in_network_policy_api_counts() -> None:
    spec = "{podSelector: {}, policyTypes: [Ingress, Egress]}"
    old = index_of(policy(spec, api_version="extensions/v1beta1"))
    assert old.policy_coverage(WEB, "default").missing() == ()
    calico = index_of(policy(spec, api_version="projectcalico.org/v3"))
    assert calico.policy_coverage(WEB, "default").missing() == ("Ingress", "Egress")


def test_policies_select_pods_of_their_own_namespace_only() -> None:
    index = index_of(policy("{podSelector: {matchLabels: {app: web}}, egress: [{}]}", namespace="team-a"))
    assert index.policy_coverage(WEB, "team-a").missing() == ()
    assert index.policy_coverage(WEB, "team-b").missing() == ("Ingress", "Egress")


@pytest.mark.parametrize(
    ("rules", "everything"),
    [
        ("[{}]", True),
        ("[null]", True),
        ("[{to: []}]", True),
        ("[{to: [{podSelector: {}}]}]", False),
        ("[{ports: [{port: 53}]}]", False),
        ("[{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}, {}]", True),
        ("[]", False),
    ],
)
def test_rules_that_allow_everything(rules: str, everything: bool) -> None:
    (document,) = parse(f"egress: {rules}\ningress: [{{from: [{{podSelector: {{}}}}]}}]\n")
    spec = to_data(document.root)
    assert allows_everything(spec, "Egress") is everything
    assert not allows_everything(spec, "Ingress")


def test_restricted_means_covered_without_an_allow_everything_rule() -> None:
    limiting = policy("{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{podSelector: {}}]}]}")
    opening = policy("{podSelector: {}, ingress: [{}]}")
    assert index_of(limiting).restricts(WEB, "default", "Ingress")
    assert not index_of(limiting).restricts(WEB, "default", "Egress")
    assert not index_of(limiting + "---\n" + opening).restricts(WEB, "default", "Ingress")


def test_workloads_and_policies_by_namespace() -> None:
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: x}\n"
        "spec: {template: {metadata: {labels: {app: a}}, spec: {containers: []}}}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\n---\n"
        + policy("{}", namespace="x")
    )
    index = index_of(text)
    assert [(o.kind, o.pod_labels) for o in index.workloads("x")] == [("Deployment", {"app": "a"})]
    assert index.has_policy_named("x", "p") and not index.has_policy_named("default", "p")
    assert index.workloads("default") == []


def deployment(name: str, namespace: str) -> str:
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        f"spec: {{template: {{metadata: {{labels: {{app: {name}}}}}, spec: {{containers: []}}}}}}\n"
    )


def later(file: str, text: str, made: list[str]) -> Later:
    """The objects of ``text`` as ``file``'s, made later; ``made`` records each making."""
    objects = summaries(text, file=file)

    def make() -> list[IndexedObject]:
        made.append(file)
        return objects

    return Later(file, set().union(*map(buckets, objects)), make)


def test_objects_added_later_are_made_by_the_first_lookup_of_their_namespace_in_the_run_order() -> None:
    made: list[str] = []
    index = RunIndex()
    index.add_later(later("a.yaml", deployment("a", "red") + "---\n" + deployment("b", "blue"), made))
    index.add(summaries(deployment("c", "red"), file="c.yaml"))
    index.add_later(later("d.yaml", deployment("d", "blue"), made))
    assert made == []
    assert [o.name for o in index.workloads("red")] == ["a", "c"]  # a.yaml came first in the run
    assert made == ["a.yaml"]  # d.yaml holds nothing of red
    assert [o.name for o in index.workloads("blue")] == ["b", "d"]
    assert made == ["a.yaml", "d.yaml"]  # each made once, a.yaml's blue object with its red one
    overlay = index.with_file("a.yaml", summaries(deployment("e", "red"), file="a.yaml"))
    assert [o.name for o in overlay.workloads("red")] == ["e", "c"]  # the file's place is kept


def test_a_lookup_makes_only_the_files_with_objects_of_the_role_it_looks_for() -> None:
    """Looking for the Services that select some pods makes the files with a Service filed under one
    of their labels, not those with other Services, or only workloads or policies; a file with both
    is made once, by whichever lookup comes first."""
    made: list[str] = []
    service = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: red}\nspec: {selector: {app: web}}\n"
    )
    policy = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: red}\n"
        "spec: {podSelector: {}, policyTypes: [Ingress]}\n"
    )
    index = RunIndex()
    index.add_later(later("service.yaml", service, made))
    index.add_later(later("web.yaml", deployment("web", "red"), made))
    index.add_later(later("policy.yaml", policy, made))
    index.add_later(
        later("both.yaml", deployment("api", "red") + "---\n" + service.replace("web", "api"), made)
    )
    index.add_later(later("db.yaml", service.replace("app: web", "app: db"), made))
    assert [o.name for o in index.services_selecting({"app": "api", "tier": "x"}, "red")] == ["api"]
    assert made == ["both.yaml"]  # the Services filed under app=web and app=db are not made
    assert [o.name for o in index.services_selecting({"app": "web"}, "red")] == ["web"]
    assert made == ["both.yaml", "service.yaml"]
    assert [o.name for o in index.workloads("red")] == ["web", "api"]
    assert made == ["both.yaml", "service.yaml", "web.yaml"]
    assert index.policy_coverage({"app": "web"}, "red").missing() == ("Egress",)
    assert made == ["both.yaml", "service.yaml", "web.yaml", "policy.yaml"]


def test_a_policy_lookup_makes_only_the_files_with_policies_that_may_select_the_pods() -> None:
    """Policies are kept for later under what their pod selectors require (a label pair, a key, or
    nothing) and by name: looking for those of some pods makes the files whose policies may select
    them, and looking for a name makes the file of that name."""
    made: list[str] = []

    def policy(name: str, selector: str) -> str:
        return (
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
            f"metadata: {{name: {name}, namespace: red}}\n"
            f"spec: {{podSelector: {selector}, policyTypes: [Ingress]}}\n"
        )

    index = RunIndex()
    index.add_later(later("web.yaml", policy("web", "{matchLabels: {app: web}}"), made))
    index.add_later(later("db.yaml", policy("db", "{matchLabels: {app: db}}"), made))
    index.add_later(
        later("tier.yaml", policy("tier", "{matchExpressions: [{key: tier, operator: Exists}]}"), made)
    )
    index.add_later(later("all.yaml", policy("all", "{}"), made))
    assert not index.has_policy_named("red", "nothing")
    assert made == []
    assert index.has_policy_named("red", "db") and made == ["db.yaml"]
    covering = index.policy_coverage({"app": "web"}, "red").ingress
    assert [o.name for o in covering] == ["web", "all"]
    assert sorted(made) == ["all.yaml", "db.yaml", "web.yaml"]  # not tier.yaml: the pods have no tier


def test_a_lookup_of_objects_kept_for_later_finds_what_it_finds_among_objects_made_at_once() -> None:
    """Over the objects of the test corpus, in two namespaces: every lookup the fixers make, of the
    labels and names of every workload and Service there, gives the same objects in the same order
    when each file is kept for later (:class:`Later`, as the context cache keeps them) as when
    every object is made at once."""
    eager, lazy = RunIndex(), RunIndex()
    files: list[list[IndexedObject]] = []
    for number, path in enumerate(sorted((ROOT / "tests" / "corpus" / "dev").rglob("*.y*ml"))):
        namespace = ("red", "blue")[number % 2]
        found = summarize(
            f"{number}.yaml", _parsed(path.read_text(errors="replace")), BUILTIN_POD_KINDS, namespace
        )
        if found:
            files.append(found)
    for found in files:
        eager.add(found)
        lazy.add_later(Later(found[0].file, set().union(*map(buckets, found)), lambda found=found: found))
    asked = [o for found in files for o in found if o.pod_labels is not None or o.service_pairs]
    for obj in asked:
        assert _every_lookup(lazy, obj) == _every_lookup(eager, obj), (obj.file, obj.kind, obj.name)
    assert len(asked) > 500


def _every_lookup(index: RunIndex, obj: IndexedObject) -> list[object]:
    """What each lookup of the fixers gives for the labels, namespace and name of ``obj``."""
    labels, namespace = dict(obj.pod_labels or obj.service_pairs), obj.namespace
    return [
        index.services_selecting(labels, namespace),
        index.policy_coverage(labels, namespace),
        index.workloads_selected_by({"matchLabels": labels}, namespace),
        index.workloads_named(namespace, obj.name),
        index.has_policy_named(namespace, obj.name),
        index.other_engine_policies(namespace),
        index.workloads(namespace),
        index.kustomizations(),
    ]


def test_an_object_filed_under_two_roles_is_kept_for_both() -> None:
    """A kind the config declares pod-bearing that is also a Service (a mistaken ``pod-kinds``
    entry) is filed with the workloads and with the Services: a lookup of either makes it."""
    spec = {"selector": {"app": "web"}}
    odd = IndexedObject("odd.yaml", "Service", "v1", "web", "red", {}, {"app": "web"}, spec)
    assert buckets(odd) == {"services red\0app\0web", "pods red"}
    index = RunIndex()
    index.add_later(Later("odd.yaml", buckets(odd), lambda: [odd]))
    assert index.services_selecting({"app": "web"}, "red") == [odd]


def test_objects_every_namespace_may_meet_are_made_by_a_lookup_of_any() -> None:
    made: list[str] = []
    index = RunIndex()
    cluster_wide = (
        "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: lock}\n"
        "spec: {endpointSelector: {}}\n"
    )
    index.add_later(later("cluster.yaml", cluster_wide, made))
    assert [o.name for o in index.other_engine_policies("anywhere")] == ["lock"]
    found = [kustomization_entry("kustomization.yaml", "/repo/kustomization.yaml")]
    index.add_later(Later("kustomization.yaml", set().union(*map(buckets, found)), lambda: found))
    assert [o.name for o in index.kustomizations()] == ["/repo/kustomization.yaml"]


def test_an_index_sent_to_a_worker_holds_every_object_made() -> None:
    import pickle

    made: list[str] = []
    index = RunIndex()
    index.add_later(later("a.yaml", deployment("a", "red"), made))
    copy = pickle.loads(pickle.dumps(index))
    assert made == ["a.yaml"]
    assert [o.name for o in copy.workloads("red")] == ["a"]


# -- Services ----------------------------------------------------------------------------------


def test_services_selecting_pods() -> None:
    text = """\
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}}
---
apiVersion: v1
kind: Service
metadata: {name: other-namespace, namespace: team-b}
spec: {selector: {app: web}}
---
apiVersion: v1
kind: Service
metadata: {name: external}
spec: {type: ExternalName, externalName: web.example.com, selector: {app: web}}
---
apiVersion: v1
kind: Service
metadata: {name: manual}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec: {selector: {app: api}}
"""
    index = index_of(text)
    assert [s.name for s in index.services_selecting(WEB, "default")] == ["web"]
    assert [s.name for s in index.services_selecting(WEB, "team-b")] == ["other-namespace"]


# -- namespaces --------------------------------------------------------------------------------


def test_objects_without_a_namespace_are_in_the_default_one() -> None:
    pod = "apiVersion: v1\nkind: Pod\nmetadata: "
    spec = "spec: {containers: [{name: c, image: i}]}\n"
    text = pod + "{name: a}\n" + spec + "---\n" + pod + "{name: b, namespace: x}\n" + spec
    assert [o.namespace for o in summaries(text)] == ["default", "x"]
    assert [o.namespace for o in summaries(text, namespace="prod")] == ["prod", "x"]


def test_default_namespace_comes_from_the_command_line_then_kustomization(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert default_namespace(str(plain / "app.yaml"), None) == "default"
    assert default_namespace(str(plain / "app.yaml"), "cli") == "cli"
    for directory, name in [("a", "kustomization.yaml"), ("b", "kustomization.yml"), ("c", "Kustomization")]:
        (tmp_path / directory).mkdir()
        (tmp_path / directory / name).write_text(f"resources: [app.yaml]\nnamespace: ns-{directory}\n")
        assert default_namespace(str(tmp_path / directory / "app.yaml"), None) == f"ns-{directory}"
        assert default_namespace(str(tmp_path / directory / "app.yaml"), "cli") == "cli"
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "kustomization.yaml").write_text("namespace: [unclosed\n")
    assert default_namespace(str(tmp_path / "broken" / "app.yaml"), None) == "default"


def test_a_relative_path_is_placed_from_the_directory_the_call_is_made_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same relative name in another working directory is another file: what was worked out
    for the first directory does not answer for the second."""
    (tmp_path / "plain").mkdir()
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "kustomization.yaml").write_text("resources: [app.yaml]\nnamespace: shop\n")
    monkeypatch.chdir(tmp_path / "plain")
    assert default_namespace("app.yaml", None) == "default"
    monkeypatch.chdir(tmp_path / "shop")
    assert default_namespace("app.yaml", None) == "shop"


def test_the_namespace_comes_from_the_outermost_kustomization_that_includes_the_file(tmp_path: Path) -> None:
    """kustomize build of the outermost kustomization sets the namespace of what it includes,
    through the resources (and components) of the kustomizations below it."""
    (tmp_path / ".git").mkdir()  # the repository's top: nothing above it is looked at
    app = tmp_path / "apps" / "shop" / "base"
    app.mkdir(parents=True)
    (app / "kustomization.yaml").write_text("resources: [deploy.yaml]\n")
    (tmp_path / "apps" / "shop" / "kustomization.yaml").write_text("resources: [base]\n")
    (tmp_path / "apps" / "kustomization.yaml").write_text("namespace: shop\nresources: [shop]\n")
    deploy = str(app / "deploy.yaml")
    assert default_namespace(deploy, None) == "shop"  # set two levels up
    (app / "kustomization.yaml").write_text("namespace: base\nresources: [deploy.yaml]\n")
    assert default_namespace(deploy, None) == "shop"  # the overlay's wins over the base's
    kustomize.forget()
    (tmp_path / "apps" / "kustomization.yaml").write_text("namespace: shop\nresources: [other]\n")
    assert default_namespace(deploy, None) == "base"  # a kustomization that does not build it
    kustomize.forget()
    (tmp_path / "apps" / "kustomization.yaml").write_text("namespace: shop\ncomponents: [shop]\n")
    assert default_namespace(deploy, None) == "shop"
    kustomize.forget()
    (tmp_path / "kustomization.yaml").write_text("namespace: above-git\nresources: [apps]\n")
    (tmp_path / ".git").rmdir()
    (tmp_path / "apps" / ".git").mkdir()
    assert default_namespace(deploy, None) == "shop"  # the kustomization above .git is not read


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: registry.example/web:1
"""

POLICY = policy("{podSelector: {matchLabels: {app: web}}, ingress: [{}], egress: [{}]}", namespace="prod")


def _findings(capsys: pytest.CaptureFixture[str], options: RunOptions) -> tuple[int, str]:
    code = run(options)
    return code, capsys.readouterr().out


def test_a_run_places_objects_by_kustomization_and_namespace_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "deployment.yaml").write_text(DEPLOYMENT)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "web.yaml").write_text(POLICY)
    options = RunOptions(["app/deployment.yaml"], select=["network-policy"], context=["policies"], quiet=True)

    code, out = _findings(capsys, options)
    assert code == 1 and 'namespace "default"' in out

    code, out = _findings(capsys, options._replace(namespace="prod"))
    assert (code, out) == (0, "")

    (tmp_path / "kustomized").mkdir()
    (tmp_path / "kustomized" / "deploy.yaml").write_text(DEPLOYMENT)
    (tmp_path / "kustomized" / "kustomization.yaml").write_text("namespace: prod\nresources: [deploy.yaml]\n")
    code, out = _findings(capsys, options._replace(paths=["kustomized/deploy.yaml"]))
    assert (code, out) == (0, "")


def test_indexed_objects_are_small_summaries() -> None:
    (obj,) = summaries(policy("{podSelector: {}}"))
    expected = IndexedObject("run.yaml", "NetworkPolicy", "networking.k8s.io/v1", "p", "default", {})
    assert obj == dataclasses.replace(expected, spec={"podSelector": {}})


def _parsed(text: str) -> list:
    """The documents of ``text``; none for a file of the corpus that does not parse."""
    try:
        return parse(text)
    except Exception:  # noqa: BLE001 - a file that does not parse has no objects
        return []


def test_the_index_keeps_exactly_the_objects_its_lookups_can_find() -> None:
    """Every object of the test corpus (a few of each kind besides): one the index leaves out
    (:func:`consulted` false: a ConfigMap, a Role, a Service without a selector) is filed under no
    lookup, and every one it keeps is filed under one."""
    from remediate.kube.index import _Lookups, consulted, summary
    from remediate.kube.k8s import manifests

    texts = [
        path.read_text(errors="replace")
        for path in sorted((ROOT / "tests" / "corpus" / "dev").rglob("*.y*ml"))
    ]
    texts += [
        "kind: Service\napiVersion: v1\nmetadata: {name: s}\nspec: {type: ExternalName, selector: {a: b}}\n",
        "kind: NetworkPolicy\napiVersion: projectcalico.org/v3\nmetadata: {name: p}\nspec: {a: b}\n",
        "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: p}\nspec: [odd]\n",
    ]
    kept = left_out = 0
    for text in texts:
        for manifest in manifests(_parsed(text)):
            obj = summary("f.yaml", manifest, BUILTIN_POD_KINDS, "default")
            lookups = _Lookups()
            lookups.add(obj, (0, 0))
            tables = [
                *lookups.services.values(),
                *lookups.policies.values(),
                *lookups.workload_list.values(),
                *lookups.names.values(),
                *lookups.kustomizations.values(),
                *lookups.foreign.values(),
            ]
            filed = any(obj in table for table in tables)
            assert filed == consulted(obj), (manifest.kind, manifest.api_version, manifest.name)
            kept, left_out = kept + filed, left_out + (not filed)
    assert kept > 1000 and left_out > 1000


CNP, CCNP = ("cilium.io/v2", "CiliumNetworkPolicy"), ("cilium.io/v2", "CiliumClusterwideNetworkPolicy")
ANTREA, CALICO = ("crd.antrea.io/v1beta1", "NetworkPolicy"), ("crd.projectcalico.org/v1", "NetworkPolicy")
ANP = ("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy")


def cilium(labels: dict[str, str]) -> dict:
    return {"endpointSelector": {"matchLabels": labels}}


@pytest.mark.parametrize(
    ("engine", "spec", "covers"),
    [
        (CNP, {"endpointSelector": {}}, True),
        (CNP, cilium({"k8s:app": "web"}), True),
        (CNP, cilium({"any:app": "db"}), False),
        (CCNP, cilium({"k8s:io.kubernetes.pod.namespace": "other"}), False),
        (CCNP, cilium({"k8s:io.kubernetes.pod.namespace": "shop"}), True),
        (CNP, cilium({"io.cilium.k8s.policy.cluster": "east"}), True),
        (CCNP, {"nodeSelector": {}}, False),
        (ANTREA, {"appliedTo": [{"podSelector": {"matchLabels": {"app": "db"}}}]}, False),
        (ANTREA, {"appliedTo": [{"group": "web-group"}]}, True),
        (CALICO, {"selector": "app == 'db'"}, True),
        (
            ANP,
            {"subject": {"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "db"}}}}},
            False,
        ),
        (ANP, {"subject": {"namespaces": {}}}, True),
    ],
)
def test_which_pods_other_engines_policies_cover(engine: tuple[str, str], spec: dict, covers: bool) -> None:
    """Selectors k8sfix reads decide; any it does not read covers the pods (the safe side)."""
    policy = IndexedObject("p.yaml", engine[1], engine[0], "p", "shop", {}, spec=spec)
    assert other_policy_covers(policy, {"app": "web"}, "shop") is covers


_NAMESPACES = ["red", "blue", "*", "a\0b", "t\tx"]
_KEYS = ["app", "tier", "a\0b", "*", ""]
_VALUES = ["web", "db", "", "\0", "*"]


def _random_labels(rng: random.Random) -> dict[str, str]:
    return {rng.choice(_KEYS): rng.choice(_VALUES) for _ in range(rng.randint(0, 3))}


def _random_selector(rng: random.Random) -> object:
    choice = rng.randint(0, 6)
    if choice < 4:
        return [None, {}, "not a mapping", {"matchLabels": _random_labels(rng)}][choice]
    operator = rng.choice(["In", "NotIn", "Exists", "DoesNotExist", "Bogus"])
    expression: dict[str, object] = {"key": rng.choice(_KEYS), "operator": operator}
    if operator in ("In", "NotIn"):
        expression["values"] = [rng.choice(_VALUES) for _ in range(rng.randint(0, 2))]
    return {
        "matchLabels": _random_labels(rng) if rng.random() < 0.3 else {},
        "matchExpressions": [expression],
    }


def _random_object(rng: random.Random, file: str) -> IndexedObject:
    namespace, name = rng.choice(_NAMESPACES), rng.choice(["web", "db", "x\0y"])
    choice = rng.randint(0, 5)
    if choice == 0:  # a Service, of any spec (some are pod kinds too)
        spec = rng.choice(
            [{"selector": _random_labels(rng)}, {"selector": {"a": "b"}, "type": "ExternalName"}, None]
        )
        pods = _random_labels(rng) if rng.random() < 0.3 else None
        return IndexedObject(file, "Service", "v1", name, namespace, {}, pods, spec)
    if choice == 1:
        spec = rng.choice(
            [None, [1], {"podSelector": _random_selector(rng), "egress": rng.choice([None, [{}]])}]
        )
        version = rng.choice(["networking.k8s.io/v1", "extensions/v1beta1", "projectcalico.org/v3"])
        return IndexedObject(file, "NetworkPolicy", version, name, namespace, {}, None, spec)
    if choice == 2:
        kind, version = rng.choice(
            [("CiliumNetworkPolicy", "cilium.io/v2"), ("GlobalNetworkPolicy", "projectcalico.org/v3")]
        )
        return IndexedObject(file, kind, version, name, namespace, {}, None, {"endpointSelector": {}})
    if choice == 3:
        return kustomization_entry(file, f"/repo/{name}/kustomization.yaml")
    return IndexedObject(file, "Deployment", "apps/v1", name, namespace, {}, _random_labels(rng), None)


def test_every_lookup_of_random_odd_objects_kept_for_later_finds_what_it_finds_made_at_once() -> None:
    """Random objects with odd fields (NULs and tabs in names, selectors the API server rejects,
    ExternalName Services, Services that carry pods, cluster-wide policies): each lookup, asked
    first of an index that keeps most files for later, of an overlay over one, and of one sent
    to a worker, gives what it gives when every object is made at once."""
    import pickle

    rng = random.Random(20)
    lookups = [
        lambda index, labels, namespace, name, selector: index.services_selecting(labels, namespace),
        lambda index, labels, namespace, name, selector: index.policy_coverage(labels, namespace),
        lambda index, labels, namespace, name, selector: index.restricts(labels, namespace, "Egress"),
        lambda index, labels, namespace, name, selector: index.workloads_selected_by(selector, namespace),
        lambda index, labels, namespace, name, selector: index.workloads_named(namespace, name),
        lambda index, labels, namespace, name, selector: index.has_policy_named(namespace, name),
        lambda index, labels, namespace, name, selector: index.other_engine_policies(namespace),
        lambda index, labels, namespace, name, selector: index.workloads(namespace),
        lambda index, labels, namespace, name, selector: index.kustomizations(),
    ]
    for _ in range(150):
        files = [
            [_random_object(rng, f"f{n}.yaml") for _ in range(rng.randint(1, 3))]
            for n in range(rng.randint(1, 6))
        ]

        def built(later: list[bool], files: list[list[IndexedObject]] = files) -> RunIndex:
            index = RunIndex()
            for kept, found in zip(later, files, strict=True):
                if kept:
                    index.add_later(
                        Later(found[0].file, set().union(*map(buckets, found)), lambda found=found: found)
                    )
                else:
                    index.add(found)
            return index

        eager = built([False] * len(files))
        asked = (
            _random_labels(rng),
            rng.choice(_NAMESPACES),
            rng.choice(["web", "db", "x\0y"]),
            _random_selector(rng),
        )
        replaced = rng.choice(files)[0].file
        new = [_random_object(rng, replaced) for _ in range(rng.randint(0, 2))]
        for lookup in lookups:
            expected = lookup(eager, *asked)
            assert lookup(built([rng.random() < 0.8 for _ in files]), *asked) == expected
            assert lookup(pickle.loads(pickle.dumps(built([True] * len(files)))), *asked) == expected
            overlay = built([True] * len(files)).with_file(replaced, new)
            assert lookup(overlay, *asked) == lookup(eager.with_file(replaced, new), *asked)
