"""Helm charts (:mod:`remediate.run.charts`, :mod:`remediate.run.chart_values`): rendered by Helm
itself (the helm-python-sdk of the test extra), checked on what they render, reported at their
templates' lines, and fixed in their ``values.yaml`` where a value controls the field.

The charts of ``tests/corpus/helm`` are real ones (prometheus-community/helm-charts; see its
SOURCES.tsv and LICENSE).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from remediate.run import charts
from tests.conftest import CORPUS, GOLDEN
from tests.helpers import k8sfix, write_tree

CHARTS = sorted(path.parent for path in (CORPUS / "helm").glob("*/Chart.yaml"))
FINDING = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<code>K8S\d+) ", re.MULTILINE)


def copied(tmp_path: Path, chart: Path) -> Path:
    shutil.copytree(chart, tmp_path / chart.name)
    for path in (tmp_path / chart.name).rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return tmp_path / chart.name


def files_of(root: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}


def test_the_corpus_has_eight_charts_with_their_licence() -> None:
    assert len(CHARTS) == 8
    assert (CORPUS / "helm" / "LICENSE").is_file() and (CORPUS / "helm" / "SOURCES.tsv").is_file()


TEST_CHART_FOLDER = Path(__file__).parent / "charts"
TEST_CHARTS = sorted(path.parent for path in TEST_CHART_FOLDER.glob("*/Chart.yaml"))
GOLDEN_CHARTS = GOLDEN / "charts"


def test_charts_spread_over_workers_give_what_one_process_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``--jobs 2``, two charts are rendered, learnt and fixed in two workers, each with a
    render worker of its own; the output is byte for byte that of ``--jobs 1``."""
    from tests.helpers import counted_pools

    for name in ("two-containers", "hard-coded"):
        shutil.copytree(TEST_CHART_FOLDER / name, tmp_path / "repo" / name)
    args = ("--diff", "--unsafe-fixes", "--no-cache", "repo")
    one = k8sfix(*args, "--jobs", "1", cwd=tmp_path)
    pools = counted_pools(monkeypatch)
    two = k8sfix(*args, "--jobs", "2", cwd=tmp_path)
    assert pools == [2]  # the charts' pool (the templates are too few for the fixing pass's own)
    assert {line.split(b"/")[2] for line in one.stdout.splitlines() if line.startswith(b"+++ b/")} == {
        b"two-containers",
        b"hard-coded",
    }  # both charts fixed
    assert (two.returncode, two.stdout, two.stderr) == (one.returncode, one.stdout, one.stderr)


@pytest.mark.parametrize("chart", CHARTS + TEST_CHARTS, ids=[chart.name for chart in CHARTS + TEST_CHARTS])
def test_a_chart_is_checked_at_its_templates_and_fixed_as_its_golden_files_say(
    tmp_path: Path, chart: Path, update_goldens: bool
) -> None:
    """``--diff --unsafe-fixes`` of each chart is ``golden/charts/<chart>.diff``, and what it
    reports ``<chart>.findings`` (``--update-goldens`` rewrites them: review them). Every finding
    names a template of the chart or its values.yaml, at a line that exists. The ``--write`` that
    follows changes values.yaml and the chart's own templates only (a subchart never; a new file
    only the NetworkPolicy template), keeps every comment of values.yaml, leaves Helm's lint
    content and no more findings, and a second run changes nothing."""
    import helm_python

    root = copied(tmp_path, chart)
    before = files_of(root)
    ran = k8sfix("--diff", "--unsafe-fixes", chart.name, cwd=tmp_path)
    diff, reported = ran.stdout.decode(), ran.stderr.decode()
    assert ran.returncode in (0, 1), reported
    assert "error" not in reported
    if update_goldens:
        GOLDEN_CHARTS.mkdir(exist_ok=True)
        (GOLDEN_CHARTS / f"{chart.name}.diff").write_text(diff)
        (GOLDEN_CHARTS / f"{chart.name}.findings").write_text(reported)
    assert diff == (GOLDEN_CHARTS / f"{chart.name}.diff").read_text()
    assert reported == (GOLDEN_CHARTS / f"{chart.name}.findings").read_text()
    found = list(FINDING.finditer(reported))
    assert found, reported  # every one of these charts has something k8sfix checks
    for match in found:
        where = tmp_path / match["file"]
        assert "templates" in where.parts or where.name == "values.yaml", match[0]
        assert 1 <= int(match["line"]) <= len(where.read_text().splitlines()), match[0]

    written = k8sfix("--write", "--unsafe-fixes", chart.name, cwd=tmp_path)
    after = files_of(root)
    changed = {path.relative_to(root) for path in before if before[path] != after[path]}
    assert all(path == Path("values.yaml") or path.parts[0] == "templates" for path in changed), changed
    assert set(after) - set(before) <= {root / "templates" / "networkpolicy.yaml"}
    old_lines, new_lines = before[root / "values.yaml"].decode(), after[root / "values.yaml"].decode()
    comments = [line for line in old_lines.splitlines() if line.lstrip().startswith("#")]
    kept = [line for line in new_lines.splitlines() if line.lstrip().startswith("#")]
    assert kept[: len(comments)] == comments  # the policy's note is added at the end
    assert helm_python.lint(str(root))["errors"] == []
    again = k8sfix("--diff", "--unsafe-fixes", chart.name, cwd=tmp_path)
    assert again.stdout.decode() == "", (written.stderr.decode(), again.stdout.decode())
    assert len(FINDING.findall(again.stderr.decode())) <= len(found)  # what is left for a human
    assert files_of(root) == after


def test_the_fix_fills_resources_where_the_chart_left_them_empty(tmp_path: Path) -> None:
    """``resources: {}`` with commented hints becomes a block, the hints stay below it, and the
    rendered DaemonSet gets what the fix promised (proven by rendering, as the run does)."""
    root = copied(tmp_path, CORPUS / "helm" / "prometheus-node-exporter")
    ran = k8sfix("--diff", "--select", "container-resources", "prometheus-node-exporter", cwd=tmp_path)
    diff = ran.stdout.decode()
    assert (
        "-resources: {}\n+resources:\n+  requests:\n+    cpu: 100m\n+    memory: 64Mi\n   # We usually"
        in diff
    )
    assert "values.yaml:334:1: K8S002" not in ran.stderr.decode()  # shown by the diff
    k8sfix("--write", "--select", "container-resources", "prometheus-node-exporter", cwd=tmp_path)
    out = k8sfix("--select", "container-resources", "prometheus-node-exporter", cwd=tmp_path).stdout.decode()
    assert "no CPU or memory request" not in out and "no CPU or memory limit" in out  # limits: unsafe
    assert (root / "templates" / "daemonset.yaml").read_bytes() == (
        CORPUS / "helm" / "prometheus-node-exporter" / "templates" / "daemonset.yaml"
    ).read_bytes()


