"""``--context-staged`` (:mod:`remediate.run.staged`): the repository as git's index holds it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from remediate.run import context_cache, staged
from tests.helpers import k8sfix, write_tree

if shutil.which("git") is None:
    pytest.skip("git is not installed", allow_module_level=True)


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def staged_repository(root: Path, files: dict[str, str]) -> Path:
    """A git repository at ``root`` with ``files`` (path to text) written and staged."""
    root.mkdir(parents=True)
    write_tree(root, files)
    git("init", "-q", ".", cwd=root)
    git("add", "-A", cwd=root)
    return root


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
    (found,) = staged.staged_manifests()
    assert (found.path, found.top) == ("web.yaml", str(tmp_path))
    assert staged.read([found]) == [b"kind: ConfigMap  # staged\n"]
    assert found.blob == context_cache.blob_id(b"kind: ConfigMap  # staged\n")  # git's id of the content


def test_names_with_spaces_tabs_and_bytes_that_are_not_utf8_are_read_as_git_lists_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each staged name comes back as the file system names it (undecodable bytes as
    ``os.fsdecode`` gives them), shown relative to the current directory when below it, else by
    its absolute path."""
    git("init", "-q", ".", cwd=tmp_path)
    names = ["a b.yaml", "tab\there.yml", os.fsdecode(b"caf\xe9.JSON"), "deep/er/x.yaml", "skip.txt"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("kind: ConfigMap\n")
    git("add", "-A", cwd=tmp_path)
    monkeypatch.chdir(tmp_path / "deep")
    found = {each.absolute: each for each in staged.staged_manifests()}
    assert sorted(found) == sorted(str(tmp_path / name) for name in names[:4])
    assert found[str(tmp_path / "deep/er/x.yaml")].path == "er/x.yaml"
    assert found[str(tmp_path / "a b.yaml")].path == str(tmp_path / "a b.yaml")
    assert found[str(tmp_path / "tab\there.yml")].blob == context_cache.blob_id(b"kind: ConfigMap\n")
    assert os.fsencode(found[str(tmp_path / names[2])].path) == os.fsencode(tmp_path) + b"/caf\xe9.JSON"


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


POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress, Egress]
"""
WEB = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: app
    image: registry.example/app:1
"""


def test_the_context_is_kept_between_runs_by_content_and_a_changed_file_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second run takes the policy's entries from the cache (no staged content is read), a
    restaged change is seen, --no-cache reads everything, and what is found is the same each time."""
    repo = staged_repository(tmp_path / "repo", {"policy.yaml": POLICY, "web.yaml": WEB})
    monkeypatch.setenv("K8SFIX_CACHE_DIR", str(tmp_path / "cache"))
    args = ("--select", "network-policy", "--context-staged", "web.yaml")
    assert k8sfix(*args, cwd=repo).returncode == 0  # the staged policy covers the pod
    (cache_file,) = (tmp_path / "cache").iterdir()
    assert cache_file.name.startswith("staged-") and "NetworkPolicy" in cache_file.read_text()

    reads: list[int] = []
    read = staged.read

    def counting(found: list[staged.StagedFile]) -> list[bytes]:
        reads.append(len(found))
        return read(found)

    monkeypatch.setattr(staged, "read", counting)
    assert k8sfix(*args, cwd=repo).returncode == 0
    assert reads == [0]  # the policy came from the cache
    assert k8sfix("--select", "network-policy", "web.yaml", cwd=repo).returncode == 1  # alone: uncovered
    assert k8sfix(*args, cwd=repo).returncode == 0
    assert reads == [0, 0, 0]  # a run over one file (reading none staged) kept what the others found
    (repo / "policy.yaml").write_text(POLICY.replace("app: web", "app: other"))
    git("add", "-A", cwd=repo)
    assert k8sfix(*args, cwd=repo).returncode == 1  # the new content is read: it covers the pod no more
    assert reads == [0, 0, 0, 1]
    assert k8sfix(*args, "--no-cache", cwd=repo).returncode == 1
    assert reads == [0, 0, 0, 1, 1]
    another = context_cache.ContextCache(str(tmp_path / "cache"), str(repo), "another")
    assert another.get("anything", "policy.yaml", list) is None


def test_a_run_with_context_on_disk_leaves_the_hooks_cache_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--context .`` between two commits keeps a cache of its own: the second commit still finds
    every staged manifest's entries (one such run made the next commit read the whole repository)."""
    repo = staged_repository(tmp_path / "repo", {"policy.yaml": POLICY, "web.yaml": WEB})
    monkeypatch.setenv("K8SFIX_CACHE_DIR", str(tmp_path / "cache"))
    hook = ("--select", "network-policy", "--jobs", "1", "--force-exclude", "--context-staged", "web.yaml")
    assert k8sfix(*hook, cwd=repo).returncode == 0
    assert (
        k8sfix("--select", "network-policy", "--jobs", "1", "--context", ".", "web.yaml", cwd=repo).returncode
        == 0
    )
    summarized = counted_summaries(monkeypatch)
    assert k8sfix(*hook, cwd=repo).returncode == 0
    assert summarized == []  # the hooks' entries were all still kept
    assert sorted(path.name.split("-")[0] for path in (tmp_path / "cache").glob("*.cache")) == [
        "context",
        "staged",
    ]


