"""``--context-staged`` (:mod:`remediate.run.staged`): the repository as git's index holds it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from remediate.run import staged
from tests.helpers import k8sfix

if shutil.which("git") is None:
    pytest.skip("git is not installed", allow_module_level=True)


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_the_staged_manifests_are_read_as_staged_not_as_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staged content wins over the working tree; untracked files, links and other names are left out."""
    git("init", "-q", ".", cwd=tmp_path)
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "web.yaml").write_text("kind: ConfigMap  # staged\n")
    (tmp_path / "notes.md").write_text("not a manifest\n")
    os.symlink("apps/web.yaml", tmp_path / "link.yaml")
    git("add", "-A", cwd=tmp_path)
    (tmp_path / "apps" / "web.yaml").write_text("kind: ConfigMap  # on disk only\n")
    (tmp_path / "new.yaml").write_text("kind: ConfigMap  # untracked\n")
    monkeypatch.chdir(tmp_path / "apps")
    assert staged.staged_manifests() == [staged.StagedFile("web.yaml", b"kind: ConfigMap  # staged\n")]


def test_outside_a_repository_it_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    ran = k8sfix("--context-staged", "app.yaml", cwd=tmp_path)
    assert ran.returncode == 2
    assert ran.stderr.decode().startswith("k8sfix: error: --context-staged: fatal: not a git repository")


def test_a_file_named_or_given_as_context_is_not_read_from_the_index_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --context-staged and --context both, a file is consulted once: as --context reads it."""
    from remediate.cli.commands import Input, _staged_context
    from remediate.run.files import Candidate

    git("init", "-q", ".", cwd=tmp_path)
    for name in ("app.yaml", "policy.yaml", "service.yaml"):
        (tmp_path / name).write_text("kind: ConfigMap\n")
    git("add", "-A", cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    consulted = _staged_context([Input("app.yaml", "app.yaml")], [Candidate("policy.yaml")])
    assert [item.path for item in consulted] == ["service.yaml"]
