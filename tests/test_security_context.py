"""The security-context fixer: its precedence and merge decisions, its options, and its results held
against the Pod Security Standards and kube-score, each checked by code written here from their own
documented rules (not from the fixer's), on the bundled example and on the whole corpus."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from fixers.security_context import (
    Blocker,
    Options,
    accepted_id,
    container_plan,
    pod_plan,
)
from remediate.kube.k8s import BUILTIN_POD_KINDS, is_fragment, manifests, pod_template
from remediate.run.config import ConfigError, load
from remediate.run.registry import all_fixers
from remediate.run.runner import Engine, process
from remediate.yaml.document import Document, parse
from remediate.yaml.source import Source
from remediate.yaml.values import to_data
from tests.conftest import ROOT
from tests.helpers import fix_text, fixed_or_same
from tests.test_corpus import fixed_corpus, parsing_once

RESTRICTED = Options().fields()
KUBE_SCORE = Options(profile="kube-score").fields()
DEFAULTS = Options()

# -- the Pod Security Standards, restricted level, as https://kubernetes.io/docs/concepts/security/
# pod-security-standards/ writes them (baseline controls included: restricted is everything from it)

BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}
RESTRICTED_VOLUME_SOURCES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SECURITY_CONTEXT_CONTROLS = {
    "Privileged Containers",
    "Capabilities (baseline)",
    "Privilege Escalation",
    "Running as Non-root",
    "Running as Non-root user",
    "Seccomp",
    "Capabilities",
}
"""The controls the fixer answers; the others (host namespaces, volumes, ...) are out of its scope."""


def _context(holder: dict) -> dict:
    context = holder.get("securityContext")
    return context if isinstance(context, dict) else {}


def _containers(spec: dict, groups: tuple[str, ...]) -> list[dict]:
    return [c for group in groups for c in _list(spec.get(group)) if isinstance(c, dict)]


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def well_formed(spec: dict) -> bool:
    """Container lists are lists of mappings, and every securityContext is a mapping (or absent)."""
    groups = [spec.get(group) for group in ("containers", "initContainers", "ephemeralContainers")]
    if not all(
        group is None or (isinstance(group, list) and all(isinstance(c, dict) for c in group))
        for group in groups
    ):
        return False
    holders = [spec, *_containers(spec, ("containers", "initContainers", "ephemeralContainers"))]
    return all(isinstance(h.get("securityContext"), (dict, type(None))) for h in holders)


def pss_restricted_violations(spec: dict) -> set[str]:
    """The restricted-level controls a pod spec (plain data) violates, the baseline's included."""
    pod = _context(spec)
    every = _containers(spec, ("containers", "initContainers", "ephemeralContainers"))
    contexts = [_context(c) for c in every]
    linux = (spec.get("os") or {}).get("name") != "windows"
    return (
        _host_violations(spec, pod, every, contexts)
        | _context_violations(pod, contexts)
        | _restricted_only_violations(pod, contexts, linux=linux)
    )


def _host_violations(spec: dict, pod: dict, every: list[dict], contexts: list[dict]) -> set[str]:
    """Baseline controls about the host: processes, namespaces, paths, ports, sysctls, volumes."""
    found: set[str] = set()
    if any(c.get("windowsOptions", {}).get("hostProcess") for c in [pod, *contexts]):
        found.add("HostProcess")
    if any(spec.get(key) for key in ("hostNetwork", "hostPID", "hostIPC")):
        found.add("Host Namespaces")
    volumes = [v for v in spec.get("volumes") or [] if isinstance(v, dict)]
    if any(v.get("hostPath") is not None for v in volumes):
        found.add("HostPath Volumes")
    if any(not any(v.get(source) is not None for source in RESTRICTED_VOLUME_SOURCES) for v in volumes):
        found.add("Volume Types")
    if any(port.get("hostPort") for c in every for port in c.get("ports") or []):
        found.add("Host Ports")
    if any(s.get("name") not in SAFE_SYSCTLS for s in pod.get("sysctls") or []):
        found.add("Sysctls")
    return found


