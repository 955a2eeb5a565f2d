"""Input built to hurt, and bugs k8sfix may have, end as clear errors in one form, never as a hang,
a traceback or a silently different second run.

- One file with thousands of documents costs time in proportion to its size: counted here as the
  function calls a fix makes (deterministic, whatever the machine), for 50 and 100 Deployments;
  ``benchmarks/bench_many_documents.py`` prints the seconds.
- A network-policy template of a repository's own cannot hang the run or fail inside the engine.
- Option values that cannot make a valid object, and a target version k8sfix does not know, are
  configuration errors.
- A fixer that raises is named with the object it looked at; ``K8SFIX_DEBUG=1`` adds the traceback.
  Fixes that never settle are reported as the bug they are, and the file is left as it was.
- Errors read ``path:line:col: error: message``, config errors and a NUL byte (at its position) too.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from remediate.kube import removed_apis, sandbox, versions
from remediate.kube.fixer import Context, Fixer
from remediate.kube.index import RunIndex, summarize
from remediate.kube.k8s import Manifest
from remediate.run import runner
from remediate.run.config import ConfigError, load
from remediate.run.results import Status
from remediate.run.runner import Engine, Scope, process
from remediate.yaml.document import parse
from remediate.yaml.edits import Change
from remediate.yaml.model import Edit, Touch
from remediate.yaml.source import Source
from tests.helpers import fix_text, k8sfix

DEPLOYMENT = """---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web{i}
spec:
  selector:
    matchLabels: {{app: web{i}}}
  template:
    metadata:
      labels: {{app: web{i}}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
"""


def calls_to_fix(documents: int, config: Path | None = None) -> int:
    """Python function calls made to fix a file of ``documents`` Deployments with every fixer."""
    engine = Engine(load(config))
    text = "".join(DEPLOYMENT.format(i=i) for i in range(documents))
    index = RunIndex()
    index.add(summarize("many.yaml", parse(text), engine.settings.pod_kinds, "default"))
    process(engine, Source.from_text("warm.yaml", DEPLOYMENT.format(i=0)), fix=True)  # caches, imports
    count = 0

    def counted(frame: object, event: str, arg: object) -> None:
        nonlocal count
        count += event == "call"

    sys.setprofile(counted)
    try:
        result = process(engine, Source.from_text("many.yaml", text), fix=True, scope=Scope(index))
    finally:
        sys.setprofile(None)
    assert result.status is Status.CHANGED and not result.errors
    return count


@pytest.mark.parametrize("policy_file", [False, True], ids=["in-the-file", "policy-file"])
def test_a_file_of_many_documents_costs_in_proportion_to_its_size(tmp_path: Path, policy_file: bool) -> None:
    """It was quadratic: twice the Deployments took 2.65 times the calls (4 times at 1,000 and more:
    network-policy coverage, new-policy checks and the diff compared every object with every other;
    with ``policy-file``, each finding carried its own copy of every new policy)."""
    config = None
    if policy_file:
        config = tmp_path / ".k8sfix.yaml"
        config.write_text("fixers:\n  network-policy:\n    policy-file: policies.yaml\n")
    small, large = calls_to_fix(50, config), calls_to_fix(100, config)
    print(f"\ncalls to fix 50 Deployments: {small:,}; 100: {large:,} ({large / small:.2f} times)")
    assert large / small < 2.2


# -- templates -------------------------------------------------------------------------------

WORKLOAD = DEPLOYMENT.format(i=0)


@pytest.mark.parametrize(
    "template, reason",
    [
        ("{% include 'other.j2' %}", "it includes or imports 'other.j2'; a template must be one file"),
        (
            "{% import 'other.j2' as other %}",
            "it includes or imports 'other.j2'; a template must be one file",
        ),
        ("{% for i in range(10**6) %}{% endfor %}", "its loops go through more than 100,000 items"),
        (
            "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
            "its loops go through more than 100,000 items",
        ),
        ("{{ 'a' * 10**9 }}", "a value longer than 1,000,000 characters"),
        ("{{ 2 ** 100000 }}", "an exponent above 1000"),
        (
            "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
            "it nests or recurses too deeply, or is too large",
        ),
        ("{{ name|center(3000000000) }}", "a number above 1,000,000 given to a filter, function or method"),
        (
            '{{ "ab"|center(300000000)|unique|list|length }}',
            "a number above 1,000,000 given to a filter, function or method",
        ),
        (
            '{{ "%03000000000d" % (name|length) }}',
            "a format string with a width or precision of 1,000,000 or more",
        ),
        (
            '{{ "{:>3000000000}".format(1) }}',
            "a format string with a width or precision of 1,000,000 or more",
        ),
        ("{{ name.nope() }}", "'str object' has no attribute 'nope'"),
    ],
)
def test_a_template_that_fails_is_a_template_problem(tmp_path: Path, template: str, reason: str) -> None:
    (tmp_path / "own.j2").write_text(template)
    config = tmp_path / ".k8sfix.yaml"
    config.write_text("fixers:\n  network-policy:\n    template: own.j2\n")
    result = fix_text(WORKLOAD, ["network-policy"], config=config)
    assert not result.errors, result.errors
    (finding,) = result.findings
    assert f"(not fixed automatically: the template fails: {reason})" in finding.message


@pytest.mark.parametrize(
    "template",
    [
        "{% for a in x %}" * 30 + "{% endfor %}" * 30,  # Python refuses that many nested blocks
        "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
        "{{ " + "+".join(["1"] * 30000) + " }}",
    ],
    ids=["nested-loops", "nested-parentheses", "long-sum"],
)
def test_a_template_that_cannot_compile_is_a_config_error(tmp_path: Path, template: str) -> None:
    """Each of these raised a Python error out of jinja2's compiler (a traceback, exit 1)."""
    (tmp_path / "own.j2").write_text(template)
    (tmp_path / ".k8sfix.yaml").write_text("fixers:\n  network-policy:\n    template: own.j2\n")
    (tmp_path / "app.yaml").write_text(WORKLOAD)
    result = k8sfix("--select", "network-policy", "app.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().startswith(
        ".k8sfix.yaml:3:15: error: fixers.network-policy.template: the template fails: "
    )
    assert b"Traceback" not in result.stderr


def test_a_template_that_loops_for_ever_is_stopped_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.2)
    (tmp_path / "own.j2").write_text(
        '{% for a in "x" * 999999 %}{% for b in "x" * 999999 %}{% endfor %}{% endfor %}'
    )
    config = tmp_path / ".k8sfix.yaml"
    config.write_text("fixers:\n  network-policy:\n    template: own.j2\n")
    text = "".join(DEPLOYMENT.format(i=i) for i in range(3))
    result = fix_text(text, ["network-policy"], config=config)
    messages = [f.message for f in result.findings]
    assert len(messages) == 3 and all("it took longer than 0.2 seconds to render" in m for m in messages)


