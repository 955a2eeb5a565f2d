"""Schema validation (``--validate``, ``--strict``, ``--schema-dir``) and the guard that keeps a fix
from breaking a schema (:mod:`remediate.kube.validation`, :mod:`remediate.kube.schemas`).

Positions are 1-based ``line:column`` of the offending field, as every output format prints them.
The corpus tests print their figures with ``pytest -s``.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from remediate.kube import schemas, validation, versions
from remediate.kube.findings import Finding
from remediate.kube.fixer import Context, Fixer
from remediate.kube.k8s import Manifest, containers, manifests, pod_template
from remediate.run import registry, verdict_cache
from remediate.run.config import load
from remediate.run.results import Status
from remediate.run.runner import Engine, process
from remediate.yaml.document import Document, parse
from remediate.yaml.source import Source
from tests import reference_schema
from tests.conftest import ROOT
from tests.helpers import k8sfix
from tests.test_corpus import ALL, FIX_SECONDS, corpus_sources, fixed_corpus

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.25
          ports:
            - containerPort: 80
"""

ROLLOUT_SCHEMA = {
    "type": "object",
    "required": ["spec"],
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {"replicas": {"type": "integer"}, "strategy": {"type": "object"}},
            "additionalProperties": False,
        },
    },
}

ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: canary
spec:
  replicas: many