SELINUX_TYPES = (None, "", "container_t", "container_init_t", "container_kvm_t", "container_engine_t")


def _context_violations(pod: dict, contexts: list[dict]) -> set[str]:
    """Baseline controls of security contexts: privileged, capabilities, /proc, SELinux, AppArmor."""
    found: set[str] = set()
    for context in contexts:
        if context.get("privileged") is True:
            found.add("Privileged Containers")
        if set((context.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES:
            found.add("Capabilities (baseline)")
        if context.get("procMount") not in (None, "Default"):
            found.add("/proc Mount Type")
    for context in [pod, *contexts]:
        selinux = context.get("seLinuxOptions") or {}
        if selinux.get("type") not in SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
            found.add("SELinux")
        if (context.get("appArmorProfile") or {}).get("type") not in (None, "RuntimeDefault", "Localhost"):
            found.add("AppArmor")
    return found


def _restricted_only_violations(pod: dict, contexts: list[dict], *, linux: bool) -> set[str]:
    """The controls the restricted level adds: non-root, no escalation, seccomp, dropped capabilities."""
    found: set[str] = set()
    # Running as Non-root: true; containers may leave it unset when the pod sets true.
    if pod.get("runAsNonRoot") is False or any(c.get("runAsNonRoot") is False for c in contexts):
        found.add("Running as Non-root")
    if pod.get("runAsNonRoot") is not True and any(c.get("runAsNonRoot") is None for c in contexts):
        found.add("Running as Non-root")
    if any(c.get("runAsUser") == 0 for c in [pod, *contexts]):
        found.add("Running as Non-root user")
    if not linux:
        return found
    if any(c.get("allowPrivilegeEscalation") is not False for c in contexts):
        found.add("Privilege Escalation")
    allowed = ("RuntimeDefault", "Localhost")
    pod_seccomp = pod.get("seccompProfile")
    if pod_seccomp is not None and pod_seccomp.get("type") not in allowed:
        found.add("Seccomp")
    for context in contexts:
        own = context.get("seccompProfile")
        if (own is not None and own.get("type") not in allowed) or (own is None and pod_seccomp is None):
            found.add("Seccomp")
        capabilities = context.get("capabilities") or {}
        dropped_all = "ALL" in (capabilities.get("drop") or [])
        if not dropped_all or set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
            found.add("Capabilities")
    return found


def kube_score_failures(spec: dict) -> set[str]:
    """kube-score's three security-context checks, after its score/security/security.go."""
    pod = spec.get("securityContext")
    found: set[str] = set()
    for container in _containers(spec, ("initContainers", "containers")):
        own = container.get("securityContext")
        if own is None and pod is None:
            found.add("container-security-context-user-group-id")
        else:
            merged = {
                **{k: v for k, v in (pod or {}).items() if k in ("runAsUser", "runAsGroup")},
                **{k: v for k, v in (own or {}).items() if v is not None},
            }
            if any(
                not isinstance(merged.get(key), int) or merged[key] < 10000
                for key in ("runAsUser", "runAsGroup")
            ):
                found.add("container-security-context-user-group-id")
        if own is not None and own.get("privileged") is True:
            found.add("container-security-context-privileged")
        if own is None or own.get("readOnlyRootFilesystem") is not True:
            found.add("container-security-context-readonlyrootfilesystem")
    return found


def pod_specs(text: str) -> list[dict]:
    specs = []
    for manifest in manifests(parse(text)):
        template = pod_template(manifest, BUILTIN_POD_KINDS)
        if template is not None:
            specs.append(to_data(template.spec))
    return specs


def config_file(tmp_path: Path, options: str) -> Path:
    path = tmp_path / ".k8sfix.yaml"
    path.write_text(
        "fixers:\n  security-context:\n" + "".join(f"    {line}\n" for line in options.splitlines())
    )
    return path


# -- precedence and merge decisions -------------------------------------------------------------


def test_a_container_false_overrides_a_pod_true_and_is_reported_not_changed() -> None:
    plan = container_plan({"runAsNonRoot": False}, {"runAsNonRoot": True}, RESTRICTED, DEFAULTS)
    assert [(e.path, e.wanted) for e in plan.explicit] == [(("runAsNonRoot",), True)]
    assert "runAsNonRoot" not in plan.missing
    assert pod_plan({"runAsNonRoot": True}, [{"runAsNonRoot": False}], RESTRICTED, DEFAULTS).missing == {
        "seccompProfile": {"type": "RuntimeDefault"}
    }


def test_pod_level_settings_cover_the_containers_that_do_not_set_their_own() -> None:
    pod = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}, "runAsUser": 10001}
    plan = container_plan(None, pod, RESTRICTED, DEFAULTS)
    assert set(plan.missing) == {
        "runAsGroup",
        "readOnlyRootFilesystem",
        "allowPrivilegeEscalation",
        "capabilities",
    }
    assert pod_plan(pod, [None, {}], RESTRICTED, DEFAULTS).missing == {}


