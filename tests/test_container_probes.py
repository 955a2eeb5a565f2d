"""The decisions of the container-probes fixer: which port, which kind of check, which containers,
and what happens when nothing can be inferred (golden/container-probes shows the edits)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fixers.container_probes import (
    Port,
    Target,
    choose_port,
    default_liveness,
    default_readiness,
    identical,
    probe_kind,
    served_ports,
    service_targets,
)
from remediate.cli.main import run
from remediate.kube.findings import Severity
from remediate.kube.fixer import SetupProblem
from remediate.kube.index import IndexedObject, RunIndex, summarize
from remediate.kube.k8s import BUILTIN_POD_KINDS, Container, containers, manifests, pod_template
from remediate.run.config import ConfigError, load
from remediate.run.results import FileResult
from remediate.run.runner import Engine, Scope, process
from remediate.yaml.document import parse
from remediate.yaml.model import Applicability
from remediate.yaml.source import Source
from tests.conftest import ROOT

SERVICE = """\
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec:
  selector: {app: web}
  ports:
  - {port: 80, targetPort: 4567}
"""


def deployment(container: str, labels: str = "{app: web}", kind: str = "Deployment") -> str:
    body = "\n".join("      " + line for line in container.strip().splitlines())
    return (
        f"apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: web}}\nspec:\n  template:\n"
        f"    metadata:\n      labels: {labels}\n    spec:\n      containers:\n{body}\n"
    )


def fix(
    text: str, tmp_path: Path | None = None, config: str | None = None, *, unsafe: bool | None = True
) -> FileResult:
    """Run the fixer alone over ``text``, with the index built from ``text`` as the golden harness
    does; unsafe fixes are applied too unless ``unsafe`` says otherwise (False: a default run)."""
    path = None
    if config is not None:
        assert tmp_path is not None
        path = tmp_path / ".k8sfix.yaml"
        path.write_text(config)
    settings = load(path, select=["container-probes"], unsafe_fixes=unsafe)
    index = RunIndex()
    index.add(summarize("x.yaml", parse(text), settings.pod_kinds, "default"))
    return process(Engine(settings), Source.from_text("x.yaml", text), fix=True, scope=Scope(index))


def service(ports: list[dict], name: str = "svc") -> IndexedObject:
    return IndexedObject("s.yaml", "Service", "v1", name, "default", {}, spec={"ports": ports})


def app_containers(text: str) -> list[Container]:
    (manifest,) = manifests(parse(text))
    return list(containers(pod_template(manifest, BUILTIN_POD_KINDS).spec, ("containers",)))


# -- which port ---------------------------------------------------------------------------------


def test_service_targets_default_to_the_port_and_skip_udp() -> None:
    targets = service_targets(
        [
            service(
                [
                    {"port": 80},
                    {"port": 53, "protocol": "UDP"},
                    {"port": 81, "targetPort": "8081"},
                    {"name": "http", "appProtocol": "http", "port": 82, "targetPort": "web"},
                ]
            )
        ]
    )
    assert targets == [
        Target(80, 80, ()),
        Target(8081, 81, ()),
        Target("web", 82, ("http", "http")),
    ]


def test_named_target_reaches_the_container_that_declares_the_name() -> None:
    app = app_containers(
        deployment("""
- name: sidecar
  image: s
  ports: [{name: metrics, containerPort: 9090}]
- name: main
  image: m
  ports: [{name: web, containerPort: 8080}]
