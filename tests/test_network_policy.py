"""The network-policy fixer's decisions: which pods are covered, what is added, and when a fix is
refused; its templates and options; appending several documents; and runs over several files."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixers._builtin_policies import BUILT_IN
from fixers.network_policy import (
    BUILTIN_TEMPLATES,
    MAX_NAME_LENGTH,
    Options,
    label_value,
    leading_comment,
    load_template,
    render,
    template_name,
)
from remediate.cli.commands import RunOptions, run
from remediate.kube.fixer import SetupProblem
from remediate.kube.index import RunIndex, summarize
from remediate.run.config import load
from remediate.run.results import FileResult
from remediate.run.runner import Engine, Scope, process
from remediate.yaml import layout
from remediate.yaml.document import parse
from remediate.yaml.edits import Editor, Uneditable
from remediate.yaml.model import Applicability
from remediate.yaml.source import Source
from remediate.yaml.values import to_data
from tests.conftest import ROOT
from tests.helpers import WEB_DEPLOYMENT, fix_text, k8sfix, noise_lines, write_tree

SELECT = ["network-policy"]


def workload(name: str, labels: str = "", kind: str = "Deployment", namespace: str = "") -> str:
    labels = labels or f"{{app: {name}}}"
    ns = f", namespace: {namespace}" if namespace else ""
    return (
        f"apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: {name}{ns}}}\n"
        f"spec:\n  template:\n    metadata:\n      labels: {labels}\n"
        f"    spec:\n      containers:\n      - {{name: c, image: nginx}}\n"
    )


def netpol(spec: str, name: str = "p", namespace: str = "") -> str:
    metadata = f"{{name: {name}, namespace: {namespace}}}" if namespace else f"{{name: {name}}}"
    return f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {metadata}\nspec: {spec}\n"


def stream(*documents: str) -> str:
    return "---\n".join(documents)


def appended(before: str, after: str) -> list[dict]:
    """The documents added after the last one of ``before``."""
    return [to_data(d.root) for d in parse(after)[len(parse(before)) :]]


def added(result: FileResult) -> list[dict]:
    """The documents the fix appended."""
    assert result.source is not None and result.output is not None
    return appended(result.source.text, result.output)


def names(result: FileResult) -> list[str]:
    return [policy["metadata"]["name"] for policy in added(result)]


def fixed(text: str, config: Path | None = None, name: str = "test.yaml") -> FileResult:
    return fix_text(text, SELECT, name=name, config=config)


def configured(tmp_path: Path, template: str) -> Path:
    config = tmp_path / ".k8sfix.yaml"
    config.write_text(f"fixers:\n  network-policy:\n    template: {template}\n")
    return config


def editor_for(text: str) -> Editor:
    documents = parse(text)
    return Editor(text, layout.detect(documents, json=False, newline="\n"), documents)


# -- what is covered ---------------------------------------------------------------------------


def test_the_default_policy_is_the_explicit_allow_all_for_the_missing_directions() -> None:
    (policy,) = added(fixed(workload("web")))
    assert policy == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "web-allow-all"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [{}],
            "egress": [{}],
            "policyTypes": ["Ingress", "Egress"],
        },
    }


EXISTS_APP = (
    "{podSelector: {matchExpressions: [{key: app, operator: Exists}]}, policyTypes: [Egress, Ingress]}"
)


@pytest.mark.parametrize(
    ("existing", "types"),
    [
        ("{podSelector: {matchLabels: {app: web}}}", ["Egress"]),
        ("{podSelector: {matchLabels: {app: web}}, egress: [{}], policyTypes: [Egress]}", ["Ingress"]),
        ("{podSelector: {matchLabels: {app: web}}, egress: []}", ["Egress"]),
        ("{podSelector: {matchLabels: {app: web}}, egress: [{to: []}]}", None),
        ("{podSelector: {}, policyTypes: [Ingress, Egress]}", None),
        (EXISTS_APP, None),
        ("{podSelector: {matchLabels: {app: api}}, policyTypes: [Ingress, Egress]}", ["Ingress", "Egress"]),
    ],
)
def test_only_the_missing_directions_get_a_policy(existing: str, types: list[str] | None) -> None:
    result = fixed(stream(workload("web"), netpol(existing)))
    if types is None:
        assert result.findings == () and result.output is None
        return
    (new,) = added(result)
    assert new["spec"]["policyTypes"] == types
    rules = sorted(key for key in new["spec"] if key in ("ingress", "egress"))
    assert rules == sorted(t.lower() for t in types)


def test_the_finding_names_namespace_pods_and_directions() -> None:
    web = workload("web", "{app: web, tier: fe}", namespace="x")
    result = fixed(stream(web, netpol("{}", namespace="x")))
    (finding,) = result.findings
    assert finding.message == (
        'no NetworkPolicy of namespace "x" selects its pods (app=web, tier=fe) for Egress'
    )
    assert finding.code == "K8S005" and finding.fix is not None
    assert finding.path == ("spec", "template", "metadata", "labels")
    assert added(result)[0]["metadata"] == {"name": "web-allow-all", "namespace": "x"}


def test_policies_in_other_namespaces_do_not_count() -> None:
    result = fixed(stream(workload("web"), netpol("{}", namespace="other")))
    (policy,) = added(result)
    assert policy["metadata"] == {"name": "web-allow-all"}
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_every_pod_bearing_kind_is_covered() -> None:
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: p}}\nspec: {containers: []}\n"
    cronjob = (
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: '* * * * *', "
        "jobTemplate: {spec: {template: {metadata: {labels: {app: c}}, spec: {containers: []}}}}}\n"
    )
    result = fixed(stream(pod, cronjob, workload("j", kind="Job"), workload("s", kind="StatefulSet")))
    assert names(result) == ["p-allow-all", "c-allow-all", "j-allow-all", "s-allow-all"]
    assert fixed(result.output).findings == ()


def test_many_workloads_in_one_file_are_fixed_in_one_run() -> None:
    result = fixed(stream(*(workload(f"app{n}") for n in range(9))))  # more than the runner's passes
    assert len(added(result)) == 9 and len(result.fixed) == 9
    assert fixed(result.output).output is None


def test_workloads_with_the_same_labels_share_one_policy() -> None:
    same = [workload("a", "{app: x}"), workload("b", "{app: x}"), workload("c", "{app: x, job: y}")]
    result = fixed(stream(*same))
    assert names(result) == ["a-allow-all"]
    assert len(result.findings) == 3 and len(result.fixed) == 3
    assert {f.fix.title for f in result.findings if f.fix} == {"add NetworkPolicy a-allow-all"}


def test_a_wider_policy_is_still_needed_after_a_narrower_one() -> None:
    result = fixed(stream(workload("c", "{app: x, job: y}"), workload("a", "{app: x}")))
    assert names(result) == ["c-allow-all", "a-allow-all"]  # c's policy does not select all of a's pods


def test_an_ignored_workload_is_left_out_of_the_shared_change() -> None:
    ignored = workload("old").replace("{name: old}", '{name: old, annotations: {k8sfix.io/ignore: "K8S005"}}')
    result = fixed(stream(ignored, workload("web")))
    assert names(result) == ["web-allow-all"]
    assert len(result.findings) == 1


def test_a_name_in_use_gets_a_number() -> None:
    other = "{podSelector: {matchLabels: {app: other}}}"
    taken = [netpol(other, name="web-allow-all"), netpol(other, name="web-allow-all-2")]
    assert names(fixed(stream(workload("web"), *taken))) == ["web-allow-all-3"]


def test_names_fit_kubernetes_limits() -> None:
    (name,) = names(fixed(workload("w" * 260, "{app: w}")))
    assert len(name) <= MAX_NAME_LENGTH and name.endswith("-allow-all")
    generated = workload("x").replace("{name: x}", "{generateName: batch-}")
    assert names(fixed(generated)) == ["batch-allow-all"]


# -- when there is no fix ----------------------------------------------------------------------


def test_pods_without_labels_are_labelled_then_selected() -> None:
    """A policy without labels to select would select every pod of the namespace: the fix labels
    the pods first (with a name that fits a label value), and the next pass selects that label."""
    result = fixed("apiVersion: v1\nkind: Pod\nmetadata: {name: p.web}\nspec: {containers: []}\n")
    (finding,) = result.findings
    assert finding.fix is not None and finding.fix.applicability is Applicability.UNSAFE
    assert "has no labels" in finding.message and "app.kubernetes.io/name=p.web" in finding.message
    assert names(result) == ["p.web-allow-all"]
    assert added(result)[0]["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "p.web"}}


@pytest.mark.parametrize(
    ("name", "value"), [("web", "web"), ("-x-", "x"), ("a" * 70, "a" * 63), ("--", None)]
)
def test_label_values_are_valid(name: str, value: str | None) -> None:
    assert label_value(name) == value


def test_json_files_get_no_second_document() -> None:
    text = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "p"}}, "spec": {}}'
    (finding,) = fixed(text, name="pod.json").findings
    assert finding.fix is None and "JSON file holds one object; set the policy-file option" in finding.message


LIMIT_JOB_INGRESS = netpol("{podSelector: {matchLabels: {job: y}}, ingress: [{from: [{podSelector: {}}]}]}")


def test_a_policy_that_would_open_limited_pods_is_not_added() -> None:
    job = workload("j", "{app: x, job: y}", kind="Job")
    result = fixed(stream(workload("a", "{app: x}"), job, LIMIT_JOB_INGRESS))
    by_name = {f.obj.name: f for f in result.findings}
    assert by_name["a"].fix is None
    assert "Job/j, whose Ingress traffic other policies limit" in by_name["a"].message
    assert names(result) == ["j-allow-all"]
    assert added(result)[0]["spec"]["policyTypes"] == ["Egress"]


def test_deny_all_never_widens_so_it_is_added_next_to_limited_pods(tmp_path: Path) -> None:
    text = stream(workload("a", "{app: x}"), workload("j", "{app: x, job: y}", kind="Job"), LIMIT_JOB_INGRESS)
    assert names(fixed(text, config=configured(tmp_path, "deny-all"))) == ["a-deny-all"]


# -- templates ---------------------------------------------------------------------------------


def test_builtin_templates_are_package_data_and_names_are_object_names() -> None:
    for template in BUILTIN_TEMPLATES:
        assert "kind: NetworkPolicy" in load_template(template, None)
    assert template_name("policies/Web Default.yaml.j2") == "web-default"
    assert template_name("x.j2") == "x"
    assert template_name("...j2") == "policy"


@pytest.mark.parametrize("template", BUILTIN_TEMPLATES)
def test_a_builtin_template_gives_what_jinja2_renders_of_its_file(template: str) -> None:
    """A run takes a built-in policy from :mod:`fixers._builtin_policies`, without jinja2: for every
    direction, with and without a namespace, and labels that JSON and YAML quote, it is exactly
    what the template file renders (the data with its key order and types, and the comment)."""
    text = load_template(template, None)
    labels = ({"app": "web"}, {"z": "1", "app.kubernetes.io/name": "yes", "tier": 'a "b" <c>'})
    for types, namespace, selector in itertools.product(
        (["Ingress"], ["Egress"], ["Ingress", "Egress"]), (None, "", "prod"), labels
    ):
        variables = {
            "name": "web-" + template,
            "namespace": namespace,
            "labels": selector,
            "policy_types": types,
        }
        built_in = BUILT_IN[template](variables)
        rendered = render(text, variables)
        assert json.dumps(built_in) == json.dumps(rendered), (variables, built_in, rendered)
        assert repr(built_in) == repr(rendered)  # the same types: 53 is a number, "yes" a string


def test_same_namespace_allows_the_namespace_and_dns(tmp_path: Path) -> None:
    (policy,) = added(fixed(workload("web"), config=configured(tmp_path, "same-namespace")))
    assert policy["spec"]["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert policy["spec"]["egress"] == [
        {"to": [{"podSelector": {}}]},
        {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
    ]


PORTS_ONLY = """\
# {{ workload.kind }}/{{ workload.name }} in {{ namespace or 'the default namespace' }}
#
#   indented
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: {{ name }}}
spec:
  podSelector: {matchLabels: {{ labels | tojson }}}
  ingress: [{ports: [{% for port in ports %}{port: {{ port.port }}}{% endfor %}]}]
  policyTypes: {{ policy_types | tojson }}
