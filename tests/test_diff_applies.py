"""Every diff k8sfix prints applies: ``k8sfix --diff . | patch -p1`` and ``git apply`` give exactly the
files ``k8sfix --write .`` writes, for the file names and contents that broke them before (a name
with a space, a tab or a newline; values holding U+2028 or NEL; a CR-only file; a last line ``---``
without a final newline; a new policy file in a subdirectory), see :mod:`remediate.output.patch`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from remediate.output import patch
from tests.helpers import k8sfix

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels: {{app: {name}}}\n"
    "spec:\n  containers:\n  - name: app\n    image: nginx\n"
)
FILES = {
    "with space.yaml": POD.format(name="space"),
    "tab\there.yaml": POD.format(name="tab"),
    "new\nline.yaml": POD.format(name="newline"),
    'quote"and\\slash.yaml': POD.format(name="quote"),
    "café.yaml": POD.format(name="cafe"),
    "separators.yaml": POD.format(name="separators").replace(
        "  labels:", '  annotations: {note: "one\u2028two\x85three"}\n  labels:'
    ),
    "cr-only.yaml": POD.format(name="cr").replace("\n", "\r"),
    "ends-with-marker.yaml": POD.format(name="marker") + "---",
    "bom.yaml": "\ufeffapiVersion: v1\nkind: Pod\nmetadata: {name: bom, labels: {app: bom}}\nspec:\n"
    "  containers: [{name: app, image: nginx}]\n",  # its first line changes, and its BOM is on it
    "bom.json": '\ufeff{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bj"}, '
    '"spec": {"containers": [{"name": "app", "image": "nginx"}]}}\n',
    "apps/web.yaml": POD.format(name="web"),
    "apps/api.json": '{"apiVersion": "v1", "kind": "Pod",\n'
    ' "metadata": {"name": "api", "labels": {"app": "api"}},\n'
    ' "spec": {"containers": [{"name": "app", "image": "nginx"}]}}\n',
}
CONFIG = "fixers:\n  network-policy:\n    policy-file: policies/network.yaml\n"


def make_repository(top: Path) -> None:
    top.mkdir()
    for name, text in FILES.items():
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        (top / name).write_bytes(text.encode())
    (top / ".k8sfix.yaml").write_text(CONFIG)
    subprocess.run(["git", "init", "-q", "."], cwd=top, check=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A repository fixed with --write, and the diff --diff prints for the same repository."""
    base = tmp_path_factory.mktemp("applies")
    written, diffed = base / "written", base / "diffed"
    make_repository(written)
    make_repository(diffed)
    both = ("--select", "image-pull-policy,network-policy", "--unsafe-fixes")  # new policies are unsafe
    fixed = k8sfix("--write", *both, ".", cwd=written)
    assert fixed.returncode == 1, fixed.stderr
    diff = k8sfix("--diff", *both, ".", cwd=diffed)
    assert diff.returncode == 1, diff.stderr
    return written, diff.stdout


def tree(top: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(top)): path.read_bytes()
        for path in sorted(top.rglob("*"))
        if path.is_file() and ".git" not in path.parts
    }


@pytest.mark.parametrize("tool", [["git", "apply"], ["patch", "-p1", "--quiet"]], ids=["git-apply", "patch"])
def test_the_diff_applies_and_gives_what_write_writes(
    runs: tuple[Path, bytes], tmp_path: Path, tool: list[str]
) -> None:
    if shutil.which(tool[0]) is None:
        pytest.skip(f"{tool[0]} is not installed")
    written, diff = runs
    target = tmp_path / "target"
    make_repository(target)
    applied = subprocess.run(tool, cwd=target, input=diff, capture_output=True, check=False)
    assert applied.returncode == 0, applied.stderr.decode() + applied.stdout.decode()
    assert tree(target) == tree(written)
    before = {name: text.encode() for name, text in FILES.items()} | {".k8sfix.yaml": CONFIG.encode()}
    changed = [name for name, data in tree(written).items() if data != before.get(name)]
    assert sorted(changed) == sorted([*FILES, "policies/network.yaml", "apps/policies/network.yaml"])


def test_a_cr_only_file_keeps_its_line_breaks(runs: tuple[Path, bytes]) -> None:
    written, _ = runs
    fixed = (written / "cr-only.yaml").read_bytes()
    assert b"\n" not in fixed and b"\r    imagePullPolicy: Always\r" in fixed


