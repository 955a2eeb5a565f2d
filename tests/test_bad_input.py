"""Input k8sfix does not understand, run through the real command line next to a good file.

In every case the bad file gets a clear message naming it (with ``line:col`` where there is one), is
left byte for byte as it was, the good file beside it is still fixed, and the exit code is 2; a BOM
and an empty file are not errors. The 50 MB file prints its time and memory (``pytest -s``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from remediate.run import files
from remediate.yaml.source import MAX_BYTES
from tests.conftest import ROOT
from tests.helpers import MEASURED, k8sfix
from tests.test_cli import SEED

POD = b"apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: app, image: nginx}]\n"


def billion_laughs() -> bytes:
    lines = ['  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        name, previous = chr(97 + level), chr(96 + level)
        lines.append(f"  {name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return (
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n"
        + "\n".join(lines).encode()
        + b"\n"
    )


BAD = {
    "invalid YAML": (
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n",
        "5:1: error: invalid YAML",
    ),
    "duplicate keys": (
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n",
        '5:3: error: duplicate key "name" (first defined at line 4, column 3)',
    ),
    "tab indentation": (
        b"apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n",
        (
            "4:1: error: invalid YAML: while scanning for the next token, found character that cannot start "
            "any token (a tab here: YAML allows only spaces"
        ),
    ),
    "not UTF-8": (POD.replace(b"web", b"caf\xe9"), "3:21: error: not UTF-8: byte 0xe9 cannot be decoded"),
    "alias bomb": (billion_laughs(), "1:1: error: aliases expand this document to 490,329,074 nodes"),
    "deep nesting": (
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  x: "
        + b"[" * 100_000
        + b"]" * 100_000,
        "6:260: error: nesting deeper than 256 levels",
    ),
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "app.yaml").write_bytes(SEED)
    return tmp_path


def assert_good_file_fixed(repo: Path) -> None:
    assert b"imagePullPolicy: Always" in (repo / "app.yaml").read_bytes()


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[bytes]]:
    """One run over a directory holding every bad file of :data:`BAD` and a good one."""
    top = tmp_path_factory.mktemp("bad")
    (top / "app.yaml").write_bytes(SEED)
    for number, (data, _) in enumerate(BAD.values()):
        (top / f"bad{number}.yaml").write_bytes(data)
    return top, k8sfix("--write", ".", cwd=top)


@pytest.mark.parametrize("case", BAD)
def test_bad_file_is_reported_untouched_and_the_rest_is_fixed(
    bad_run: tuple[Path, subprocess.CompletedProcess[bytes]], case: str
) -> None:
    top, result = bad_run
    number = list(BAD).index(case)
    data, message = BAD[case]
    assert result.returncode == 2
    assert f"bad{number}.yaml:{message}" in result.stderr.decode()
    assert (top / f"bad{number}.yaml").read_bytes() == data
    assert_good_file_fixed(top)


def test_a_bom_is_kept_and_the_file_fixed(repo: Path) -> None:
    (repo / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + POD)
    result = k8sfix("--write", ".", cwd=repo)
    assert result.returncode == 1, result.stderr
    fixed = (repo / "bom.yaml").read_bytes()
    assert fixed.startswith(b"\xef\xbb\xbfapiVersion: v1\n") and b"imagePullPolicy: Always" in fixed
    assert fixed.count(b"\xef\xbb\xbf") == 1


def test_an_empty_file_is_fine(repo: Path) -> None:
    (repo / "empty.yaml").write_bytes(b"")
    result = k8sfix("--write", ".", cwd=repo)
    assert result.returncode == 1 and b"empty.yaml" not in result.stderr
    assert (repo / "empty.yaml").read_bytes() == b""
    assert_good_file_fixed(repo)


def test_a_symlink_loop_is_an_error(repo: Path) -> None:
    (repo / "loop1.yaml").symlink_to("loop2.yaml")
    (repo / "loop2.yaml").symlink_to("loop1.yaml")
    (repo / "sub").mkdir()
    (repo / "sub" / "up").symlink_to("..")  # a directory loop: not followed by the walk
    result = k8sfix("--write", ".", cwd=repo)
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert "loop1.yaml:1:1: error: cannot read: Too many levels of symbolic links" in stderr
    assert "loop2.yaml:1:1: error: cannot read: Too many levels of symbolic links" in stderr
    assert_good_file_fixed(repo)


def test_a_read_only_file_is_not_overwritten_even_by_root(repo: Path) -> None:
    (repo / "locked.yaml").write_bytes(POD)
    (repo / "locked.yaml").chmod(0o444)
    result = k8sfix("--write", ".", cwd=repo)
    assert result.returncode == 2
    assert "locked.yaml:1:1: error: not written: the file is read-only" in result.stderr.decode()
    assert (repo / "locked.yaml").read_bytes() == POD
    assert (repo / "locked.yaml").stat().st_mode & 0o777 == 0o444
    assert sorted(p.name for p in repo.iterdir()) == ["app.yaml", "locked.yaml"]  # no temporary file left
    assert_good_file_fixed(repo)


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="running as root: permission bits do not stop root from reading (the read error is tested below)",
)
def test_unreadable_files_and_directories_are_errors(repo: Path) -> None:
    secret = repo / "secret.yaml"
    secret.write_bytes(POD)
    secret.chmod(0o000)
    (repo / "closed").mkdir()
    (repo / "closed" / "inside.yaml").write_bytes(POD)
    (repo / "closed").chmod(0o000)
    try:
        result = k8sfix("--write", ".", cwd=repo)
    finally:
        secret.chmod(0o644)
        (repo / "closed").chmod(0o755)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert "secret.yaml:1:1: error: cannot read: Permission denied" in stderr
    assert "closed:1:1: error: cannot read directory: Permission denied" in stderr
    assert secret.read_bytes() == POD
    assert_good_file_fixed(repo)


def test_a_directory_that_cannot_be_listed_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever runs the test (root lists any directory): listing fails as it does for a chmod 000 one.
    Walked last, or named on the command line, such a directory used to be left out without a word."""
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "app.yaml").write_bytes(SEED)
    (tmp_path / "zclosed").mkdir()
    real = os.scandir

    def scandir(path: str) -> object:
        if os.path.basename(path) in ("zclosed", "top"):
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = {(os.path.relpath(c.path, tmp_path), c.error) for c in files.expand([str(tmp_path)])}
    assert found == {("open/app.yaml", None), ("zclosed", "cannot read directory: Permission denied")}
    (tmp_path / "top").mkdir()
    assert [c.error for c in files.expand([str(tmp_path / "top")])] == [
        "cannot read directory: Permission denied"
    ]


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs Linux's /proc/self/mem")
def test_a_file_that_fails_to_read_is_an_error(repo: Path) -> None:
    """A read error whoever runs the test, root included: reading /proc/self/mem at offset 0 fails (EIO).
    The link is named (a walk would skip it: it leads out of the directory walked)."""
    (repo / "mem.yaml").symlink_to("/proc/self/mem")
    result = k8sfix("--write", ".", "mem.yaml", cwd=repo)
    assert result.returncode == 2
    assert "mem.yaml:1:1: error: cannot read: Input/output error" in result.stderr.decode()
    assert os.readlink(repo / "mem.yaml") == "/proc/self/mem"
    assert_good_file_fixed(repo)