def test_the_pod_needs_nothing_when_every_container_sets_its_own() -> None:
    own = {"runAsNonRoot": True, "seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}
    assert pod_plan(None, [own, own], RESTRICTED, DEFAULTS).missing == {}
    assert pod_plan(None, [own, {"runAsNonRoot": True}], RESTRICTED, DEFAULTS).missing == {
        "seccompProfile": {"type": "RuntimeDefault"}
    }


def test_a_bad_seccomp_type_is_reported_at_its_level_even_when_the_other_level_is_good() -> None:
    pod = pod_plan(
        {"seccompProfile": {"type": "Unconfined"}},
        [{"seccompProfile": {"type": "RuntimeDefault"}}],
        RESTRICTED,
        DEFAULTS,
    )
    assert [e.path for e in pod.explicit] == [("seccompProfile", "type")]
    container = container_plan(
        {"seccompProfile": {"type": "Unconfined"}},
        {"seccompProfile": {"type": "RuntimeDefault"}},
        RESTRICTED,
        DEFAULTS,
    )
    assert [e.wanted for e in container.explicit] == ["RuntimeDefault"]


def test_low_pod_ids_are_reported_only_where_a_container_inherits_them_but_root_always() -> None:
    assert [e.path for e in pod_plan({"runAsUser": 1000}, [None], RESTRICTED, DEFAULTS).explicit] == [
        ("runAsUser",)
    ]
    assert pod_plan({"runAsUser": 1000}, [{"runAsUser": 20000}], RESTRICTED, DEFAULTS).explicit == ()
    assert [
        e.path for e in pod_plan({"runAsUser": 0}, [{"runAsUser": 20000}], RESTRICTED, DEFAULTS).explicit
    ] == [("runAsUser",)]
    # The container inheriting a low pod value is left to the pod's finding: nothing added to it.
    assert "runAsUser" not in container_plan(None, {"runAsUser": 1000}, RESTRICTED, DEFAULTS).missing


@pytest.mark.parametrize(
    ("value", "configured", "accepted"),
    [
        (10000, 10001, True),
        (9999, 10001, False),
        (65532, 10001, True),
        (1000, 1000, True),
        (999, 1000, False),
        (True, 10001, False),
        ("10001", 10001, False),
        (0, 10001, False),
    ],
)
def test_which_ids_are_high_enough(value: Any, configured: int, accepted: bool) -> None:
    assert accepted_id(value, configured) is accepted


def test_nulls_count_as_unset_and_drop_lists_gain_only_all() -> None:
    plan = container_plan(
        {"readOnlyRootFilesystem": None, "capabilities": {"drop": ["NET_RAW"]}}, None, RESTRICTED, DEFAULTS
    )
    assert plan.missing["readOnlyRootFilesystem"] is True
    assert plan.missing["capabilities"] == {"drop": ["ALL"]}
    assert (
        "capabilities"
        not in container_plan({"capabilities": {"drop": ["ALL"]}}, None, RESTRICTED, DEFAULTS).missing
    )


def test_explicit_contrary_values_are_reported_with_what_override_would_write() -> None:
    own = {
        "readOnlyRootFilesystem": False,
        "allowPrivilegeEscalation": True,
        "runAsUser": 0,
        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "NET_ADMIN"]},
    }
    plan = container_plan(own, None, RESTRICTED, DEFAULTS)
    assert {e.path: e.wanted for e in plan.explicit} == {
        ("runAsUser",): 10001,
        ("readOnlyRootFilesystem",): True,
        ("allowPrivilegeEscalation",): False,
        ("capabilities", "add"): None,  # nothing to write: the user removes NET_ADMIN
    }
    assert plan.explicit[-1].problem.startswith("adds capabilities NET_ADMIN (")