def test_a_finding_points_at_the_template_line_that_writes_its_field(tmp_path: Path) -> None:
    copied(tmp_path, CORPUS / "helm" / "prometheus-node-exporter")
    out = k8sfix("--select", "container-probes", "prometheus-node-exporter", cwd=tmp_path).stdout.decode()
    (match,) = FINDING.finditer(out)  # its liveness probe repeats readiness: no value sets that
    line = (tmp_path / match["file"]).read_text().splitlines()[int(match["line"]) - 1]
    assert line.strip() == "livenessProbe:"
    assert line.index("livenessProbe") + 1 == int(match["column"])


def test_a_finding_whose_fix_goes_to_the_values_points_at_the_key(tmp_path: Path) -> None:
    copied(tmp_path, CORPUS / "helm" / "prometheus-node-exporter")
    out = k8sfix("--select", "image-pull-policy", "prometheus-node-exporter", cwd=tmp_path).stdout.decode()
    (match,) = FINDING.finditer(out)
    line = (tmp_path / match["file"]).read_text().splitlines()[int(match["line"]) - 1]
    assert match["file"].endswith("values.yaml") and line.strip() == "pullPolicy: IfNotPresent"
    assert line.index("pullPolicy") + 1 == int(match["column"])
    assert "its fix sets values key image.pullPolicy" in out


def test_values_and_set_render_the_chart_as_helm_would(tmp_path: Path) -> None:
    """--set and --values reach Helm: requests given as values leave no finding about them."""
    copied(tmp_path, CORPUS / "helm" / "prometheus-node-exporter")
    args = ("--select", "container-resources", "prometheus-node-exporter")
    assert "no CPU or memory request" in k8sfix(*args, cwd=tmp_path).stdout.decode()
    requests = "resources.requests.cpu=100m,resources.requests.memory=64Mi"
    assert "request" not in k8sfix(*args, "--set", requests, cwd=tmp_path).stdout.decode()
    (tmp_path / "small.yaml").write_text("resources:\n  requests: {cpu: 100m, memory: 64Mi}\n")
    assert "request" not in k8sfix(*args, "--values", "small.yaml", cwd=tmp_path).stdout.decode()


def test_a_chart_that_does_not_render_is_an_error_with_helms_message(tmp_path: Path) -> None:
    root = copied(tmp_path, CORPUS / "helm" / "prometheus-pushgateway")
    (root / "templates" / "broken.yaml").write_text("kind: {{ .Values.nothing.here }}\n")
    before = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}
    ran = k8sfix("--write", "prometheus-pushgateway", cwd=tmp_path)
    err = ran.stderr.decode()
    assert ran.returncode == 2
    assert "prometheus-pushgateway/Chart.yaml" in err and "templates/broken.yaml:1" in err
    assert "pass the values it needs with --values or --set" in err
    assert {path: path.read_bytes() for path in root.rglob("*") if path.is_file()} == before


def test_a_template_named_alone_checks_its_chart(tmp_path: Path) -> None:
    """pre-commit names the staged files: a staged template (or values.yaml) re-renders its chart."""
    copied(tmp_path, CORPUS / "helm" / "prometheus-node-exporter")
    for named in (
        "prometheus-node-exporter/templates/daemonset.yaml",
        "prometheus-node-exporter/values.yaml",
    ):
        out = k8sfix("--select", "container-probes", named, cwd=tmp_path).stdout.decode()
        assert "prometheus-node-exporter/templates/daemonset.yaml:141:" in out, (named, out)


def test_without_a_renderer_templates_are_skipped_with_how_to_check_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied(tmp_path, CORPUS / "helm" / "prometheus-pushgateway")
    monkeypatch.setattr(charts, "engine", lambda: None)
    err = k8sfix("prometheus-pushgateway", cwd=tmp_path).stderr.decode()
    assert "Helm/Go template (in a chart's templates/ directory): install k8sfix[helm]" in err


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("spec", "template", "spec", "containers", 1, "image"), (9, 9)),
        (("spec", "template", "spec", "containers", 0), (6, 9)),
        (("spec", "template", "spec", "securityContext"), (4, 4)),  # not in the template: its parent
        (("metadata",), (1, 1)),
    ],
)
def test_template_line(path: tuple, expected: tuple[int, int]) -> None:
    template = (
        "kind: Deployment\n"
        "spec:\n"
        "  template:\n"
        "   spec:\n"
        "      containers:\n"
        "      - name: a\n"
        "        {{- if .Values.b }}\n"
        "      - name: b\n"
        "        image: {{ .Values.image }}\n"
        "        {{- end }}\n"
    )
    assert charts.template_line(template, path) == expected


TWO_CONTAINERS = Path(__file__).parent / "charts" / "two-containers"


def test_one_value_that_feeds_two_containers_is_fixed_for_both(tmp_path: Path) -> None:
    """The securityContext value feeds the init container and the main one: both findings' fixes
    go to the one key, and the rendered chart has both containers fixed."""
    copied(tmp_path, TWO_CONTAINERS)
    args = ("--select", "security-context", "two-containers")
    k8sfix("--write", "--unsafe-fixes", *args, cwd=tmp_path)
    out = k8sfix("--unsafe-fixes", *args, cwd=tmp_path).stdout.decode()
    assert 'container "migrate"' not in out and 'container "api"' not in out, out
    assert "pod has no securityContext" not in out  # no value controls the pod's: in the template
    template = (TWO_CONTAINERS / "templates" / "deployment.yaml").read_text()
    added = "      securityContext:\n        seccompProfile:\n          type: RuntimeDefault\n"
    assert template.endswith("        {{- end }}\n")  # the pod's block ends with the worker's branch
    assert (tmp_path / "two-containers" / "templates" / "deployment.yaml").read_text() == template + added


