"""The unknown-ignore check (K8S101): a name in ``k8sfix.io/ignore`` that is no check is a finding
at the annotation, so a typo that switches nothing off fails the run instead of passing unseen."""

from __future__ import annotations

from pathlib import Path

from remediate.run.registry import all_fixers
from tests.helpers import k8sfix, write_tree

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    k8sfix.io/ignore: "all"
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        k8sfix.io/ignore: "Image-Pull-Policy, k8s002,imagepullpolicy"
    spec:
      containers:
      - name: app
        image: registry.example/app:1
"""


def test_a_name_that_is_no_check_is_a_finding_at_the_annotation_with_the_nearest_id(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app.yaml": DEPLOYMENT})
    ran = k8sfix("app.yaml", cwd=tmp_path)
    lines = [line for line in ran.stdout.decode().splitlines() if " K8S101 " in line]
    # ids in any case, codes in any case and "all" are known; only the typo is reported, once
    assert lines == [
        (
            'app.yaml:13:27: K8S101 Deployment/web: k8sfix.io/ignore names "imagepullpolicy", which is no '
            "check, so it switches nothing off; did you mean image-pull-policy? [unknown-ignore]"
        )
    ]
    assert ran.returncode == 1
    line = DEPLOYMENT.splitlines()[12]
    assert line[26:].startswith('"Image-Pull-Policy')  # the column is the annotation's value


def test_a_pods_annotation_is_read_once_and_a_name_far_from_every_id_gets_no_hint(tmp_path: Path) -> None:
    pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    k8sfix.io/ignore: banana\n"
    write_tree(tmp_path, {"pod.yaml": pod + "spec:\n  containers:\n  - name: a\n    image: a:1\n"})
    out = k8sfix("--select", "unknown-ignore", "pod.yaml", cwd=tmp_path).stdout.decode()
    assert out.splitlines() == [
        (
            'pod.yaml:6:23: K8S101 Pod/p: k8sfix.io/ignore names "banana", which is no check, so it '
            "switches nothing off [unknown-ignore]"
        )
    ]


def test_the_check_is_switched_off_and_left_out_like_any_other(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app.yaml": DEPLOYMENT})
    assert b"K8S101" not in k8sfix("--ignore", "unknown-ignore", "app.yaml", cwd=tmp_path).stdout
    assert b"K8S101" not in k8sfix("--select", "image-pull-policy", "app.yaml", cwd=tmp_path).stdout
    (tmp_path / ".k8sfix.yaml").write_text("ignore: [K8S101]\n")
    assert b"K8S101" not in k8sfix("app.yaml", cwd=tmp_path).stdout


def test_the_check_is_listed_and_explained(tmp_path: Path) -> None:
    listed = k8sfix("--list-fixers", cwd=tmp_path).stdout.decode().splitlines()
    assert listed[-1].startswith("K8S101  unknown-ignore ") and listed[-1].endswith("On by default.")
    page = k8sfix("--explain", "k8s101", cwd=tmp_path).stdout.decode()
    assert page.startswith("unknown-ignore (K8S101)\n\nA name in a `k8sfix.io/ignore` annotation")


def test_a_name_is_reported_once_and_an_annotation_may_opt_out_of_the_check(tmp_path: Path) -> None:
    pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  annotations:\n"
    pod += "    k8sfix.io/ignore: {names}\n"
    body = "spec:\n  containers:\n  - name: a\n    image: a:1\n"
    documents = [
        pod.format(name="twice", names='"banana, banana"') + body,
        pod.format(name="all", names='"all, banana"') + body,
        pod.format(name="opted-out", names='"banana, unknown-ignore"') + body,
        pod.format(name="by-code", names='"banana,k8s101"') + body,
    ]
    write_tree(tmp_path, {"pods.yaml": "---\n".join(documents)})
    out = k8sfix("--select", "unknown-ignore", "pods.yaml", cwd=tmp_path).stdout.decode()
    assert [line.split(": K8S101 ")[1].split(":")[0] for line in out.splitlines()] == ["Pod/twice"]


def test_ignoring_every_fixer_is_still_a_run_of_no_fixer(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app.yaml": DEPLOYMENT})
    every = ",".join(fixer.id for fixer in all_fixers())
    ran = k8sfix("--ignore", every, "app.yaml", cwd=tmp_path)
    assert ran.returncode == 2 and b"no fixer is selected" in ran.stderr
