"""network-policy's ``policy-file``: a directory's new policies in one file, written after the run
(remediate/run/delivery.py), consulted by one-file pre-commit runs, never written over someone else's file."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from remediate.cli.commands import RunOptions, run
from remediate.run import bulk, files
from remediate.yaml.document import parse
from remediate.yaml.values import to_data
from tests.helpers import counted_pools, k8sfix
from tests.test_network_policy import netpol, workload

SELECT = ["network-policy"]
# new policies are unsafe fixes
CONFIG = "unsafe-fixes: true\nfixers:\n  network-policy:\n    policy-file: network-policies.yaml\n"

WEB = "# the shop's front end\n" + workload("web") + "# end of the web app\n"
API_JSON = """\
{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"},
 "spec": {"template": {"metadata": {"labels": {"app": "api"}},
   "spec": {"containers": [{"name": "api", "image": "api:1"}]}}}}
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with the config and ``apps/web.yaml``, ``apps/api.json``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".k8sfix.yaml").write_text(CONFIG)
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "web.yaml").write_text(WEB)
    (tmp_path / "apps" / "api.json").write_text(API_JSON)
    return tmp_path


def policies(path: Path) -> list[dict]:
    return [to_data(document.root) for document in parse(path.read_text())]


def names(path: Path) -> list[str]:
    return [policy["metadata"]["name"] for policy in policies(path)]