def test_a_value_that_also_feeds_what_no_fix_is_for_is_left_alone(tmp_path: Path) -> None:
    """A test hook Pod takes the same value but switches the fixer off: changing the value would
    change it too, so the proof fails and nothing is written; the findings stay."""
    root = copied(tmp_path, TWO_CONTAINERS)
    (root / "templates" / "hook.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-check\n"
        "  annotations: {k8sfix.io/ignore: security-context}\nspec:\n  containers:\n"
        "    - name: check\n      image: {{ .Values.image }}\n      imagePullPolicy: Always\n"
        "      securityContext:\n        {{- toYaml .Values.securityContext | nindent 8 }}\n"
    )
    values = (root / "values.yaml").read_bytes()
    args = ("--select", "security-context", "two-containers")
    k8sfix("--write", "--unsafe-fixes", *args, cwd=tmp_path)
    assert (root / "values.yaml").read_bytes() == values
    out = k8sfix("--unsafe-fixes", *args, cwd=tmp_path).stdout.decode()
    assert 'container "api"' in out
    assert (
        "(a Helm chart: values key securityContext sets this field, but the chart rendered with the fix"
        " changes more than the fix, or fails the guard or lint: change it by hand)"
    ) in out


def test_a_template_that_never_ends_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chart is untrusted input: a template looping for ever costs the run RENDER_TIMEOUT seconds
    (Helm renders in a worker process, which is killed), then an error, and the other files go on."""
    root = copied(tmp_path, CORPUS / "helm" / "prometheus-pushgateway")
    (root / "templates" / "forever.yaml").write_text(
        "{{- range until 100000 }}{{- range until 100000 }}{{- end }}{{- end }}\n"
    )
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n"
    )
    monkeypatch.setattr(charts, "RENDER_TIMEOUT", 2)
    ran = k8sfix("prometheus-pushgateway", "pod.yaml", cwd=tmp_path)
    assert ran.returncode == 2
    assert "Helm did not finish rendering within 2 seconds" in ran.stderr.decode()
    assert "pod.yaml" in ran.stdout.decode() + ran.stderr.decode()


def test_a_chart_with_helm_create_helpers_gets_a_network_policy_template(tmp_path: Path) -> None:
    """jiralert defines jiralert.selectorLabels, .fullname and .labels and has no policy: the fix
    adds templates/networkpolicy.yaml behind networkPolicy.enabled, which selects its pods."""
    root = copied(tmp_path, CORPUS / "helm" / "jiralert")
    args = ("--select", "network-policy", "--unsafe-fixes", "jiralert")
    assert "no NetworkPolicy" in k8sfix(*args, cwd=tmp_path).stdout.decode()
    k8sfix("--write", *args, cwd=tmp_path)
    template = (root / "templates" / "networkpolicy.yaml").read_text()
    assert template.startswith("{{- if .Values.networkPolicy.enabled }}\n")
    assert '{{- include "jiralert.selectorLabels" . | nindent 6 }}' in template
    assert (root / "values.yaml").read_text().endswith("networkPolicy:\n  enabled: true\n")
    assert "no NetworkPolicy" not in k8sfix(*args, cwd=tmp_path).stdout.decode()
    shown = k8sfix(
        "--select", "network-policy", "--set", "networkPolicy.enabled=false", "jiralert", cwd=tmp_path
    )
    assert "no NetworkPolicy" in shown.stdout.decode()  # the value switches it off, as charts do


def test_a_chart_with_a_policy_template_of_its_own_gets_no_second_one(tmp_path: Path) -> None:
    """pushgateway has templates/networkpolicy.yaml, switched off: its owner chose so; reported."""
    root = copied(tmp_path, CORPUS / "helm" / "prometheus-pushgateway")
    before = files_of(root)
    args = ("--select", "network-policy", "--unsafe-fixes", "prometheus-pushgateway")
    k8sfix("--write", *args, cwd=tmp_path)
    assert files_of(root) == before
    assert "(a Helm chart: add a NetworkPolicy template to it)" in k8sfix(*args, cwd=tmp_path).stdout.decode()


HELM_CREATE = Path(__file__).parent / "charts" / "helm-create"
FAKE_HELM = Path(__file__).parent / "fake_helm" / "helm.py"


def test_the_chart_helm_create_scaffolds_is_fixed_where_it_asks_to_be(tmp_path: Path) -> None:
    """``helm create`` leaves ``resources: {}`` and ``securityContext: {}`` with hints to fill them:
    the fix fills them (the hints kept below), sets image.pullPolicy, adds the policy template, and
    the rendered Deployment then has what the fixes promised; Helm's lint is content."""
    import helm_python

    root = copied(tmp_path, HELM_CREATE)
    k8sfix("--write", "--unsafe-fixes", "helm-create", cwd=tmp_path)
    values = (root / "values.yaml").read_text()
    assert "resources:\n  requests:\n    cpu: 100m\n    memory: 64Mi\n  limits:" in values
    assert "securityContext:\n  runAsUser: 10001\n" in values and "  # capabilities:\n" in values
    assert "pullPolicy: Always" in values and (root / "templates" / "networkpolicy.yaml").is_file()
    test_pod = root / "templates" / "tests" / "test-connection.yaml"  # helm test's wget: not hardened
    assert (
        test_pod.read_bytes() == (HELM_CREATE / "templates" / "tests" / "test-connection.yaml").read_bytes()
    )
    assert helm_python.lint(str(root))["errors"] == []
    out = k8sfix("--unsafe-fixes", "helm-create", cwd=tmp_path).stdout.decode()
    deployment = [line for line in out.splitlines() if "Deployment/release-name-web" in line]
    assert all("readOnlyRootFilesystem" in line or "livenessProbe" in line for line in deployment), deployment