def test_privilege_escalation_is_held_back_where_kubernetes_would_refuse_it() -> None:
    plan = container_plan({"privileged": True}, None, RESTRICTED, DEFAULTS)
    assert plan.blocked == Blocker(("privileged",), "privileged: true")
    assert "allowPrivilegeEscalation" not in plan.missing
    plan = container_plan({"capabilities": {"add": ["CAP_SYS_ADMIN"]}}, None, RESTRICTED, DEFAULTS)
    assert plan.blocked is not None and plan.blocked.path == ("capabilities", "add")
    assert (
        container_plan({"privileged": False}, None, RESTRICTED, DEFAULTS).missing["allowPrivilegeEscalation"]
        is False
    )


def test_profiles_and_per_field_options() -> None:
    assert KUBE_SCORE == {"runAsUser", "runAsGroup", "readOnlyRootFilesystem", "privileged"}
    assert "seccompProfile" in RESTRICTED and "allowPrivilegeEscalation" in RESTRICTED
    options = Options(profile="kube-score", add=("allowPrivilegeEscalation",), skip=("runAsGroup",))
    assert options.fields() == {
        "runAsUser",
        "readOnlyRootFilesystem",
        "privileged",
        "allowPrivilegeEscalation",
    }
    assert container_plan(None, None, KUBE_SCORE, DEFAULTS).missing == {
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "readOnlyRootFilesystem": True,
    }
    assert pod_plan(None, [None], KUBE_SCORE, DEFAULTS).missing == {}


def test_config_validates_field_names_and_values(tmp_path: Path) -> None:
    settings = load(config_file(tmp_path, "profile: kube-score\nskip: [privileged]\nrun-as-user: 20000"))
    options = settings.options["security-context"]
    assert (
        options.profile == "kube-score" and options.skip == ("privileged",) and options.run_as_user == 20000
    )
    with pytest.raises(ConfigError, match="skip"):
        load(config_file(tmp_path, "skip: [readOnlyRootFS]"))
    with pytest.raises(ConfigError, match="profile"):
        load(config_file(tmp_path, "profile: baseline"))


# -- the fixer on text --------------------------------------------------------------------------

POD = """apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: app
    image: registry.example/app:1
"""


def test_explicit_values_name_the_option_that_overrides_them() -> None:
    text = POD + "    securityContext:\n      readOnlyRootFilesystem: false\n"
    result = fix_text(text, ["security-context"])
    (explicit,) = [f for f in result.findings if f.path[-1] == "readOnlyRootFilesystem"]
    assert explicit.fix is None
    assert "override-explicit: true changes it to readOnlyRootFilesystem: true" in explicit.message
    assert "readOnlyRootFilesystem: false" in fixed_or_same(result)


def test_override_reaches_a_valid_object_pass_by_pass(tmp_path: Path) -> None:
    text = POD + "    securityContext:\n      privileged: true\n"
    result = fix_text(text, ["security-context"], config=config_file(tmp_path, "override-explicit: true"))
    (spec,) = pod_specs(fixed_or_same(result))
    context = spec["containers"][0]["securityContext"]
    assert context["privileged"] is False and context["allowPrivilegeEscalation"] is False
    assert pss_restricted_violations(spec) == set()