def test_a_directory_gets_one_policy_file_and_the_workload_files_stay_as_they_were(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two workers (one for each file here): the policies come back from them, and the
    parent writes them."""
    monkeypatch.setattr(bulk, "ITEMS_PER_WORKER", 1)
    pools = counted_pools(monkeypatch)
    assert run(RunOptions(["apps"], write=True, select=SELECT, jobs=2)) == 1
    assert pools and set(pools) == {2}
    target = repo / "apps" / "network-policies.yaml"
    assert (repo / "apps" / "web.yaml").read_text() == WEB
    assert (repo / "apps" / "api.json").read_text() == API_JSON  # JSON workloads get a policy too
    assert names(target) == ["api-allow-all", "web-allow-all"]  # in the order of the run
    web = policies(target)[1]
    assert web["spec"]["podSelector"] == {"matchLabels": {"app": "web"}}
    assert web["spec"]["policyTypes"] == ["Ingress", "Egress"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # a normal new file, not a private temporary
    err = capsys.readouterr().err
    assert "1 changed" in err and "\nnetwork-policy: 2 fixed\n" in err

    before = target.read_bytes()
    assert run(RunOptions(["apps"], write=True, select=SELECT)) == 0
    assert target.read_bytes() == before
    assert sorted(p.name for p in (repo / "apps").iterdir()) == [
        "api.json",
        "network-policies.yaml",
        "web.yaml",
    ]


def test_the_diff_of_a_new_file_starts_from_dev_null_and_git_applies_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(RunOptions(["apps"], diff=True, select=SELECT)) == 1
    diff = capsys.readouterr().out
    assert diff.startswith("--- /dev/null\n+++ b/apps/network-policies.yaml\n@@ -0,0 +1,")
    assert not (repo / "apps" / "network-policies.yaml").exists()  # --diff writes nothing

    subprocess.run(["git", "init", "-q", "."], check=True)
    subprocess.run(["git", "apply", "-"], input=diff.encode(), check=True)
    applied = (repo / "apps" / "network-policies.yaml").read_text()
    (repo / "apps" / "network-policies.yaml").unlink()
    run(RunOptions(["apps"], write=True, select=SELECT, quiet=True))
    assert (repo / "apps" / "network-policies.yaml").read_text() == applied


def test_a_one_file_run_consults_the_policy_file_and_appends_to_it(repo: Path) -> None:
    target = repo / "apps" / "network-policies.yaml"
    existing = "# reviewed by the network team\n" + netpol(
        "{podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress, Egress]}", "web"
    )
    target.write_text(existing)

    assert run(RunOptions(["apps/web.yaml"], write=True, select=SELECT)) == 0  # covered by the file's policy
    assert target.read_text() == existing

    (repo / "apps" / "shop.yaml").write_text(workload("shop"))
    assert run(RunOptions(["apps/shop.yaml"], write=True, select=SELECT)) == 1
    after = target.read_text()
    assert after.startswith(existing + "---\n")  # appended: the comment and the policy as they were
    assert names(target) == ["web", "shop-allow-all"]
    assert run(RunOptions(["apps/shop.yaml"], write=True, select=SELECT)) == 0


def test_a_policy_file_among_the_inputs_gets_its_own_fixes_and_the_new_policies_in_one_diff(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = repo / "apps" / "network-policies.yaml"
    legacy = "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: db}\n"
    legacy += "spec:\n  podSelector: {}\n"
    target.write_text(legacy)  # selects every pod for Ingress only: Egress is still missing
    options = RunOptions(["apps"], diff=True, select=["network-policy", "deprecated-api"])
    assert run(options) == 1
    diff = capsys.readouterr().out
    assert diff.count("+++ b/apps/network-policies.yaml") == 1
    assert "-apiVersion: extensions/v1beta1\n+apiVersion: networking.k8s.io/v1\n" in diff

    assert run(RunOptions(["apps"], write=True, select=["network-policy", "deprecated-api"], quiet=True)) == 1
    kept = policies(target)
    assert [p["apiVersion"] for p in kept] == ["networking.k8s.io/v1"] * 3
    assert [p["metadata"]["name"] for p in kept] == ["db", "api-allow-all", "web-allow-all"]
    assert [p["spec"]["policyTypes"] for p in kept[1:]] == [["Egress"], ["Egress"]]


def test_a_policy_file_that_does_not_parse_is_an_error_and_nothing_is_written(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = repo / "apps" / "network-policies.yaml"
    target.write_text("kind: [unclosed\n")
    assert run(RunOptions(["apps/web.yaml"], write=True, select=SELECT)) == 2
    err = capsys.readouterr().err
    assert "apps/network-policies.yaml" in err and "web-allow-all not added" in err
    assert target.read_text() == "kind: [unclosed\n"
    assert (repo / "apps" / "web.yaml").read_text() == WEB


def test_a_file_created_while_k8sfix_runs_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "new.yaml"
    files.create_atomic(str(path), b"first\n")
    with pytest.raises(files.ChangedOnDisk):
        files.create_atomic(str(path), b"second\n")
    assert path.read_bytes() == b"first\n"
    assert [p.name for p in tmp_path.iterdir()] == ["new.yaml"]  # no temporary left behind


def test_stdin_keeps_its_policies_in_the_stream(repo: Path) -> None:
    done = k8sfix(
        "--select",
        "network-policy",
        "--write",
        "-",
        "--stdin-filename",
        "apps/web.yaml",
        cwd=repo,
        stdin=WEB.encode(),
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.decode().startswith(WEB + "---\n")
    assert not (repo / "apps" / "network-policies.yaml").exists()


def test_a_workload_in_the_policy_file_gets_its_policy_there(repo: Path) -> None:
    shutil.move(repo / "apps" / "web.yaml", repo / "apps" / "network-policies.yaml")
    (repo / "apps" / "api.json").unlink()
    assert run(RunOptions(["apps"], write=True, select=SELECT, quiet=True)) == 1
    after = (repo / "apps" / "network-policies.yaml").read_text()
    assert after.startswith(WEB + "---\n")
    assert [d["kind"] for d in policies(repo / "apps" / "network-policies.yaml")] == [
        "Deployment",
        "NetworkPolicy",
    ]


def test_stdin_named_with_stdin_filename_consults_the_policy_file_of_that_directory(repo: Path) -> None:
    target = repo / "apps" / "network-policies.yaml"
    target.write_text(
        netpol("{podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress, Egress]}", "web")
    )
    done = k8sfix(
        "--select",
        "network-policy",
        "--write",
        "-",
        "--stdin-filename",
        "apps/web.yaml",
        cwd=repo,
        stdin=WEB.encode(),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == WEB  # covered by the policy file: no second policy in the stream