def test_a_file_changed_on_disk_is_not_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "app.yaml"
    target.write_bytes(SEED)
    edited = SEED + b"# edited by someone else meanwhile\n"
    target.write_bytes(edited)
    with pytest.raises(files.ChangedOnDisk, match="changed on disk"):
        files.write_atomic(str(target), b"new content\n", SEED)
    assert target.read_bytes() == edited
    assert [p.name for p in tmp_path.iterdir()] == ["app.yaml"]


CHANGE_WHILE_RUNNING = """
import sys
from remediate.cli import commands
from remediate.run import runner
from remediate.cli.main import entry

real = runner.process
def process_then_edit(engine, source, **options):  # someone saves the file while k8sfix works on it
    result = real(engine, source, **options)
    if source.name.endswith("edited.yaml"):
        with open("edited.yaml", "ab") as handle:
            handle.write(b"# saved meanwhile\\n")
    return result
commands.process = process_then_edit
sys.argv = ["k8sfix", "--write", "--jobs", "1", "."]  # the patch lives in this process
entry()
"""


def test_a_file_changed_while_k8sfix_runs_is_not_overwritten(repo: Path) -> None:
    (repo / "edited.yaml").write_bytes(POD)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", CHANGE_WHILE_RUNNING],
        check=False,
        cwd=repo,
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert (
        "edited.yaml:1:1: error: not written: the file changed on disk while k8sfix ran"
        in result.stderr.decode()
    )
    assert (repo / "edited.yaml").read_bytes() == POD + b"# saved meanwhile\n"
    assert sorted(p.name for p in repo.iterdir()) == ["app.yaml", "edited.yaml"]
    assert_good_file_fixed(repo)


def test_a_50_mb_file_is_refused_with_its_size(repo: Path) -> None:
    document = SEED.split(b"---")[0].rstrip() + b"\n"
    copies = 50 * 1024 * 1024 // (len(document) + 4) + 1
    data = b"---\n".join([document] * copies)
    (repo / "huge.yaml").write_bytes(data)
    size = len(data)
    assert size > MAX_BYTES
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", MEASURED, "--write", "."],
        check=False,
        cwd=repo,
        capture_output=True,
        env=env,
        timeout=300,
    )
    seconds = time.perf_counter() - started
    stderr = result.stderr.decode()
    rss = stderr.strip().splitlines()[-1]
    print(f"\n{size / 1024 / 1024:.1f} MB file: exit {result.returncode} in {seconds:.1f} s, {rss}")
    assert result.returncode == 2
    assert f"huge.yaml:1:1: error: {size / 1024 / 1024:.1f} MB, larger than the 20 MB k8sfix reads" in stderr
    assert (repo / "huge.yaml").read_bytes() == data
    assert_good_file_fixed(repo)