"""


def test_a_user_template_is_read_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "Ports Only.yaml.j2").write_text(PORTS_ONLY)
    monkeypatch.chdir(tmp_path.parent)
    with_port = workload("web").replace("image: nginx}", "image: nginx, ports: [{containerPort: 80}]}")
    egress = netpol("{podSelector: {}, egress: [{}], policyTypes: [Egress]}")
    result = fixed(stream(with_port, egress), config=configured(tmp_path, '"policies/Ports Only.yaml.j2"'))
    (new,) = added(result)
    assert new["metadata"]["name"] == "web-ports-only"
    assert new["spec"]["ingress"] == [{"ports": [{"port": 80}]}]
    assert result.output.endswith(
        "---\n# Deployment/web in the default namespace\n#\n#   indented\napiVersion: networking.k8s.io/v1\n"
        "kind: NetworkPolicy\nmetadata:\n  name: web-ports-only\nspec:\n  podSelector:\n    matchLabels:\n"
        "      app: web\n  ingress:\n  - ports:\n    - port: 80\n  policyTypes:\n  - Ingress\n"
    )


HEAD = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ nothing }}", "the template fails: 'nothing' is undefined"),
        ("a: [", "the template does not render YAML"),
        ("- a\n", "must render one YAML mapping"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "renders v1 ConfigMap, not a networking"),
        (HEAD + "metadata: {name: {{name}}}\nspec: [a]\n", "has a spec that is not a mapping"),
        (HEAD + "metadata: {}\nspec: {}\n", "has no metadata.name"),
        (HEAD + "metadata: {name: fixed}\nspec: {}\n", 'names it "fixed", a name another NetworkPolicy has'),
        (HEAD + "metadata: {name: {{name}}, namespace: z}\nspec: {}\n", 'in namespace "z", not "default"'),
        (
            HEAD + "metadata: {name: {{name}}}\nspec: {podSelector: {matchLabels: {app: other}}}\n",
            "podSelector does not select these pods",
        ),
        (
            HEAD + "metadata: {name: {{name}}}\nspec: {}\n",
            "is for Ingress; it must be for exactly Ingress, Egress",
        ),
    ],
)
def test_a_template_that_would_not_cover_the_pods_gives_a_finding_without_a_fix(
    tmp_path: Path, template: str, reason: str
) -> None:
    (tmp_path / "t.j2").write_text(template)
    taken = netpol("{podSelector: {matchLabels: {a: b}}}", name="fixed")
    result = fixed(stream(workload("web"), taken), config=configured(tmp_path, "t.j2"))
    (finding,) = result.findings
    assert finding.fix is None and result.output is None
    assert reason in finding.message, finding.message


@pytest.mark.parametrize(
    ("template", "reason"),
    [("missing.j2", "cannot be read: No such file or directory"), ("{% if %}", "the template fails: ")],
)
def test_a_template_that_cannot_be_read_or_compiled_stops_the_engine(
    tmp_path: Path, template: str, reason: str
) -> None:
    if template != "missing.j2":
        (tmp_path / "broken.j2").write_text(template)
        template = "broken.j2"
    with pytest.raises(SetupProblem, match=reason) as caught:
        fixed(workload("web"), config=configured(tmp_path, template))
    assert (caught.value.fixer, caught.value.option) == ("network-policy", "template")


def test_a_run_with_an_unreadable_template_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    configured(tmp_path, "missing.j2")
    (tmp_path / "app.yaml").write_text(workload("web"))
    assert run(RunOptions(["app.yaml"], write=True, select=SELECT)) == 2
    err = capsys.readouterr().err
    assert (
        ".k8sfix.yaml:3:15: error: fixers.network-policy.template: the template" in err
        and "cannot be read" in err
    )
    assert (tmp_path / "app.yaml").read_text() == workload("web")


def test_templates_run_in_the_sandbox(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("{{ ''.__class__.__mro__ }}")
    (finding,) = fixed(workload("web"), config=configured(tmp_path, "t.j2")).findings
    assert finding.fix is None and "the template fails" in finding.message


def test_leading_comments_are_kept_in_order() -> None:
    assert leading_comment("\n# one\n#two\n---\n#  three\nkind: X\n# not this\n") == "one\ntwo\n three"
    assert leading_comment("kind: X\n") is None


def test_options_default_to_allow_all() -> None:
    assert Options().template == "allow-all"


# -- the engine pieces this fixer uses ---------------------------------------------------------


def test_several_documents_are_appended_in_one_change() -> None:
    editor = editor_for("a: 1\n---\nb: 2\n")
    change = editor.append_documents([({"kind": "X"}, "two\nlines"), ({"kind": "Y"}, None)])
    assert [touch.doc for touch in change.touches] == [2, 3]
    (edit,) = change.edits
    assert edit.new == '---\n# two\n# lines\nkind: X\n---\nkind: "Y"\n'


@pytest.mark.parametrize(
    ("text", "appendable"),
    [
        ("a: |\n  text", False),
        ("a: >+\n  text", False),
        ("a: |2\n  text", False),
        ("a: |-\n  text", True),
        ("a: |\n  text\n", True),
        ("a: |\n  text\n# comment", True),
        ("a: [x, y]", True),
    ],
)
def test_a_block_scalar_that_ends_the_file_is_not_extended(text: str, appendable: bool) -> None:
    editor = editor_for(text)
    if appendable:
        editor.append_documents([({"kind": "X"}, None)])
    else:
        with pytest.raises(Uneditable, match="block scalar"):
            editor.append_documents([({"kind": "X"}, None)])


def test_appended_policies_are_fix_content_but_other_changes_are_noise() -> None:
    keys = ("NetworkPolicy",)
    policy = "---\n# comment\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
    assert noise_lines("a: 1\n", "a: 1\n" + policy, keys) == []
    assert noise_lines("a: 1", "a: 1\n" + policy, keys) == []
    config_map = "---\nkind: ConfigMap\n"
    assert noise_lines("a: 1\n", "a: 1\n" + policy + config_map, keys) == ["+---", "+kind: ConfigMap"]
    assert noise_lines("a: 1\n", "a: 2\n" + policy, keys) == ["+a: 2", "-a: 1"]


# -- runs over several files -------------------------------------------------------------------


POLICY = netpol("{podSelector: {matchExpressions: [{key: app, operator: In, values: [web]}]}, egress: [{}]}")


def test_a_pre_commit_run_on_one_file_consults_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy").mkdir()
    app = tmp_path / "deploy" / "app.yaml"
    app.write_text(workload("web"))
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "web.yaml").write_text(POLICY)

    assert (
        run(
            RunOptions(
                ["deploy/app.yaml"], write=True, select=SELECT, context=["policies"], unsafe_fixes=True
            )
        )
        == 0
    )
    assert app.read_text() == workload("web")

    assert run(RunOptions(["deploy/app.yaml"], write=True, select=SELECT, unsafe_fixes=True)) == 1
    assert names_in(app, before=workload("web")) == ["web-allow-all"]
    assert run(RunOptions(["deploy/app.yaml"], write=True, select=SELECT, unsafe_fixes=True)) == 0
    capsys.readouterr()


def names_in(path: Path, before: str) -> list[str]:
    return [policy["metadata"]["name"] for policy in appended(before, path.read_text())]


def test_a_policy_in_another_input_file_covers_pods(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.yaml").write_text(workload("web"))
    (tmp_path / "policy.yaml").write_text(POLICY)
    assert run(RunOptions(["."], diff=True, select=SELECT, quiet=True)) == 0


def test_objects_of_two_kinds_with_one_name_get_policies_named_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    job = workload("web", "{app: web, job: report}", kind="Job")
    (tmp_path / "web.yaml").write_text(workload("web"))
    (tmp_path / "web-job.yaml").write_text(job)
    assert run(RunOptions(["."], write=True, select=SELECT, quiet=True, unsafe_fixes=True)) == 1
    assert names_in(tmp_path / "web.yaml", workload("web")) == ["web-deployment-allow-all"]
    assert names_in(tmp_path / "web-job.yaml", job) == ["web-job-allow-all"]
    assert run(RunOptions(["."], write=True, select=SELECT, quiet=True, unsafe_fixes=True)) == 0


def test_the_scope_of_a_run_decides_the_namespace() -> None:
    settings = load(None, select=SELECT, unsafe_fixes=True)
    index = RunIndex()
    index.add(summarize("policy.yaml", parse(POLICY), settings.pod_kinds, "default"))
    source = Source.from_text("app.yaml", workload("web"))
    covered = process(Engine(settings), source, fix=True, scope=Scope(index, "default"))
    assert covered.findings == () and covered.output is None
    elsewhere = process(Engine(settings), source, fix=True, scope=Scope(index, "other"))
    assert names(elsewhere) == ["web-allow-all"]


def test_the_example_gets_its_policy_in_the_diff() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "remediate", "--diff", "--unsafe-fixes", "examples/deployment.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    assert "+kind: NetworkPolicy\n" in completed.stdout
    assert "+  name: semaphore-demo-ruby-kubernetes-allow-all\n" in completed.stdout
    assert "+      app: semaphore-demo-ruby-kubernetes\n" in completed.stdout


RELABELLING_PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web-prod}
  template:
    metadata:
      labels: {app: web-prod}
"""


