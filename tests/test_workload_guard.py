"""The workload guard's volume rules (:mod:`remediate.kube.workload_guard`): what the API server
rejects about volumes and mounts, which guards the emptyDirs the security-context fixer adds."""

from __future__ import annotations

import pytest

from remediate.kube import workload_guard
from remediate.kube.k8s import BUILTIN_POD_KINDS, manifests
from remediate.yaml.document import parse

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: web}}
spec:
  containers:
  - name: web
    image: nginx:1.27
    volumeMounts: {mounts}
  volumes: {volumes}
"""


def problems(mounts: str, volumes: str) -> list[str]:
    (manifest,) = manifests(parse(POD.format(mounts=mounts, volumes=volumes)))
    found = workload_guard.problems(manifest, BUILTIN_POD_KINDS, owner="security-context")
    assert all(not problem.reported for problem in found)  # a kustomize patch may add the volume
    return [problem.message for problem in found]


@pytest.mark.parametrize(
    ("mounts", "volumes", "expected"),
    [
        ("[{name: tmp, mountPath: /tmp}]", "[{name: tmp, emptyDir: {}}]", []),
        (
            "[{name: cache, mountPath: /tmp}]",
            "[{name: tmp, emptyDir: {}}]",
            ['container "web" mounts volume "cache", which the pod does not have'],
        ),
        (
            "[{name: tmp, mountPath: /tmp}, {name: run, mountPath: /tmp}]",
            "[{name: tmp, emptyDir: {}}, {name: run, emptyDir: {}}]",
            ['container "web" mounts two volumes at one path, which the API server rejects'],
        ),
        (
            "[{name: tmp, mountPath: /tmp}]",
            "[{name: tmp, emptyDir: {}}, {name: tmp, emptyDir: {}}]",
            ["pod has two volumes of one name, which the API server rejects"],
        ),
    ],
)
def test_volume_rules(mounts: str, volumes: str, expected: list[str]) -> None:
    assert problems(mounts, volumes) == expected