# -- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, message",
    [
        ("container-resources:\n    limit-ratio: .nan", "limit-ratio: must be a number of at least 1"),
        ("container-resources:\n    limit-ratio: .inf", "limit-ratio: must be a number of at least 1"),
        ("security-context:\n    run-as-user: 0", "run-as-user: must be between 1 and 2147483647 (0 is root"),
        (
            "security-context:\n    run-as-user: 2147483648",
            "run-as-user: must be between 1 and 2147483647, got",
        ),
        ("security-context:\n    run-as-group: -1", "run-as-group: must be between 0 and 2147483647, got -1"),
    ],
)
def test_options_that_cannot_make_a_valid_object_are_config_errors(
    tmp_path: Path, option: str, message: str
) -> None:
    config = tmp_path / ".k8sfix.yaml"
    config.write_text(f"fixers:\n  {option}\n")
    with pytest.raises(ConfigError) as caught:
        load(config)
    assert str(caught.value).startswith(f"{config}:3:")
    assert f": error: fixers.{option.split(':')[0]}.{message}" in str(caught.value)


@pytest.mark.parametrize("version", ["1.99", "1.15", "2.0"])
def test_a_kubernetes_version_k8sfix_does_not_know_is_an_error(tmp_path: Path, version: str) -> None:
    (tmp_path / "app.yaml").write_text(WORKLOAD)
    result = k8sfix("--kubernetes-version", version, "app.yaml", cwd=tmp_path)
    assert result.returncode == 2
    newest = versions.show(versions.latest_known())
    assert result.stderr.decode() == (
        f"k8sfix: error: --kubernetes-version: Kubernetes {version} is outside the versions this k8sfix "
        f"knows (1.16 to {newest}, the newest whose schemas it has); upgrade k8sfix, or target {newest}\n"
    )
    (tmp_path / ".k8sfix.yaml").write_text(f'kubernetes-version: "{version}"\n')
    result = k8sfix("app.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().startswith(".k8sfix.yaml:1:21: error: kubernetes-version: Kubernetes")


def test_the_oldest_known_version_is_the_first_removal_of_the_table() -> None:
    assert versions.OLDEST_KNOWN == min(row.removed_in for row in removed_apis.REMOVED_APIS)


# -- bugs of k8sfix itself -------------------------------------------------------------------


def engine_with(fixer: Fixer) -> Engine:
    engine = Engine(load(None, select=["image-pull-policy"]))
    engine.fixers = [fixer]
    return engine


class Crashing(Fixer):
    id = "crashing"
    code = "K8S999"
    Options = type("Options", (), {})
    writes = ()

    def check(self, manifest: Manifest, ctx: Context) -> Iterator:
        raise RuntimeError("boom")


def test_a_fixer_that_raises_is_named_with_the_object(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(runner.DEBUG_VARIABLE, raising=False)
    result = process(engine_with(Crashing()), Source.from_text("app.yaml", WORKLOAD), fix=True)
    assert result.status is Status.FAILED and result.output is None
    (error,) = result.errors
    assert error.message == (
        "internal error in crashing on Deployment/web0: RuntimeError: boom; file left unchanged (a bug in "
        "k8sfix: please report it, with the traceback that K8SFIX_DEBUG=1 prints)"
    )
    assert (error.line, error.column) == (2, 1)
    monkeypatch.setenv(runner.DEBUG_VARIABLE, "1")
    (error,) = process(engine_with(Crashing()), Source.from_text("app.yaml", WORKLOAD), fix=True).errors
    assert (
        "Traceback (most recent call last):" in error.message
        and 'raise RuntimeError("boom")' in error.message
    )


class Restless(Fixer):
    """A buggy fixer: it always finds the replica count wrong, and flips it between 1 and 2."""

    id = "restless"
    code = "K8S998"
    Options = type("Options", (), {})
    writes = ("replicas",)

    def check(self, manifest: Manifest, ctx: Context) -> Iterator:
        spec = manifest.node.get("spec")
        replicas = spec.get("replicas") if spec is not None else None
        if replicas is None:
            return
        value = 2 if replicas.data == 1 else 1
        change = Change(
            (Edit(replicas.start, replicas.end, str(value)),),
            (Touch(manifest.document.index, ("spec", "replicas"), value),),
        )
        yield self.finding(manifest, replicas, "restless", fix=("flip", lambda: [change]))


def test_fixes_that_never_settle_are_reported_and_the_file_left_alone() -> None:
    text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n"
    result = process(engine_with(Restless()), Source.from_text("app.yaml", text), fix=True)
    assert result.output is None and result.status is Status.FAILED
    (error,) = result.errors
    assert error.message.startswith(
        f"internal error: fixes of restless still apply after {runner.MAX_PASSES} passes, so the "
        "result would change again on the next run; file left unchanged"
    )


# -- one form for errors ----------------------------------------------------------------------


def test_config_errors_and_a_nul_byte_are_path_line_col_error(tmp_path: Path) -> None:
    (tmp_path / "nul.yaml").write_bytes(b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\x00b\n")
    result = k8sfix("nul.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().startswith(
        "nul.yaml:4:10: error: invalid YAML: a NUL byte here; YAML allows no control characters (remove it)\n"
    )
    (tmp_path / ".k8sfix.yaml").write_text("select: [image-pull-policy]\nfixers:\n  nope: {}\n")
    result = k8sfix("nul.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().startswith(".k8sfix.yaml:3:3: error: fixers: unknown key 'nope' (allowed: ")
    (tmp_path / ".k8sfix.yaml").write_text("select: [image-pull-policy\n")
    result = k8sfix("nul.yaml", cwd=tmp_path)
    assert result.stderr.decode().startswith(".k8sfix.yaml:2:1: error: invalid YAML: ")


def test_a_service_with_ports_that_are_not_a_list_does_not_crash_the_workloads_it_selects() -> None:
    for ports in ("5", "y", ".nan", "{port: 80}"):
        service = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
        service += f"spec: {{selector: {{app: web0}}, ports: {ports}}}\n"
        text = WORKLOAD + "---\n" + service
        index = RunIndex()
        engine = Engine(load(None, select=["container-probes"]))
        index.add(summarize("app.yaml", parse(text), engine.settings.pod_kinds, "default"))
        result = process(engine, Source.from_text("app.yaml", text), fix=True, scope=Scope(index))
        assert not result.errors, (ports, result.errors)


def test_a_context_file_that_does_not_parse_is_read_up_to_its_error_and_noted(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(WORKLOAD)
    (tmp_path / "policies.yaml").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\n"
        "spec: {podSelector: {matchLabels: {app: web0}}, policyTypes: [Ingress, Egress]}\n"
        "---\nkind: [broken\n"
    )
    result = k8sfix("--select", "network-policy", "--context", "policies.yaml", "app.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout  # the policy before the typo covers the pods
    assert "policies.yaml:7:1: note: --context file read in part: invalid YAML" in result.stderr.decode()
    (tmp_path / "policies.yaml").write_text(
        "kind: ConfigMap\nmetadata: {name: settings}\n---\nkind: [broken\n"
    )
    result = k8sfix("--select", "network-policy", "--context", "policies.yaml", "app.yaml", cwd=tmp_path)
    assert "policies.yaml:5:1: note: --context file read in part: invalid YAML" in result.stderr.decode()
    (tmp_path / "policies.yaml").write_text("kind: [broken\n")
    result = k8sfix("--select", "network-policy", "--context", "policies.yaml", "app.yaml", cwd=tmp_path)
    assert "policies.yaml:2:1: note: --context file not read: invalid YAML" in result.stderr.decode()


def test_an_unknown_name_in_the_config_s_select_is_reported_where_it_is(tmp_path: Path) -> None:
    (tmp_path / ".k8sfix.yaml").write_text("select:\n- image-pull-policy\n- nope\n")
    with pytest.raises(ConfigError, match=r":3:3: error: select: unknown fixer nope"):
        load(tmp_path / ".k8sfix.yaml")


def test_a_file_name_with_a_newline_stays_on_one_line_of_the_report(tmp_path: Path) -> None:
    (tmp_path / "a\nb.yaml").write_text(WORKLOAD)
    result = k8sfix("--select", "image-pull-policy", "a\nb.yaml", cwd=tmp_path)
    (line,) = result.stdout.decode().splitlines()
    assert line.startswith("a\\nb.yaml:14:9: K8S001 Deployment/web0:")