def kustomized(tmp_path: Path, overlay: str) -> Path:
    """A base with one Deployment and an overlay of it (``overlay``: its kustomization's text)."""
    return write_tree(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [web.yaml]\n",
            "base/web.yaml": WEB_DEPLOYMENT,
            "overlays/prod/kustomization.yaml": overlay,
            "overlays/prod/relabel.yaml": RELABELLING_PATCH,
        },
    )


@pytest.mark.parametrize(
    "overlay",
    [
        "resources: [../../base]\npatches:\n- path: relabel.yaml\n",
        "resources: [../../base]\npatchesStrategicMerge: [relabel.yaml]\n",
        (
            "resources: [../../base]\npatches:\n- target: {kind: Deployment, name: web}\n  patch: |-\n"
            "    - {op: replace, path: /spec/template/metadata/labels/app, value: web-prod}\n"
        ),
        "resources: [../../base]\nlabels:\n- pairs: {app: web-prod}\n  includeTemplates: true\n",
        # a strategic-merge patch picked by its target (a regular expression), whatever it names
        "resources: [../../base]\npatches:\n- path: relabel.yaml\n  target: {kind: Deploy.*, name: w.b}\n",
        (
            "resources: [../../base]\npatches:\n- target: {kind: Deployment, name: web}\n  patch: |-\n"
            "    - {op: remove, path: /spec/template/metadata/labels/app}\n"
        ),
    ],
)
def test_no_policy_in_a_base_whose_overlay_relabels_its_pods(tmp_path: Path, overlay: str) -> None:
    """A policy added to the base would select app=web, which the overlay's build replaces: the
    finding names the overlay instead (pre-commit runs see overlays through --context)."""
    root = kustomized(tmp_path, overlay)
    ran = k8sfix(
        "--diff", "--unsafe-fixes", "--select", "network-policy", "base/web.yaml", "--context", ".", cwd=root
    )
    assert ran.stdout == b"", ran.stdout
    expected = "kustomization overlays/prod/kustomization.yaml gives these pods app="
    assert expected in ran.stderr.decode()


