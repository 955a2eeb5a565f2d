"""The container-resources fixer: Kubernetes quantities, the options and their matching, the
decisions for partial settings, and its results on the whole corpus held against rules written here
(every container complete, no request above its limit, no existing value changed)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fixers.container_resources import (
    FINEST,
    Options,
    Plan,
    Quantity,
    describe,
    matches,
    plan_for,
    quantity_of,
)
from remediate.kube.k8s import BUILTIN_POD_KINDS, Container, containers, manifests, pod_template
from remediate.run.config import ConfigError, load
from remediate.yaml.document import Mapping, parse
from remediate.yaml.values import to_data
from tests.helpers import fix_text, fixed_or_same
from tests.test_corpus import fixed_corpus

SELECT = ["container-resources"]
CPU = Decimal("0.001")


# -- quantities -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("100m", "0.1"),
        ("64Mi", 64 * 2**20),
        ("1Gi", 2**30),
        ("2Ki", 2048),
        ("1.5Gi", 3 * 2**29),
        ("64M", 64 * 10**6),
        ("1k", 1000),
        ("1G", 10**9),
        ("1E", 10**18),  # a lone E is exa ...
        ("1E3", 1000),  # ... followed by digits it is an exponent
        ("1e3", 1000),
        ("2.5e-3", "0.0025"),
        ("1", 1),
        ("0.5", "0.5"),
        (".5", "0.5"),
        ("1.", 1),
        ("+2", 2),
        ("12n", "0.000000012"),
        ("3u", "0.000003"),
        (128974848, 128974848),  # a YAML number
        (0.25, "0.25"),
    ],
)
def test_quantities_parse_as_kubernetes_reads_them(text: Any, amount: Any) -> None:
    quantity = Quantity.parse(text)
    assert quantity is not None
    assert quantity.amount == Decimal(amount)


@pytest.mark.parametrize(
    "text", ["1gb", "1.5cores", "", "1Mi ", " 1", "m", "1mi", "1e", "1K", "Mi", "1e1000", "${CPU}"]
)
def test_what_is_not_a_quantity(text: str) -> None:
    assert Quantity.parse(text) is None


def test_booleans_and_collections_are_not_quantities() -> None:
    assert Quantity.parse(True) is None
    assert Quantity.parse(None) is None
    assert Quantity.parse(["1"]) is None


def test_negative_values_are_not_resource_quantities() -> None:
    node = parse("cpu: -1\n")[0].root
    assert isinstance(node, Mapping)
    assert Quantity.parse("-1") is not None  # the syntax allows a sign ...
    assert quantity_of(node.get("cpu")) is None  # ... resources do not


@pytest.mark.parametrize(
    ("requested", "ratio", "finest", "limit"),
    [
        ("100m", "2", CPU, "200m"),
        ("64Mi", "2", None, "128Mi"),
        ("250m", "2", CPU, "500m"),
        ("1500m", "2", CPU, "3000m"),  # the unit of the request is kept
        ("1.5Gi", "2", None, "3Gi"),
        ("1.1Gi", "1.5", None, "1.65Gi"),
        ("100M", "2", None, "200M"),
        ("1e3", "2", None, "2e3"),
        ("1", "1.5", CPU, "1.5"),
        ("0.5", "2", CPU, "1"),
        ("33m", "1.5", CPU, "50m"),  # 49.5m: CPU is counted in whole millicores
        ("0.0001", "2", CPU, "0.001"),
        ("3", "1.25", None, "3.75"),  # bytes are not rounded
        (1, "2.0", CPU, 2),  # a YAML number stays a number
        (0.5, "2.0", CPU, 1),
        (0.3, "1.5", CPU, 0.45),
    ],
)
def test_a_limit_is_ratio_times_the_request_in_its_unit(
    requested: Any, ratio: str, finest: Any, limit: Any
) -> None:
    quantity = Quantity.parse(requested)
    assert quantity is not None
    result = quantity.times(Decimal(ratio), finest).value()
    assert result == limit
    assert type(result) is type(limit)


def test_cpu_is_the_only_resource_rounded_to_a_finest_amount() -> None:
    assert FINEST == {"cpu": Decimal("0.001")}


# -- options --------------------------------------------------------------------------------------


def _container(name: str = "app", image: str | None = "registry.example/app:1") -> Container:
    text = f"name: {name}\n" + (f"image: {image}\n" if image else "")
    node = parse(text)[0].root
    assert isinstance(node, Mapping)
    return Container(node, "containers", name)


def test_defaults_are_the_tutorials() -> None:
    defaults = Options().defaults
    assert {slot: defaults[slot] for slot in defaults if slot[1] != "ephemeral-storage"} == {
        ("requests", "cpu"): "100m",
        ("requests", "memory"): "64Mi",
        ("limits", "cpu"): "200m",
        ("limits", "memory"): "128Mi",
    }


def test_override_matchers_are_globs_that_must_all_match() -> None:
    assert matches({"name": "jvm-*"}, "Deployment", _container("jvm-api"))
    assert not matches({"name": "jvm-*"}, "Deployment", _container("api"))
    assert matches({"image": "registry.example/*"}, "Pod", _container())
    assert not matches({"image": "other.example/*"}, "Pod", _container())
    assert matches({"kind": "Cron*"}, "CronJob", _container())
    assert not matches({"kind": "CronJob"}, "Job", _container())
    assert not matches({"kind": "Deployment", "name": "web"}, "Deployment", _container("api"))
    assert matches({"kind": "Deployment", "name": "a*", "image": "*:1"}, "Deployment", _container("api"))
    assert not matches({"image": "*"}, "Pod", _container(image=None))
    assert not matches({"name": "API"}, "Pod", _container("api"))  # case-sensitive


def test_the_first_matching_override_wins_and_the_rest_come_from_the_options() -> None:
    options = Options(
        memory_limit="256Mi",
        overrides=(
            {"name": "api", "cpu-limit": "1"},
            {"kind": "Deployment", "cpu-limit": "2", "memory-request": "128Mi"},
        ),
    )
    first = options.defaults_for("Deployment", _container("api"))
    assert first["limits", "cpu"] == "1"
    assert first["requests", "memory"] == "64Mi"
    assert first["limits", "memory"] == "256Mi"
    second = options.defaults_for("Deployment", _container("web"))
    assert (second["limits", "cpu"], second["requests", "memory"]) == ("2", "128Mi")
    assert options.defaults_for("Pod", _container("web")) == options.defaults


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"limit_ratio": 0.5}, "limit-ratio: must be a number of at least 1"),
        ({"cpu_request": "1x"}, "cpu-request: '1x' is not a positive Kubernetes quantity"),
        ({"memory_limit": "0"}, "memory-limit: '0' is not a positive"),
        ({"cpu_request": "300m"}, "cpu-request: 300m is above cpu-limit 200m"),
        ({"overrides": ({"cpu-limit": "1"},)}, r"overrides\[1\]: needs at least one of name, image, kind"),
        ({"overrides": ({"name": "a"},)}, r"overrides\[1\]: sets no quantity"),
        (
            {"overrides": ({"name": "a", "cpu-limit": "1"}, {"name": "b", "memory-request": "1Gi"})},
            r"overrides\[2\]\.memory-request: 1Gi is above memory-limit 128Mi",
        ),
        (
            {"overrides": ({"kind": "Job", "cpu-limit": "-1"},)},
            r"overrides\[1\]\.cpu-limit: '-1' is not a positive",
        ),
    ],
)
def test_options_that_would_write_invalid_objects_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Options(**options)


def test_without_cpu_limits_a_cpu_request_may_exceed_the_unused_cpu_limit_option() -> None:
    big = {"name": "big", "cpu-request": "4"}
    options = Options(require_cpu_limit=False, cpu_request="2", overrides=(big,))
    assert options.defaults_for("Pod", _container("big"))["requests", "cpu"] == "4"


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".k8sfix.yaml"
    path.write_text(text)
    return path


def test_a_bad_override_is_a_config_error_naming_file_line_fixer_and_key(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        "fixers:\n  container-resources:\n    cpu-limit: 1\n    overrides:\n"
        "    - name: web\n      cpu-request: 2\n",
    )
    with pytest.raises(ConfigError) as error:
        load(path)
    assert str(error.value) == (
        f"{path}:5:5: error: fixers.container-resources.overrides[1].cpu-request: 2 is above cpu-limit 1; "
        "a request cannot exceed its limit"
    )


def test_an_unknown_override_key_is_a_config_error(tmp_path: Path) -> None:
    path = _config(tmp_path, "fixers:\n  container-resources:\n    overrides:\n    - {name: web, cpu: 1}\n")
    expected = r":4:5: error: fixers.container-resources.overrides: expected one of name, .* got 'cpu'"
    with pytest.raises(ConfigError, match=expected):
        load(path)


def test_numbers_in_the_config_are_quantities(tmp_path: Path) -> None:
    path = _config(tmp_path, "fixers:\n  container-resources:\n    cpu-limit: 1\n    limit-ratio: 3\n")
    settings = load(path)
    options = settings.options["container-resources"]
    assert (options.cpu_limit, options.limit_ratio) == ("1", 3.0)


# -- decisions ------------------------------------------------------------------------------------

CPU_AND_MEMORY = (
    ("requests", "cpu"),
    ("requests", "memory"),
    ("limits", "cpu"),
    ("limits", "memory"),
)


def _plan(resources: str, required: tuple = CPU_AND_MEMORY, ratio: str = "2") -> Plan:
    node = parse(f"name: app\nresources: {resources}\n")[0].root
    assert isinstance(node, Mapping)
    return plan_for(node, required, Options().defaults, Decimal(ratio))


def test_nothing_set_gets_the_defaults() -> None:
    plan = _plan("{}")
    assert plan.additions == {
        "requests": {"cpu": "100m", "memory": "64Mi"},
        "limits": {"cpu": "200m", "memory": "128Mi"},
    }
    assert describe(plan) == "has no CPU or memory request and no CPU or memory limit"


def test_only_limits_the_requests_copy_them_keeping_their_type() -> None:
    plan = _plan('{limits: {cpu: 1, memory: "1Gi"}}')
    assert plan.additions == {"requests": {"cpu": 1, "memory": "1Gi"}}
    assert describe(plan) == "has no CPU or memory request"


def test_only_requests_the_limits_follow_the_ratio() -> None:
    plan = _plan("{requests: {cpu: 250m, memory: 100Mi}}", ratio="1.5")
    assert plan.additions == {"limits": {"cpu": "375m", "memory": "150Mi"}}


def test_each_resource_is_completed_on_its_own() -> None:
    plan = _plan("{requests: {memory: 1Gi}, limits: {cpu: 500m}}")
    assert plan.additions == {"requests": {"cpu": "500m"}, "limits": {"memory": "2Gi"}}
    assert describe(plan) == "has no CPU request and no memory limit"


def test_null_counts_as_unset() -> None:
    plan = _plan("{requests: null, limits: {cpu: ~, memory: 128Mi}}")
    assert plan.additions == {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m"}}


def test_zero_is_reported_never_overwritten_and_nothing_goes_below_a_zero_limit() -> None:
    plan = _plan("{requests: {cpu: '0', memory: 64Mi}, limits: {memory: 64Mi}}")
    assert plan.zero == [("requests", "cpu")]
    assert plan.additions == {"limits": {"cpu": "200m"}}  # a limit above a zero request is valid
    assert describe(plan) == "has no CPU limit and a CPU request of 0 (0 counts as unset)"
    plan = _plan("{limits: {cpu: 0, memory: 64Mi}}")
    assert plan.additions == {"requests": {"memory": "64Mi"}}
    assert describe(plan) == (
        "has no CPU or memory request and a CPU limit of 0 "
        "(0 counts as unset; no CPU request fits below a CPU limit of 0)"
    )


def test_no_value_is_derived_from_something_that_is_not_a_quantity() -> None:
    plan = _plan("{requests: {cpu: 1.5cores, memory: 64Mi}}")
    assert plan.additions == {"limits": {"memory": "128Mi"}}
    assert plan.blocked == [
        'no CPU limit is derived from its request "1.5cores", which is not a valid quantity'
    ]


def test_complete_resources_are_no_finding() -> None:
    plan = _plan("{requests: {cpu: 1, memory: 1Gi}, limits: {cpu: 2, memory: 1Gi}}")
    assert (plan.missing, plan.zero, plan.additions) == ([], [], {})


def test_without_the_cpu_limit_requirement_a_missing_cpu_limit_is_no_finding() -> None:
    required = (("requests", "cpu"), ("requests", "memory"), ("limits", "memory"))
    plan = _plan("{requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}", required)
    assert (plan.missing, plan.additions) == ([], {})


# -- findings and fixes ---------------------------------------------------------------------------

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p{annotations}
spec:
  containers:
  - name: web
    image: app:1
    resources:
      requests: {{cpu: 100m, memory: 64Mi}}
      limits: {{cpu: 200m}}
  ephemeralContainers:
  - name: debug
    image: busybox
"""