"""


def check(text: str, *, strict: bool = False, version: str | None = None, schema_dir: str | None = None):
    return validation.check(parse(text), version, validation.SchemaCheck(True, strict, schema_dir))


def where(findings: list[Finding]) -> list[tuple[int, int, str]]:
    return [(f.line, f.column, validation.show_path(f.path)) for f in findings]


def test_a_valid_object_has_no_findings_even_when_strict() -> None:
    for strict in (False, True):
        assert check(DEPLOYMENT, strict=strict) == ([], [])


def test_a_value_of_the_wrong_type_is_found_at_the_value() -> None:
    text = DEPLOYMENT.replace("replicas: 2", 'replicas: "2"')
    text = text.replace("containerPort: 80", "containerPort: http")
    findings, _ = check(text)
    assert where(findings) == [
        (6, 13, "spec.replicas"),
        (17, 30, "spec.template.spec.containers[0].ports[0].containerPort"),
    ]
    assert findings[0].code == validation.CODE and findings[0].fixer == validation.ID
    assert findings[0].message == "spec.replicas: expected integer, got string '2'"
    assert findings[0].obj.kind == "Deployment" and findings[0].obj.name == "web"


def test_an_unknown_field_fails_only_under_strict_and_is_found_at_its_key() -> None:
    text = DEPLOYMENT.replace("image: nginx:1.25\n", "image: nginx:1.25\n          imagePolicy: Always\n")
    assert check(text) == ([], [])
    findings, _ = check(text, strict=True)
    assert where(findings) == [(16, 11, "spec.template.spec.containers[0].imagePolicy")]
    assert "unknown field 'imagePolicy'" in findings[0].message


def test_a_missing_required_field_is_found_at_the_mapping_that_lacks_it() -> None:
    findings, _ = check(DEPLOYMENT.replace("        - name: web\n          image", "        - image"))
    assert where(findings) == [(14, 11, "spec.template.spec.containers[0].name")]
    assert findings[0].message == "spec.template.spec.containers[0]: required field 'name' is missing"


def test_a_removed_api_version_is_found_at_apiversion_and_names_the_served_one() -> None:
    findings, _ = check(DEPLOYMENT.replace("apps/v1", "extensions/v1beta1"))
    assert where(findings) == [(1, 13, "apiVersion")]
    assert findings[0].message.endswith("is not served by Kubernetes 1.37; use apps/v1")


def test_whether_an_api_version_is_served_depends_on_the_target_version() -> None:
    hpa = textwrap.dedent("""\
        apiVersion: autoscaling/v2beta2
        kind: HorizontalPodAutoscaler
        metadata: {name: web}
        spec:
          scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
          minReplicas: 1
          maxReplicas: 3
        """)
    assert check(hpa, version="1.25") == ([], [])  # autoscaling/v2beta2 was removed in 1.26
    findings, _ = check(hpa, version="1.26")
    assert [f.message for f in findings] == [
        (
            "apiVersion autoscaling/v2beta2 of HorizontalPodAutoscaler is not served by Kubernetes 1.26; "
            "use autoscaling/v1 or autoscaling/v2"
        )
    ]


def test_a_custom_resource_without_a_schema_gets_a_note_not_a_finding() -> None:
    findings, notes = check(ROLLOUT + "---\n" + ROLLOUT.replace("canary", "other"))
    assert findings == []
    assert len(notes) == 1 and (notes[0].line, notes[0].column) == (1, 1)  # once per kind and version
    assert "Rollout/canary (argoproj.io/v1alpha1) not validated: no schema" in notes[0].message


@pytest.mark.parametrize(
    "layout", ["rollout_v1alpha1.json", "argoproj.io/rollout_v1alpha1.json", "rollout-argoproj-v1alpha1.json"]
)
def test_schema_dir_validates_custom_resources(tmp_path: Path, layout: str) -> None:
    (tmp_path / layout).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / layout).write_text(json.dumps(ROLLOUT_SCHEMA))
    findings, notes = check(ROLLOUT, schema_dir=str(tmp_path))
    assert notes == []
    assert where(findings) == [(6, 13, "spec.replicas")]
    assert check(ROLLOUT.replace("many", "3"), schema_dir=str(tmp_path)) == ([], [])
    findings, _ = check(ROLLOUT.replace("many", "3\n  paused: true"), schema_dir=str(tmp_path))
    assert where(findings) == [(7, 3, "spec.paused")]


def test_a_schema_dir_without_the_kind_and_an_unusable_schema_are_notes(tmp_path: Path) -> None:
    findings, notes = check(ROLLOUT, schema_dir=str(tmp_path))
    assert findings == [] and "rollout_v1alpha1.json" in notes[0].message
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "rollout_v1alpha1.json").write_text("{not json")
    findings, notes = check(ROLLOUT, schema_dir=str(tmp_path / "broken"))
    assert findings == [] and "not JSON" in notes[0].message


def test_list_items_and_json_files_are_validated_at_their_own_positions() -> None:
    listed = textwrap.dedent("""\
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: Service
            metadata: {name: web}
            spec:
              ports: [{port: eighty}]
        """)
    findings, _ = check(listed)
    assert where(findings) == [(8, 22, "items[0].spec.ports[0].port")]
    as_json = '{\n  "apiVersion": "v1",\n  "kind": "ConfigMap",\n  "metadata": {"name": "c"},\n'
    as_json += '  "data": {"a": 1}\n}\n'
    findings, _ = check(as_json)
    assert where(findings) == [(5, 17, "data.a")]


def test_yaml_1_1_values_and_keys_are_read_as_kubernetes_reads_them() -> None:
    config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  on: 'x'\n  mode: 0644\n"
    findings, _ = check(config_map)  # the key `on` is the string "true"; 0644 is the integer 420
    assert [f.message for f in findings] == ["data.mode: expected string, got integer 420"]


def test_the_ignore_annotation_switches_validation_off_for_an_object() -> None:
    text = DEPLOYMENT.replace("replicas: 2", "replicas: two").replace(
        "  name: web\nspec", "  name: web\n  annotations: {k8sfix.io/ignore: schema}\nspec"
    )
    assert check(text) == ([], [])


def test_the_verdicts_agree_with_kubernetes_validate_on_the_corpus() -> None:
    """Objects of every 3rd corpus file that the library has a schema for: valid here (strict) iff
    ``kubernetes_validate.validate(obj, version, strict=True)`` says so (:mod:`tests.reference_schema`)."""
    version = reference_schema.latest_version()
    compared = disagreements = 0
    for source in corpus_sources()[::3]:
        verdicts = _verdicts(source.text, validation.SchemaCheck(True, True))
        for key, manifest in _objects(source.text).items():
            try:
                reference_schema.validate(validation.json_data(manifest.node), version, strict=True)
                expected = True
            except reference_schema.SchemaNotFoundError:
                continue
            except reference_schema.ValidationError:
                expected = False
            compared += 1
            disagreements += verdicts[key] is not expected
    print(f"\nagreement with kubernetes_validate.validate: {compared - disagreements}/{compared} objects")
    assert compared > 500 and disagreements == 0


# --- the guard: a fix never turns a valid object into an invalid one ---------------------------------


@dataclass(frozen=True)
class BrokenOptions:
    key: str = "imagePullPolicy"
    value: object = 3


class DeliberatelyBroken(Fixer):
    """A fixer with a bug: it writes a value the schema refuses (the options say which)."""

    id = "deliberately-broken"
    code = "K8S999"
    Options = BrokenOptions
    writes = ("imagePullPolicy",)

    def check(self, manifest: Manifest, ctx: Context) -> Iterator[Finding]:
        template = pod_template(manifest, ctx.pod_kinds)
        options: BrokenOptions = self.options
        for container in containers(template.spec) if template else ():
            if options.key not in container.node.own:
                yield self.finding(
                    manifest,
                    container.node,
                    f"no {options.key}",
                    fix=(
                        f"set {options.key}",
                        lambda c=container: [
                            ctx.editor.add_key(c.node, options.key, options.value, after=("image",))
                        ],
                    ),
                )


def engine_with_broken_fixer(**options: object) -> Engine:
    engine = Engine(load(None, select=[]))
    engine.fixers.append(DeliberatelyBroken(BrokenOptions(**options)))
    return engine


def test_a_fix_that_breaks_the_schema_is_not_written_and_names_the_fixer() -> None:
    result = process(engine_with_broken_fixer(), Source.from_text("app.yaml", DEPLOYMENT), fix=True)
    assert result.status is Status.FAILED and result.output is None and result.fixed == frozenset()
    (error,) = result.errors
    assert error.message.startswith("deliberately-broken: the fix would make Deployment/web invalid")
    assert "imagePullPolicy: expected string, got integer 3" in error.message
    assert (error.line, error.column) == (1, 1)


def test_an_unknown_key_is_refused_when_the_object_passed_the_strict_schema() -> None:
    engine = engine_with_broken_fixer(key="imagePullPolicyy", value="Always")
    result = process(engine, Source.from_text("app.yaml", DEPLOYMENT), fix=True)
    assert result.status is Status.FAILED and result.output is None
    assert "unknown field 'imagePullPolicyy'" in result.errors[0].message


def test_the_same_fixes_are_written_when_they_keep_the_schema() -> None:
    engine = engine_with_broken_fixer(key="imagePullPolicy", value="IfNotPresent")
    result = process(engine, Source.from_text("app.yaml", DEPLOYMENT), fix=True)
    assert result.status is Status.CHANGED and result.errors == ()
    assert "imagePullPolicy: IfNotPresent" in (result.output or "")


def test_the_cli_leaves_the_file_alone_and_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from remediate.cli import main as cli

    target = tmp_path / "app.yaml"
    target.write_text(DEPLOYMENT)
    original = registry.all_fixers()
    monkeypatch.setattr(registry, "all_fixers", lambda: original + (DeliberatelyBroken,))
    code = cli.run(["--write", "--select", "deliberately-broken", "--jobs", "1", str(target)])
    assert code == 2
    assert target.read_text() == DEPLOYMENT


def test_a_value_the_guard_passed_is_not_validated_again_and_a_new_one_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine's verdicts keep the guard's passes: the same fix on another run is not judged
    again, while another value (here a broken one) is, and is refused."""
    engine = engine_with_broken_fixer(key="imagePullPolicy", value="IfNotPresent")
    first = process(engine, Source.from_text("app.yaml", DEPLOYMENT), fix=True)
    assert first.status is Status.CHANGED and engine.verdicts.learnt

    def judged(*args: object) -> None:
        raise AssertionError("validated again")

    with monkeypatch.context() as patched:
        patched.setattr(validation, "_judge", judged)
        again = process(engine, Source.from_text("other.yaml", DEPLOYMENT), fix=True)
    assert again.status is Status.CHANGED and again.output == first.output
    broken = engine_with_broken_fixer(key="imagePullPolicy", value=3)
    broken.verdicts = engine.verdicts
    refused = process(broken, Source.from_text("app.yaml", DEPLOYMENT), fix=True)
    assert refused.status is Status.FAILED and "expected string, got integer 3" in refused.errors[0].message