def test_a_chart_whose_values_or_templates_lead_out_of_it_is_not_written_through(tmp_path: Path) -> None:
    """A repository is untrusted: a values.yaml that is a link out of the chart, or a templates/
    directory that is one, is never written through (the fixes are reported, not applied there)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root = copied(tmp_path, CORPUS / "helm" / "jiralert")
    (outside / "values.yaml").write_bytes((root / "values.yaml").read_bytes())
    (root / "values.yaml").unlink()
    (root / "values.yaml").symlink_to(outside / "values.yaml")
    shutil.move(str(root / "templates"), str(outside / "templates"))
    (root / "templates").symlink_to(outside / "templates")
    before = files_of(outside)
    k8sfix("--write", "--unsafe-fixes", "jiralert", cwd=tmp_path)
    assert files_of(outside) == before


def test_the_render_worker_imports_nothing_from_the_directory_it_runs_in(tmp_path: Path) -> None:
    """A scanned repository may hold a helm_python.py: the worker, started isolated, never imports
    it (k8sfix itself never imports helm_python)."""
    copied(tmp_path, CORPUS / "helm" / "prometheus-pushgateway")
    ran_it = tmp_path / "imported"
    (tmp_path / "helm_python.py").write_text(f"open({str(ran_it)!r}, 'w').close()\n")
    ran = k8sfix("--select", "image-pull-policy", "prometheus-pushgateway", cwd=tmp_path, process=True)
    assert "K8S001" in ran.stdout.decode(), ran.stderr.decode()
    assert not ran_it.exists()


def test_a_chart_with_a_policy_template_under_another_name_gets_no_second_one(tmp_path: Path) -> None:
    root = copied(tmp_path, CORPUS / "helm" / "jiralert")
    (root / "templates" / "netpol.yaml").write_text(
        "{{- if .Values.netpol.enabled }}\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: x}\nspec: {podSelector: {}}\n{{- end }}\n"
    )
    with (root / "values.yaml").open("a") as stream:
        stream.write("netpol:\n  enabled: false\n")
    k8sfix("--write", "--unsafe-fixes", "--select", "network-policy", "jiralert", cwd=tmp_path)
    assert not (root / "templates" / "networkpolicy.yaml").exists()


def test_a_value_read_by_a_template_switched_off_is_not_changed(tmp_path: Path) -> None:
    """Only the default release is rendered and proven: a value that a gated template (off by
    default) reads too would reach it unproven when someone switches it on, so it is left alone."""
    root = copied(tmp_path, TWO_CONTAINERS)
    (root / "templates" / "migrate.yaml").write_text(
        "{{- if .Values.migrations }}\napiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate}\n"
        "spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n"
        "        - name: m\n          image: {{ .Values.image }}\n          securityContext:\n"
        "            {{- toYaml .Values.securityContext | nindent 12 }}\n{{- end }}\n"
    )
    values = (root / "values.yaml").read_bytes()
    k8sfix("--write", "--unsafe-fixes", "--select", "security-context", "two-containers", cwd=tmp_path)
    assert (root / "values.yaml").read_bytes() == values
    out = k8sfix(
        "--unsafe-fixes", "--select", "security-context", "two-containers", cwd=tmp_path
    ).stdout.decode()
    assert (
        "values key securityContext sets this field, but a template switched off by default reads it" in out
    )


def test_a_chart_is_linted_with_its_values_and_a_change_is_linted_from_a_copy(tmp_path: Path) -> None:
    """``helm lint``'s warnings and errors come with a render (its notes do not); a render of the
    chart with a file changed is made from a copy (the chart is untouched) and linted the same way,
    so a fix's proof can refuse what lint would newly complain of."""
    (tmp_path / "lint").mkdir()
    root = write_tree(
        tmp_path / "lint",
        {
            "Chart.yaml": "apiVersion: v2\nname: lint\nversion: 0.1.0\n",
            "values.yaml": "name: Bad_Name\n",
            "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n",
        },
    )
    before = files_of(root)
    release = charts.Release()
    bad = charts.render(str(root), release, lint=True)
    assert bad.lint is not None and len(bad.lint) == 1
    assert next(iter(bad.lint)).startswith("templates/cm.yaml: object name does not conform")
    assert charts.render(str(root), release).lint is None  # not asked: not linted
    good = charts.render_changed(str(root), release, {"values.yaml": "name: good\n"}, lint=True)
    assert good.lint == frozenset() and good.root == str(root)
    assert "name: good" in good.templates["templates/cm.yaml"]
    assert bad.new_lint(good) == bad.lint and good.new_lint(bad) == frozenset()
    assert files_of(root) == before


def test_a_changed_render_is_refused_where_a_folder_of_the_change_is_a_link(tmp_path: Path) -> None:
    """The copy keeps links as links; a change below a linked folder would be written through it."""
    (tmp_path / "linked").mkdir()
    root = write_tree(
        tmp_path / "linked",
        {"Chart.yaml": "apiVersion: v2\nname: linked\nversion: 0.1.0\n", "values.yaml": "{}\n"},
    )
    (tmp_path / "elsewhere").mkdir()
    (root / "templates").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(charts.RenderError, match="templates is a link"):
        charts.render_changed(str(root), charts.Release(), {"templates/x.yaml": "{}\n"})
    assert list((tmp_path / "elsewhere").iterdir()) == []


HARD_CODED = Path(__file__).parent / "charts" / "hard-coded"


def test_fields_no_value_controls_are_fixed_in_the_template_with_unsafe_fixes(tmp_path: Path) -> None:
    """No value sets the hard-coded chart's securityContext, resources or apiVersion: the fix is
    made in the template's text, as unsafe; in the block of the field's parent, after a branch
    closed there, in the template's own indentation; a literal value is replaced with its quotes
    and comment kept. The chart is then clean of what k8sfix fixes, lints, and a second run changes
    nothing."""
    import helm_python

    root = copied(tmp_path, HARD_CODED)
    before = files_of(root)
    report = k8sfix("--write", "hard-coded", cwd=tmp_path)
    assert files_of(root) == before  # safe fixes only: a template edit is an unsafe one
    assert "more fixes with --unsafe-fixes" in report.stderr.decode()

    k8sfix("--write", "--unsafe-fixes", "hard-coded", cwd=tmp_path)
    after = files_of(root)
    assert {path for path in before if before[path] != after[path]} == {
        root / "templates" / "deployment.yaml",
        root / "templates" / "cronjob.yaml",
    }
    cronjob = (root / "templates" / "cronjob.yaml").read_text()
    assert cronjob.startswith("{{- if .Values.cleanup.enabled }}\napiVersion: batch/v1\nkind: CronJob\n")
    assert "            imagePullPolicy: 'Always' # cached on the node\n" in cronjob
    assert (
        "              capabilities:\n                drop:\n                - ALL\n" in cronjob
    )  # its dashes
    assert cronjob.endswith("              type: RuntimeDefault\n{{- end }}\n")
    deployment = (root / "templates" / "deployment.yaml").read_text()
    old = (HARD_CODED / "templates" / "deployment.yaml").read_text()
    assert deployment.startswith(old)  # the branch closes the container's block: added after it
    assert deployment[len(old) :].startswith("          resources:\n            requests:\n")
    assert "              drop:\n                - ALL\n" in deployment
    assert (  # nginx listens on 80: run as another user, it needs the sysctl beside the pod's settings
        "      securityContext:\n        sysctls:\n          - name: net.ipv4.ip_unprivileged_port_start\n"
        '            value: "80"\n        runAsNonRoot: true\n'
        "        seccompProfile:\n          type: RuntimeDefault\n"
    ) in deployment
    assert helm_python.lint(str(root))["errors"] == []
    left = k8sfix("--unsafe-fixes", "hard-coded", cwd=tmp_path).stdout.decode()
    assert {match["code"] for match in FINDING.finditer(left)} == {"K8S005"}, left  # the policy is left
    k8sfix("--write", "--unsafe-fixes", "hard-coded", cwd=tmp_path)
    assert files_of(root) == after