def test_a_finding_names_the_problem_and_its_fix_the_action() -> None:
    result = fix_text(POD.format(annotations=""), SELECT)
    (finding,) = result.findings
    assert finding.message == 'container "web" has no memory limit'
    assert finding.container == "web"
    assert finding.fix is not None and finding.fix.title == "add limits {memory: 128Mi}"
    assert "limits: {cpu: 200m, memory: 128Mi}" in fixed_or_same(result)


def test_kube_score_ignore_switches_off_the_fixer_or_only_its_ephemeral_storage_part(tmp_path: Path) -> None:
    config = _config(tmp_path, "fixers:\n  container-resources:\n    ephemeral-storage: true\n")
    annotated = "\n  annotations:\n    kube-score/ignore: {}"
    storage_ignored = annotated.format("container-ephemeral-storage-request-and-limit")
    storage = fix_text(POD.format(annotations=storage_ignored), SELECT, config=config)
    assert [f.message for f in storage.findings] == ['container "web" has no memory limit']
    whole = fix_text(POD.format(annotations=annotated.format("container-resources")), SELECT, config=config)
    assert whole.findings == ()
    plain = fix_text(POD.format(annotations=""), SELECT, config=config)
    assert [(f.rule, f.message) for f in plain.findings] == [
        ("requests", 'container "web" has no ephemeral-storage request'),
        ("limits", 'container "web" has no memory or ephemeral-storage limit'),
    ]


