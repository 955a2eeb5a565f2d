"""The hooks of ``.pre-commit-hooks.yaml``, run by the real ``pre-commit`` in a real git repository.

pre-commit installs a hook from a git repository at a revision, so this checkout as it is now
(uncommitted work included) is copied into a repository with one commit. Its commit date and
author are fixed, so the same tree gives the same revision, and pre-commit reuses the hook
environment it installed before (kept in pytest's cache directory, one at a time) until the code
changes. Installing
it runs uv (pre-commit-uv, in the test extra, as many users have it) rather than pip: the same
install from the same package metadata, in a fifth of the time.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

PRE_COMMIT = [sys.executable, "-m", "pre_commit"]
HOOK_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "remediate", "fixers")
"""What pip needs to install k8sfix, and the hook definitions."""
SEED = (ROOT / "examples" / "deployment.yml").read_bytes()
FIXED_IDENTITY = {
    "GIT_AUTHOR_NAME": "k8sfix tests",
    "GIT_AUTHOR_EMAIL": "tests@k8sfix.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "k8sfix tests",
    "GIT_COMMITTER_EMAIL": "tests@k8sfix.invalid",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}

pytestmark = pytest.mark.xdist_group("pre-commit")
"""One worker runs them all: the hook repository is locked while a module uses it, so a second
worker would only wait for the lock."""

pytest.importorskip("pre_commit", reason="pre-commit is in the test extra: pip install -e '.[test]'")
if shutil.which("git") is None:
    pytest.skip("git is not installed", allow_module_level=True)


def git(*args: str, cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def hooks(request: pytest.FixtureRequest) -> Iterator[tuple[Path, str, dict[str, str]]]:
    """A git repository holding this checkout: its path, its revision, and the environment to run in."""
    cache = Path(request.config.cache.mkdir("k8sfix-pre-commit"))
    env = {**os.environ, **FIXED_IDENTITY, "PRE_COMMIT_HOME": str(cache / "home"), "GIT_CONFIG_NOSYSTEM": "1"}
    env.pop("PRE_COMMIT", None)
    with open(cache / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # test runs in parallel would rebuild each other's repository
        repository = cache / "hook-repository"
        shutil.rmtree(repository, ignore_errors=True)
        repository.mkdir()
        for name in HOOK_FILES:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, repository / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, repository / name)
        git("-c", "init.defaultBranch=main", "init", "-q", cwd=repository, env=env)
        git("add", "-A", cwd=repository, env=env)
        git("commit", "-q", "-m", "k8sfix under test", cwd=repository, env=env)
        revision = git("rev-parse", "HEAD", cwd=repository, env=env).stdout.strip()
        home = Path(env["PRE_COMMIT_HOME"])
        marker = home / "k8sfix-revision"
        if not marker.is_file() or marker.read_text() != revision:  # one hook environment, not one per tree
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir()
            marker.write_text(revision)
        yield repository, revision, env


def project(tmp_path: Path, hooks: tuple[Path, str, dict[str, str]], hook_id: str) -> Path:
    """A git repository whose ``.pre-commit-config.yaml`` uses one hook of this checkout."""
    repository, revision, env = hooks
    root = tmp_path / "project"
    root.mkdir()
    git("-c", "init.defaultBranch=main", "init", "-q", cwd=root, env=env)
    (root / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repository}\n    rev: {revision}\n    hooks:\n      - id: {hook_id}\n"
    )
    return root


def fixed_by_the_command_line(directory: Path, data: bytes, *options: str) -> bytes:
    directory.mkdir()
    (directory / "app.yaml").write_bytes(data)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "remediate", "--write", *options, "app.yaml"]
    subprocess.run(command, cwd=directory, env=env, capture_output=True, check=False)
    return (directory / "app.yaml").read_bytes()


SAFE_FIXES = (b"imagePullPolicy: Always", b"requests:")
UNSAFE_FIXES = (b"limits:", b"readinessProbe:", b"runAsNonRoot: true", b"kind: NetworkPolicy")


def test_the_fixing_hook_rewrites_the_manifest_fails_the_commit_then_lets_it_through(
    tmp_path: Path, hooks: tuple[Path, str, dict[str, str]]
) -> None:
    """By default the hook applies the safe fixes and keeps failing while the findings whose fixes
    are unsafe remain; a config with ``unsafe-fixes: true`` makes it apply those too, and then the
    commit goes through."""
    env = hooks[2]
    root = project(tmp_path, hooks, "k8sfix")
    subprocess.run([*PRE_COMMIT, "install"], cwd=root, env=env, capture_output=True, check=True)
    (root / "deploy").mkdir()
    (root / "deploy" / "app.yaml").write_bytes(SEED)
    (root / "README.md").write_text("not a manifest\n")
    git("add", "-A", cwd=root, env=env)

    first = git("commit", "-m", "add the app", cwd=root, env=env, check=False)
    assert first.returncode != 0, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout + first.stderr
    assert git("rev-parse", "--verify", "-q", "HEAD", cwd=root, env=env, check=False).returncode != 0
    safe = (root / "deploy" / "app.yaml").read_bytes()
    assert all(fix in safe for fix in SAFE_FIXES)
    assert not any(fix in safe for fix in UNSAFE_FIXES)
    assert safe == fixed_by_the_command_line(tmp_path / "direct", SEED)

    git("add", "-A", cwd=root, env=env)
    held = git("commit", "-m", "add the app", cwd=root, env=env, check=False)
    assert held.returncode != 0, held.stdout + held.stderr  # the unsafe findings are still there
    assert "files were modified by this hook" not in held.stdout + held.stderr
    assert "(fixable with --unsafe-fixes)" in held.stdout + held.stderr
    assert git("rev-parse", "--verify", "-q", "HEAD", cwd=root, env=env, check=False).returncode != 0
    assert (root / "deploy" / "app.yaml").read_bytes() == safe

    (root / ".k8sfix.yaml").write_text("unsafe-fixes: true\n")
    git("add", "-A", cwd=root, env=env)
    unsafe = git("commit", "-m", "add the app", cwd=root, env=env, check=False)
    assert unsafe.returncode != 0, unsafe.stdout + unsafe.stderr
    assert "files were modified by this hook" in unsafe.stdout + unsafe.stderr
    fixed = (root / "deploy" / "app.yaml").read_bytes()
    assert all(fix in fixed for fix in SAFE_FIXES + UNSAFE_FIXES)
    assert fixed == fixed_by_the_command_line(tmp_path / "direct-unsafe", safe, "--unsafe-fixes")

    git("add", "-A", cwd=root, env=env)
    second = git("commit", "-m", "add the app", cwd=root, env=env, check=False)
    assert second.returncode == 0, second.stdout + second.stderr
    assert git("show", "HEAD:deploy/app.yaml", cwd=root, env=env).stdout.encode() == fixed


def test_the_check_hook_fails_and_changes_nothing(
    tmp_path: Path, hooks: tuple[Path, str, dict[str, str]]
) -> None:
    env = hooks[2]
    root = project(tmp_path, hooks, "k8sfix-check")
    (root / "app.yaml").write_bytes(SEED)
    git("add", "-A", cwd=root, env=env)
    command = [*PRE_COMMIT, "run", "k8sfix-check", "--files", "app.yaml"]
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "K8S001 Deployment/semaphore-demo-ruby-kubernetes" in result.stdout
    assert (root / "app.yaml").read_bytes() == SEED


def test_a_staged_helper_of_a_chart_has_its_chart_rendered_and_checked(
    tmp_path: Path, hooks: tuple[Path, str, dict[str, str]]
) -> None:
    """A commit that changes only ``templates/_helpers.tpl`` can change every object of the chart:
    the hook runs on it, and renders and checks the chart (with helm-python-sdk added to the hook)."""
    env = hooks[2]
    root = project(tmp_path, hooks, "k8sfix-check")
    config = root / ".pre-commit-config.yaml"
    config.write_text(config.read_text() + "        additional_dependencies: [helm-python-sdk]\n")
    shutil.copytree(ROOT / "tests" / "charts" / "helm-create", root / "web")
    git("add", "-A", cwd=root, env=env)
    command = [*PRE_COMMIT, "run", "k8sfix-check", "--files", "web/templates/_helpers.tpl"]
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "web/templates/deployment.yaml:" in result.stdout, result.stdout + result.stderr
    assert "Deployment/release-name-web" in result.stdout


POLICY = b"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: all-traffic
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress: [{}]
  egress: [{}]
"""


def test_the_hooks_consult_the_repository_as_the_commit_will_hold_it(
    tmp_path: Path, hooks: tuple[Path, str, dict[str, str]]
) -> None:
    """An untracked NetworkPolicy covers the staged Deployment on disk only: CI, which sees what is
    committed, would report the pods uncovered, so the hook does too; staged, it counts."""
    env = hooks[2]
    root = project(tmp_path, hooks, "k8sfix-check")
    (root / "deploy").mkdir()
    (root / "deploy" / "app.yaml").write_bytes(SEED)
    git("add", "-A", cwd=root, env=env)
    (root / "policy.yaml").write_bytes(POLICY)  # untracked
    command = [*PRE_COMMIT, "run", "k8sfix-check", "--files", "deploy/app.yaml"]
    untracked = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    assert "K8S005" in untracked.stdout, untracked.stdout + untracked.stderr
    git("add", "policy.yaml", cwd=root, env=env)
    staged = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    assert "K8S001" in staged.stdout and "K8S005" not in staged.stdout, staged.stdout + staged.stderr
