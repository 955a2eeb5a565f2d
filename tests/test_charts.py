"""Helm charts (:mod:`remediate.run.charts`): rendered by Helm itself (the helm-python-sdk of the
test extra), checked on what they render, reported at their templates' lines, never rewritten.

The charts of ``tests/corpus/helm`` are real ones (prometheus-community/helm-charts; see its
SOURCES.tsv and LICENSE).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from remediate.run import charts
from tests.conftest import CORPUS
from tests.helpers import k8sfix

CHARTS = sorted(path.parent for path in (CORPUS / "helm").glob("*/Chart.yaml"))
FINDING = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<code>K8S\d+) ", re.MULTILINE)


def copied(tmp_path: Path, chart: Path) -> Path:
    shutil.copytree(chart, tmp_path / chart.name)
    return tmp_path / chart.name


def test_the_corpus_has_eight_charts_with_their_licence() -> None:
    assert len(CHARTS) == 8
    assert (CORPUS / "helm" / "LICENSE").is_file() and (CORPUS / "helm" / "SOURCES.tsv").is_file()


@pytest.mark.parametrize("chart", CHARTS, ids=[chart.name for chart in CHARTS])
def test_a_chart_is_checked_at_its_templates_and_never_written(tmp_path: Path, chart: Path) -> None:
    """Every finding names a template of the chart and a line of it that exists; a --write with
    unsafe fixes changes no file of the chart (charts are reported, not fixed)."""
    root = copied(tmp_path, chart)
    before = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}
    ran = k8sfix(chart.name, cwd=tmp_path)
    out = ran.stdout.decode()
    assert ran.returncode in (0, 1), ran.stderr.decode()
    assert "error" not in ran.stderr.decode()
    found = list(FINDING.finditer(out))
    assert found, out  # every one of these charts has something k8sfix checks
    for match in found:
        template = tmp_path / match["file"]
        assert template.parent.name == "templates" and template.is_file(), match[0]
        assert 1 <= int(match["line"]) <= len(template.read_text().splitlines()), match[0]
    assert "(a Helm chart: set it in the chart's values, or in this template)" in out
    written = k8sfix("--write", "--unsafe-fixes", chart.name, cwd=tmp_path)
    assert "0 changed" in written.stderr.decode()
    assert {path: path.read_bytes() for path in root.rglob("*") if path.is_file()} == before


def test_a_finding_points_at_the_template_line_that_writes_its_field(tmp_path: Path) -> None:
    copied(tmp_path, CORPUS / "helm" / "prometheus-node-exporter")
    out = k8sfix("--select", "image-pull-policy", "prometheus-node-exporter", cwd=tmp_path).stdout.decode()
    (match,) = FINDING.finditer(out)
    line = (tmp_path / match["file"]).read_text().splitlines()[int(match["line"]) - 1]
    assert line.strip() == "imagePullPolicy: {{ .Values.image.pullPolicy }}"
    assert line.index("imagePullPolicy") + 1 == int(match["column"])


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
        out = k8sfix("--select", "image-pull-policy", named, cwd=tmp_path).stdout.decode()
        assert "prometheus-node-exporter/templates/daemonset.yaml:101:" in out, (named, out)


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