""")
    )
    served = served_ports(app, [Target("web", 80, ("http",))], app[0])
    assert list(served) == [id(app[1].node)]
    assert served[id(app[1].node)] == [Port(8080, "web", ("http",), (80,))]


def test_undeclared_number_goes_to_the_default_container_and_an_undeclared_name_gives_no_port() -> None:
    app = app_containers(deployment("- {name: a, image: a}\n- {name: b, image: b}"))
    served = served_ports(app, [Target(4567, 80, ()), Target("web", 81, ())], app[1])
    ports = served[id(app[1].node)]
    assert ports == [Port(4567, None, (), (80,)), Port(None, None, (), (81,))]
    assert choose_port(ports) == Port(4567, None, (), (80,))
    assert choose_port([Port(None)]) is None


def test_port_preference_protocol_names_first_metrics_last_else_declared_order() -> None:
    metrics, admin, http = Port(9090, "metrics"), Port(7000, "admin"), Port(8080, "http")
    assert choose_port([metrics, admin, http]) == http
    assert choose_port([metrics, admin]) == admin
    assert choose_port([Port(1), Port(2)]) == Port(1)
    assert choose_port([Port(9102, "prometheus"), Port(5000)]) == Port(5000)
    assert choose_port([Port(9090), Port(9091, None, ("grpc-api",))]) == Port(9091, None, ("grpc-api",))


# -- which kind of check ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("port", "kind"),
    [
        (Port(8080, "http"), "http"),
        (Port(8080, "http-admin"), "http"),
        (Port(8443, "https"), "https"),
        (Port(9000, "grpc"), "grpc"),
        (Port(9000, "grpc-web"), "tcp"),
        (Port(9000, None, ("grpc",)), "grpc"),  # the Service port's appProtocol
        (Port(5000, "web", ("https",)), "https"),  # a Service port named https
        (Port(5432, "postgres"), "tcp"),
        (Port(8080), "http"),
        (Port(8443), "https"),
        (Port(4567, None, (), (80,)), "http"),  # the seed: Service port 80 -> targetPort 4567
        (Port(4567, None, (), (443,)), "https"),
        (Port(8080, None, (), (443,)), "http"),  # TLS ends at the load balancer
        (Port(4567, None, (), (5432,)), "tcp"),
        (Port(6379, "redis", (), (80,)), "http"),
    ],
)
def test_probe_kind(port: Port, kind: str) -> None:
    assert probe_kind(port) == kind


def test_default_probes_differ_by_handler() -> None:
    grpc = default_readiness(Port(9000, "grpc"), "/")  # a grpc probe only for known images
    assert grpc == {"tcpSocket": {"port": "grpc"}, "initialDelaySeconds": 5, "periodSeconds": 10}
    https = default_readiness(Port(8443, "https"), "/ready")
    assert https["httpGet"] == {"path": "/ready", "port": "https", "scheme": "HTTPS"}
    liveness = default_liveness(Port(8443, "https"))
    assert liveness == {"tcpSocket": {"port": "https"}, "initialDelaySeconds": 15, "periodSeconds": 20}
    assert not identical(https, liveness)


def test_identical_follows_kube_score() -> None:
    assert identical(
        {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 1},
        {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 30},
    )
    assert identical({"httpGet": {"path": "/", "port": "http"}}, {"httpGet": {"path": "/", "port": "admin"}})
    assert not identical({"httpGet": {"path": "/", "port": 80}}, {"httpGet": {"path": "/live", "port": 80}})
    assert identical({"tcpSocket": {"port": 80}}, {"tcpSocket": {"port": 80}})
    assert not identical({"tcpSocket": {"port": 80}}, {"tcpSocket": {"port": "80"}})
    assert identical({"exec": {"command": ["a", "b"]}}, {"exec": {"command": ["a", "b"]}})
    assert not identical({"httpGet": {"path": "/", "port": 80}}, {"tcpSocket": {"port": 80}})


# -- which containers, and findings without a fix -----------------------------------------------


def test_no_port_is_a_finding_without_fix_naming_the_options() -> None:
    result = fix(deployment("- {name: worker, image: w}"))
    (finding,) = result.findings
    assert finding.fix is None and result.output is None
    assert "no port to probe" in finding.message
    assert "fixers.container-probes.templates" in finding.message
    assert "fixers.container-probes.liveness: false" in finding.message
    assert finding.severity is Severity.WARNING


def test_readiness_only_where_a_service_selects_the_pod(tmp_path: Path) -> None:
    container = "- {name: web, image: w, ports: [{name: http, containerPort: 4567}]}"
    config = "fixers:\n  container-probes:\n    liveness: false\n"
    assert fix(deployment(container, labels="{app: other}") + SERVICE, tmp_path, config).findings == ()
    (finding,) = fix(deployment(container) + SERVICE, tmp_path, config).findings
    assert 'Service "svc" sends it traffic' in finding.message and finding.severity is Severity.ERROR
    assert finding.fix.title == "add readinessProbe"


def test_a_service_declared_twice_is_named_once(tmp_path: Path) -> None:
    container = "- {name: web, image: w, ports: [{name: http, containerPort: 8080}]}"
    config = "fixers:\n  container-probes:\n    liveness: false\n"
    (finding,) = fix(deployment(container) + SERVICE + SERVICE, tmp_path, config).findings
    assert 'though Service "svc" sends it traffic' in finding.message


def test_jobs_cronjob_pods_and_init_containers_are_left_alone() -> None:
    job = deployment("- {name: j, image: j, ports: [{containerPort: 80}]}", kind="Job").replace(
        "apps/v1", "batch/v1"
    )
    assert fix(job + SERVICE).findings == ()
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: web}}\n"
        "spec:\n  restartPolicy: OnFailure\n"
        "  containers: [{name: p, image: p, ports: [{containerPort: 80}]}]\n"
    )
    assert fix(pod + SERVICE).findings == ()
    init = pod.replace("restartPolicy: OnFailure", "initContainers: [{name: i, image: i}]")
    found = fix(init + SERVICE).findings
    assert sorted((f.container, f.rule) for f in found) == [("p", "liveness"), ("p", "readiness")]


def test_each_probe_is_a_finding_of_its_own_with_its_own_safety() -> None:
    """A tcpSocket readiness check of a declared port a Service targets is safe, and a default run
    adds it; an httpGet check on a guessed path, and the livenessProbe, wait for --unsafe-fixes."""
    tcp_service = SERVICE.replace("port: 80,", "port: 5000,")  # no HTTP port number: a TCP check
    text = deployment("- {name: web, image: w, ports: [{containerPort: 4567}]}") + tcp_service
    default = fix(text, unsafe=False)
    by_rule = {f.rule: f for f in default.findings}
    assert sorted(by_rule) == ["liveness", "readiness"]
    assert by_rule["readiness"].fix.applicability is Applicability.SAFE
    assert by_rule["readiness"].severity is Severity.ERROR
    assert by_rule["liveness"].severity is Severity.WARNING and by_rule["liveness"].fix is None
    assert by_rule["liveness"].message.startswith(
        'container "web" has no livenessProbe; not added: it would repeat the readinessProbe'
    )
    assert default.fixed == {by_rule["readiness"].identity}
    assert "readinessProbe: {tcpSocket: {port: 4567}, initialDelaySeconds: 5" in default.output
    http = deployment("- {name: web, image: w, ports: [{name: http, containerPort: 4567}]}") + tcp_service
    guessed = fix(http, unsafe=False)
    by_rule = {f.rule: f for f in guessed.findings}
    assert by_rule["readiness"].fix.applicability is Applicability.UNSAFE  # httpGet on a guessed path
    assert by_rule["liveness"].fix.applicability is Applicability.UNSAFE
    assert by_rule["liveness"].message == 'container "web" has no livenessProbe'
    assert guessed.output is None and not guessed.fixed
    both = fix(http).output
    assert "livenessProbe: {tcpSocket: {port: http}" in both and "readinessProbe: {httpGet:" in both


def test_existing_liveness_identical_to_the_readiness_we_would_add_is_not_repeated() -> None:
    container = "- {name: web, image: w, livenessProbe: {httpGet: {path: /, port: 4567}}}"
    (finding,) = fix(deployment(container) + SERVICE).findings
    assert finding.fix is None
    assert "pod-probes-identical" in finding.message


# -- templates ----------------------------------------------------------------------------------


TEMPLATE_CONFIG = """\
fixers:
  container-probes:
    templates:
    - name: web
      readiness: {readiness}