def test_a_field_written_in_two_branches_is_not_edited_but_pointed_at(tmp_path: Path) -> None:
    """The pod's securityContext is written in both branches of an if: which one renders depends
    on values this run does not try, so the template is left as it is and the finding says to
    change it. So is the container's user: run as another user, nginx needs the pod's sysctl to
    listen on port 80."""
    root = copied(tmp_path, HARD_CODED)
    deployment = root / "templates" / "deployment.yaml"
    deployment.write_text(
        deployment.read_text().replace(
            "    spec:\n      containers:\n",
            "    spec:\n      {{- if .Values.strict }}\n      securityContext:\n        runAsNonRoot: true\n"
            "      {{- else }}\n      securityContext:\n        fsGroup: 2000\n      {{- end }}\n"
            "      containers:\n",
        )
    )
    before = deployment.read_text()
    args = ("--unsafe-fixes", "--select", "security-context", "hard-coded/templates/deployment.yaml")
    k8sfix("--write", *args, cwd=tmp_path)
    text = deployment.read_text()
    assert text.count("securityContext:") == before.count("securityContext:") + 1  # the container's only
    assert text.startswith(before.split("          {{- if .Values.debug }}")[0])
    out = k8sfix(*args, cwd=tmp_path).stdout.decode()
    assert (
        "Deployment/release-name-web: pod securityContext lacks runAsNonRoot: true"
        " (a Helm chart, where no value sets this field: change the template)"
    ) in out, out
    (left,) = [line for line in out.splitlines() if 'container "web"' in line]
    assert "lacks runAsUser: 10001" in left and "net.ipv4.ip_unprivileged_port_start: 80" in left
    assert left.endswith(
        "(a Helm chart, where no value sets this field: change the template) [security-context]"
    )


def test_a_template_whose_documents_come_from_a_loop_is_not_edited(tmp_path: Path) -> None:
    """A range writes one Deployment per name: the template's text has one document where Helm
    renders two, so no line of it is known to write either; nothing is edited."""
    root = copied(tmp_path, HARD_CODED)
    (root / "templates" / "cronjob.yaml").unlink()
    deployment = root / "templates" / "deployment.yaml"
    deployment.write_text(
        '{{- range list "a" "b" }}\n---\n'
        + deployment.read_text()
        .replace("{{ .Release.Name }}-web", "{{ $.Release.Name }}-{{ . }}")
        .replace(".Values.", "$.Values.")
        + "{{- end }}\n"
    )
    before = files_of(root)
    out = k8sfix("--unsafe-fixes", "hard-coded", cwd=tmp_path).stdout.decode()
    assert "Deployment/release-name-b: pod has no securityContext" in out  # rendered, and checked
    k8sfix("--write", "--unsafe-fixes", "hard-coded", cwd=tmp_path)
    assert files_of(root) == before


def test_values_out_writes_the_fixes_to_a_values_file_of_ones_own(tmp_path: Path) -> None:
    """For a chart one does not own: the values fixes go to a new values file, the chart is left
    byte for byte; the next run renders with that file (as the last -f) and has nothing more to
    put there, and helm renders the chart with it to what the fixes promised."""
    root = copied(tmp_path, HELM_CREATE)
    before = files_of(root)
    args = ("--unsafe-fixes", "--values-out", "prod.yaml", "helm-create")
    shown = k8sfix("--diff", *args, cwd=tmp_path)
    assert shown.stdout.decode().startswith("--- /dev/null\n+++ b/prod.yaml\n")
    assert not (tmp_path / "prod.yaml").exists()
    k8sfix("--write", *args, cwd=tmp_path)
    assert files_of(root) == before
    written = (tmp_path / "prod.yaml").read_text()
    assert written.startswith("image:\n  pullPolicy: Always\nresources:\n  requests:\n")
    assert (
        'podSecurityContext:\n  sysctls:\n  - name: net.ipv4.ip_unprivileged_port_start\n    value: "80"\n'
        "  runAsNonRoot: true\n  seccompProfile:\n    type: RuntimeDefault\n"
    ) in written
    again = k8sfix("--write", *args, cwd=tmp_path)
    assert (tmp_path / "prod.yaml").read_text() == written and "\nin all: 0 fixed" in again.stderr.decode()
    rendered = k8sfix(
        "--unsafe-fixes", "--select", "security-context", "-f", "prod.yaml", "helm-create", cwd=tmp_path
    )
    deployment = [line for line in rendered.stdout.decode().splitlines() if "Deployment/" in line]
    assert all("readOnlyRootFilesystem" in line for line in deployment), deployment  # needs volumes


def test_values_out_edits_an_existing_file_and_keeps_what_it_says(tmp_path: Path) -> None:
    """An existing values file keeps its comments and its own choices: it sets image.pullPolicy
    otherwise, so that key is left (and still reported) while the other keys are added."""
    copied(tmp_path, HELM_CREATE)
    mine = tmp_path / "prod.yaml"
    mine.write_text("# Production.\nreplicaCount: 3  # three zones\nimage:\n  pullPolicy: IfNotPresent\n")
    args = ("--unsafe-fixes", "--values-out", "prod.yaml", "helm-create")
    k8sfix("--write", *args, cwd=tmp_path)
    text = mine.read_text()
    assert text.startswith(
        "# Production.\nreplicaCount: 3  # three zones\nimage:\n  pullPolicy: IfNotPresent\n"
    )
    assert "\nresources:\n  requests:\n" in text
    out = k8sfix(*args, cwd=tmp_path).stdout.decode()
    assert 'container "web" has imagePullPolicy "IfNotPresent"' in out