def test_a_pass_is_remembered_only_for_a_value_validated_alone() -> None:
    """A key holds the value alone, so a value judged with its parent (its schema part cannot be
    found: here a key the schema does not know) is not remembered, nor one judged by --schema-dir.
    A container that had an unknown key already is judged by the ordinary schema, which lets a
    second one through; that pass must not let it into a container without one."""
    unknown = engine_with_broken_fixer(key="x-note", value="kept")
    lax = DEPLOYMENT.replace("image: nginx:1.25", "image: nginx:1.25\n          foo: bar")
    assert process(unknown, Source.from_text("lax.yaml", lax), fix=True).status is Status.CHANGED
    assert not unknown.verdicts.learnt
    result = process(unknown, Source.from_text("app.yaml", DEPLOYMENT), fix=True)
    assert "unknown field 'x-note'" in result.errors[0].message and not unknown.verdicts.learnt
    custom = engine_with_broken_fixer(key="imagePullPolicy", value="IfNotPresent")
    custom.schema = validation.SchemaCheck(schema_dir=str(ROOT / "tests"))
    assert process(custom, Source.from_text("app.yaml", DEPLOYMENT), fix=True).status is Status.CHANGED
    assert not custom.verdicts.learnt


def _object(text: str, pull: str = "Always") -> Manifest:
    """The one object of ``text``, its container given ``imagePullPolicy: pull``."""
    (manifest,) = manifests(
        parse(text.replace("image: nginx:1.25", f"image: nginx:1.25\n          imagePullPolicy: {pull}"))
    )
    return manifest


