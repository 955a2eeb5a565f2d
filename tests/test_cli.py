"""The command-line contract (DESIGN.md §4), run as users run it: a real process on real files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers import k8sfix

SEED = (ROOT / "examples" / "deployment.yml").read_bytes()
BROKEN = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.yaml").write_bytes(SEED)
    return tmp_path


def test_diff_prints_a_patch_that_applies_and_writes_nothing(repo: Path) -> None:
    result = k8sfix("--diff", "--select", "image-pull-policy", "deploy/app.yaml", cwd=repo)
    assert result.returncode == 1
    diff = result.stdout.decode()
    assert diff.startswith("--- a/deploy/app.yaml\n+++ b/deploy/app.yaml\n")
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert added == ["+        imagePullPolicy: Always"]
    assert (repo / "deploy" / "app.yaml").read_bytes() == SEED
    if shutil.which("patch"):
        subprocess.run(["patch", "-p1", "-s"], cwd=repo, input=result.stdout, check=True)
        after = k8sfix("--select", "image-pull-policy", "deploy/app.yaml", cwd=repo)
        assert after.returncode == 0, after.stdout


def test_write_then_write_again_changes_nothing(repo: Path) -> None:
    """In real processes: ``python -m remediate`` and its exit codes, as a user runs it. A default
    ``--write`` applies the safe fixes only; the unsafe ones left make it exit 1 again, the file as
    it was. ``--unsafe-fixes`` then fixes the rest, after which nothing is left to do."""
    default = k8sfix("--write", "deploy", cwd=repo, process=True)
    assert default.returncode == 1
    safe = (repo / "deploy" / "app.yaml").read_bytes()
    assert b"imagePullPolicy: Always" in safe and b"requests:" in safe
    for unsafe in (b"limits:", b"readinessProbe:", b"runAsNonRoot: true", b"kind: NetworkPolicy"):
        assert unsafe not in safe
    again = k8sfix("--write", "deploy", cwd=repo, process=True)
    assert again.returncode == 1 and b"(fixable with --unsafe-fixes)" in again.stdout
    assert (repo / "deploy" / "app.yaml").read_bytes() == safe
    first = k8sfix("--write", "--unsafe-fixes", "deploy", cwd=repo, process=True)
    assert first.returncode == 1
    fixed = (repo / "deploy" / "app.yaml").read_bytes()
    for fix in (
        b"imagePullPolicy: Always",
        b"resources:",
        b"limits:",
        b"readinessProbe:",
        b"runAsNonRoot: true",
        b"kind: NetworkPolicy",
    ):
        assert fix in fixed
    second = k8sfix("--write", "--unsafe-fixes", "deploy", cwd=repo, process=True)
    assert second.returncode == 0, second.stdout + second.stderr
    assert (repo / "deploy" / "app.yaml").read_bytes() == fixed
    third = k8sfix("--write", "deploy", cwd=repo, process=True)
    assert third.returncode == 0, third.stdout + third.stderr
    assert (repo / "deploy" / "app.yaml").read_bytes() == fixed


def test_write_keeps_the_file_mode(repo: Path) -> None:
    target = repo / "deploy" / "app.yaml"
    target.chmod(0o640)
    k8sfix("--write", str(target), cwd=repo)
    assert target.stat().st_mode & 0o777 == 0o640


def test_report_mode_lists_findings_with_positions(repo: Path) -> None:
    result = k8sfix("--select", "image-pull-policy", "deploy/app.yaml", cwd=repo)
    assert result.returncode == 1
    line = result.stdout.decode().splitlines()[0]
    assert line.startswith("deploy/app.yaml:18:9: K8S001 Deployment/semaphore-demo-ruby-kubernetes:")
    assert line.endswith("[image-pull-policy] (fixable)")


def test_stdin_to_stdout() -> None:
    result = k8sfix("--write", "--select", "image-pull-policy", "-", cwd=ROOT, stdin=SEED)
    assert result.returncode == 1
    assert result.stdout == SEED.replace(
        b"$SEMAPHORE_WORKFLOW_ID\n", b"$SEMAPHORE_WORKFLOW_ID\n        imagePullPolicy: Always\n"
    )
    clean = k8sfix("--write", "--select", "image-pull-policy", "-", cwd=ROOT, stdin=result.stdout)
    assert clean.returncode == 0
    assert clean.stdout == result.stdout


@pytest.mark.parametrize(
    "data", [b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: caf\xe9\n", b"a: [unclosed\n"]
)
def test_a_stream_that_cannot_be_read_passes_through_unchanged(data: bytes) -> None:
    """``k8sfix --write - < f | sponge f`` must never empty ``f``."""
    result = k8sfix("--write", "-", cwd=ROOT, stdin=data)
    assert result.returncode == 2
    assert result.stdout == data


def test_invalid_yaml_is_an_error_and_other_files_are_still_fixed(repo: Path) -> None:
    (repo / "deploy" / "broken.yaml").write_bytes(BROKEN)
    result = k8sfix("--write", "deploy", cwd=repo)
    assert result.returncode == 2
    assert "deploy/broken.yaml:5:1: error: invalid YAML" in result.stderr.decode()
    assert (repo / "deploy" / "broken.yaml").read_bytes() == BROKEN
    assert b"imagePullPolicy" in (repo / "deploy" / "app.yaml").read_bytes()


def test_duplicate_keys_name_both_positions(repo: Path) -> None:
    (repo / "dup.yaml").write_bytes(b"apiVersion: v1\nkind: Pod\nkind: Service\n")
    result = k8sfix("dup.yaml", cwd=repo)
    assert result.returncode == 2
    assert (
        'dup.yaml:3:1: error: duplicate key "kind" (first defined at line 2, column 1)'
        in result.stderr.decode()
    )


def test_helm_templates_and_plain_yaml_are_skipped_untouched(repo: Path) -> None:
    helm = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\n"
    (repo / "deploy" / "helm.yaml").write_bytes(helm)
    (repo / "deploy" / "values.yaml").write_bytes(b"replicas: 3\n")
    result = k8sfix("--write", "deploy", cwd=repo)
    stderr = result.stderr.decode()
    assert "deploy/helm.yaml: note: skipped: a Helm/Go template" in stderr
    assert "deploy/values.yaml: note: skipped: no Kubernetes objects" in stderr
    assert (repo / "deploy" / "helm.yaml").read_bytes() == helm
    assert result.returncode == 1


def test_json_format_records(repo: Path) -> None:
    result = k8sfix("--format", "json", "--select", "image-pull-policy", "deploy/app.yaml", cwd=repo)
    record = json.loads(result.stdout)["findings"][0]
    assert record == {
        "file": "deploy/app.yaml",
        "line": 18,
        "column": 9,
        "fixer": "image-pull-policy",
        "code": "K8S001",
        "severity": "error",
        "message": 'container "semaphore-demo-ruby-kubernetes" has no imagePullPolicy (should be Always)',
        "object": {"kind": "Deployment", "namespace": None, "name": "semaphore-demo-ruby-kubernetes"},
        "container": "semaphore-demo-ruby-kubernetes",
        "path": ["spec", "template", "spec", "containers", 0],
        "fix_available": True,
        "fix_applied": False,
        "would_fix": False,
        "fix": "set imagePullPolicy: Always",
        "applicability": "safe",
        "rule": None,
    }


def test_select_ignore_and_config(repo: Path) -> None:
    others = ["--ignore", "container-resources,container-probes,security-context,network-policy"]
    assert k8sfix(*others, "--ignore", "image-pull-policy", "deploy", cwd=repo).returncode == 0
    assert k8sfix("--select", "K8S001", "deploy", cwd=repo).returncode == 1
    (repo / ".k8sfix.yaml").write_text("fixers:\n  image-pull-policy:\n    enabled: false\n")
    assert k8sfix(*others, "deploy", cwd=repo).returncode == 0
    (repo / ".k8sfix.yaml").write_text("fixers:\n  image-pull-policy:\n    polcy: Always\n")
    bad = k8sfix("deploy", cwd=repo)
    assert bad.returncode == 2
    assert ".k8sfix.yaml:3:5: error: fixers.image-pull-policy: unknown key 'polcy'" in bad.stderr.decode()
    unknown = k8sfix("--select", "nope", "deploy", cwd=repo)
    assert unknown.returncode == 2 and b"unknown fixer nope" in unknown.stderr
    (repo / ".k8sfix.yaml").unlink()
    typo = k8sfix("--select", "image-pul-policy", "deploy", cwd=repo)
    assert (
        typo.returncode == 2
        and b"unknown fixer image-pul-policy; did you mean image-pull-policy?" in typo.stderr
    )
    assert k8sfix("--select", "Image-Pull-Policy", "deploy", cwd=repo).returncode == 1  # ids in any case
    explained = k8sfix("--explain", "Image-Pull-Policy", cwd=repo)
    assert explained.returncode == 0 and explained.stdout.startswith(b"image-pull-policy (K8S001)")


def test_missing_path_and_conflicting_modes(repo: Path) -> None:
    missing = k8sfix("nowhere.yaml", "deploy", cwd=repo)
    assert missing.returncode == 2
    assert b"nowhere.yaml:1:1: error: no such file or directory" in missing.stderr
    assert k8sfix("--diff", "--write", "deploy", cwd=repo).returncode == 2


def test_version_list_and_explain() -> None:
    from remediate import __version__

    assert k8sfix("--version", cwd=ROOT).stdout.decode().strip() == f"k8sfix {__version__}"
    listing = k8sfix("--list-fixers", cwd=ROOT).stdout.decode()
    assert "K8S001  image-pull-policy" in listing
    explained = k8sfix("--explain", "image-pull-policy", cwd=ROOT)
    assert explained.returncode == 0
    text = explained.stdout.decode()
    assert "Why it matters:" in text and "kube-score: container-image-pull-policy" in text
    assert "keep-existing: false" in text
    assert k8sfix("--explain", "nope", cwd=ROOT).returncode == 2


def test_help_teaches_exit_codes() -> None:
    text = k8sfix("--help", cwd=ROOT).stdout.decode()
    assert "Exit codes" in text and "--diff" in text and "k8sfix.io/ignore" in text


def test_a_context_path_that_does_not_exist_is_an_error(repo: Path) -> None:
    result = k8sfix("--context", "nonexist/", "deploy", cwd=repo)
    assert result.returncode == 2
    assert "nonexist/:1:1: error: --context: no such file or directory" in result.stderr.decode()
    assert "K8S001" in result.stdout.decode()  # the inputs are still checked


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--select", ","], "no fixer is selected"),
        (["--select", "image-pull-policy", "--ignore", "K8S001"], "no fixer is selected"),
        (["--select", "nope"], "k8sfix: error: --select/--ignore: unknown fixer"),
    ],
)
def test_a_selection_that_checks_nothing_is_an_error(repo: Path, args: list[str], message: str) -> None:
    result = k8sfix(*args, "deploy", cwd=repo)
    assert result.returncode == 2
    assert message in result.stderr.decode()
    assert ".k8sfix.yaml" not in result.stderr.decode()  # no config file to blame


def test_diff_headers_of_an_absolute_path_are_relative_so_git_applies_them(repo: Path) -> None:
    result = k8sfix("--diff", "--select", "image-pull-policy", str(repo / "deploy" / "app.yaml"), cwd=repo)
    assert result.returncode == 1
    assert result.stdout.decode().startswith("--- a/deploy/app.yaml\n+++ b/deploy/app.yaml\n")
    subprocess.run(["git", "init", "-q", "."], cwd=repo, check=True)
    subprocess.run(["git", "apply", "-"], cwd=repo, input=result.stdout, check=True)
    assert b"imagePullPolicy: Always" in (repo / "deploy" / "app.yaml").read_bytes()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--jobs", "x"), "k8sfix: error: '--jobs' / '-j': expected a whole number (try: k8sfix --help)\n"),
        (
            ("--jobs", "0"),
            "k8sfix: error: '--jobs' / '-j': must be greater than or equal to 1 (try: k8sfix --help)\n",
        ),
        (
            ("--format", "xml"),
            (
                "k8sfix: error: '--format': 'xml' is not one of 'text', 'json', 'sarif', 'github',"
                " 'rdjson' (try: k8sfix --help)\n"
            ),
        ),
    ],
)
def test_a_usage_error_is_one_line_in_k8sfixs_own_style(
    tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    """Not the command-line library's usage block and its validation library's wording: one line,
    ``k8sfix: error: ...``, exit 2, as the errors of k8sfix itself."""
    (tmp_path / "app.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    ran = k8sfix(*args, "app.yaml", cwd=tmp_path)
    assert ran.returncode == 2
    assert ran.stderr.decode() == said
    assert ran.stdout == b""


def test_help_names_what_each_option_takes_and_k8sfix_help_is_help(tmp_path: Path) -> None:
    shown = k8sfix("--help", cwd=tmp_path).stdout.decode()
    assert shown.startswith("Usage: k8sfix [OPTIONS] [PATH]...\n")
    for option in ("--select ID,...", "--config FILE", "-j, --jobs N", "--set KEY=VALUE", "--explain ID"):
        assert option in shown, option
    assert "<str>" not in shown and "<list[str]>" not in shown and "<int>" not in shown
    ran = k8sfix("help", cwd=tmp_path)
    assert ran.returncode == 0 and ran.stdout.decode() == shown
    (tmp_path / "help").mkdir()  # a directory of that name is a path after all
    assert "warning: help: no YAML or JSON files here" in k8sfix("help", cwd=tmp_path).stderr.decode()


def test_a_directory_with_no_manifests_is_warned_of(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "README.md").write_text("manifests moved to charts/\n")
    ran = k8sfix("deploy", cwd=tmp_path)
    assert ran.returncode == 0
    assert ran.stderr.decode().startswith(
        "k8sfix: warning: deploy: no YAML or JSON files here (--include names what is read)\n"
    )


def test_write_prints_what_is_left_and_verbose_the_fixed_findings_too(tmp_path: Path) -> None:
    """A migration fixes thousands of findings: --write prints the ones left for a human (and the
    summary counts the fixed ones); --verbose lists each fixed one as well."""
    seed = (ROOT / "examples" / "deployment.yml").read_bytes()
    (tmp_path / "quiet.yaml").write_bytes(seed)
    (tmp_path / "loud.yaml").write_bytes(seed)
    quiet = k8sfix("--write", "quiet.yaml", cwd=tmp_path)
    loud = k8sfix("--write", "--verbose", "loud.yaml", cwd=tmp_path)
    assert (tmp_path / "quiet.yaml").read_bytes() == (tmp_path / "loud.yaml").read_bytes() != seed
    left = quiet.stdout.decode().splitlines()
    assert left and not any(line.endswith("(fixed)") for line in left)
    listed = loud.stdout.decode().replace("loud.yaml", "quiet.yaml").splitlines()
    fixed = [line for line in listed if line.endswith("(fixed)")]
    assert len(fixed) == 2 and sorted(set(listed) - set(fixed)) == sorted(left)
    assert "\nin all: 2 fixed, " in quiet.stderr.decode()


@pytest.mark.parametrize("output_format", ["json", "sarif", "rdjson"])
def test_a_diff_and_a_document_never_share_stdout(tmp_path: Path, output_format: str) -> None:
    """A machine reading the document would read a diff in it: the combination is refused, and
    says how to get both (the JSON report is written to a file)."""
    (tmp_path / "app.yaml").write_bytes(SEED)
    ran = k8sfix("--diff", "--format", output_format, "app.yaml", cwd=tmp_path)
    assert ran.returncode == 2 and ran.stdout == b""
    assert ran.stderr.decode() == (
        f"k8sfix: error: --diff prints the diff on stdout, where --format {output_format} prints its"
        " document: use one (--report FILE writes the JSON report beside a diff)\n"
    )
    both = k8sfix("--diff", "--report", "run.json", "app.yaml", cwd=tmp_path)
    assert both.stdout.decode().startswith("--- a/app.yaml\n")
    assert json.loads((tmp_path / "run.json").read_text())["mode"] == "diff"


def test_the_configs_excludes_leave_files_out_of_walks_and_with_force_exclude_named_ones(
    tmp_path: Path,
) -> None:
    """``exclude`` (which ``--exclude`` replaces) and ``extend-exclude`` (which stays) are matched
    from the config's directory; a file named on the command line is read anyway unless
    ``--force-exclude`` says otherwise, as the pre-commit hooks do."""
    for name in ("legacy/a.yaml", "apps/b.yaml", "vendor/c.yaml"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(SEED)
    (tmp_path / ".k8sfix.yaml").write_text("exclude: [legacy/]\nextend-exclude: [vendor/]\n")
    (tmp_path / ".git").mkdir()

    def read(*args: str) -> set[str]:
        return {line.split(":", 1)[0] for line in k8sfix(*args, cwd=tmp_path).stdout.decode().splitlines()}

    assert read(".") == {"apps/b.yaml"}
    assert read("legacy/a.yaml") == {"legacy/a.yaml"}  # named: read
    assert read("--force-exclude", "legacy/a.yaml", "apps/b.yaml", "vendor") == {"apps/b.yaml"}
    assert read("--exclude", "apps/", ".") == {"legacy/a.yaml"}  # replaces exclude, not extend-exclude
    from_below = k8sfix(
        "--force-exclude", "../legacy/a.yaml", "b.yaml", cwd=tmp_path / "apps"
    ).stdout.decode()
    assert {line.split(":", 1)[0] for line in from_below.splitlines()} == {"b.yaml"}
    (tmp_path / ".k8sfix.yaml").write_text("extend-exclude: ['!']\n")
    bad = k8sfix(".", cwd=tmp_path)
    assert bad.returncode == 2
    assert (
        bad.stderr.decode() == ".k8sfix.yaml:1:17: error: extend-exclude: '!' is not a .gitignore pattern\n"
    )


def test_the_excludes_of_a_config_below_the_runs_own_hold_for_the_files_under_it(tmp_path: Path) -> None:
    """apps/.k8sfix.yaml's ``exclude`` leaves apps/generated/ out of a run from the root, matched
    from apps/ (as ruff applies each configuration to its own files); the root's config and a
    named file are as before, and ``--force-exclude`` leaves the named one out too."""
    (tmp_path / ".git").mkdir()
    for name in ("apps/generated/a.yaml", "apps/b.yaml", "generated/c.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(SEED)
    (tmp_path / "apps" / ".k8sfix.yaml").write_text("exclude: [generated/]\n")

    def read(*args: str) -> set[str]:
        return {line.split(":", 1)[0] for line in k8sfix(*args, cwd=tmp_path).stdout.decode().splitlines()}

    assert read(".") == {"apps/b.yaml", "generated/c.yaml"}
    assert read("apps/generated/a.yaml") == {"apps/generated/a.yaml"}
    assert read("--force-exclude", "apps/generated/a.yaml", "apps/b.yaml") == {"apps/b.yaml"}
    assert read("--exclude", "nothing/", ".") == {"apps/b.yaml", "apps/generated/a.yaml", "generated/c.yaml"}


def test_each_file_takes_the_settings_of_the_nearest_config_above_it(tmp_path: Path) -> None:
    """As ruff and black: apps/.k8sfix.yaml decides for the files under apps/, wherever k8sfix runs
    from, and a file with no config above it gets the defaults; --config decides for all."""
    (tmp_path / ".git").mkdir()
    for name in ("apps/app.yaml", "web/app.yaml"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(SEED)
    (tmp_path / "apps" / ".k8sfix.yaml").write_text("select: [image-pull-policy]\n")

    def fixers(*args: str, cwd: Path = tmp_path) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for line in k8sfix(*args, cwd=cwd).stdout.decode().splitlines():
            name, fixer = line.split(":", 1)[0], line.rsplit("[", 1)[1].split("]")[0]
            found.setdefault(os.path.basename(os.path.dirname(os.path.abspath(cwd / name))), set()).add(fixer)
        return found

    everything = {
        "image-pull-policy",
        "container-resources",
        "container-probes",
        "security-context",
        "network-policy",
    }
    assert fixers("apps/app.yaml", "web/app.yaml") == {"apps": {"image-pull-policy"}, "web": everything}
    assert fixers("app.yaml", "../web/app.yaml", cwd=tmp_path / "apps") == {
        "apps": {"image-pull-policy"},
        "web": everything,
    }
    assert fixers("--config", "apps/.k8sfix.yaml", "apps/app.yaml", "web/app.yaml") == {
        "apps": {"image-pull-policy"},
        "web": {"image-pull-policy"},
    }
    (tmp_path / "web" / ".k8sfix.yaml").write_text("select: [bogus]\n")
    bad = k8sfix("apps/app.yaml", "web/app.yaml", cwd=tmp_path)
    assert (
        bad.returncode == 2
        and "web/.k8sfix.yaml:1:10: error: select: unknown fixer bogus" in bad.stderr.decode()
    )