def test_values_out_names_one_chart_and_is_the_last_values_file(tmp_path: Path) -> None:
    copied(tmp_path, HELM_CREATE)
    copied(tmp_path, TWO_CONTAINERS)
    two = k8sfix("--values-out", "prod.yaml", "helm-create", "two-containers", cwd=tmp_path)
    assert two.returncode == 2
    assert "--values-out holds one chart's values, and the run met 2" in two.stderr.decode()
    (tmp_path / "prod.yaml").write_text("replicaCount: 2\n")
    (tmp_path / "more.yaml").write_text("replicaCount: 3\n")
    early = k8sfix(
        "--values-out", "prod.yaml", "-f", "prod.yaml", "-f", "more.yaml", "helm-create", cwd=tmp_path
    )
    assert early.returncode == 2
    assert early.stderr.decode() == (
        "k8sfix: error: --values-out FILE is rendered as the last values file: list it last\n"
    )


WITH_SUBCHART = Path(__file__).parent / "charts" / "with-subchart"


def test_a_subchart_is_reported_at_its_own_files_and_fixed_through_the_parents_values(tmp_path: Path) -> None:
    """The vendored cache subchart (aliased ``sessions``) is rendered under its alias: its
    findings name its own template file, at lines that exist there, and its fixes go to the
    parent's ``sessions`` key (added, the subchart's defaults under it learnt by rendering); the
    subchart is not edited, not even with unsafe fixes, and a second run changes nothing."""
    root = copied(tmp_path, WITH_SUBCHART)
    before = files_of(root)
    out = k8sfix("--unsafe-fixes", "with-subchart", cwd=tmp_path).stdout.decode()
    statefulset = root / "charts" / "cache" / "templates" / "statefulset.yaml"
    shown = [match for match in FINDING.finditer(out) if "cache/templates" in match["file"]]
    assert shown and {tmp_path / match["file"] for match in shown} == {statefulset}, out
    assert all(1 < int(match["line"]) <= len(statefulset.read_text().splitlines()) for match in shown)
    k8sfix("--write", "--unsafe-fixes", "with-subchart", cwd=tmp_path)
    after = files_of(root)
    assert {path for path in before if before[path] != after[path]} == {root / "values.yaml"}
    old, new = before[root / "values.yaml"].decode(), after[root / "values.yaml"].decode()
    assert new.startswith(old)
    added = new[len(old) :]
    assert added.startswith("sessions:\n  image:\n    pullPolicy: Always\n  resources:\n    requests:\n")
    assert "\n  containerSecurityContext:\n    runAsUser: 10001\n" in added
    left = k8sfix("--unsafe-fixes", "with-subchart", cwd=tmp_path).stdout.decode()
    assert 'container "cache" has no CPU' not in left and "imagePullPolicy" not in left
    assert "StatefulSet/release-name-sessions: pod has no securityContext" in left  # no value: the template's
    k8sfix("--write", "--unsafe-fixes", "with-subchart", cwd=tmp_path)
    assert files_of(root) == after


BITNAMI_STYLE = Path(__file__).parent / "charts" / "bitnami-style"


def test_a_bitnami_style_chart_is_fixed_in_its_values_and_its_gate_switched_on(tmp_path: Path) -> None:
    """The pod's security context is gated behind ``podSecurityContext.enabled: false``: the fix
    switches it on and adds seccompProfile, and its proof expects what the gate brings with it
    (fsGroup 1001) in the rendered pod. The metrics gate adds a sidecar when on, which is not a
    gate that only adds a mapping: it stays off. The vendored common library is not changed; the
    ``## @param`` comments stay; helm lint is content; a second run changes nothing."""
    import helm_python

    root = copied(tmp_path, BITNAMI_STYLE)
    before = files_of(root)
    k8sfix("--write", "--unsafe-fixes", "bitnami-style", cwd=tmp_path)
    after = files_of(root)
    assert {path for path in before if before[path] != after[path]} == {root / "values.yaml"}
    old, new = before[root / "values.yaml"].decode(), after[root / "values.yaml"].decode()
    comments = [line for line in new.splitlines() if line.startswith("#")]
    assert [line for line in old.splitlines() if line.startswith("#")] == comments[:-3]  # then the policy's,
    assert comments[-2].startswith("## @param networkPolicy.enabled ")  # in the chart's own style
    assert "podSecurityContext:\n  enabled: true\n  fsGroupChangePolicy: Always\n  fsGroup: 1001\n" in new
    assert "  fsGroup: 1001\n  seccompProfile:\n    type: RuntimeDefault\n" in new
    assert "metrics:\n  enabled: false\n" in new and "  pullPolicy: Always\n" in new
    policy = (root / "templates" / "networkpolicy.yaml").read_text()  # by the common library's helpers
    assert '      {{- include "common.labels.matchLabels" (dict "context" $) | nindent 6 }}\n' in policy
    assert helm_python.lint(str(root))["errors"] == []
    rendered = helm_python.Chart.load(str(root)).render(None, name="release-name", namespace="default")
    pod = rendered["keystore/templates/deployment.yaml"]
    assert "      securityContext:\n        fsGroup: 1001\n" in pod and "type: RuntimeDefault" in pod
    left = k8sfix("--unsafe-fixes", "bitnami-style", cwd=tmp_path).stdout.decode()
    assert {match["code"] for match in FINDING.finditer(left)} <= {"K8S004", "K8S005"}, left
    assert "has no securityContext" not in left and "seccomp" not in left, left
    k8sfix("--write", "--unsafe-fixes", "bitnami-style", cwd=tmp_path)
    assert files_of(root) == after