def test_the_verdicts_differ_with_everything_a_verdict_depends_on() -> None:
    """The key of a touched value changes with the target version, the kind, the apiVersion, the
    path and the value before or after, and not with the order of a mapping's keys."""
    (before,) = manifests(parse(DEPLOYMENT))
    after = _object(DEPLOYMENT)
    part = ("spec", "template", "spec", "containers", 0, "imagePullPolicy")
    key = validation.verdict_key(before, after, part, (1, 31))
    reordered = _object(
        DEPLOYMENT.replace(
            "  replicas: 2\n  selector:\n    matchLabels: {app: web}\n",
            "  selector:\n    matchLabels: {app: web}\n  replicas: 2\n",
        )
    )
    assert validation.verdict_key(before, reordered, part, (1, 31)) == key
    others = {
        validation.verdict_key(before, after, part, (1, 30)),
        validation.verdict_key(before, _object(DEPLOYMENT, "Never"), part, (1, 31)),
        validation.verdict_key(before, _object(DEPLOYMENT.replace("apps/v1", "apps/v1beta2")), part, (1, 31)),
        validation.verdict_key(
            before, _object(DEPLOYMENT.replace("Deployment", "StatefulSet")), part, (1, 31)
        ),
        validation.verdict_key(None, after, part, (1, 31)),
        validation.verdict_key(after, after, part, (1, 31)),
        validation.verdict_key(before, after, part[:-1], (1, 31)),
    }
    assert key not in others and len(others) == 7


PROBE = """\
import contextlib, io, sys
from remediate.cli.main import entry
sys.argv = ["k8sfix", *sys.argv[1:]]
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    entry()
print("jsonschema" in sys.modules)
"""