def test_a_base_whose_overlay_adds_common_labels_gets_its_policy(tmp_path: Path) -> None:
    """commonLabels rewrite the policy's podSelector in the same build as the pods: no conflict."""
    root = kustomized(tmp_path, "resources: [../../base]\ncommonLabels: {app: web-prod}\n")
    ran = k8sfix(
        "--diff", "--unsafe-fixes", "--select", "network-policy", "base/web.yaml", "--context", ".", cwd=root
    )
    assert b"+kind: NetworkPolicy" in ran.stdout, ran.stderr


def test_a_policy_file_the_kustomization_does_not_build_is_not_written(tmp_path: Path) -> None:
    """kustomize build leaves out a file its resources do not list: a policy there would do nothing."""
    root = kustomized(tmp_path, "resources: [../../base]\n")
    (root / ".k8sfix.yaml").write_text("fixers:\n  network-policy:\n    policy-file: policies.yaml\n")
    ran = k8sfix("--diff", "--unsafe-fixes", "--select", "network-policy", "base/web.yaml", cwd=root)
    assert ran.stdout == b""
    expected = "kustomization base/kustomization.yaml builds this file but not base/policies.yaml"
    assert expected in ran.stderr.decode()
    (root / "base/kustomization.yaml").write_text("resources: [web.yaml, policies.yaml]\n")
    ran = k8sfix("--diff", "--unsafe-fixes", "--select", "network-policy", "base/web.yaml", cwd=root)
    assert b"+kind: NetworkPolicy" in ran.stdout, ran.stderr


def test_pods_are_not_labelled_with_a_label_something_else_selects(tmp_path: Path) -> None:
    """A CronJob "web" labelled app.kubernetes.io/name=web would join Service web's endpoints: the
    label fix is refused and says why."""
    (tmp_path / "svc.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
        "spec: {selector: {app.kubernetes.io/name: web}, ports: [{port: 80}]}\n"
    )
    (tmp_path / "cj.yaml").write_text(
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: web}\nspec:\n  schedule: '* * * * *'\n"
        "  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n"
        "          containers: [{name: c, image: 'busybox:1.36'}]\n"
    )
    ran = k8sfix(
        "--diff", "--unsafe-fixes", "--select", "network-policy", "svc.yaml", "cj.yaml", cwd=tmp_path
    )
    assert ran.stdout == b""
    assert "would put these pods under Service web" in ran.stderr.decode()