def test_where_a_charts_gates_render_is_kept_between_runs_unless_a_render_was_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gates are tried once for a chart that did not change (a render each), with the same
    fixes after; --no-cache tries them again, and what was found while a render was stopped is
    not kept."""
    from remediate.run import chart_gates, charts

    monkeypatch.setenv("K8SFIX_CACHE_DIR", str(tmp_path / "cache"))
    tried: list[str] = []  # one entry for each render of the gates (one for each gate tried)
    render = chart_gates.render

    def counting(root: str, release: charts.Release, values: dict | None = None, **options: Any) -> Any:
        tried.append(root)
        return render(root, release, values, **options)

    monkeypatch.setattr(chart_gates, "render", counting)
    copied(tmp_path, BITNAMI_STYLE)
    first = k8sfix("--diff", "--unsafe-fixes", "bitnami-style", cwd=tmp_path)
    gates = len(tried)
    assert gates >= 2 and "+  enabled: true\n" in first.stdout.decode()  # podSecurityContext and metrics,
    # one render each
    assert k8sfix("--diff", "--unsafe-fixes", "bitnami-style", cwd=tmp_path).stdout == first.stdout
    assert len(tried) == gates
    again = k8sfix("--diff", "--unsafe-fixes", "--no-cache", "bitnami-style", cwd=tmp_path)
    assert again.stdout == first.stdout
    assert len(tried) == 2 * gates

    def stopping(root: str, release: charts.Release, values: dict | None = None, **options: Any) -> Any:
        if len(tried) == 2 * gates:
            tried.append("stopped")
            raise charts.RenderStopped("the Helm render worker stopped")
        return counting(root, release, values, **options)

    monkeypatch.setattr(chart_gates, "render", stopping)
    k8sfix("--diff", "--unsafe-fixes", "--set", "replicaCount=2", "bitnami-style", cwd=tmp_path)
    asked = len(tried)
    k8sfix("--diff", "--unsafe-fixes", "--set", "replicaCount=2", "bitnami-style", cwd=tmp_path)
    assert len(tried) == asked + gates  # not kept: tried again


def test_a_gate_is_one_that_only_adds_mappings() -> None:
    """chart_gates._added: what a switch turns on must add mappings and change nothing else."""
    from remediate.run.chart_gates import _added

    pod = {"spec": {"containers": [{"name": "a"}]}}
    with_context = {"spec": {"securityContext": {"fsGroup": 1}, "containers": [{"name": "a"}]}}
    assert _added(pod, with_context, ()) == [("spec", "securityContext")]
    sidecar = {"spec": {"containers": [{"name": "a"}, {"name": "metrics"}]}}
    assert _added(pod, sidecar, ()) is None  # a container more
    renamed = {"spec": {"containers": [{"name": "b"}]}}
    assert _added(pod, renamed, ()) is None
    assert _added(pod, {"spec": {"containers": [{"name": "a"}]}, "kind": "Pod"}, ()) is None  # a text


def test_a_chart_whose_dependencies_are_not_vendored_says_so(tmp_path: Path) -> None:
    """As ``helm template`` does: a dependency missing from charts/ is an error naming it, with
    how to get it, not the template error it would lead to; the chart is not changed."""
    root = copied(tmp_path, BITNAMI_STYLE)
    shutil.rmtree(root / "charts")
    before = files_of(root)
    ran = k8sfix("--write", "--unsafe-fixes", "bitnami-style", cwd=tmp_path)
    assert ran.returncode == 2
    assert (
        "bitnami-style/Chart.yaml:1:1: error: Helm cannot render the chart: its dependencies are not in"
        " charts/: common (run helm dependency build, or vendor them)"
    ) in ran.stderr.decode()
    assert files_of(root) == before
    (root / "charts").mkdir()
    (root / "charts" / "common-2.20.0.tgz").write_bytes(b"")  # packed: Helm's to read
    assert "dependencies are not in" not in k8sfix("bitnami-style", cwd=tmp_path).stderr.decode()


def test_a_text_value_the_schema_limits_is_found_by_trying_the_fixs_value(tmp_path: Path) -> None:
    """alertmanager's values.schema.json allows image.pullPolicy only from a list, so no marker can
    learn it, and extraPodConfigs is rendered as a mapping around the pod (an entry there would
    repeat the template's own containers key). Rendering with the fix's value finds the key: the
    one line of values.yaml changes, and Helm renders Always."""
    root = copied(tmp_path, CORPUS / "helm" / "alertmanager")
    old = (root / "values.yaml").read_text()
    k8sfix("--write", "--select", "image-pull-policy", "alertmanager", cwd=tmp_path)
    new = (root / "values.yaml").read_text()
    assert new == old.replace(
        "  repository: quay.io/prometheus/alertmanager\n  pullPolicy: IfNotPresent\n",
        "  repository: quay.io/prometheus/alertmanager\n  pullPolicy: Always\n",
    )
    assert new != old
    assert "imagePullPolicy" not in k8sfix("alertmanager", cwd=tmp_path).stdout.decode()


def test_with_only_the_helm_binary_a_chart_is_fixed_as_with_the_sdk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without helm-python-sdk, ``helm template`` and ``helm lint`` render and lint: the values a
    fix would give go to them as values files of their own, so the same fixes are found and
    proven. (``helm`` here is tests/fake_helm, which prints what the real commands print, made
    with Helm's own engine.)"""
    binary = tmp_path / "bin" / "helm"
    binary.parent.mkdir()
    binary.write_text(
        f"#!{sys.executable}\nimport runpy\nrunpy.run_path({str(FAKE_HELM)!r}, run_name='__main__')\n"
    )
    binary.chmod(0o755)
    by_sdk = copied(tmp_path / "sdk", HELM_CREATE)
    k8sfix("--write", "--unsafe-fixes", "helm-create", cwd=tmp_path / "sdk")
    by_binary = copied(tmp_path / "binary", HELM_CREATE)
    monkeypatch.setenv("PATH", f"{binary.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(charts, "engine", lambda: charts._render_with_binary)
    k8sfix("--write", "--unsafe-fixes", "helm-create", cwd=tmp_path / "binary")
    fixed = {path.relative_to(by_binary): text for path, text in files_of(by_binary).items()}
    assert fixed == {path.relative_to(by_sdk): text for path, text in files_of(by_sdk).items()}
    assert fixed[Path("values.yaml")] != (HELM_CREATE / "values.yaml").read_bytes()


def test_a_finding_of_a_container_after_one_switched_off_points_at_its_own_lines() -> None:
    """The sidecar is written first but switched off, so the rendered container 0 is the main one:
    its name (``{{ .Chart.Name }}`` can render "web"; ``{{ .Chart.Name }}-reload`` cannot) finds
    its lines, not the sidecar's at index 0."""
    template = (
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n"
        "        {{- if .Values.reload.enabled }}\n"
        "        - name: {{ .Chart.Name }}-reload\n          image: reloader\n          livenessProbe: {}\n"
        "        {{- end }}\n"
        "        - name: {{ .Chart.Name }}\n          image: web\n          livenessProbe: {}\n"
    )
    rendered = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web"}]}}}}
    path = ("spec", "template", "spec", "containers", 0, "livenessProbe")
    assert charts.template_line(template, path, rendered) == (14, 11)
    assert charts.template_line(template, path) == (10, 11)  # by index alone: the sidecar's


def test_a_template_edit_finds_the_container_after_one_switched_off(tmp_path: Path) -> None:
    """The hard-coded chart with a sidecar written first, behind an if that is off: the edit for
    the rendered container 0 goes to the web container's block (its name can render "web"), and
    the sidecar's block is left as it was."""
    root = copied(tmp_path, HARD_CODED)
    (root / "templates" / "cronjob.yaml").unlink()
    deployment = root / "templates" / "deployment.yaml"
    sidecar = (
        "      containers:\n        {{- if .Values.reload }}\n        - name: reload\n"
        "          image: registry.example/reload:1.0\n        {{- end }}\n"
    )
    deployment.write_text(deployment.read_text().replace("      containers:\n", sidecar))
    k8sfix("--write", "--unsafe-fixes", "--select", "container-resources", "hard-coded", cwd=tmp_path)
    text = deployment.read_text()
    assert text.count("resources:") == 1
    assert text.index("- name: web") < text.index("          resources:\n            requests:")
    assert sidecar in text


def counted_learnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The chart folder of each learning from now on (counted at its first, outermost render)."""
    from remediate.run import chart_values

    learnt: list[str] = []
    learn = chart_values._learn
    depth = [0]

    def counting(root: str, *args: object) -> None:
        if not depth[0]:
            learnt.append(root)
        depth[0] += 1
        try:
            learn(root, *args)  # type: ignore[arg-type]
        finally:
            depth[0] -= 1

    monkeypatch.setattr(chart_values, "_learn", counting)
    return learnt


def test_what_a_chart_values_control_is_learnt_again_only_when_the_chart_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second run over the same chart takes what the first learnt (the same fixes, no learning
    renders); a changed template, --no-cache and a damaged cache file each make it learn again."""

    monkeypatch.setenv("K8SFIX_CACHE_DIR", str(tmp_path / "cache"))
    learnt = counted_learnings(monkeypatch)
    root = copied(tmp_path, TEST_CHART_FOLDER / "two-containers")
    first = k8sfix("--diff", "--unsafe-fixes", root.name, cwd=tmp_path)
    assert len(learnt) == 1 and first.stdout.count(b"+++ b/") > 0
    again = k8sfix("--diff", "--unsafe-fixes", root.name, cwd=tmp_path)
    assert (again.stdout, again.stderr, len(learnt)) == (first.stdout, first.stderr, 1)
    assert k8sfix("--diff", "--unsafe-fixes", "--no-cache", root.name, cwd=tmp_path).stdout == first.stdout
    assert len(learnt) == 2
    (cache_file,) = (tmp_path / "cache").glob("learning-*.json")
    kept = json.loads(cache_file.read_text())
    for damaged in ({"key": kept["key"], "places": "abc"}, {"key": kept["key"], "places": [["a", "b"]]}):
        cache_file.write_text(json.dumps(damaged))
        assert k8sfix("--diff", "--unsafe-fixes", root.name, cwd=tmp_path).stdout == first.stdout
    cache_file.write_text(cache_file.read_text()[:40])  # cut short
    assert k8sfix("--diff", "--unsafe-fixes", root.name, cwd=tmp_path).stdout == first.stdout
    assert len(learnt) == 5
    k8sfix("--diff", "--unsafe-fixes", "--set", "worker.team=web", root.name, cwd=tmp_path)
    assert len(learnt) == 6  # other values: learnt again
    template = next((root / "templates").glob("deployment.yaml"))
    template.write_text(template.read_text() + "\n")
    k8sfix("--diff", "--unsafe-fixes", root.name, cwd=tmp_path)
    assert len(learnt) == 7
    k8sfix("--diff", "--unsafe-fixes", root.name, cwd=tmp_path)
    assert len(learnt) == 7


def test_a_chart_learnt_in_one_place_is_known_in_another_and_only_the_last_used_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same chart in two folders (a vendored copy, a second worktree) is learnt once, since a
    learning is kept by its digest, not its path; past KEPT learnings, the one used longest ago is
    removed, and one just used again stays."""
    from remediate.run import learning_cache

    monkeypatch.setenv("K8SFIX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(learning_cache, "KEPT", 2)
    learnt = counted_learnings(monkeypatch)
    staging = copied(tmp_path / "staging", TEST_CHART_FOLDER / "two-containers")
    production = copied(tmp_path / "production", TEST_CHART_FOLDER / "two-containers")
    first = k8sfix("--diff", "--unsafe-fixes", str(staging.relative_to(tmp_path)), cwd=tmp_path)
    again = k8sfix("--diff", "--unsafe-fixes", str(production.relative_to(tmp_path)), cwd=tmp_path)
    assert learnt == [str(staging)] and again.stdout.count(b"+++ b/") == first.stdout.count(b"+++ b/") > 0

    def run(*options: str) -> None:
        k8sfix("--diff", "--unsafe-fixes", *options, str(staging.relative_to(tmp_path)), cwd=tmp_path)

    run("--set", "worker.team=a")
    assert len(learnt) == 2 and len(list((tmp_path / "cache").glob("learning-*.json"))) == 2
    time.sleep(0.02)
    run()  # the first learning, used again: now the second learnt is the one used longest ago
    run("--set", "worker.team=b")
    assert len(learnt) == 3 and len(list((tmp_path / "cache").glob("learning-*.json"))) == 2
    run()
    assert len(learnt) == 3  # kept
    run("--set", "worker.team=a")
    assert len(learnt) == 4  # removed