def test_a_second_run_judges_the_same_fixes_without_loading_the_schemas(tmp_path: Path) -> None:
    """Across runs (the user's cache directory): the second run of a fixing --diff does not import
    jsonschema, and neither ``--no-cache`` nor a damaged cache file keeps the guard from judging."""
    import os
    import subprocess
    import sys

    (tmp_path / "app.yaml").write_text(DEPLOYMENT)
    (tmp_path / "probe.py").write_text(PROBE)
    environment = {**os.environ, "K8SFIX_CACHE_DIR": str(tmp_path / "cache")}

    def loads_schemas(*args: str) -> bool:
        ran = subprocess.run(
            [sys.executable, "probe.py", "--diff", *args, "app.yaml"],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
        return ran.stdout.split()[-1] == "True"

    assert loads_schemas()
    saved = tmp_path / "cache" / verdict_cache.FILE_NAME
    assert json.loads(saved.read_text())["passed"]
    assert not loads_schemas()
    assert loads_schemas("--no-cache")
    nested = "[" * 100_000  # deeper than json can decode: RecursionError, not ValueError
    for damaged in (
        "{",
        nested,
        '{"fingerprint": 1}',
        json.dumps({"fingerprint": [1, "other"], "passed": []}),
    ):
        saved.write_text(damaged)
        assert loads_schemas()
    assert not loads_schemas()


def test_the_kept_passes_belong_to_the_validating_packages_as_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade of a package that gives verdicts (it writes the package's files anew) makes the
    file's passes another fingerprint's; the package is found for it, not imported."""
    import sys

    package = tmp_path / "judge_of_values"
    package.mkdir()
    (package / "__init__.py").write_text("VERSION = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(verdict_cache, "JUDGES", ("judge_of_values",))
    before = verdict_cache.fingerprint()
    assert verdict_cache.fingerprint() == before and "judge_of_values" in before
    (package / "__init__.py").unlink()
    (package / "__init__.py").write_text("VERSION = 2\n")
    assert verdict_cache.fingerprint() != before
    assert "judge_of_values" not in sys.modules


class ReplicasAsNumber(Fixer):
    """A fixer that repairs a schema error: ``replicas: "2"`` -> ``replicas: 2``."""

    id = "replicas-as-number"
    code = "K8S998"
    Options = BrokenOptions
    writes = ("replicas",)

    def check(self, manifest: Manifest, ctx: Context) -> Iterator[Finding]:
        spec = manifest.node.get("spec")
        replicas = spec.get("replicas") if spec is not None else None
        if replicas is not None and isinstance(replicas.data, str):
            number = int(replicas.data)
            yield self.finding(
                manifest,
                replicas,
                "replicas is a string",
                fix=("write replicas as a number", lambda: [ctx.editor.set_value(spec, "replicas", number)]),
            )


def test_a_schema_finding_a_fix_repairs_is_reported_as_fixed() -> None:
    engine = Engine(load(None, select=[]), validation.SchemaCheck(True))
    engine.fixers.append(ReplicasAsNumber())
    source = Source.from_text("app.yaml", DEPLOYMENT.replace("replicas: 2", 'replicas: "2"'))
    result = process(engine, source, fix=True)
    assert result.status is Status.CHANGED and "replicas: 2\n" in (result.output or "")
    (schema_finding,) = [f for f in result.findings if f.code == validation.CODE]
    assert schema_finding.identity in result.fixed and result.unfixed == ()


# --- the command line ----------------------------------------------------------------------------------


def test_cli_validate_reports_findings_and_notes_in_text_and_json(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(DEPLOYMENT.replace("replicas: 2", "replicas: two") + "---\n" + ROLLOUT)
    text = k8sfix("--validate", "--select", "image-pull-policy", "app.yaml", cwd=tmp_path)
    assert text.returncode == 1
    out = text.stdout.decode()
    expected = "app.yaml:6:13: K8S100 Deployment/web: spec.replicas: expected integer, got string 'two'"
    assert expected in out
    assert "app.yaml:19:1: note: Rollout/canary (argoproj.io/v1alpha1) not validated" in text.stderr.decode()
    as_json = k8sfix(
        "--strict", "--format", "json", "--select", "image-pull-policy", "app.yaml", cwd=tmp_path
    )
    document = json.loads(as_json.stdout)
    schema = [f for f in document["findings"] if f["code"] == "K8S100"]
    assert [(f["line"], f["column"], f["fixer"]) for f in schema] == [(6, 13, "schema")]
    assert document["notes"][0]["line"] == 19


def test_cli_schema_findings_in_sarif_and_github_annotations(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(DEPLOYMENT.replace("replicas: 2", "replicas: two"))
    args = ("--validate", "--select", "image-pull-policy", "app.yaml")
    sarif = k8sfix("--format", "sarif", *args, cwd=tmp_path)
    run = json.loads(sarif.stdout)["runs"][0]
    (result,) = [r for r in run["results"] if r["ruleId"] == "K8S100"]
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 6, "startColumn": 13}
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "K8S100"
    github = k8sfix("--format", "github", *args, cwd=tmp_path)
    annotation = b"::error file=app.yaml,line=6,col=13,title=K8S100 schema::Deployment/web: spec.replicas"
    assert annotation in github.stdout


def test_cli_without_validate_reports_no_schema_findings(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(DEPLOYMENT.replace("replicas: 2", "replicas: two"))
    result = k8sfix("--select", "image-pull-policy", "app.yaml", cwd=tmp_path)
    assert b"K8S100" not in result.stdout


def test_cli_schema_dir_and_an_unsupported_version(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "rollout_v1alpha1.json").write_text(json.dumps(ROLLOUT_SCHEMA))
    (tmp_path / "rollout.yaml").write_text(ROLLOUT)
    result = k8sfix("--schema-dir", "schemas", "--select", "image-pull-policy", "rollout.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert b"rollout.yaml:6:13: K8S100 Rollout/canary: spec.replicas: expected integer" in result.stdout
    old = k8sfix("--validate", "--kubernetes-version", "1.20", "rollout.yaml", cwd=tmp_path)
    assert old.returncode == 2 and b"schemas for Kubernetes 1.25 to" in old.stderr
    missing = k8sfix("--schema-dir", "nowhere", "rollout.yaml", cwd=tmp_path)
    assert missing.returncode == 2 and b"--schema-dir nowhere: not a directory" in missing.stderr


def test_explain_prints_the_schema_check_documentation(capsys: pytest.CaptureFixture[str]) -> None:
    from remediate.cli import main as cli

    for name in ("schema", "K8S100"):
        assert cli.run(["--explain", name]) == 0
        out = capsys.readouterr().out
        assert out.startswith("schema (K8S100)\n") and "--schema-dir" in out


# --- the corpus ------------------------------------------------------------------------------------------


@pytest.mark.xdist_group("corpus-all")
def test_the_schema_guard_refuses_no_fix_on_the_corpus() -> None:
    """All fixers on the shared corpus: the guard refused no fix, so every fix left valid objects
    valid (tests/test_trust_corpus.py checks the outputs with kubernetes-validate itself)."""
    refused = [
        (source.name, error.message)
        for source, result in fixed_corpus(ALL)
        for error in result.errors
        if "invalid against the Kubernetes" in error.message
    ]
    fixed = sum(1 for _, result in fixed_corpus(ALL) if result.output is not None)
    seconds = FIX_SECONDS[ALL, True]  # fixed_corpus(ALL) applies unsafe fixes too
    print(f"\nschema guard on the corpus: {fixed} files fixed in {seconds:.1f} s, {len(refused)} refused")
    assert fixed > 500 and refused == []


def _documents(text: str) -> list[Document]:
    try:
        return parse(text)
    except Exception:  # noqa: BLE001 - unparsable files have no objects to count
        return []


def _objects(text: str) -> dict[tuple, Manifest]:
    """The objects of a file by (document, path); none when it does not parse."""
    return {(m.document.index, m.node.path()): m for m in manifests(_documents(text))}


def _verdicts(text: str, settings: validation.SchemaCheck) -> dict[tuple, bool | None]:
    """Per object (document, path): True valid, False invalid, None not validated (no schema)."""
    documents = _documents(text)
    findings, _ = validation.check(documents, None, settings)
    invalid = {(f.doc, f.path[:2] if f.path[:1] == ("items",) else ()) for f in findings}
    catalog = schemas.catalog(versions.latest_known(), settings.strict, None)
    return {
        (m.document.index, m.node.path()): (
            None
            if isinstance(catalog.lookup(m.kind, m.api_version), schemas.NoSchema)
            else (m.document.index, m.node.path()) not in invalid
        )
        for m in manifests(documents)
    }


# --- the README ------------------------------------------------------------------------------------------

README_APP = DEPLOYMENT.replace("replicas: 2", 'replicas: "2"').replace(
    "        - name: web\n          image: nginx:1.25\n",
    "        - image: nginx:1.25\n          imagePolicy: Always\n",
)
README_OLD = """\
apiVersion: extensions/v1beta1
kind: Deployment
metadata:
  name: api
spec:
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: api:1.0
"""


def test_the_readme_commands_run_and_print_what_it_shows(tmp_path: Path) -> None:
    """The commands of the README's "Schema validation" section, in a checkout-like directory with the
    ``deploy/`` and ``schemas/`` they name; the second one prints the sample output shown."""
    section = (ROOT / "README.md").read_text().split("### Schema validation", 1)[1].split("\n### ", 1)[0]
    commands, sample = re.findall(r"```(?:sh)?\n(.*?)```", section, flags=re.DOTALL)[:2]
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.yaml").write_text(README_APP)
    (tmp_path / "deploy" / "old.yaml").write_text(README_OLD)
    (tmp_path / "deploy" / "rollout.yaml").write_text(ROLLOUT.replace("many", "3"))
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "rollout_v1alpha1.json").write_text(json.dumps(ROLLOUT_SCHEMA))
    outputs = []
    for line in commands.strip().splitlines():
        argv = shlex.split(line)
        assert argv[0] == "k8sfix"
        redirect = argv.index(">") if ">" in argv else None
        result = k8sfix(*argv[1:redirect], cwd=tmp_path)
        assert result.returncode in (0, 1), (line, result.stderr)
        outputs.append(result)
    shown = sample.strip().splitlines()
    assert shown and all(line in outputs[1].stdout.decode().splitlines() for line in shown)
    assert b"Rollout" not in outputs[2].stderr  # validated with schemas/, so no "no schema" note
    assert b"+++ b/deploy/app.yaml" in outputs[2].stdout


def test_schema_is_a_check_select_ignore_and_list_fixers_know(tmp_path: Path) -> None:
    """``--select schema`` (or K8S100) validates without --validate; ``--ignore schema`` wins over it."""
    (tmp_path / "bad.yaml").write_text(DEPLOYMENT.replace("replicas: 2", 'replicas: "2"'))
    selected = k8sfix("--select", "schema", "bad.yaml", cwd=tmp_path)
    assert selected.returncode == 1 and b"K8S100" in selected.stdout and b"K8S001" not in selected.stdout
    assert b"K8S100" in k8sfix("--select", "K8S100", "bad.yaml", cwd=tmp_path).stdout
    ignored = k8sfix(
        "--validate", "--ignore", "schema", "--select", "image-pull-policy,schema", "bad.yaml", cwd=tmp_path
    )
    assert b"K8S100" not in ignored.stdout and b"K8S001" in ignored.stdout
    listed = k8sfix("--list-fixers", cwd=tmp_path).stdout.decode().splitlines()
    assert listed[-2].startswith("K8S100  schema ")