"""


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("'tcpSocket: {port: {{ nope }}}'", "'nope' is undefined"),
        ("'[1, 2]'", "not a probe mapping"),
        ("'a: [b'", "does not render to YAML"),
    ],
)
def test_a_broken_template_is_reported_not_applied(tmp_path: Path, template: str, problem: str) -> None:
    text = deployment("- {name: web, image: w, ports: [{containerPort: 4567}]}") + SERVICE
    result = fix(text, tmp_path, TEMPLATE_CONFIG.format(readiness=template))
    by_rule = {f.rule: f for f in result.findings}
    assert sorted(by_rule) == ["liveness", "readiness"]
    assert problem in by_rule["readiness"].message and by_rule["readiness"].fix is None
    assert by_rule["liveness"].fix.title == "add livenessProbe"  # the other probe is still added
    assert problem not in by_rule["liveness"].message
    assert "livenessProbe" in result.output and "readinessProbe" not in result.output


def test_a_template_that_does_not_compile_is_a_configuration_error(tmp_path: Path) -> None:
    text = deployment("- {name: web, image: w, ports: [{containerPort: 80}]}") + SERVICE
    with pytest.raises(SetupProblem, match="entry 1, readiness: ") as caught:
        fix(text, tmp_path, TEMPLATE_CONFIG.format(readiness="'{{ port'"))
    assert (caught.value.fixer, caught.value.option) == ("container-probes", "templates")


def test_a_template_uses_the_inferred_port_and_null_means_no_probe(tmp_path: Path) -> None:
    text = deployment("- name: web\n  image: w") + SERVICE
    config = TEMPLATE_CONFIG.format(readiness="'httpGet: {path: /ok, port: {{ port }}}'")
    config += "      liveness: null\n"
    result = fix(text, tmp_path, config)
    probe = "        readinessProbe:\n          httpGet:\n            path: /ok\n            port: 4567\n"
    assert probe in result.output
    assert "livenessProbe" not in result.output


def test_template_keys_are_checked_by_the_config(tmp_path: Path) -> None:
    path = tmp_path / ".k8sfix.yaml"
    path.write_text("fixers:\n  container-probes:\n    templates:\n    - {name: web, startup: x}\n")
    with pytest.raises(ConfigError, match="templates: expected one of name, image, readiness, liveness"):
        load(path)


def test_jinja2_is_imported_only_when_a_template_is_used() -> None:
    code = (
        "import sys\n"
        "from remediate.cli.main import run\n"
        "run(['--diff', '--select', 'container-probes', 'examples/deployment.yml'])\n"
        "assert 'jinja2' not in sys.modules, 'jinja2 imported without a template'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


# -- the bundled example ------------------------------------------------------------------------


def test_diff_of_the_example_adds_a_readiness_probe_on_the_services_target_port(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert run(["--diff", "--unsafe-fixes", "--select", "container-probes", "examples/deployment.yml"]) == 1
    diff = capsys.readouterr().out
    added = [line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    readiness = added[added.index("        readinessProbe:") :]
    assert readiness[:4] == [
        "        readinessProbe:",
        "          httpGet:",
        "            path: /",
        "            port: 4567",
    ]
    assert "          tcpSocket:" in added[: added.index("        readinessProbe:")]


def test_liveness_checks_the_port_of_an_existing_readiness_probe() -> None:
    container = """\
- name: web
  image: w
  ports:
  - {name: admin, containerPort: 9000}
  - {name: http, containerPort: 8080}
  readinessProbe:
    httpGet: {path: /ready, port: admin}
"""
    output = fix(deployment(container)).output
    assert "        livenessProbe:\n          tcpSocket:\n            port: admin\n" in output


def test_a_readiness_probe_repeating_the_liveness_one_by_port_name_is_not_added() -> None:
    container = """\
- name: web
  image: w
  ports: [{name: http, containerPort: 4567}]
  livenessProbe: {httpGet: {path: /, port: 4567}}
"""
    (finding,) = fix(deployment(container) + SERVICE.replace("targetPort: 4567", "targetPort: http")).findings
    assert finding.fix is None and finding.rule == "readiness"
    assert finding.message.startswith('container "web" has no readinessProbe, though Service "svc"')
    assert "; not added: it would repeat the livenessProbe" in finding.message