def counted_summaries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the index pass makes entries of from now on, as it makes them (in
    this process: the runs counted use ``--jobs 1``)."""
    from remediate.cli import commands

    summarized: list[str] = []
    summaries = commands._summaries

    def counting(item: commands.Input, *rest: object) -> object:
        summarized.append(os.path.basename(item.name))
        return summaries(item, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(commands, "_summaries", counting)
    return summarized


def test_the_runs_own_files_are_kept_too_and_one_edited_while_read_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second run over the same files parses none of them for the index; a file changed on disk
    is read again; a file edited between its blob id and its reading keeps no entry (which would
    give the new content's objects for the old content's id)."""
    from remediate.cli import commands

    (tmp_path / "repo").mkdir()
    repo = write_tree(tmp_path / "repo", {"policy.yaml": POLICY, "web.yaml": WEB})
    monkeypatch.setenv("K8SFIX_CACHE_DIR", str(tmp_path / "cache"))
    summarized = counted_summaries(monkeypatch)
    args = ("--select", "network-policy", "--jobs", "1", ".")  # in this process, where it is counted
    assert k8sfix(*args, cwd=repo).returncode == 0  # the policy covers the pod
    assert sorted(summarized) == ["policy.yaml", "web.yaml"]
    assert k8sfix(*args, cwd=repo).returncode == 0
    assert sorted(summarized) == ["policy.yaml", "web.yaml"]  # both from the cache
    assert k8sfix(*args, "--no-cache", cwd=repo).returncode == 0
    assert len(summarized) == 4

    loaded = commands._loaded
    other = POLICY.replace("app: web", "app: other")

    def edited_meanwhile(item: commands.Input) -> commands.Input:
        if os.path.basename(item.name) == "policy.yaml":
            (repo / "policy.yaml").write_text(other)
        return loaded(item)

    (repo / "policy.yaml").write_text(POLICY.replace("name: web", "name: web-2"))  # not in the cache
    monkeypatch.setattr(commands, "_loaded", edited_meanwhile)
    assert k8sfix(*args, cwd=repo).returncode == 1  # indexed as edited: it covers the pod no more
    monkeypatch.setattr(commands, "_loaded", loaded)
    (repo / "policy.yaml").write_text(POLICY.replace("name: web", "name: web-2"))
    del summarized[:]
    assert k8sfix(*args, cwd=repo).returncode == 0  # the content of that id is read, not served
    assert summarized == ["policy.yaml"]


