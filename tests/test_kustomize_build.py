"""What k8sfix believes of kustomize, checked against kustomize itself: ``kubectl kustomize``
builds the example overlays before and after the fix (skipped where kubectl is not on PATH).

- The namespace k8sfix places a base's objects in is the one the build of the outermost
  kustomization above it gives them, also when it is set two levels up. (An overlay beside the
  base, which may be one of several with different namespaces, does not decide it: the policy is
  written without a namespace, and each overlay's build gives it the overlay's.)
- After the fix, each build holds a NetworkPolicy in the workload's namespace that selects the
  built pods: the policy added to the base survives the overlays' namespace and labels.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from remediate.yaml.document import parse
from tests.helpers import WEB_DEPLOYMENT, k8sfix, write_tree

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")


TREES = {
    "overlay with namespace and labels": {
        "base/kustomization.yaml": "resources: [web.yaml]\n",
        "overlays/prod/kustomization.yaml": (
            "namespace: prod\nresources: [../../base]\n"
            "labels:\n- pairs: {env: prod}\n  includeSelectors: true\n"
        ),
    },
    "namespace two levels up": {
        "apps/web/base/kustomization.yaml": "resources: [web.yaml]\n",
        "apps/web/kustomization.yaml": "resources: [base]\n",
        "apps/kustomization.yaml": "namespace: shop\nresources: [web]\n",
    },
}
WORKLOAD = {
    "overlay with namespace and labels": "base/web.yaml",
    "namespace two levels up": "apps/web/base/web.yaml",
}
BUILDS = {"overlay with namespace and labels": "overlays/prod", "namespace two levels up": "apps"}


def tree(root: Path, case: str) -> Path:
    return write_tree(root, {**TREES[case], WORKLOAD[case]: WEB_DEPLOYMENT})


def build(root: Path, directory: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(KUBECTL), "kustomize", directory],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [document.data for document in parse(done.stdout)]


@pytest.mark.parametrize("case", sorted(TREES))
def test_the_policy_added_to_the_base_selects_the_built_pods(tmp_path: Path, case: str) -> None:
    root = tree(tmp_path, case)
    (before,) = build(root, BUILDS[case])
    if WORKLOAD[case].startswith(BUILDS[case] + "/"):  # built from a directory above the workload
        ran = k8sfix("--select", "network-policy", WORKLOAD[case], "--context", ".", cwd=root)
        assert f'no NetworkPolicy of namespace "{before["metadata"]["namespace"]}"' in ran.stdout.decode()

    ran = k8sfix(
        "--write", "--unsafe-fixes", "--select", "network-policy", WORKLOAD[case], "--context", ".", cwd=root
    )
    assert "1 changed" in ran.stderr.decode(), ran.stderr.decode()
    built = build(root, BUILDS[case])
    (deployment,) = [o for o in built if o["kind"] == "Deployment"]
    (policy,) = [o for o in built if o["kind"] == "NetworkPolicy"]
    assert policy["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    selected = policy["spec"]["podSelector"]["matchLabels"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selected.items() <= pod_labels.items(), (selected, pod_labels)