def test_resources_from_a_merge_key_are_reported_without_a_fix() -> None:
    head = POD.format(annotations="").split("    resources:")[0]
    text = head + "    <<: {resources: {requests: {cpu: 1}}}\n"
    requests, limits = fix_text(text, SELECT).findings
    assert requests.fix is None and limits.fix is None
    why = (
        '(not fixed automatically: "resources" comes from a merge key (<<); change it where it is '
        "defined, or set it here)"
    )
    assert (requests.rule, requests.message) == ("requests", f'container "web" has no memory request {why}')
    assert (limits.rule, limits.message) == ("limits", f'container "web" has no CPU or memory limit {why}')


# -- the corpus, held to rules written here ---------------------------------------------------------

_UNITS = {
    "m": "1e-3",
    "k": "1e3",
    "M": "1e6",
    "G": "1e9",
    "T": "1e12",
    "Ki": "1024",
    "Mi": "1048576",
    "Gi": "1073741824",
    "Ti": "1099511627776",
    "": "1",
}


def _amount(value: Any) -> Decimal:
    """A quantity's amount, for the spellings the corpus and the defaults use (not the fixer's parser)."""
    text = str(value)
    suffix = next(unit for unit in sorted(_UNITS, key=len, reverse=True) if text.endswith(unit))
    return Decimal(text[: len(text) - len(suffix)]) * Decimal(_UNITS[suffix])


