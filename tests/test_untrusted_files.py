"""A repository is untrusted input: nothing it holds may make k8sfix write outside what the user
named, replace a link or a device, or hang (:mod:`remediate.run.files`, :mod:`remediate.run.delivery`).

Each case was reproduced against the previous release (which wrote through the link, replaced
``/dev/null``, hung on a FIFO, read a sparse file whole, took a file's owner, broke hard links and
lost an editor's save); each is run here through the real command line where it can be.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from remediate.run import files
from remediate.yaml.source import TooLarge, read_regular
from tests.conftest import ROOT
from tests.helpers import MEASURED, k8sfix

POD = b"apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: app, image: nginx}]\n"
SELECT = ("--select", "image-pull-policy")
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown to another user)")


def fixed(data: bytes) -> bool:
    return b"imagePullPolicy: Always" in data


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    top = tmp_path / "repo"
    top.mkdir()
    (top / "app.yaml").write_bytes(POD)
    return top


# -- links -----------------------------------------------------------------------------------


def test_a_link_out_of_the_directory_walked_is_skipped_and_its_target_untouched(repo: Path) -> None:
    outside = repo.parent / "elsewhere.yaml"
    outside.write_bytes(POD)
    (repo / "link.yaml").symlink_to(outside)
    result = k8sfix("--write", *SELECT, ".", cwd=repo)
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert f"link.yaml: note: skipped: a symbolic link out of the directory walked (to {outside})" in stderr
    assert "skipped: 1 a symbolic link out of the directory walked" in stderr
    assert outside.read_bytes() == POD
    assert fixed((repo / "app.yaml").read_bytes())


def test_a_link_inside_the_directory_walked_is_read_once_and_stays_a_link(repo: Path) -> None:
    (repo / "sub").mkdir()
    (repo / "sub" / "alias.yaml").symlink_to("../app.yaml")
    result = k8sfix("--write", *SELECT, ".", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert b"changed on disk" not in result.stderr
    assert b"1 file scanned" in result.stderr
    assert (repo / "sub" / "alias.yaml").is_symlink()
    assert fixed((repo / "app.yaml").read_bytes())


def test_a_link_named_on_the_command_line_is_written_through_and_stays_a_link(repo: Path) -> None:
    outside = repo.parent / "real.yaml"
    outside.write_bytes(POD)
    (repo / "link.yaml").symlink_to(outside)
    result = k8sfix("--write", *SELECT, "link.yaml", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert (repo / "link.yaml").is_symlink() and os.readlink(repo / "link.yaml") == str(outside)
    assert fixed(outside.read_bytes())


@pytest.mark.parametrize(
    "names",
    [("app.yaml", "./app.yaml"), (".", "sub/"), ("one.yaml", "two.yaml"), ("app.yaml", "hard.yaml")],
    ids=["same-path-twice", "directory-and-subdirectory", "two-links", "hard-link"],
)
def test_two_names_of_one_file_are_processed_once(repo: Path, names: tuple[str, str]) -> None:
    (repo / "sub").mkdir()
    (repo / "sub" / "inner.yaml").write_bytes(POD)
    (repo / "one.yaml").symlink_to("app.yaml")
    (repo / "two.yaml").symlink_to("app.yaml")
    os.link(repo / "app.yaml", repo / "hard.yaml")
    result = k8sfix("--write", "--jobs", "1", *SELECT, *names, cwd=repo)
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "changed on disk" not in stderr and "error" not in stderr
    expected = {
        ("app.yaml", "./app.yaml"): 1,
        (".", "sub/"): 2,
        ("one.yaml", "two.yaml"): 1,
        ("app.yaml", "hard.yaml"): 1,
    }
    assert f"{expected[names]} file{'s' if expected[names] > 1 else ''} scanned" in stderr
    assert fixed((repo / "app.yaml").read_bytes())


# -- special files ---------------------------------------------------------------------------


def test_a_fifo_in_the_tree_or_in_the_context_is_skipped_without_being_opened(repo: Path) -> None:
    os.mkfifo(repo / "pipe.yaml")
    (repo / "ctx").mkdir()
    os.mkfifo(repo / "ctx" / "pipe.yaml")
    result = k8sfix(
        "--write", *SELECT, "--context", "ctx", ".", cwd=repo, process=True
    )  # a hang fails by the timeout
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "pipe.yaml: note: skipped: not a regular file (a FIFO): not read" in stderr
    assert stat.S_ISFIFO(os.lstat(repo / "pipe.yaml").st_mode)
    assert fixed((repo / "app.yaml").read_bytes())


def test_a_socket_and_a_link_to_a_device_are_skipped(repo: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(repo / "sock.yaml"))
    (repo / "zero.yaml").symlink_to("/dev/zero")
    try:
        result = k8sfix("--write", *SELECT, ".", "zero.yaml", cwd=repo, process=True)
    finally:
        server.close()
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "sock.yaml: note: skipped: not a regular file (a socket)" in stderr
    assert "zero.yaml: note: skipped: not a regular file (a character device)" in stderr
    assert "Traceback" not in stderr and "MemoryError" not in stderr
    assert os.readlink(repo / "zero.yaml") == "/dev/zero"


def test_a_repository_fifo_as_kustomization_or_gitignore_does_not_hang(repo: Path) -> None:
    for name in ("kustomization.yaml", ".gitignore"):
        os.mkfifo(repo / name)
    result = k8sfix("--write", *SELECT, ".", cwd=repo, process=True)
    assert result.returncode == 1, result.stderr
    assert fixed((repo / "app.yaml").read_bytes())


def test_a_fifo_as_the_config_is_a_config_error_not_a_hang_nor_a_parent_s_config(repo: Path) -> None:
    (repo.parent / ".k8sfix.yaml").write_text("select: [container-probes]\n")
    os.mkfifo(repo / ".k8sfix.yaml")
    result = k8sfix("--write", ".", cwd=repo, process=True)
    assert result.returncode == 2
    assert (
        result.stderr.decode() == ".k8sfix.yaml:1:1: error: cannot read config: not a regular file (a FIFO)\n"
    )


def test_a_dangling_link_out_of_the_tree_is_skipped_not_an_error(repo: Path) -> None:
    (repo / "gone.yaml").symlink_to("/nonexistent/app.yaml")
    result = k8sfix("--write", *SELECT, ".", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert "gone.yaml: note: skipped: a symbolic link out of the directory walked" in result.stderr.decode()


def test_an_invalid_gitignore_line_is_passed_over_as_git_does(repo: Path) -> None:
    subprocess.run(["git", "init", "-q", "."], cwd=repo, check=True)
    (repo / ".gitignore").write_text("\\\n!\nignored.yaml\n")
    (repo / "ignored.yaml").write_bytes(POD)
    result = k8sfix("--write", *SELECT, ".", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert (repo / "ignored.yaml").read_bytes() == POD and fixed((repo / "app.yaml").read_bytes())
    bad = k8sfix("--exclude", "!", ".", cwd=repo)
    assert (
        bad.returncode == 2
        and bad.stderr.decode() == "k8sfix: error: --exclude '!': not a .gitignore pattern\n"
    )


def test_a_template_outside_the_config_s_directory_is_a_config_error(repo: Path) -> None:
    outside = repo.parent / "own.j2"
    outside.write_text("kind: NetworkPolicy\n")
    (repo / "link.j2").symlink_to(outside)
    (repo / "app.yaml").write_bytes(WEB)
    for template in ("../own.j2", str(outside), "~/own.j2", "link.j2"):
        (repo / ".k8sfix.yaml").write_text(f"fixers:\n  network-policy:\n    template: {template!r}\n")
        result = k8sfix("--select", "network-policy", "app.yaml", cwd=repo)
        assert result.returncode == 2, template
        assert f"error: fixers.network-policy.template: the template {template!r} must be a path inside" in (
            result.stderr.decode()
        )


def test_a_huge_sparse_file_is_refused_by_its_size_before_it_is_read(repo: Path) -> None:
    with open(repo / "sparse.yaml", "wb") as handle:
        handle.truncate(3 * 1024**3)  # 3 GB that take no disk
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", MEASURED, "--write", *SELECT, "."],
        cwd=repo,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert "sparse.yaml:1:1: error: 3072.0 MB, larger than the 20 MB k8sfix reads in one file" in stderr
    rss = int(stderr.strip().splitlines()[-1].split()[2])
    print(f"\n3 GB sparse file refused; max RSS {rss} MB")
    assert rss < 500  # it was 9.4 GB: the whole file was read before the size was looked at
    assert fixed((repo / "app.yaml").read_bytes())


def test_a_file_is_read_whole_up_to_the_limit_and_refused_one_byte_over(tmp_path: Path) -> None:
    (tmp_path / "ten.yaml").write_bytes(b"a: 123456\n")
    data, status = read_regular(str(tmp_path / "ten.yaml"), limit=10)
    assert (data, status.st_size) == (b"a: 123456\n", 10)
    with pytest.raises(TooLarge):
        read_regular(str(tmp_path / "ten.yaml"), limit=9)


@pytest.mark.skipif(not os.path.isfile("/proc/self/status"), reason="needs Linux's /proc")
def test_a_file_that_reports_no_size_is_read_to_its_end_and_still_bounded() -> None:
    assert os.stat("/proc/self/status").st_size == 0  # its size is known only by reading it
    data, _ = read_regular("/proc/self/status")
    assert data.startswith(b"Name:") and data.endswith(b"\n")
    with pytest.raises(TooLarge):
        read_regular("/proc/self/status", limit=64)


# -- what a write keeps ----------------------------------------------------------------------


@ROOT_ONLY
def test_a_write_keeps_the_owner_and_group_of_the_file(repo: Path) -> None:
    target = repo / "app.yaml"
    os.chown(target, 65534, 65534)
    result = k8sfix("--write", *SELECT, "app.yaml", cwd=repo)
    assert result.returncode == 1, result.stderr
    status = target.stat()
    assert (status.st_uid, status.st_gid) == (65534, 65534)
    assert fixed(target.read_bytes())


def test_a_file_whose_owner_cannot_be_kept_is_rewritten_in_place(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not root, rewriting someone else's writable file: a new file would be ours, so the file itself
    is rewritten (its inode, and so its owner, stays)."""
    target = repo / "app.yaml"
    inode = target.stat().st_ino
    monkeypatch.setattr(files, "_can_give_owner", lambda status: False)
    files.write_atomic(str(target), POD + b"# fixed\n", POD)
    assert target.stat().st_ino == inode
    assert target.read_bytes() == POD + b"# fixed\n"
    assert sorted(p.name for p in repo.iterdir()) == ["app.yaml"]


