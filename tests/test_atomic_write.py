"""Atomic writes (:func:`remediate.run.files.write_atomic`): whatever happens mid-write, the file on disk is
the original or the new one, never a mix, and it keeps its mode.

A writer process is killed with SIGKILL at random moments while it rewrites a large file over and
over; a failure inside the write (``fsync``, ``chmod`` or ``rename`` raising) leaves the original and no
temporary file; a process that dies just before the rename leaves the original, and its temporary
file is hidden (``.k8sfix-*.tmp``), so the next walk does not read it as a manifest.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from remediate.run import files
from tests.conftest import ROOT

OLD = b"# old\n" + b"a: 1\n" * 1_000_000
NEW = b"# new\n" + b"b: 22\n" * 1_000_000

REWRITE_FOREVER = """
import sys
from remediate.run.files import write_atomic

path, old, new = sys.argv[1], open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read()
current = open(path, "rb").read()
print("ready", flush=True)
while True:
    following = new if current == old else old
    write_atomic(path, following, current)
    current = following
"""


def test_killed_mid_write_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    (tmp_path / "old.bin").write_bytes(OLD)
    (tmp_path / "new.bin").write_bytes(NEW)
    work = tmp_path / "work"
    work.mkdir()
    target = work / "manifest.yaml"
    target.write_bytes(OLD)
    target.chmod(0o640)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    chance = random.Random(7)
    seen = {OLD: 0, NEW: 0}
    for _ in range(8):
        writer = subprocess.Popen(
            [
                sys.executable,
                "-c",
                REWRITE_FOREVER,
                str(target),
                str(tmp_path / "old.bin"),
                str(tmp_path / "new.bin"),
            ],
            env=env,
            stdout=subprocess.PIPE,
        )
        assert writer.stdout is not None and writer.stdout.readline() == b"ready\n"
        time.sleep(chance.uniform(0.0, 0.4))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        writer.stdout.close()
        content = target.read_bytes()
        assert content in seen, f"a mix of both: {len(content)} bytes"
        seen[content] += 1
        assert target.stat().st_mode & 0o777 == 0o640
    leftovers = [p.name for p in work.iterdir() if p.name != "manifest.yaml"]
    print(
        f"\nkilled 8 times: old file {seen[OLD]}, new file {seen[NEW]}, temporary files left {len(leftovers)}"
    )
    assert all(name.startswith(".k8sfix-") and name.endswith(".tmp") for name in leftovers)
    assert [c.path for c in files.expand([str(work)])] == [str(target)]  # a leftover is never read


@pytest.mark.parametrize("failing", ["fsync", "chmod", "replace"])
def test_a_failure_inside_the_write_leaves_the_original_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "manifest.yaml"
    target.write_bytes(OLD)

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(OSError, match="No space left"):
        files.write_atomic(str(target), NEW, OLD)
    monkeypatch.undo()
    assert target.read_bytes() == OLD
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.yaml"]


DIE_BEFORE_RENAME = """
import os, sys
from remediate.run import files

os.replace = lambda *args: os._exit(9)  # the process dies between the fsync and the rename
files.write_atomic(sys.argv[1], b"new: 1\\n", open(sys.argv[1], "rb").read())
"""


def test_a_process_dying_before_the_rename_leaves_the_original(tmp_path: Path) -> None:
    target = tmp_path / "manifest.yaml"
    target.write_bytes(b"old: 1\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    died = subprocess.run(
        [sys.executable, "-c", DIE_BEFORE_RENAME, str(target)], check=False, env=env, timeout=60
    )
    assert died.returncode == 9
    assert target.read_bytes() == b"old: 1\n"
    (temporary,) = [p for p in tmp_path.iterdir() if p != target]
    assert temporary.name.startswith(".k8sfix-") and temporary.read_bytes() == b"new: 1\n"


def test_a_write_keeps_the_mode_and_goes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_bytes(b"old: 1\n")
    real.chmod(0o604)
    link = tmp_path / "link.yaml"
    link.symlink_to("real.yaml")
    files.write_atomic(str(link), b"new: 1\n", b"old: 1\n")
    assert link.is_symlink() and real.read_bytes() == b"new: 1\n"
    assert real.stat().st_mode & 0o777 == 0o604
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.yaml", "real.yaml"]