def test_kept_objects_found_damaged_when_a_lookup_needs_them_are_made_again_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kept entry's objects are decoded only when a lookup needs them; when their text is not
    what the cache writes, the file is read again and the run is what it is without the cache."""
    import json

    repo = write_tree(tmp_path, {"ctx/policy.yaml": POLICY, "web.yaml": WEB})
    monkeypatch.setenv("K8SFIX_CACHE_DIR", str(tmp_path / "cache"))
    args = ("--select", "network-policy", "--jobs", "1", "--context", "ctx", "web.yaml")
    assert k8sfix(*args, cwd=repo).returncode == 0  # the policy covers the pod
    (cache_file,) = (tmp_path / "cache").iterdir()
    lines = cache_file.read_text().split("\n")
    (number,) = [n for n, line in enumerate(lines) if line.startswith("e\t") and "NetworkPolicy" in line]
    _, _, buckets, problem, objects = lines[number].split("\t")
    assert json.loads(buckets) == ["policies default\0app\0web", "policy names default\0web"]
    assert problem == "null" and '"NetworkPolicy"' in objects
    lines[number] = lines[number].replace('"NetworkPolicy"', "7")  # a kind that is no text
    cache_file.write_text("\n".join(lines))
    summarized = counted_summaries(monkeypatch)
    assert k8sfix(*args, cwd=repo).returncode == 0  # still covered
    assert summarized == ["policy.yaml"]  # made again; the run's own file came from the cache


def test_a_file_on_disk_whose_status_is_unchanged_is_not_read_for_its_blob_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The blob id of a ``--context`` file comes from the cache while its size, times, inode and
    device are those it was kept with: the second run reads nothing; a change of the same size is
    seen, and so is one whose modification time was set back (its change time moved); and a file
    changed less than SETTLED_NS before its status was taken is read every time, even when its
    modification time says it is older (nobody can set the change time back)."""
    repo = write_tree(tmp_path, {"ctx/policy.yaml": POLICY, "web.yaml": WEB})
    monkeypatch.setenv("K8SFIX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(context_cache, "SETTLED_NS", 0)  # the files below count as settled at once
    reads: list[str] = []
    read_regular = context_cache.read_regular

    def counting(path: str, *limit: int) -> tuple[bytes, os.stat_result]:
        if not path.startswith(str(tmp_path / "cache")):  # the cache's own file is read through it too
            reads.append(os.path.basename(path))
        return read_regular(path, *limit)

    monkeypatch.setattr(context_cache, "read_regular", counting)
    args = ("--select", "network-policy", "--jobs", "1", "--context", "ctx", "web.yaml")
    assert k8sfix(*args, cwd=repo).returncode == 0  # the policy covers the pod
    assert sorted(reads) == ["policy.yaml", "web.yaml"]
    assert k8sfix(*args, cwd=repo).returncode == 0
    assert sorted(reads) == ["policy.yaml", "web.yaml"]  # neither read again for its id
    (repo / "ctx" / "policy.yaml").write_text(POLICY.replace("app: web", "app: wxb"))  # the same size
    assert k8sfix(*args, cwd=repo).returncode == 1  # read again: it covers the pod no more
    assert reads[2:] == ["policy.yaml"]
    policy = repo / "ctx" / "policy.yaml"
    before = policy.stat()
    policy.write_text(POLICY)  # the same size again, and its modification time set back as it was
    os.utime(policy, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert k8sfix(*args, cwd=repo).returncode == 0  # read again: its change time moved
    assert reads[3:] == ["policy.yaml"]
    monkeypatch.setattr(context_cache, "SETTLED_NS", 3_000_000_000)
    policy.write_text(POLICY.replace("app: web", "app: wxb"))
    hour_ago = before.st_mtime_ns - 3600 * 10**9
    os.utime(policy, ns=(hour_ago, hour_ago))  # an old modification time, but changed just now
    for _ in range(2):
        del reads[:]
        assert k8sfix(*args, cwd=repo).returncode == 1
        assert "policy.yaml" in reads  # changed just now: read on every run


def test_a_cache_that_cannot_be_read_or_written_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = staged_repository(tmp_path / "repo", {"policy.yaml": POLICY, "web.yaml": WEB})
    args = ("--select", "network-policy", "--context-staged", "web.yaml")
    (tmp_path / "cache").mkdir()
    monkeypatch.setenv("K8SFIX_CACHE_DIR", str(tmp_path / "cache"))
    k8sfix(*args, cwd=repo)
    (cache_file,) = (tmp_path / "cache").iterdir()
    header, *lines = cache_file.read_text().splitlines()
    entries = [line.split("\t") for line in lines if line.startswith("e\t")]
    assert entries
    for damaged in (
        [[*fields[:2], "[" * 100_000, *fields[3:]] for fields in entries],  # deeper than json decodes
        [[*fields[:2], "not JSON", *fields[3:]] for fields in entries],
        [[*fields[:3], '"not a problem"', fields[4]] for fields in entries],
        [fields[:4] for fields in entries],  # a field short
    ):
        cache_file.write_text("\n".join([header, *map("\t".join, damaged)]))
        assert k8sfix(*args, cwd=repo).returncode == 0
    cache_file.write_text("not a cache")
    assert k8sfix(*args, cwd=repo).returncode == 0
    cache_file.write_bytes(f"{header}\n".encode() + b"\xff\xfe")  # not ASCII
    assert k8sfix(*args, cwd=repo).returncode == 0
    cache_file.unlink()
    os.mkfifo(cache_file)  # never opened: a read would wait for a writer forever
    assert k8sfix(*args, cwd=repo).returncode == 0
    (tmp_path / "blocked").write_text("a file where the cache directory would be")
    monkeypatch.setenv("K8SFIX_CACHE_DIR", str(tmp_path / "blocked" / "cache"))
    ran = k8sfix(*args, cwd=repo)
    assert ran.returncode == 0 and ran.stderr.decode().count("error") == 0


def test_a_kustomization_met_from_two_directories_is_not_taken_for_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two copies of one overlay, at the same path below two directories: the cache keeps each
    one's entry apart (a kustomization's entry holds where it is), so the overlay that relabels
    the pods still stops a policy in its base when the run starts from the other directory."""
    overlay = "resources: [../base/web.yaml]\nlabels:\n- pairs: {app: other}\n  includeTemplates: true\n"
    copies = {
        f"{copy}/{name}": text
        for copy in "ab"
        for name, text in (("base/web.yaml", WEB), ("k/kustomization.yaml", overlay))
    }
    repo = staged_repository(tmp_path / "repo", copies)
    monkeypatch.setenv("K8SFIX_CACHE_DIR", str(tmp_path / "cache"))
    args = ("--select", "network-policy", "--unsafe-fixes", "--diff", "--context-staged", "base/web.yaml")
    for copy in ("a", "b", "a"):
        ran = k8sfix(*args, cwd=repo / copy)
        assert ran.stdout == b"" and b"k/kustomization.yaml gives these pods app=other" in ran.stderr, copy


def test_a_cache_directory_that_is_not_absolute_keeps_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No HOME (``~`` stays ``~``) or a relative setting would put the cache in the repository."""
    repo = staged_repository(tmp_path / "repo", {"policy.yaml": POLICY, "web.yaml": WEB})
    monkeypatch.setenv("K8SFIX_CACHE_DIR", "cache")
    assert k8sfix("--select", "network-policy", "--context-staged", "web.yaml", cwd=repo).returncode == 0
    monkeypatch.delenv("K8SFIX_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", "~")
    assert k8sfix("--select", "network-policy", "--context-staged", "web.yaml", cwd=repo).returncode == 0
    assert sorted(p.name for p in repo.iterdir()) == [".git", "policy.yaml", "web.yaml"]
