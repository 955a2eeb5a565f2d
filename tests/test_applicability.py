"""Every fix says how safe it is (:class:`remediate.yaml.model.Applicability`), and every output
carries it: the text marker, JSON's ``applicability``, the SARIF result's property and the run
report's fixes. A display-only fix is shown, never applied."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from remediate.kube.fixer import Context, Fixer
from remediate.kube.k8s import Manifest
from remediate.output import report, run_report, sarif
from remediate.run.config import load
from remediate.run.runner import Engine, process
from remediate.yaml.edits import Change
from remediate.yaml.model import Applicability, Edit, Touch
from remediate.yaml.source import Source

TEXT = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n"


def fixer_with(applicability: Applicability) -> Fixer:
    class ReplicasTwo(Fixer):
        """Wants two replicas (a stand-in fixer whose fix has the given applicability)."""

        id = "replicas-two"
        code = "K8S997"
        Options = type("Options", (), {})
        writes = ("replicas",)

        def check(self, manifest: Manifest, ctx: Context) -> Iterator:
            replicas = manifest.node.get("spec").get("replicas")  # type: ignore[union-attr]
            if replicas is None or replicas.data == 2:
                return
            change = Change((Edit(replicas.start, replicas.end, "2"),), (Touch(0, ("spec", "replicas"), 2),))
            yield self.finding(
                manifest,
                replicas,
                "one replica",
                fix=("set 2", lambda: [change]),
                applicability=applicability,
            )

    return ReplicasTwo()


def run_with(applicability: Applicability, *, fix: bool, unsafe: bool | None = None):
    """The stand-in fixer run on TEXT (``unsafe`` None: a default run, which applies only safe
    fixes)."""
    engine = Engine(load(None, select=["image-pull-policy"], unsafe_fixes=unsafe))
    engine.fixers = [fixer_with(applicability)]
    return process(engine, Source.from_text("app.yaml", TEXT), fix=fix)


@pytest.mark.parametrize(
    "applicability, marker, unsafe_marker",
    [
        (Applicability.SAFE, "(fixable)", "(fixable)"),
        (Applicability.UNSAFE, "(fixable with --unsafe-fixes)", "(fixable, unsafe)"),
        (Applicability.DISPLAY_ONLY, "(fix shown only)", "(fix shown only)"),
    ],
)
def test_every_output_carries_the_applicability(
    applicability: Applicability, marker: str, unsafe_marker: str
) -> None:
    result = run_with(applicability, fix=False)
    (finding,) = result.findings
    assert report.finding_line(result, finding, fixing=False).endswith(f"[replicas-two] {marker}")
    assert report.finding_line(result, finding, fixing=False, unsafe=True).endswith(
        f"[replicas-two] {unsafe_marker}"
    )
    assert (
        json.loads(report.json_document([result], fixing=False))["findings"][0]["applicability"]
        == applicability.value
    )
    sarif_result = sarif.result_record(result, finding, 0, written=False)
    assert sarif_result["properties"]["applicability"] == applicability.value
    fixed = run_with(applicability, fix=True, unsafe=True)
    entry = run_report.file_entry(fixed, mode="write")
    if applicability is Applicability.DISPLAY_ONLY:
        assert fixed.output is None and entry["fixes"] == []
    else:
        assert fixed.output == TEXT.replace("replicas: 1", "replicas: 2")
        assert entry["fixes"][0]["applicability"] == applicability.value


@pytest.mark.parametrize("applicability", list(Applicability))
def test_a_default_run_applies_only_safe_fixes(applicability: Applicability) -> None:
    fixed = run_with(applicability, fix=True)
    (finding,) = fixed.findings
    if applicability is Applicability.SAFE:
        assert fixed.output == TEXT.replace("replicas: 1", "replicas: 2")
        assert finding.identity in fixed.fixed
        assert report.finding_line(fixed, finding, fixing=True).endswith("[replicas-two] (fixed)")
    else:
        assert fixed.output is None and not fixed.fixed
        assert run_report.file_entry(fixed, mode="write")["fixes"] == []
    summary = report.summary([fixed], fixing=True).splitlines()
    if applicability is Applicability.UNSAFE:
        assert summary[-3:] == [
            "replicas-two: 0 fixed, 1 remaining (1 fixable with --unsafe-fixes)",
            "in all: 0 fixed, 1 remaining",
            "1 more fix with --unsafe-fixes",
        ]
    else:
        assert "--unsafe-fixes" not in report.summary([fixed], fixing=True)
    assert "--unsafe-fixes" not in report.summary([fixed], fixing=True, unsafe=True)
