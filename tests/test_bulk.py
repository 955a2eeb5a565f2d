"""Bulk runs over whole repositories: which files are read, what is skipped and why, parallel runs
that match serial ones, the progress bar, and the summary."""

from __future__ import annotations

import io
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from remediate.cli.commands import RunOptions, run
from remediate.run import bulk, files
from remediate.run.staged import StagedFile
from tests import helpers
from tests.conftest import CORPUS, ROOT

SEED = (ROOT / "examples" / "deployment.yml").read_bytes()
WORKER = b"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  selector:
    matchLabels: {app: worker}
  template:
    metadata:
      labels: {app: worker}
    spec:
      containers:
        - name: worker
          image: busybox:1.36
          imagePullPolicy: Always
"""
CLEAN_POD = b"""apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  level: debug
"""


@dataclass(frozen=True)
class TextRun:
    returncode: int
    stdout: str
    stderr: str


def k8sfix(*args: str, cwd: Path) -> TextRun:
    """:func:`tests.helpers.k8sfix`, with its output as text."""
    ran = helpers.k8sfix(*args, cwd=cwd)
    return TextRun(ran.returncode, ran.stdout.decode(), ran.stderr.decode())


def write(root: Path, relative: str, data: bytes | str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def listed(paths: list[str], cwd: Path, **globs: list[str]) -> list[str]:
    """The files a run reads, relative to ``cwd``."""
    os.chdir(cwd)
    return [c.path for c in files.expand(paths, **globs) if c.skip is None and c.error is None]


@pytest.fixture(autouse=True)
def _keep_cwd():
    before = os.getcwd()
    yield
    os.chdir(before)


def test_gitignore_rules_of_the_repository_apply_at_every_depth(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path, ".gitignore", "generated/\n*.local.yaml\n/deploy/rendered.yaml\n")
    write(tmp_path, ".git/info/exclude", "scratch.yaml\n")
    write(tmp_path, "deploy/.gitignore", "!keep.local.yaml\nbuild\n")
    for name in (
        "app.yaml",
        "rendered.yaml",
        "dev.local.yaml",
        "keep.local.yaml",
        "scratch.yaml",
        "generated/out.yaml",
        "build/out.yaml",
        "sub/rendered.yaml",
        "sub/generated/x.yaml",
    ):
        write(tmp_path, f"deploy/{name}", CLEAN_POD)
    expected = ["deploy/app.yaml", "deploy/keep.local.yaml", "deploy/sub/rendered.yaml"]
    assert listed(["deploy"], tmp_path) == expected
    # Walked from below the repository's root, the root's rules still apply.
    assert listed(["."], tmp_path / "deploy") == [p.replace("deploy/", "./") for p in expected]


def test_gitignore_outside_a_repository_applies_from_the_walked_directory(tmp_path: Path) -> None:
    write(tmp_path, "manifests/.gitignore", "old/\n")
    write(tmp_path, "manifests/app.yaml", CLEAN_POD)
    write(tmp_path, "manifests/old/app.yaml", CLEAN_POD)
    assert listed(["manifests"], tmp_path) == ["manifests/app.yaml"]


def test_include_replaces_the_suffixes_and_exclude_leaves_out_files_and_directories(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yml", "c.json", "d.k8s", "legacy/e.yaml", "x/legacy/f.yaml", "x/g.json"):
        write(tmp_path, f"repo/{name}", CLEAN_POD)
    assert listed(["repo"], tmp_path) == [
        "repo/a.yaml",
        "repo/b.yml",
        "repo/c.json",
        "repo/legacy/e.yaml",
        "repo/x/g.json",
        "repo/x/legacy/f.yaml",
    ]
    narrowed = listed(["repo"], tmp_path, include=["*.k8s", "*.yaml"], exclude=["legacy/"])
    assert narrowed == ["repo/a.yaml", "repo/d.k8s"]
    assert listed(["repo"], tmp_path, exclude=["/legacy", "*.json"]) == [
        "repo/a.yaml",
        "repo/b.yml",
        "repo/x/legacy/f.yaml",
    ]
    # A file named on the command line is read whatever the globs say.
    assert listed(["repo/c.json"], tmp_path, exclude=["*.json"]) == ["repo/c.json"]


@pytest.mark.parametrize(
    "include",
    [
        list(files.MANIFEST_GLOBS),
        ["*.k8s", "*.yaml"],
        ["*"],
        ["*.y?ml"],  # not plain suffixes: matched by pathspec
        ["deploy/*.yaml"],
        ["*.yaml", "!b.yaml"],
    ],
)
def test_include_globs_match_as_gitignore_patterns_do(include: list[str]) -> None:
    # Plain ``*<suffix>`` patterns are matched as suffixes of the name; every pattern set must
    # give what pathspec's reading of the patterns gives.
    from pathspec import GitIgnoreSpec

    spec = GitIgnoreSpec.from_lines(include)
    globs = files.Globs(include, [])
    for relative in (
        "a.yaml",
        "b.yaml",
        "x/c.yml",
        "x/y/d.json",
        "deploy/e.yaml",
        "f.k8s",
        "g.yaml.bak",
        "h",
    ):
        name = relative.rsplit("/", 1)[-1]
        assert globs.includes(relative, name) == spec.match_file(relative), (include, relative)


def test_absolute_paths_are_those_abspath_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from remediate.cli import commands

    monkeypatch.chdir(tmp_path)
    paths = ["a.yaml", "./a.yaml", "sub/../b.yaml", "-", "/etc/x.yaml", "sub/", "./sub/c.json", "../d.yaml"]
    paths += ["sub//f.yaml", "sub/.", "sub/..", "/", "//g.yaml", "sub/./h.yaml", "..", "."]
    items = [commands.Input(path, path) for path in paths]
    assert commands._absolute_paths(items) == [os.path.abspath(path) for path in paths]
    # a staged manifest's is git's top joined with its path, as staged.staged_manifests makes it
    staged = StagedFile("sub/e.yaml", "0" * 40, "/repository", "/repository/sub/e.yaml")
    assert commands._absolute_paths([commands.Input("sub/e.yaml", "sub/e.yaml", staged=staged)]) == [
        "/repository/sub/e.yaml"
    ]


KUSTOMIZATION = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
patchesStrategicMerge:
  - replicas.yaml
patches:
  - path: ../../shared/image.yaml
    target: {kind: Deployment}
  - patch: |-
      - op: replace
        path: /spec/replicas
        value: 3
"""
WHOLE_OBJECT_PATCH = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 5
"""


@pytest.fixture
def mixed_repo(tmp_path: Path) -> Path:
    """One file of each kind a bulk run meets, under ``repo/``."""
    write(tmp_path, "repo/app.yaml", SEED)
    write(tmp_path, "repo/configmap.yaml", CLEAN_POD)
    write(tmp_path, "repo/chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.0.0\n")
    write(tmp_path, "repo/chart/values.yaml", "replicas: 2\n")
    templated = SEED.replace(b"semaphore-demo", b"{{ .Release.Name }}")  # YAML once Helm renders it
    write(tmp_path, "repo/chart/templates/deployment.yaml", templated)
    write(tmp_path, "repo/overlays/prod/kustomization.yaml", KUSTOMIZATION)
    write(tmp_path, "repo/overlays/prod/replicas.yaml", WHOLE_OBJECT_PATCH)
    write(tmp_path, "repo/shared/image.yaml", "spec:\n  template:\n    spec:\n      containers: []\n")
    write(tmp_path, "repo/overlays/prod/ops.yaml", "- op: add\n  path: /metadata/labels/tier\n  value: web\n")
    write(tmp_path, "repo/.github/workflows/ci.yaml", "on: push\njobs: {}\n")
    write(tmp_path, "repo/ci/pipeline.yml", "stages: [build, test]\n")
    write(tmp_path, "repo/broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n")
    return tmp_path


def test_skipped_files_are_counted_by_reason_and_left_byte_identical(mixed_repo: Path) -> None:
    before = {p: p.read_bytes() for p in (mixed_repo / "repo").rglob("*") if p.is_file()}
    result = k8sfix("--write", "repo", cwd=mixed_repo)
    assert result.returncode == 2  # broken.yaml
    lines = result.stderr.splitlines()
    notes = dict(line.split(": note: skipped: ") for line in lines if ": note: skipped: " in line)
    not_kubernetes = "no Kubernetes objects (no kind and apiVersion)"
    listed_patch = "a kustomize patch, not a whole object (listed in repo/overlays/prod/kustomization.yaml)"
    assert notes == {
        "repo/chart/Chart.yaml": not_kubernetes,
        "repo/chart/values.yaml": not_kubernetes,
        "repo/ci/pipeline.yml": not_kubernetes,
        "repo/overlays/prod/ops.yaml": "a kustomize patch, not a whole object (JSON 6902 operations)",
        "repo/overlays/prod/replicas.yaml": listed_patch,
        "repo/shared/image.yaml": listed_patch,
    }
    (start,) = [i for i, line in enumerate(lines) if " files scanned: " in line]
    summary = lines[start:]
    assert summary[0] == "11 files scanned: 1 changed, 3 unchanged, 6 skipped, 1 failed"
    assert summary[1] == "skipped: 3 kustomize patch, 3 not Kubernetes"
    assert "repo/chart/templates/deployment.yaml:" in result.stdout  # rendered by Helm, checked, not written
    # app.yaml's 10 unsafe fixes wait, and the chart's 11, made in its template's text
    assert summary[-1] == "21 more fixes with --unsafe-fixes"
    after = {p: p.read_bytes() for p in (mixed_repo / "repo").rglob("*") if p.is_file()}
    changed = sorted(str(p.relative_to(mixed_repo)) for p in before if before[p] != after[p])
    assert changed == ["repo/app.yaml"]


def test_a_patch_named_on_the_command_line_is_skipped_too(mixed_repo: Path) -> None:
    """pre-commit names each staged file: the kustomization beside it still marks it as a patch
    (and a staged template gets its chart rendered and checked)."""
    named = ("repo/overlays/prod/replicas.yaml", "repo/chart/templates/deployment.yaml")
    result = k8sfix("--write", *named, cwd=mixed_repo)
    assert result.returncode == 1, result.stderr  # the chart's findings are left for a human
    assert "skipped: 1 kustomize patch" in result.stderr
    assert "repo/chart/templates/deployment.yaml:" in result.stdout


def test_a_patch_listed_two_levels_up_is_skipped_when_named_or_walked(tmp_path: Path) -> None:
    """A kustomization lists a patch of a directory two levels down: the patch is skipped whether
    the file is named (as pre-commit does) or met in a walk of its own directory."""
    write(
        tmp_path,
        "deploy/kustomization.yaml",
        "resources: [base]\npatches:\n- path: envs/prod/replicas.yaml\n",
    )
    write(tmp_path, "deploy/envs/prod/replicas.yaml", WHOLE_OBJECT_PATCH)
    before = (tmp_path / "deploy/envs/prod/replicas.yaml").read_text()
    for named in ("deploy/envs/prod/replicas.yaml", "deploy/envs"):
        result = k8sfix("--write", named, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "1 kustomize patch" in result.stderr, result.stderr
    assert (tmp_path / "deploy/envs/prod/replicas.yaml").read_text() == before


def test_test_assertions_and_nameless_workloads_are_left_alone(tmp_path: Path) -> None:
    """A kuttl assert file holds what a test expects of an object, and a workload without a name is
    part of one (the API server takes none): fixing either would change what it expects or patches.
    The first is skipped; the second is left unchecked with a note, beside a whole object."""
    nameless = SEED.replace(b"  name: semaphore-demo-ruby-kubernetes\n", b"  labels: {app: web}\n", 1)
    assert nameless != SEED
    write(tmp_path, "e2e/basic/00-assert.yaml", SEED + b"status:\n  readyReplicas: 1\n")
    write(tmp_path, "config/manager_patch.yaml", nameless)
    write(tmp_path, "config/both.yaml", nameless + b"---\n" + SEED)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.yaml")}
    result = k8sfix("--write", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # both.yaml's whole Deployment has findings left
    assert "1 test assertion" in result.stderr
    assert "Deployment without metadata.name is not checked" in result.stderr
    changed = sorted(str(p.relative_to(tmp_path)) for p in before if p.read_bytes() != before[p])
    assert changed == ["config/both.yaml"]
    fixed = (tmp_path / "config/both.yaml").read_bytes()
    assert fixed.startswith(nameless)  # the nameless part untouched, the whole object fixed


def test_summary_counts_fixes_and_findings_left_by_fixer(tmp_path: Path) -> None:
    """A default run applies the safe fixes and counts the unsafe ones it held back; with
    --unsafe-fixes those are fixable too. The seed's container declares no port, so both of its
    probes are unsafe guesses."""
    write(tmp_path, "deploy/app.yaml", SEED)
    write(tmp_path, "deploy/worker.yaml", WORKER)  # no port to probe: a finding without a fix
    select = ("--select", "image-pull-policy,container-probes")
    report = k8sfix(*select, "deploy", cwd=tmp_path).stderr.splitlines()[-3:]
    assert report == [
        "2 files scanned: 0 changed, 2 unchanged, 0 skipped, 0 failed",
        "findings: 4 (container-probes 3, image-pull-policy 1); 1 fixable with --write",
        "2 more fixes with --unsafe-fixes (container-probes 2)",
    ]
    report = k8sfix(*select, "--unsafe-fixes", "deploy", cwd=tmp_path).stderr.splitlines()[-2:]
    assert report == [
        "2 files scanned: 0 changed, 2 unchanged, 0 skipped, 0 failed",
        "findings: 4 (container-probes 3, image-pull-policy 1); 3 fixable with --write --unsafe-fixes",
    ]
    dry = k8sfix(*select, "--diff", "deploy", cwd=tmp_path).stderr.splitlines()[-5:]
    assert dry == [  # one line per fixer, in the order of their codes, as ruff's statistics
        "2 files scanned: 1 would change, 1 unchanged, 0 skipped, 0 failed",
        "image-pull-policy: 1 would be fixed",
        "container-probes:  0 would be fixed, 3 remaining (2 fixable with --unsafe-fixes)",
        "in all: 1 would be fixed, 3 remaining",
        "2 more fixes with --unsafe-fixes",
    ]
    dry = k8sfix(*select, "--diff", "--unsafe-fixes", "deploy", cwd=tmp_path).stderr.splitlines()[-4:]
    assert dry == [
        "2 files scanned: 1 would change, 1 unchanged, 0 skipped, 0 failed",
        "image-pull-policy: 1 would be fixed",
        "container-probes:  2 would be fixed, 1 remaining",
        "in all: 3 would be fixed, 1 remaining",
    ]
    written = k8sfix(*select, "--write", "deploy", cwd=tmp_path).stderr.splitlines()[-5:]
    assert written == [
        "2 files scanned: 1 changed, 1 unchanged, 0 skipped, 0 failed",
        "image-pull-policy: 1 fixed",
        "container-probes:  0 fixed, 3 remaining (2 fixable with --unsafe-fixes)",
        "in all: 1 fixed, 3 remaining",
        "2 more fixes with --unsafe-fixes",
    ]
    written = k8sfix(*select, "--write", "--unsafe-fixes", "deploy", cwd=tmp_path).stderr.splitlines()[-3:]
    assert written == [  # the pull policy was fixed by the run before: nothing of it is left to count
        "2 files scanned: 1 changed, 1 unchanged, 0 skipped, 0 failed",
        "container-probes: 2 fixed, 1 remaining",
        "in all: 2 fixed, 1 remaining",
    ]


def test_two_jobs_print_exactly_what_one_job_prints() -> None:
    """Three projects of the corpus (about 300 files, Services and policies across files among them)."""
    paths = [
        str(CORPUS / "dev" / name) for name in ("istio__istio", "stackrox__kube-linter", "Shopify__kubeaudit")
    ]
    one = k8sfix("--diff", "--jobs", "1", *paths, cwd=ROOT)
    two = k8sfix("--diff", "--jobs", "2", *paths, cwd=ROOT)
    assert one.stdout.count("\n+++ b/") > 100  # plenty to fix
    assert (two.returncode, two.stdout, two.stderr) == (one.returncode, one.stdout, one.stderr)


def test_the_readme_shows_the_summary_of_the_corpus_as_it_is(tmp_path: Path) -> None:
    """The README's example summary is the real one, for the command it names. (The same run
    writes the corpus's Markdown migration report: its summary fits a pull-request description,
    which GitHub cuts at 65,536 characters, and the rest is in a second file.)"""
    readme = (ROOT / "README.md").read_text()
    shown = readme.split("for `k8sfix --diff tests/corpus/dev`:\n\n```text\n", 1)[1].split("```", 1)[0]
    ran = k8sfix("--diff", "--report-html", str(tmp_path / "review.md"), "tests/corpus/dev", cwd=ROOT)
    summary_page = (tmp_path / "review.md").read_text()
    assert len(summary_page) <= 65_536 < len((tmp_path / "review.details.md").read_text())
    assert summary_page.rstrip().endswith("its diff: review.details.md.")
    lines = ran.stderr.splitlines()
    (start,) = [i for i, line in enumerate(lines) if " files scanned: " in line]
    summary = lines[start:]  # the counts, then what --unsafe-fixes would fix as well
    assert summary[-2].startswith("in all: ") and summary[-1].endswith(" more fixes with --unsafe-fixes")
    assert "\n".join(summary) + "\n" == shown


def test_two_jobs_write_what_one_job_writes(tmp_path: Path) -> None:
    source = CORPUS / "dev" / "stackrox__kube-linter"
    for jobs in ("1", "2"):
        shutil.copytree(source, tmp_path / jobs)
        k8sfix("--write", "--quiet", "--jobs", jobs, jobs, cwd=tmp_path)
    trees = [{p.relative_to(tmp_path / j): p.read_bytes() for p in (tmp_path / j).rglob("*")} for j in "12"]
    assert trees[0] == trees[1]
    originals = {p.relative_to(source): p.read_bytes() for p in source.rglob("*")}
    assert trees[0] != originals


def square(offset: int, item: int) -> int:
    return item * item + offset


def test_parallel_results_come_back_in_input_order() -> None:
    items = list(range(200))
    assert list(bulk.ordered_map(square, 1, items, jobs=2)) == [i * i + 1 for i in items]


def test_a_pool_is_started_only_for_enough_items_to_share(monkeypatch: pytest.MonkeyPatch) -> None:
    """One worker for every ITEMS_PER_WORKER items: fewer than two workers' worth stay in this
    process, however many jobs are asked for."""
    pools = helpers.counted_pools(monkeypatch)
    few = list(range(2 * bulk.ITEMS_PER_WORKER - 1))
    assert list(bulk.ordered_map(square, 0, [3], jobs=8)) == [9]
    assert list(bulk.ordered_map(square, 0, few, jobs=8)) == [i * i for i in few]
    assert pools == []
    enough = list(range(3 * bulk.ITEMS_PER_WORKER))
    assert list(bulk.ordered_map(square, 0, enough, jobs=8)) == [i * i for i in enough]
    assert pools == [3]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    assert list(bulk.ordered_map(square, 0, [1, 2, 3], jobs=1, progress=True)) == [1, 4, 9]
    assert piped.getvalue() == ""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.delenv("TERM", raising=False)
    assert list(bulk.ordered_map(square, 0, [1, 2, 3], jobs=1, progress=True)) == [1, 4, 9]
    assert "3/3" in terminal.getvalue()


def test_a_patch_an_overlay_elsewhere_lists_is_skipped_when_named_alone_with_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """How the pre-commit hook runs: the staged patch alone, the repository as --context."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "common").mkdir()
    (tmp_path / "overlays" / "prod").mkdir(parents=True)
    patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 3\n"
    (tmp_path / "common" / "patch.yaml").write_text(patch)
    (tmp_path / "overlays" / "prod" / "kustomization.yaml").write_text(
        "resources: [../../base]\npatches:\n  - path: ../../common/patch.yaml\n"
    )
    assert run(RunOptions(["common/patch.yaml"], write=True, context=["."])) == 0
    assert (tmp_path / "common" / "patch.yaml").read_text() == patch
    assert (
        "skipped: a kustomize patch, not a whole object (listed in ./overlays/prod/kustomization.yaml)"
        in (capsys.readouterr().err)
    )