def test_kube_score_ignore_switches_off_single_fields() -> None:
    text = POD.replace(
        "  name: p\n",
        "  name: p\n  annotations:\n    kube-score/ignore: container-security-context-user-group-id\n",
    )
    (spec,) = pod_specs(fixed_or_same(fix_text(text, ["security-context"])))
    context = spec["containers"][0]["securityContext"]
    assert "runAsUser" not in context and "runAsGroup" not in context
    assert context["readOnlyRootFilesystem"] is True


def test_a_context_from_a_merge_key_is_reported_not_edited() -> None:
    text = POD.replace(
        "  - name: app\n", "  - <<: {securityContext: {readOnlyRootFilesystem: true}}\n    name: app\n"
    )
    result = fix_text(text, ["security-context"])
    container_findings = [f for f in result.findings if f.path[-1] == 0]
    assert len(container_findings) == 3  # one for each rule: user, escalation, capabilities
    assert all("merge key" in f.message and f.fix is None for f in container_findings)
    assert fixed_or_same(result).endswith(text[text.index("  containers:") :])  # the container is as it was


def test_lines_added_inside_a_last_context_precede_another_fixers_lines_for_the_container() -> None:
    # No image: image-pull-policy adds its key at the end of the container, the very point where
    # this fixer adds keys to the container's last entry, its securityContext. One pass does both.
    text = POD.replace(
        "    image: registry.example/app:1\n",
        "    securityContext:\n      capabilities:\n        drop:\n        - NET_RAW\n",
    )
    result = fix_text(text, ["image-pull-policy", "security-context"])
    assert not result.errors
    (spec,) = pod_specs(fixed_or_same(result))
    container = spec["containers"][0]
    assert container["imagePullPolicy"] == "Always"
    assert container["securityContext"]["capabilities"]["drop"] == ["NET_RAW", "ALL"]
    assert fix_text(fixed_or_same(result), ["image-pull-policy", "security-context"]).output is None


def test_windows_pods_get_only_run_as_non_root() -> None:
    text = POD.replace("spec:\n", "spec:\n  os: {name: windows}\n")
    (spec,) = pod_specs(fixed_or_same(fix_text(text, ["security-context"])))
    assert spec["securityContext"] == {"runAsNonRoot": True}
    assert "securityContext" not in spec["containers"][0]
    assert pss_restricted_violations(spec) == set()


# -- results held against the standards ---------------------------------------------------------


def test_the_example_fixed_by_all_fixers_passes_the_restricted_standard() -> None:
    text = (ROOT / "examples" / "deployment.yml").read_text()
    assert pss_restricted_violations(pod_specs(text)[0]) >= {"Running as Non-root", "Seccomp", "Capabilities"}
    fixed = fixed_or_same(fix_text(text, [fixer.id for fixer in all_fixers()]))
    specs = pod_specs(fixed)
    assert specs and all(pss_restricted_violations(spec) == set() for spec in specs)
    assert all(kube_score_failures(spec) == set() for spec in specs)


@cache
def _corpus_outcomes(profile: str) -> list[tuple[dict, dict, bool, bool]]:
    """For every well-formed pod-bearing corpus object (a whole one: not a fragment without a name,
    which is left unchecked): its spec before and after fixing, whether the fixer found anything in
    it, and whether findings remain after fixing."""
    config = None
    if profile != "restricted":
        config = ROOT / "golden" / "security-context" / "kube-score.config.yaml"
    engine = Engine(load(config, select=["security-context"], unsafe_fixes=True))
    fixed = fixed_corpus(("security-context",), config=config)  # restricted: test_corpus_each_fixer's run
    outcomes = []
    with parsing_once() as parse_once:
        for source, result in fixed:
            if result.errors or result.source is None:
                continue
            after = result.output if result.output is not None else source.text
            remaining = process(engine, Source.from_text(source.name, after), fix=False).findings
            outcomes += _outcomes(parse_once(source.text), parse_once(after), result.findings, remaining)
    return outcomes