def test_a_file_ending_in_a_marker_gets_no_empty_document(runs: tuple[Path, bytes]) -> None:
    written, _ = runs
    text = (written / "ends-with-marker.yaml").read_text()
    assert "---\n---" not in text and text.count("---") == 1
    assert not text.endswith("\n")  # no final newline, as before


def test_separators_inside_a_value_do_not_split_lines_of_the_diff(runs: tuple[Path, bytes]) -> None:
    """The annotation holding U+2028 and NEL is line 5 of 10: split there, the hunk would start later."""
    _, diff = runs
    section = diff.split(b"+++ b/separators.yaml\n")[1]
    assert section.startswith(b"@@ -8,3 +8,4 @@\n   containers:\n")


def test_headers_are_quoted_as_git_quotes_them(runs: tuple[Path, bytes]) -> None:
    _, diff = runs
    headers = [line for line in diff.decode().split("\n") if line.startswith(("--- ", "+++ "))]
    assert "--- a/with space.yaml\t" in headers
    assert '--- "a/tab\\there.yaml"' in headers
    assert '--- "a/new\\nline.yaml"' in headers
    assert '--- "a/quote\\"and\\\\slash.yaml"' in headers
    assert "--- /dev/null" in headers and "+++ b/apps/policies/network.yaml" in headers


def test_a_diff_of_a_thousand_documents_is_no_larger_than_a_whole_file_comparison(tmp_path: Path) -> None:
    """Compared document by document: no more lines than difflib's comparison of the whole files
    changes (here fewer: exactly the lines that changed), and ``patch`` turns the old text into the
    new with it."""
    import difflib

    old = "".join(f"---\nkind: Pod\nmetadata: {{name: p{i}}}\nspec: {{}}\n" for i in range(1000))
    new = old.replace("spec: {}\n", "spec: {}\nstatus: {}\n").replace("name: p500}", "name: q500}")
    ours = patch.unified_diff(old, new, "a/x.yaml", "b/x.yaml")
    whole = list(difflib.unified_diff(patch.lines_of(old), patch.lines_of(new), "a/x.yaml", "b/x.yaml"))

    def changed(lines: list[str]) -> list[int]:
        body = lines[2:]  # after the --- and +++ headers
        return [sum(1 for line in body if line.startswith(sign)) for sign in "+-"]

    assert changed(patch.lines_of(ours)) == [1001, 1]
    assert all(a <= b for a, b in zip(changed(patch.lines_of(ours)), changed(whole), strict=True))
    (tmp_path / "x.yaml").write_text(old)
    if shutil.which("patch"):
        subprocess.run(["patch", "-p1", "--quiet"], cwd=tmp_path, input=ours.encode(), check=True)
        assert (tmp_path / "x.yaml").read_text() == new


def test_a_file_outside_the_working_directory_is_named_from_the_root(tmp_path: Path) -> None:
    """``cd sub; k8sfix --diff ../app.yaml`` wrote ``a/../app.yaml``, which neither tool takes."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "app.yaml").write_text(POD.format(name="up"))
    result = k8sfix("--diff", "--select", "image-pull-policy", "../app.yaml", cwd=tmp_path / "sub")
    header = str(tmp_path / "app.yaml").lstrip("/")
    assert result.stdout.decode().startswith(f"--- a/{header}\n+++ b/{header}\n")


def test_one_large_document_is_walked_line_by_line_and_the_diff_applies(tmp_path: Path) -> None:
    """A ``kind: List`` of 500 items is one document: difflib took minutes on it."""
    items = "".join(
        f'  {{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "p{i}"}},\n'
        f'   "spec": {{"containers": [{{"name": "app", "image": "nginx"}}]}}}}{"," if i < 499 else ""}\n'
        for i in range(500)
    )
    text = '{"apiVersion": "v1", "kind": "List", "items": [\n' + items + "]}\n"
    (tmp_path / "list.json").write_text(text)
    result = k8sfix("--diff", "--select", "image-pull-policy", "list.json", cwd=tmp_path)
    body = result.stdout.decode().splitlines()[2:]  # after the --- and +++ headers
    assert result.returncode == 1
    assert sum(line.startswith("+") for line in body) == sum(line.startswith("-") for line in body) == 500
    if shutil.which("patch"):
        subprocess.run(["patch", "-p1", "--quiet"], cwd=tmp_path, input=result.stdout, check=True)
        assert k8sfix("--select", "image-pull-policy", "list.json", cwd=tmp_path).returncode == 0