def test_a_file_with_several_hard_links_is_updated_for_every_link(repo: Path) -> None:
    (repo / "other").mkdir()
    os.link(repo / "app.yaml", repo / "other" / "same.yaml")
    result = k8sfix("--write", *SELECT, "app.yaml", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert fixed((repo / "other" / "same.yaml").read_bytes())
    assert (repo / "app.yaml").stat().st_ino == (repo / "other" / "same.yaml").stat().st_ino


def test_an_edit_saved_while_the_new_file_is_prepared_is_not_lost(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check that the file still holds what was read comes after the temporary file is written
    and flushed (the slow part), right before the rename; it used to come before."""
    target = repo / "app.yaml"
    real = files._temporary_copy

    def prepare_while_an_editor_saves(*args: object) -> str:
        temporary = real(*args)  # type: ignore[arg-type]
        target.write_bytes(POD + b"# saved by an editor meanwhile\n")
        return temporary

    monkeypatch.setattr(files, "_temporary_copy", prepare_while_an_editor_saves)
    with pytest.raises(files.ChangedOnDisk, match="changed on disk"):
        files.write_atomic(str(target), POD + b"# fixed\n", POD)
    assert target.read_bytes() == POD + b"# saved by an editor meanwhile\n"
    assert sorted(p.name for p in repo.iterdir()) == ["app.yaml"]


def test_a_read_only_directory_is_refused_even_for_root(repo: Path) -> None:
    (repo / "locked").mkdir()
    (repo / "locked" / "app.yaml").write_bytes(POD)
    (repo / "locked").chmod(0o555)
    try:
        result = k8sfix("--write", *SELECT, "locked", cwd=repo)
    finally:
        (repo / "locked").chmod(0o755)
    assert result.returncode == 2
    assert "locked/app.yaml:1:1: error: not written: the directory is read-only" in result.stderr.decode()
    assert (repo / "locked" / "app.yaml").read_bytes() == POD
    assert sorted(p.name for p in (repo / "locked").iterdir()) == ["app.yaml"]


# -- policy-file -----------------------------------------------------------------------------

WEB = b"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - {name: web, image: nginx}
"""


def policy_repo(repo: Path, policy_file: str) -> None:
    (repo / "app.yaml").write_bytes(WEB)
    config = f"fixers:\n  network-policy:\n    policy-file: {policy_file!r}\n"
    (repo / ".k8sfix.yaml").write_text(config + "unsafe-fixes: true\n")  # new policies are unsafe fixes


@pytest.mark.parametrize(
    "policy_file, message",
    [
        ("/dev/null", "must be a path inside each workload's directory"),
        ("../../../etc/np.yaml", "must be a path inside each workload's directory"),
        ("policies.json", "must be a YAML file (.yaml or .yml)"),
    ],
)
def test_a_policy_file_outside_the_directory_or_not_yaml_is_a_config_error(
    repo: Path, policy_file: str, message: str
) -> None:
    policy_repo(repo, policy_file)
    result = k8sfix("--write", "--select", "network-policy", ".", cwd=repo)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert f".k8sfix.yaml:3:18: error: fixers.network-policy.policy-file: {policy_file!r} {message}" in stderr
    assert (repo / "app.yaml").read_bytes() == WEB


def test_a_policy_file_that_links_out_of_the_directory_is_not_written(repo: Path) -> None:
    outside = repo.parent / "outside.yaml"
    outside.write_bytes(b"# not k8sfix's to change\n")
    policy_repo(repo, "network-policies.yaml")
    (repo / "network-policies.yaml").symlink_to(outside)
    result = k8sfix("--write", "--select", "network-policy", "app.yaml", cwd=repo)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert f"web-allow-all not added: it resolves to {outside}, outside ." in stderr
    assert outside.read_bytes() == b"# not k8sfix's to change\n"
    assert (repo / "network-policies.yaml").is_symlink()
    assert "(fixed)" not in result.stdout.decode()  # the policy did not get there: nothing was fixed
    assert "\nnetwork-policy: 0 fixed, 1 remaining\nin all: 0 fixed, 1 remaining\n" in stderr


def test_a_policy_file_of_comments_only_receives_the_policies(repo: Path) -> None:
    policy_repo(repo, "network-policies.yaml")
    (repo / "network-policies.yaml").write_text("# NetworkPolicies of this directory\n")
    result = k8sfix("--write", "--select", "network-policy", ".", cwd=repo)
    assert result.returncode == 1, result.stderr
    text = (repo / "network-policies.yaml").read_text()
    assert text.startswith("# NetworkPolicies of this directory\n") and "name: web-allow-all" in text


@ROOT_ONLY
def test_a_new_policy_file_belongs_to_the_owner_of_its_directory(repo: Path) -> None:
    policy_repo(repo, "policies/network.yaml")
    os.chown(repo, 65534, 65534)
    result = k8sfix("--write", "--select", "network-policy", "app.yaml", cwd=repo)
    assert result.returncode == 1, result.stderr
    for made in (repo / "policies", repo / "policies" / "network.yaml"):
        assert (made.stat().st_uid, made.stat().st_gid) == (65534, 65534), made


def test_a_policy_file_that_is_a_fifo_is_neither_read_nor_replaced(repo: Path) -> None:
    policy_repo(repo, "network-policies.yaml")
    os.mkfifo(repo / "network-policies.yaml")
    result = k8sfix("--write", "--select", "network-policy", "app.yaml", cwd=repo, process=True)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert "not a regular file (a FIFO)" in stderr
    assert stat.S_ISFIFO(os.lstat(repo / "network-policies.yaml").st_mode)