def _outcomes(
    before: list[Document], after: list[Document], findings: Any, remaining: Any
) -> list[tuple[dict, dict, bool, bool]]:
    """The outcomes (see :func:`_corpus_outcomes`) of the objects of one file, ``before`` and
    ``after`` fixing, with the ``findings`` of the fix and those ``remaining`` after it."""
    outcomes = []
    for old, new in zip(manifests(before), manifests(after), strict=True):
        old_template = pod_template(old, BUILTIN_POD_KINDS)
        new_template = pod_template(new, BUILTIN_POD_KINDS)
        if old_template is None or new_template is None or is_fragment(old, BUILTIN_POD_KINDS):
            continue
        before_spec, after_spec = to_data(old_template.spec), to_data(new_template.spec)
        if well_formed(before_spec):
            outcomes.append((before_spec, after_spec, _belongs(findings, old), _belongs(remaining, new)))
    return outcomes


def _belongs(findings: Any, manifest: Any) -> bool:
    prefix = manifest.node.path()
    return any(f.doc == manifest.document.index and f.path[: len(prefix)] == prefix for f in findings)


@pytest.mark.xdist_group("corpus-security-context")
def test_corpus_objects_fixed_completely_pass_the_restricted_standard_and_violations_are_all_found() -> None:
    outcomes = _corpus_outcomes("restricted")
    assert len(outcomes) > 500
    assert sum(1 for *_, left in outcomes if not left) > 400
    for before, after, found, left in outcomes:
        if pss_restricted_violations(before) & SECURITY_CONTEXT_CONTROLS:
            assert found, before  # every violation of the standard is reported
        if not left:
            assert pss_restricted_violations(after) & SECURITY_CONTEXT_CONTROLS == set(), after


@pytest.mark.xdist_group("corpus-security-context")
def test_corpus_objects_fixed_with_the_kube_score_profile_pass_kube_scores_checks() -> None:
    outcomes = _corpus_outcomes("kube-score")
    assert sum(1 for *_, left in outcomes if not left) > 400
    for before, after, found, left in outcomes:
        if kube_score_failures(before):
            assert found, before
        if not left:
            assert kube_score_failures(after) == set(), after


def test_no_empty_dir_over_a_volume_mounted_with_a_trailing_slash_nor_one_named_like_a_claim() -> None:
    """``mountPath: /data/`` is the volume at /data (the API server compares texts, so an emptyDir
    at /data would be taken, and would hide the claim); a claim template's name is a volume name."""
    text = (
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: cache}\nspec:\n  serviceName: cache\n"
        "  selector: {matchLabels: {app: cache}}\n  template:\n    metadata: {labels: {app: cache}}\n"
        "    spec:\n      containers:\n      - name: redis\n        image: redis:7.2\n"
        "        volumeMounts: [{name: data, mountPath: /data/}]\n"
        "  volumeClaimTemplates:\n  - metadata: {name: data}\n    spec: {accessModes: [ReadWriteOnce]}\n"
    )
    fixed = fixed_or_same(fix_text(text, ["security-context"]))
    assert "emptyDir" not in fixed and "readOnlyRootFilesystem: true" in fixed
    moved = text.replace("mountPath: /data/", "mountPath: /elsewhere")
    assert "- name: data-2\n" in fixed_or_same(fix_text(moved, ["security-context"]))