def _resources_by_container(text: str) -> dict[tuple, dict]:
    found = {}
    for manifest in manifests(parse(text)):
        template = pod_template(manifest, BUILTIN_POD_KINDS)
        if template is None:
            continue
        for container in containers(template.spec, ("initContainers", "containers")):
            node = container.node.get("resources")
            resources = to_data(node) if node is not None else None
            key = (manifest.document.index, container.node.path())
            found[key] = resources if isinstance(resources, dict) else {}
    return found


@pytest.mark.xdist_group("corpus-container-resources")
def test_on_the_corpus_every_fixed_container_is_complete_valid_and_keeps_its_values() -> None:
    checked = 0
    for source, result in fixed_corpus(tuple(SELECT)):
        if result.output is None:
            continue
        fixed = {(f.doc, f.path) for f in result.findings if f.fix is not None}
        before, after = _resources_by_container(source.text), _resources_by_container(result.output)
        for key in fixed:
            old, new = before[key], after[key]
            for section in ("requests", "limits"):
                for name, value in (old.get(section) or {}).items():
                    if value is not None:
                        assert new[section][name] == value, (source.name, key, "changed an existing value")
            for resource in ("cpu", "memory"):
                request, limit = new.get("requests", {}).get(resource), new.get("limits", {}).get(resource)
                assert request is not None and limit is not None, (source.name, key, "incomplete", new)
                if _amount(request) and _amount(limit):
                    assert _amount(request) <= _amount(limit), (source.name, key, resource, request, limit)
            checked += 1
    assert checked > 1000


def test_helms_empty_resources_on_the_next_line_are_filled_unless_a_comment_is_in_between() -> None:
    head = POD.format(annotations="").split("    resources:")[0]
    result = fix_text(head + "    resources:\n      {}\n", SELECT)
    filled = "    resources:\n      requests:\n        cpu: 100m\n        memory: 64Mi\n      limits:\n"
    assert fixed_or_same(result) == head + filled + "        cpu: 200m\n        memory: 128Mi\n"
    default = fix_text(head + "    resources:\n      {}\n", SELECT, unsafe=False)  # the limits are unsafe
    assert fixed_or_same(default) == head + filled.removesuffix("      limits:\n")
    findings = fix_text(head + "    resources:  # later\n      {}\n", SELECT).findings
    assert [f.rule for f in findings] == ["requests", "limits"]
    for finding in findings:
        assert finding.fix is None
        assert finding.message.endswith(
            "(not fixed automatically: a comment sits between the key and its value)"
        )
