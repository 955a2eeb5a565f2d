"""The origin story, end to end: the tutorial's demo app fixed in one command.

The tutorial ran kube-score on ``deployment.yml``, got five critical findings, and fixed them by hand
(``tutorial-final.yml``). Here every fixer runs on the same file and the result is checked the way
kube-score and the Kubernetes schema would check it, by rules written out below from kube-score's
documentation, independently of the fixers' own code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from remediate.run.config import load
from remediate.run.results import Status
from remediate.run.runner import Engine, process
from remediate.yaml.source import Source
from tests.conftest import ROOT
from tests.helpers import k8sfix

SEED = ROOT / "examples" / "deployment.yml"
TUTORIAL_FINAL = ROOT / "tests" / "seed" / "tutorial-final.yml"


def fixed_seed(unsafe: bool = True) -> list[dict]:
    """The seed fixed by every fixer: with ``--unsafe-fixes`` (what the tutorial did by hand), or
    as a default run leaves it."""
    engine = Engine(load(None, unsafe_fixes=unsafe))
    result = process(engine, Source.from_bytes(str(SEED), SEED.read_bytes()), fix=True)
    assert result.status is Status.CHANGED
    return [doc for doc in YAML(typ="safe").load_all(result.output) if doc]


def matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


def test_all_fixers_are_valid_against_the_kubernetes_schema() -> None:
    for obj in fixed_seed():
        kubernetes_validate.validate(obj, kubernetes_validate.latest_version(), strict=True)


def test_a_default_run_makes_the_safe_part_and_says_what_it_holds_back(tmp_path: Path) -> None:
    """Without --unsafe-fixes: the pull policy and the requests, which cannot stop the pod; the
    limits, probes, user, read-only filesystem and policy wait for a reviewer."""
    (deployment, _) = [obj for obj in fixed_seed(unsafe=False)]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["imagePullPolicy"] == "Always"
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": "64Mi"}}
    assert not {"livenessProbe", "readinessProbe", "securityContext"} & set(container)
    shutil.copy(SEED, tmp_path / "deployment.yml")
    ran = k8sfix("--write", "deployment.yml", cwd=tmp_path)
    summary = ran.stderr.decode().splitlines()[-8:]
    assert summary == [
        "1 file scanned: 1 changed, 0 unchanged, 0 skipped, 0 failed",
        "image-pull-policy:   1 fixed",
        "container-resources: 1 fixed, 1 remaining (1 fixable with --unsafe-fixes)",
        "container-probes:    0 fixed, 2 remaining (2 fixable with --unsafe-fixes)",
        "security-context:    0 fixed, 6 remaining (6 fixable with --unsafe-fixes)",
        "network-policy:      0 fixed, 1 remaining (1 fixable with --unsafe-fixes)",
        "in all: 2 fixed, 10 remaining",
        "10 more fixes with --unsafe-fixes",
    ]
    ran = k8sfix("--write", "--unsafe-fixes", "deployment.yml", cwd=tmp_path)
    assert b"--unsafe-fixes" not in ran.stderr and ran.stderr.decode().splitlines()[-1] == "in all: 10 fixed"
    assert (tmp_path / "deployment.yml").read_text().count("kind: NetworkPolicy") == 1


def test_the_five_kube_score_checks_the_tutorial_fixed_by_hand_now_pass() -> None:
    objects = fixed_seed()
    (deployment,) = [obj for obj in objects if obj["kind"] == "Deployment"]
    (service,) = [obj for obj in objects if obj["kind"] == "Service"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    (container,) = pod["spec"]["containers"]

    # container-image-pull-policy: Always.
    assert container["imagePullPolicy"] == "Always"
    # container-resources: CPU and memory, requests and limits.
    for section in ("requests", "limits"):
        assert set(container["resources"][section]) >= {"cpu", "memory"}
    # pod-probes: a Service selects the pod, so a readiness probe; and not the same as liveness.
    assert matches({"matchLabels": service["spec"]["selector"]}, labels)
    assert container["readinessProbe"]["httpGet"]["port"] == 4567  # the Service's targetPort
    assert container["livenessProbe"] != container["readinessProbe"]
    # container-security-context-user-group-id / -readonlyrootfilesystem / -privileged.
    context = container["securityContext"]
    assert context["runAsUser"] > 10000 and context["runAsGroup"] > 10000
    assert context["readOnlyRootFilesystem"] is True
    assert context.get("privileged") is not True
    # pod-networkpolicy: a policy in the namespace selects the pod for ingress and egress.
    directions = {
        kind
        for policy in objects
        if policy["kind"] == "NetworkPolicy" and matches(policy["spec"]["podSelector"], labels)
        for kind in policy["spec"]["policyTypes"]
    }
    assert directions == {"Ingress", "Egress"}


def test_and_it_goes_further_to_the_restricted_pod_security_standard() -> None:
    (deployment,) = [obj for obj in fixed_seed() if obj["kind"] == "Deployment"]
    pod_spec = deployment["spec"]["template"]["spec"]
    assert pod_spec["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    context = pod_spec["containers"][0]["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize(
    "fixer", ["image-pull-policy", "container-resources", "container-probes", "network-policy"]
)
def test_the_hand_fixed_tutorial_result_has_nothing_left_to_fix(fixer: str) -> None:
    """Detection agrees with kube-score: the tutorial's own result passes it, and passes us."""
    engine = Engine(load(None, select=[fixer]))
    result = process(engine, Source.from_bytes(str(TUTORIAL_FINAL), TUTORIAL_FINAL.read_bytes()), fix=True)
    assert result.status is Status.UNCHANGED and not result.findings


def test_the_hand_fixed_tutorial_passes_the_kube_score_security_profile() -> None:
    config = ROOT / "tests" / "seed" / "kube-score-profile.yaml"
    engine = Engine(load(config, select=["security-context"]))
    result = process(engine, Source.from_bytes(str(TUTORIAL_FINAL), TUTORIAL_FINAL.read_bytes()), fix=True)
    assert result.status is Status.UNCHANGED and not result.findings