def test_a_read_only_wordpress_keeps_a_writable_tmp_for_php_uploads() -> None:
    """PHP writes every upload and session to /tmp before WordPress sees it: a read-only root
    filesystem gets an emptyDir there too, beside Apache's run and lock directories (the site's
    files are on their claim already)."""
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: wordpress}\nspec:\n"
        "  selector: {matchLabels: {app: wp}}\n  template:\n    metadata: {labels: {app: wp}}\n"
        "    spec:\n      containers:\n      - name: wordpress\n        image: wordpress:6.5-apache\n"
        "        volumeMounts: [{name: site, mountPath: /var/www/html}]\n"
        "      volumes: [{name: site, persistentVolumeClaim: {claimName: wp}}]\n"
    )
    fixed = fixed_or_same(fix_text(text, ["security-context"]))
    assert "readOnlyRootFilesystem: true" in fixed
    for path in ("/tmp", "/var/run/apache2", "/var/lock/apache2"):
        assert f"mountPath: {path}" in fixed, path
    assert fixed.count("mountPath: /var/www/html") == 1


def test_volume_mounts_from_a_merge_key_are_not_replaced() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
        "  - &web {name: web, image: 'nginx:1.27',\n"
        "      volumeMounts: [{name: conf, mountPath: /etc/nginx/conf.d}]}\n"
        "  - <<: *web\n    name: web2\n  volumes: [{name: conf, configMap: {name: conf}}]\n"
    )
    fixed = fixed_or_same(fix_text(text, ["security-context"]))
    assert fixed.count("/etc/nginx/conf.d") == 1  # web2 keeps what it inherits: no own list over it


WEB_ON_PORT_80 = """apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: web
    image: registry.example/web:1
    ports:
    - containerPort: 80
"""


def test_a_container_made_non_root_keeps_its_port_below_1024_and_the_standard_is_met() -> None:
    """Only root may bind a port below 1024 unless the pod lowers net.ipv4.ip_unprivileged_port_start,
    a sysctl the baseline and restricted standards allow: the run-as-user fix sets it with the user."""
    (spec,) = pod_specs(fixed_or_same(fix_text(WEB_ON_PORT_80, ["security-context"])))
    assert spec["containers"][0]["securityContext"]["runAsUser"] == 10001
    sysctl = {"name": "net.ipv4.ip_unprivileged_port_start", "value": "80"}
    assert spec["securityContext"]["sysctls"] == [sysctl]
    assert pss_restricted_violations(spec) == set()
    assert kube_score_failures(spec) == set()


def test_before_kubernetes_1_22_the_sysctl_is_not_safe_and_the_finding_says_so(tmp_path: Path) -> None:
    config = tmp_path / ".k8sfix.yaml"
    config.write_text('kubernetes-version: "1.21"\n')
    result = fix_text(WEB_ON_PORT_80, ["security-context"], config=config)
    (spec,) = pod_specs(fixed_or_same(result))
    assert "sysctls" not in spec["securityContext"]
    (user,) = [f for f in result.findings if f.rule == "run-as-user"]
    assert "listens on port 80, which only root may bind" in user.message
    assert "Kubernetes 1.21 does not count safe" in user.message


# -- volume ownership: a container made non-root still writes its disks --------------------------


def app_with_claim(
    *, mount: str = "{name: data, mountPath: /data}", pod: str = "", volume: str = "", own: str = ""
) -> str:
    """A pod whose unknown image (so it may run as root) mounts a claim, with the pod's and the
    container's settings and another volume where given."""
    return (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n"
        f"{pod}"
        "  containers:\n"
        "  - name: app\n    image: registry.example/app:1\n"
        f"    volumeMounts: [{mount}]\n"
        f"{own}"
        "  volumes:\n  - {name: data, persistentVolumeClaim: {claimName: data}}\n"
        f"{volume}"
    )


def fs_group_of(text: str, config: Path | None = None) -> tuple[dict[str, Any], list[str]]:
    """The pod securityContext after the fixes, and the messages of the run-as-user findings."""
    result = fix_text(text, ["security-context"], config=config)
    (spec,) = pod_specs(fixed_or_same(result))
    messages = [finding.message for finding in result.findings if finding.rule == "run-as-user"]
    return spec.get("securityContext") or {}, messages


def test_a_container_made_non_root_gets_the_pod_fs_group_to_write_its_claim() -> None:
    context, (message,) = fs_group_of(app_with_claim())
    assert context["fsGroup"] == 10001 and context["fsGroupChangePolicy"] == "OnRootMismatch"
    assert "with the pod fsGroup: 10001, so that it may still write its volume at /data" in message


def test_the_fs_group_is_the_group_the_container_keeps() -> None:
    context, _ = fs_group_of(app_with_claim(own="    securityContext: {runAsGroup: 30000}\n"))
    assert context["fsGroup"] == 30000


def test_before_kubernetes_1_23_the_fs_group_comes_without_a_change_policy(tmp_path: Path) -> None:
    config = tmp_path / ".k8sfix.yaml"
    config.write_text('kubernetes-version: "1.22"\n')
    context, _ = fs_group_of(app_with_claim(), config)
    assert context["fsGroup"] == 10001 and "fsGroupChangePolicy" not in context


@pytest.mark.parametrize(
    "text",
    [
        app_with_claim(mount="{name: data, mountPath: /data, readOnly: true}"),
        app_with_claim(
            mount="{name: scratch, mountPath: /data}", volume="  - {name: scratch, emptyDir: {}}\n"
        ),
        app_with_claim(
            mount="{name: node, mountPath: /data}", volume="  - {name: node, hostPath: {path: /srv}}\n"
        ),
        app_with_claim(own="    securityContext: {runAsUser: 20000}\n"),
    ],
    ids=["read-only-mount", "empty-dir", "host-path", "user-set"],
)
def test_no_fs_group_where_the_container_writes_no_disk_the_kubelet_hands_over(text: str) -> None:
    """An emptyDir is writable by everyone; the kubelet never changes a hostPath's owner; a
    container with a user of its own keeps it (its run-as-user fix is not made)."""
    context, messages = fs_group_of(text)
    assert "fsGroup" not in context
    assert not any("fsGroup" in message for message in messages)


def test_a_fs_group_set_already_is_kept() -> None:
    context, _ = fs_group_of(app_with_claim(pod="  securityContext: {fsGroup: 2000}\n"))
    assert context["fsGroup"] == 2000 and "fsGroupChangePolicy" not in context


def test_a_pod_with_run_as_non_root_already_still_gets_the_fs_group_and_the_sysctl() -> None:
    """runAsNonRoot: true does not change who an image runs as (a root image does not start): the
    user the fix gives it still needs the volume and the port."""
    text = app_with_claim(pod="  securityContext: {runAsNonRoot: true}\n").replace(
        "    volumeMounts:", "    ports: [{containerPort: 80}]\n    volumeMounts:"
    )
    context, _ = fs_group_of(text)
    assert context["fsGroup"] == 10001
    assert context["sysctls"] == [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "80"}]


def test_a_stateful_set_s_claim_templates_count_and_every_container_shares_one_fs_group() -> None:
    text = """apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: registry.example/db:1
        volumeMounts: [{name: data, mountPath: /var/lib/db}]
      - name: backup
        image: registry.example/backup:1
        securityContext: {runAsGroup: 40000}
        volumeMounts: [{name: data, mountPath: /backup}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"""
    result = fix_text(text, ["security-context"])
    (spec,) = pod_specs(fixed_or_same(result))
    assert spec["securityContext"]["fsGroup"] == 10001  # the first container's group
    notes = [f.message for f in result.findings if f.rule == "run-as-user"]
    assert len(notes) == 2 and all("the pod fsGroup: 10001" in note for note in notes)
    assert pss_restricted_violations(spec) == set()


def test_a_host_path_written_by_a_container_made_non_root_is_named_for_a_human_to_check() -> None:
    text = app_with_claim(
        mount="{name: node, mountPath: /var/log/app}", volume="  - {name: node, hostPath: {path: /srv}}\n"
    )
    _, (message,) = fs_group_of(text)
    assert "the kubelet keeps the owner of its volume at /var/log/app (hostPath or nfs)" in message
    assert "make sure user 10001 may write there" in message
