"""Pods and containers whose securityContext lets them run as root, escalate or write their image.

What it does:
    Gives each pod and container the securityContext settings of a profile, adding only what is
    missing and merging into contexts that exist (a pod-level value counts for every container that
    does not set its own, as in Kubernetes). The ``restricted`` profile (default) makes a pod pass
    the restricted Pod Security Standard:

    - pod ``runAsNonRoot: true`` and ``seccompProfile: {type: RuntimeDefault}``, unless every
      container sets its own;
    - every container, init container and ephemeral container: ``runAsUser`` and ``runAsGroup``
      10001 (unless it or the pod already has one), ``readOnlyRootFilesystem: true``,
      ``allowPrivilegeEscalation: false`` and ``ALL`` in ``capabilities.drop``;
    - ``privileged: true`` is reported.

    The ``kube-score`` profile sets only what kube-score checks: ``runAsUser``/``runAsGroup`` of at
    least 10000 (container-security-context-user-group-id), ``readOnlyRootFilesystem: true``
    (container-security-context-readonlyrootfilesystem) and no ``privileged: true``
    (container-security-context-privileged).

    A missing ``securityContext`` is added as one block at the end of the container; the pod's goes
    just before the pod spec's first container list, so it reads before the containers it covers.
    Inside an existing context only the missing keys are added; a ``capabilities`` without
    ``drop`` gets ``drop: [ALL]``, a ``drop`` list without ``ALL`` gets ``ALL`` appended. In JSON
    and multi-line flow mappings a new context is one line, so no line changes but its own.

    A value set on purpose the other way (``runAsNonRoot: false``, ``runAsUser: 0`` or below 10000,
    ``readOnlyRootFilesystem: false``, ``allowPrivilegeEscalation: true``, ``privileged: true``,
    ``seccompProfile`` ``Unconfined``) is reported and left alone, unless ``override-explicit`` is
    true. Added capabilities other than ``NET_BIND_SERVICE`` are reported for removal by hand.

Why it matters:
    A container that runs as root, may gain privileges through set-user-ID binaries, keeps the
    default capabilities and can rewrite its own image turns one exploited bug into a foothold on
    the node. Namespaces labelled ``pod-security.kubernetes.io/enforce: restricted`` reject such
    pods; kube-score reports the user, group, privileged and read-only checks as critical.

Example:
    Before::

        spec:
          containers:
          - name: web
            image: registry.example/web:1.4

    After::

        spec:
          securityContext:
            runAsNonRoot: true
            seccompProfile:
              type: RuntimeDefault
          containers:
          - name: web
            image: registry.example/web:1.4
            securityContext:
              runAsUser: 10001
              runAsGroup: 10001
              readOnlyRootFilesystem: true
              allowPrivilegeEscalation: false
              capabilities:
                drop:
                - ALL

Options:
    profile: ``restricted`` (default) or ``kube-score``: which fields are enforced.
    skip: fields the profile enforces that you do not want, among ``runAsNonRoot``,
        ``seccompProfile``, ``runAsUser``, ``runAsGroup``, ``readOnlyRootFilesystem``,
        ``allowPrivilegeEscalation``, ``capabilities`` and ``privileged`` (default none).
    add: fields from that list to enforce on top of the profile's (default none).
    run-as-user: the UID to set (default 10001). Values of 10000 and above are accepted as they
        are; so is anything from a lower configured value up.
    run-as-group: the GID to set (default 10001), accepted likewise.
    override-explicit: when true, values set on purpose the other way are replaced (default false).

    kube-score's ``kube-score/ignore`` annotation switches off single fields here:
    ``container-security-context-user-group-id`` (runAsUser, runAsGroup),
    ``container-security-context-readonlyrootfilesystem`` and
    ``container-security-context-privileged``; ``container-security-context`` switches off all.

Fix safety:
    Each rule is a finding of its own, with its own fix. "Known not to run as root" means the
    manifest says so: a ``runAsUser`` other than 0 (the container's or the pod's), or
    ``runAsNonRoot: true``. k8sfix cannot see an image's ``USER`` or entrypoint.

    - ``run-as-user`` (``runAsUser``/``runAsGroup``): safe for a known image that runs as a non-root
      user of its own, which is the user set (it runs as that user already: nothing changes).
      Unsafe otherwise: an image that needs root, or owns its files as a particular user, stops
      working. A known image gets its own user (999 for postgres, 1001 for Bitnami images) with the
      restricted profile. Never added beside ``runAsNonRoot: false`` or a user id set on purpose. A
      container that ran as root and listens on a port below 1024 (declared, or its image's: nginx
      and WordPress on 80) would lose it, as only root may bind there: the fix also sets the pod
      sysctl ``net.ipv4.ip_unprivileged_port_start`` to the pod's lowest such port, which the
      standards allow (:mod:`fixers._low_ports`); where the pod cannot have it (``hostNetwork``, a
      Kubernetes before 1.22) the finding says so. A container given a user other than its
      image's that writes a claim or disk (``readOnly`` mounts apart) could no longer write what
      root owns there: the fix also sets the pod ``fsGroup`` to its group, with
      ``fsGroupChangePolicy: OnRootMismatch`` from Kubernetes 1.23 (:mod:`fixers._volume_ownership`);
      a pod's own ``fsGroup`` is kept, and a writable ``hostPath`` or ``nfs`` volume, whose owner
      the kubelet keeps, is named in the finding.
    - ``read-only-root-filesystem``: safe for a known image whose every written path is a volume
      of the container, or starts empty: the fix mounts an ``emptyDir`` there (nginx gets one at
      ``/var/cache/nginx`` and one at ``/var/run``; each new volume named after its path, not
      colliding with the pod's). Not added where a known image writes to a path no volume covers
      and an ``emptyDir`` will not do (it ships its configuration there, as RabbitMQ does in
      ``/etc/rabbitmq``, or must own the directory, as postgres its data directory): the finding
      names it. Unsafe for other images: one that writes outside its mounted volumes (a cache, a
      pid file, ``/tmp``) fails.
    - ``privilege-escalation`` (``allowPrivilegeEscalation: false``) and ``capabilities``
      (``drop: [ALL]``): safe for a container known not to run as root, which has no capabilities
      to lose and gains none from set-user-ID programs. Unsafe otherwise: an entrypoint that starts
      as root and switches users (``gosu``, ``su-exec``) or changes ownership (``chown``) needs
      SETUID, SETGID or CHOWN. A container whose command runs such a program as root keeps its
      capabilities (reported, not fixed).
    - ``seccomp-profile`` (pod ``seccompProfile: RuntimeDefault``): safe when every container is
      known not to run as root; unsafe otherwise (a root container may make the system calls the
      profile blocks, such as ``mount`` or ``unshare``).
    - ``run-as-non-root`` (pod ``runAsNonRoot: true``): safe when every container it covers has a
      non-root user id already, where it changes nothing; unsafe otherwise, as the kubelet refuses
      to start an image whose user is root. Left out while a container runs as root by its own or
      the pod's ``runAsUser: 0`` (the pod would never start).
    - ``privileged`` and values set on purpose the other way: reported; ``override-explicit``
      replaces them as an unsafe fix.

Limitations:
    Only securityContext fields are handled: host namespaces, hostPath and other volume types,
    host ports, procMount, SELinux, AppArmor and sysctls (also part of the Pod Security Standards)
    are not checked (the one sysctl a run-as-user fix may set apart). A database whose data
    directory is the volume's root (postgres at ``/var/lib/postgresql/data``) needs to own it,
    which an ``fsGroup`` does not give: set ``PGDATA`` to a directory below it. Windows pods
    (``spec.os.name: windows``) get ``runAsNonRoot`` only: Kubernetes rejects the Linux-only fields
    there, and the Standards exempt them. ``allowPrivilegeEscalation: false``
    is not added while a container is ``privileged`` or adds ``SYS_ADMIN`` (Kubernetes refuses the
    pair). ``seccompProfile`` is only ever set to ``RuntimeDefault``. Contexts inside an anchor that
    an alias reuses, or taken from a merge key (``<<``), are reported without a fix.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, get_args

from fixers import _low_ports, _volume_ownership
from fixers._scratch_volumes import scratch_volumes
from remediate.kube import ignore
from remediate.kube.findings import Finding
from remediate.kube.fixer import Context, Fixer
from remediate.kube.images import Image
from remediate.kube.k8s import (
    CONTAINER_LISTS,
    Container,
    Manifest,
    containers,
    follow,
    is_windows_pod,
    pod_template,
)
from remediate.kube.security_contexts import capabilities_added, effective, escalation_conflict, is_set
from remediate.yaml.document import Mapping, Node, Scalar, Sequence
from remediate.yaml.edits import Change, Uneditable, is_empty, own_value
from remediate.yaml.model import Applicability
from remediate.yaml.values import to_data

FieldName = Literal[
    "runAsNonRoot",
    "seccompProfile",
    "runAsUser",
    "runAsGroup",
    "readOnlyRootFilesystem",
    "allowPrivilegeEscalation",
    "capabilities",
    "privileged",
]

MAX_ID = 2**31 - 1
"""The largest user or group id Kubernetes accepts."""

PROFILES: dict[str, frozenset[str]] = {
    "restricted": frozenset(get_args(FieldName)),
    "kube-score": frozenset({"runAsUser", "runAsGroup", "readOnlyRootFilesystem", "privileged"}),
}
"""The fields each profile enforces."""

WINDOWS_FIELDS = frozenset({"runAsNonRoot"})
"""The only field here that Kubernetes accepts on a pod with ``spec.os.name: windows``."""

KUBE_SCORE_CHECKS: dict[str, frozenset[str]] = {
    "container-security-context-user-group-id": frozenset({"runAsUser", "runAsGroup"}),
    "container-security-context-privileged": frozenset({"privileged"}),
    "container-security-context-readonlyrootfilesystem": frozenset({"readOnlyRootFilesystem"}),
}
"""Fields switched off by each check id in a ``kube-score/ignore`` annotation. (The crosswalk lists
only the umbrella ``container-security-context``, which switches off the whole fixer.)"""

HIGH_ID = 10000
"""kube-score and Checkov (CKV_K8S_40) report a UID or GID below this."""

SECCOMP_TYPES = ("RuntimeDefault", "Localhost")
"""The seccomp profile types the restricted Pod Security Standard allows."""

ADDABLE_CAPABILITIES = ("NET_BIND_SERVICE",)
"""The only capability the restricted Pod Security Standard lets a container add back."""


@dataclass(frozen=True)
class Options:
    profile: Literal["restricted", "kube-score"] = "restricted"
    skip: tuple[FieldName, ...] = ()
    add: tuple[FieldName, ...] = ()
    run_as_user: int = 10001
    run_as_group: int = 10001
    override_explicit: bool = False

    def __post_init__(self) -> None:
        """Refuse ids the API server refuses (it takes 0 to 2147483647), and user 0, which the
        runAsNonRoot this fixer adds would stop at start-up; the config reports the key."""
        for name, value, lowest in (
            ("run-as-user", self.run_as_user, 1),
            ("run-as-group", self.run_as_group, 0),
        ):
            if not lowest <= value <= MAX_ID:
                why = (
                    " (0 is root, which runAsNonRoot forbids)" if name == "run-as-user" and value == 0 else ""
                )
                raise ValueError(f"{name}: must be between {lowest} and {MAX_ID}{why}, got {value}")

    def fields(self) -> frozenset[str]:
        """The fields enforced: the profile's, plus ``add``, minus ``skip``."""
        return (PROFILES[self.profile] | set(self.add)) - set(self.skip)


# -- the decision: plain data in, what to add and what to report out ----------------------------


class Explicit(NamedTuple):
    """A value set on purpose that the profile wants otherwise.

    ``path`` leads from the securityContext to the value; ``wanted`` is what ``override-explicit``
    writes there (None: nothing can be written, the user has to remove something).
    """

    path: tuple[str, ...]
    wanted: Any
    problem: str


class Blocker(NamedTuple):
    """The setting at ``path`` (in the securityContext), shown as ``text``, that Kubernetes refuses
    together with ``allowPrivilegeEscalation: false``."""

    path: tuple[str, ...]
    text: str


class Plan(NamedTuple):
    """What one securityContext needs.

    ``missing`` is nested like the securityContext: keys to add, and for lists the items that must
    be in them. ``blocked`` names the setting that keeps ``allowPrivilegeEscalation: false`` out.
    """

    missing: dict[str, Any]
    explicit: tuple[Explicit, ...] = ()
    blocked: Blocker | None = None
    withheld: tuple[str, ...] = ()
    """Fields the profile wants that are left out because of a choice made on purpose, which no
    other finding reports (a container's ``runAsNonRoot: false`` keeps a user id out)."""


def accepted_id(value: Any, configured: int) -> bool:
    """A UID/GID high enough: at least 10000, or at least the configured value if that is lower."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= min(HIGH_ID, configured)


def safe_seccomp(profile: Any) -> bool:
    """True for a seccompProfile whose type the restricted standard allows."""
    return isinstance(profile, dict) and profile.get("type") in SECCOMP_TYPES


def seccomp_explicit(profile: Any) -> Explicit:
    if not isinstance(profile, dict):
        problem = f"sets seccompProfile: {show(profile)}, which is not a mapping"
    elif profile.get("type") is None:
        problem = "sets a seccompProfile without a type"
    else:
        problem = f"sets seccompProfile type {show(profile['type'])}"
    return Explicit(
        ("seccompProfile", "type"),
        "RuntimeDefault",
        problem + " (the restricted standard needs RuntimeDefault or Localhost)",
    )


def id_explicit(key: str, value: Any, configured: int) -> Explicit:
    if not isinstance(value, int) or isinstance(value, bool):
        problem = f"sets {key}: {show(value)}, which is not a number"
    elif value == 0:
        problem = f"sets {key}: 0 (root)"
    else:
        problem = f"sets {key}: {value}, below {min(HIGH_ID, configured)}"
    return Explicit((key,), configured, problem)


def is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def known_non_root(own: Any, pod: Any, image: Image | None = None) -> bool:
    """True when the container is known not to run as root: the manifest says so (a user id other
    than 0, or ``runAsNonRoot: true``, which the kubelet enforces), or it sets no user and its image
    is known to run as a non-root user from the start (:mod:`remediate.kube.images`). A container
    that starts as root can switch users or change file ownership in its entrypoint (``gosu``,
    ``chown``), which needs the capabilities and privileges the restricted profile takes away."""
    user = effective("runAsUser", own, pod)
    if is_id(user):
        return user > 0
    if effective("runAsNonRoot", own, pod) is True:
        return True
    return user is None and image is not None and image.runs_as_non_root


def runs_as_image_root(image: Image | None) -> bool:
    """For a container that sets no user: True unless its image is known to run as a non-root user
    (a ``runAsNonRoot: true`` does not change who the image runs as; it only stops it starting as
    root, until a fix gives it a user)."""
    return not (image is not None and image.runs_as_non_root)


def changes_user(plan: Plan, image: Image | None) -> bool:
    """True when the container's run-as-user fix gives a container that sets no user one other
    than its image's: it will no longer own what it wrote as that user, or bind as root."""
    user = plan.missing.get("runAsUser")
    if user is None:
        return False
    return image is None or runs_as_image_root(image) or image.user != user


def made_non_root(plan: Plan, image: Image | None) -> bool:
    """True when the container's run-as-user fix makes a container that ran as root run as another
    user (it sets none, and its image is not known to run as a non-root one)."""
    return "runAsUser" in plan.missing and runs_as_image_root(image)


def image_ids(image: Image | None, options: Options) -> tuple[int, int]:
    """The user and group to set: the image's own non-root ones where it has them (the restricted
    profile takes any non-root id; kube-score wants 10000 and above, so its profile keeps the
    configured ones), else the configured ones."""
    if image is not None and image.user and options.profile == "restricted":
        group = image.group if image.group is not None else image.user
        return image.user, group
    return options.run_as_user, options.run_as_group


def pod_plan(
    pod: Any,
    own_contexts: list[Any],
    fields: frozenset[str],
    options: Options,
    names: list[str] | None = None,
) -> Plan:
    """What the pod's securityContext needs, given the containers' own securityContexts (and how
    messages name those containers, in ``names``).

    A pod-level ``runAsNonRoot`` or ``seccompProfile`` is needed only for containers that do not set
    their own (the Pod Security Standards accept either). ``runAsNonRoot: true`` is left out while a
    container that would inherit it runs as root by its own ``runAsUser: 0`` or the pod's: the
    kubelet would refuse to start it. A pod-level UID/GID below the threshold is reported when a
    container inherits it, and ``0`` always (the standard forbids root anywhere).
    """
    missing: dict[str, Any] = {}
    explicit: list[Explicit] = []
    inherits = {key: any(not is_set(own, key) for own in own_contexts) for key in get_args(FieldName)}
    blocked = None
    if "runAsNonRoot" in fields:
        if is_set(pod, "runAsNonRoot"):
            if pod["runAsNonRoot"] is not True:
                explicit.append(
                    Explicit(("runAsNonRoot",), True, f"sets runAsNonRoot: {show(pod['runAsNonRoot'])}")
                )
        elif inherits["runAsNonRoot"]:
            root = [
                name
                for own, name in zip(own_contexts, names or ["a container"] * len(own_contexts), strict=True)
                if not is_set(own, "runAsNonRoot") and effective("runAsUser", own, pod) == 0
            ]
            if root:
                blocked = Blocker(("runAsNonRoot",), f"{root[0]} runs as root (runAsUser: 0)")
            else:
                missing["runAsNonRoot"] = True
    if "seccompProfile" in fields:
        if is_set(pod, "seccompProfile"):
            if not safe_seccomp(pod["seccompProfile"]):
                explicit.append(seccomp_explicit(pod["seccompProfile"]))
        elif inherits["seccompProfile"]:
            missing["seccompProfile"] = {"type": "RuntimeDefault"}
    for key, configured in (("runAsUser", options.run_as_user), ("runAsGroup", options.run_as_group)):
        low = key in fields and is_set(pod, key) and not accepted_id(pod[key], configured)
        if low and (pod[key] == 0 or inherits[key]):
            explicit.append(id_explicit(key, pod[key], configured))
    return Plan(missing, tuple(explicit), blocked)


def container_plan(
    own: Any, pod: Any, fields: frozenset[str], options: Options, image: Image | None = None
) -> Plan:
    """What a container's own securityContext needs; ``pod`` is the pod's (plain data or None).

    The container's own value wins over the pod's. ``runAsUser``/``runAsGroup`` are added only when
    neither sets them (a low pod-level value is the pod plan's to report), and not at all where a
    user is chosen on purpose: ``runAsNonRoot: false``, or a ``runAsUser`` below the threshold
    (left as set, so no group is added beside it). ``runAsNonRoot`` / ``seccompProfile`` are the pod
    plan's to add.
    """
    context = own if isinstance(own, dict) else {}
    missing: dict[str, Any] = {}
    explicit: list[Explicit] = []
    if "runAsNonRoot" in fields and is_set(context, "runAsNonRoot") and context["runAsNonRoot"] is not True:
        explicit.append(
            Explicit(("runAsNonRoot",), True, f"sets runAsNonRoot: {show(context['runAsNonRoot'])}")
        )
    if (
        "seccompProfile" in fields
        and is_set(context, "seccompProfile")
        and not safe_seccomp(context["seccompProfile"])
    ):
        explicit.append(seccomp_explicit(context["seccompProfile"]))
    user = effective("runAsUser", context, pod)
    chosen_user = effective("runAsNonRoot", context, pod) is False or (
        user is not None and not accepted_id(user, image_ids(image, options)[0])
    )
    withheld: list[str] = []
    for key, configured in zip(("runAsUser", "runAsGroup"), image_ids(image, options), strict=True):
        if key not in fields:
            continue
        if is_set(context, key):
            if not accepted_id(context[key], configured):
                explicit.append(id_explicit(key, context[key], configured))
        elif not is_set(pod, key):
            if not chosen_user:
                missing[key] = configured
            elif user is None:  # runAsNonRoot: false, which the profile may not itself check
                withheld.append(key)
    if "readOnlyRootFilesystem" in fields:
        want_flag(context, "readOnlyRootFilesystem", True, missing, explicit)
    privileged = context.get("privileged") is True
    if "privileged" in fields and privileged:
        explicit.append(Explicit(("privileged",), False, "sets privileged: true"))
    added = capabilities_added(context)
    blocked = None
    if "allowPrivilegeEscalation" in fields:
        blocker = escalation_blocker(privileged, added)
        if blocker and not is_set(context, "allowPrivilegeEscalation"):
            blocked = blocker
        else:
            want_flag(context, "allowPrivilegeEscalation", False, missing, explicit)
    if "capabilities" in fields:
        capability_needs(context, added, missing, explicit)
    return Plan(missing, tuple(explicit), blocked, tuple(withheld))


def escalation_blocker(privileged: bool, added: list[str]) -> Blocker | None:
    """What makes Kubernetes refuse ``allowPrivilegeEscalation: false`` (its validation rule)."""
    conflict = escalation_conflict(privileged, added)
    return Blocker(*conflict) if conflict else None


def want_flag(context: dict, key: str, wanted: bool, missing: dict, explicit: list[Explicit]) -> None:
    """Ask for ``key: wanted`` when it is unset; report it when it is set to anything else."""
    if not is_set(context, key):
        missing[key] = wanted
    elif context[key] is not wanted:
        explicit.append(Explicit((key,), wanted, f"sets {key}: {show(context[key])}"))


def capability_needs(context: dict, added: list[str], missing: dict, explicit: list[Explicit]) -> None:
    """``ALL`` must be in ``capabilities.drop``, and nothing but NET_BIND_SERVICE may be added back.

    Names are matched without regard to case, as container runtimes read them: ``drop: [all]``
    drops every capability and gets no second ``ALL``; it is reported, because the restricted
    standard's admission check counts only ``ALL`` written in capitals.
    """
    capabilities = context.get("capabilities")
    if capabilities is None:
        missing["capabilities"] = {"drop": ["ALL"]}
        return
    if not isinstance(capabilities, dict):
        explicit.append(Explicit(("capabilities",), None, "has capabilities that are not a mapping"))
        return
    drop = capabilities.get("drop")
    if drop is None or (isinstance(drop, list) and not any(str(name).upper() == "ALL" for name in drop)):
        missing["capabilities"] = {"drop": ["ALL"]}
    elif not isinstance(drop, list):
        explicit.append(Explicit(("capabilities", "drop"), None, "has a capabilities.drop that is no list"))
    elif "ALL" not in drop:
        spelled = next(str(name) for name in drop if str(name).upper() == "ALL")
        explicit.append(
            Explicit(
                ("capabilities", "drop"),
                None,
                f'drops "{spelled}": the runtime drops every capability, but the restricted Pod '
                'Security Standard counts only "ALL" in capitals',
            )
        )
    extra = [name for name in added if name.upper() not in ADDABLE_CAPABILITIES]
    if extra:
        explicit.append(
            Explicit(
                ("capabilities", "add"),
                None,
                f"adds capabilities {', '.join(extra)} (the restricted standard allows "
                "only NET_BIND_SERVICE)",
            )
        )


def show(value: Any) -> str:
    """A value as it reads in YAML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(show(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {show(item)}" for key, item in value.items()) + "}"
    return str(value)


def flatten(values: dict[str, Any], prefix: str = "") -> list[str]:
    """``key: value`` texts of a nested plan, e.g. ``capabilities.drop: [ALL]``."""
    parts = []
    for key, value in values.items():
        if isinstance(value, dict):
            parts.extend(flatten(value, f"{prefix}{key}."))
        else:
            parts.append(f"{prefix}{key}: {show(value)}")
    return parts


# -- the edits: make a securityContext include a plan's ``missing`` -----------------------------


def merge(
    ctx: Context, parent: Mapping, key: str, wanted: Any, *, after: tuple[str, ...] = (), first: bool = False
) -> list[Change]:
    """Changes that make ``parent[key]`` include ``wanted``, adding only what is not there.

    A missing or null key gets the whole value (so a new securityContext is one block), placed
    after the first of ``after`` present, else first (``first``) or at the end; a mapping gets its
    missing keys, recursively; a list gets the missing items appended.
    """
    target = own_value(parent, key)
    if target is None:
        return [ctx.editor.add_key(parent, key, wanted, after=after, first=first)]
    if is_empty(target):
        return [ctx.editor.set_value(parent, key, wanted)]
    if isinstance(wanted, dict) and isinstance(target, Mapping):
        return [change for name, value in wanted.items() for change in merge(ctx, target, name, value)]
    if isinstance(wanted, list) and isinstance(target, Sequence):
        present = [to_data(item) for item in target.items]  # a list: its items may be mappings
        return [ctx.editor.append_item(target, item) for item in wanted if item not in present]
    raise Uneditable(f'"{key}" is not a {"mapping" if isinstance(wanted, dict) else "list"}')


def override(ctx: Context, context: Mapping, explicit: Explicit) -> list[Change]:
    """Write ``explicit.wanted`` over the value at ``explicit.path`` (an own key, or over a merged one)."""
    mapping: Node | None = context
    for key in explicit.path[:-1]:
        mapping = mapping.get(key) if isinstance(mapping, Mapping) else None
    if not isinstance(mapping, Mapping):
        raise Uneditable(f"{'.'.join(explicit.path[:-1])} is not a mapping")
    key = explicit.path[-1]
    if key in mapping.own:
        return [ctx.editor.set_value(mapping, key, explicit.wanted)]
    return [ctx.editor.insert_key(mapping, key, explicit.wanted)]


def pod_placement(spec: Mapping) -> tuple[tuple[str, ...], bool]:
    """Where a new pod securityContext goes, as ``merge``'s (after, first): before the containers.

    It then reads before the containers it covers, and never lands where a fix at the end of the
    last container inserts its lines (nor between that container and its trailing comments). So:
    after the key before the first container list, or first when a container list comes first.
    """
    keys = [key.key_value for key, _ in spec.pairs if isinstance(key, Scalar) and not key.is_merge_key]
    position = next((index for index, key in enumerate(keys) if key in CONTAINER_LISTS), None)
    if position is None:
        return (), False
    return ((keys[position - 1],), False) if position else ((), True)


# -- the fixer ----------------------------------------------------------------------------------


def kube_score_ignored(manifest: Manifest, template_metadata: Mapping | None) -> frozenset[str]:
    """Fields that a ``kube-score/ignore`` annotation switches off for this object."""
    checks = ignore.kube_score_checks(manifest, template_metadata)
    return frozenset().union(*(KUBE_SCORE_CHECKS.get(check, frozenset()) for check in checks))


def context_data(node: Node | None) -> Any:
    """A securityContext as plain data (merge keys and aliases resolved), None when absent."""
    return to_data(node) if node is not None else None


RULE_OF = {
    "runAsNonRoot": "run-as-non-root",
    "seccompProfile": "seccomp-profile",
    "runAsUser": "run-as-user",
    "runAsGroup": "run-as-user",
    "readOnlyRootFilesystem": "read-only-root-filesystem",
    "allowPrivilegeEscalation": "privilege-escalation",
    "capabilities": "capabilities",
    "privileged": "privileged",
}
"""The rule each field belongs to: each rule is a finding of its own, with its own fix safety."""

ROOT_COMMANDS = frozenset(
    {"chown", "chgrp", "gosu", "su-exec", "setpriv", "setuidgid", "runuser", "su", "sudo", "chroot", "sysctl"}
)
"""Programs that change file ownership, switch users or tune the kernel: run as root, they need the
capabilities (CHOWN, SETUID, SETGID, SYS_ADMIN...) that ``drop: [ALL]`` takes away."""


def mount_paths(container: Container) -> tuple[str, ...]:
    """The ``mountPath`` of each of the container's ``volumeMounts``."""
    node = container.node.get("volumeMounts")
    mounts = to_data(node) if node is not None else None
    listed = mounts if isinstance(mounts, list) else []
    return tuple(
        posixpath.normpath(mount["mountPath"])  # /data/ mounts where /data does
        for mount in listed
        if isinstance(mount, dict) and isinstance(mount.get("mountPath"), str) and mount["mountPath"]
    )


def root_command(container: Container) -> str | None:
    """The first program of :data:`ROOT_COMMANDS` the container's ``command`` or ``args`` runs
    (also inside a shell script such as ``sh -c "chown -R 999 /data && ..."``)."""
    for key in ("command", "args"):
        node = container.node.get(key)
        value = to_data(node) if node is not None else None
        for item in value if isinstance(value, list) else []:
            for word in re.split(r"[\s;&|()`$]+", str(item)):
                program = word.rsplit("/", 1)[-1]
                if program in ROOT_COMMANDS:
                    return program
    return None


SAFE_FOR_NON_ROOT = frozenset({"privilege-escalation", "capabilities", "seccomp-profile"})
"""Rules whose fix is safe where the manifest says the containers do not run as root (Fix safety)."""


def missing_by_rule(missing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A plan's missing values grouped by rule, in the plan's order."""
    groups: dict[str, dict[str, Any]] = {}
    for key, value in missing.items():
        groups.setdefault(RULE_OF[key], {})[key] = value
    return groups


class Known(NamedTuple):
    """What the fix safety of a container's rules depends on: whether it is known not to run as
    root, and what is known of its image."""

    non_root: bool
    image: Image | None
    mounts: tuple[str, ...] = ()
    """Where the container mounts volumes."""

    def unmounted_writes(self) -> list[str]:
        """The paths its image writes to that no volume of the container covers."""
        writes = self.image.writes if self.image is not None else None
        return [
            path
            for path in writes or ()
            if not any(path == mount or path.startswith(mount.rstrip("/") + "/") for mount in self.mounts)
        ]

    def unmounted_own_volume(self) -> list[str]:
        """The paths among :meth:`unmounted_writes` where an ``emptyDir`` will not do."""
        own = self.image.own_volume if self.image is not None else ()
        return [path for path in self.unmounted_writes() if path in own]

    def safe(self, rule: str, missing: dict[str, Any]) -> bool:
        """Whether adding ``missing`` under ``rule`` is a safe fix (see the docstring's Fix safety)."""
        image = self.image
        if rule in SAFE_FOR_NON_ROOT:
            return self.non_root
        if rule == "run-as-user":  # the image's own ids, which it runs as already: nothing changes
            return bool(
                image and image.runs_as_non_root and missing.get("runAsUser", image.user) == image.user
            )
        if rule == "read-only-root-filesystem":  # it writes nowhere but its volumes and new emptyDirs
            return image is not None and image.writes is not None and not self.unmounted_own_volume()
        return False

    def note(self, rule: str) -> str:
        """What the finding adds for this image: where it writes, or that it switches users."""
        image = self.image
        if image is None:
            return ""
        if rule in ("capabilities", "privilege-escalation") and image.switches and not self.non_root:
            return f"; the image starts as root and switches to user {image.user}, which needs capabilities"
        return ""


class Volumes(NamedTuple):
    """The ``emptyDir`` volumes a container's read-only root filesystem comes with: one at each path
    its image writes to that no volume covers and that starts empty (:mod:`fixers._scratch_volumes`)."""

    spec: Mapping
    container: Container
    paths: list[str]

    def builder(self, ctx: Context, rule: str) -> Callable[[], list[Change]]:
        """What the fix of ``rule`` changes besides the securityContext."""
        if rule != "read-only-root-filesystem" or not self.paths:
            return list
        return lambda: scratch_volumes(ctx, self.spec, self.container, self.paths)

    def note(self, rule: str) -> str:
        if rule != "read-only-root-filesystem" or not self.paths:
            return ""
        return f"; with an emptyDir at {', '.join(self.paths)}, where its image writes"


class LowPorts(NamedTuple):
    """The pod sysctl a container's run-as-user fix comes with when it makes a container that ran
    as root listen as another user on a port below 1024 (:mod:`fixers._low_ports`)."""

    port: int | None
    """The lowest port below 1024 it listens on; None when the fix needs no sysctl."""
    value: int = 0
    """The sysctl's value: the lowest such port of every container of the pod the fix makes
    non-root (each one's run-as-user fix sets the same value, whichever is applied first)."""
    refused: str | None = None
    """Why the pod cannot have the sysctl, when it cannot."""

    @classmethod
    def of(
        cls, ctx: Context, spec: Mapping, container: Container, plan: Plan, known: Known, value: int | None
    ) -> LowPorts:
        if not made_non_root(plan, known.image) or _low_ports.sets_sysctl(spec):
            return cls(None)
        ports = _low_ports.low_ports(container, known.image)
        if not ports or value is None:
            return cls(None)
        return cls(ports[0], value, _low_ports.refusal(spec, ctx))

    def wanted(self, rule: str) -> dict[str, Any]:
        """What the fix of ``rule`` adds to the pod's securityContext."""
        if rule != "run-as-user" or self.port is None or self.refused:
            return {}
        return _low_ports.wanted(self.value)

    def note(self, rule: str) -> str:
        if rule != "run-as-user" or self.port is None:
            return ""
        sysctl = _low_ports.UNPRIVILEGED_PORT_START
        if self.refused:
            return (
                f"; it listens on port {self.port}, which only root may bind without the pod sysctl "
                f"{sysctl}, {self.refused}"
            )
        return (
            f"; with the pod sysctl {sysctl}: {self.value}, so that it may still listen on port {self.port}"
        )


class VolumeOwnership(NamedTuple):
    """The pod ``fsGroup`` a container's run-as-user fix comes with when it gives a container that
    writes its disks a user other than its image's (:mod:`fixers._volume_ownership`)."""

    paths: tuple[str, ...] = ()
    """Where the container mounts such a disk writable; empty when the fix needs no fsGroup."""
    fs_group: int | None = None
    """The pod's ``fsGroup``: the group of its first such container."""
    change_policy: bool = False
    """Whether ``fsGroupChangePolicy: OnRootMismatch`` comes with it (Kubernetes 1.23 and later)."""
    kept: tuple[str, ...] = ()
    """Where it mounts a volume writable whose owner the kubelet keeps (``hostPath``, ``nfs``)."""
    user: int = 0
    """The user the fix gives the container."""

    @staticmethod
    def group(
        container: Container, own: Any, pod: Any, plan: Plan, image: Image | None, claimed: frozenset[str]
    ) -> int | None:
        """The group the container's run-as-user fix leaves it in, when that fix gives a container
        that writes a disk a user other than its image's (None otherwise): the ``runAsGroup`` the
        fix adds, else the one set, else the user it gets."""
        if not changes_user(plan, image) or not _volume_ownership.written_mounts(container, claimed):
            return None
        group = plan.missing.get("runAsGroup", effective("runAsGroup", own, pod))
        return group if is_id(group) and group > 0 else plan.missing["runAsUser"]

    @classmethod
    def of(
        cls,
        ctx: Context,
        container: Container,
        plan: Plan,
        image: Image | None,
        volumes: _volume_ownership.PodVolumes,
        fs_group: int | None,
    ) -> VolumeOwnership:
        if not changes_user(plan, image):
            return cls()
        kept = _volume_ownership.written_mounts(container, volumes.keeping_owner)
        paths = _volume_ownership.written_mounts(container, volumes.claimed)
        if not paths or fs_group is None:
            return cls(kept=tuple(kept), user=plan.missing["runAsUser"])
        policy = ctx.target_version >= _volume_ownership.CHANGE_POLICY_SINCE
        return cls(tuple(paths), fs_group, policy, tuple(kept), plan.missing["runAsUser"])

    def wanted(self, rule: str) -> dict[str, Any]:
        """What the fix of ``rule`` adds to the pod's securityContext."""
        if rule != "run-as-user" or self.fs_group is None:
            return {}
        return _volume_ownership.wanted(self.fs_group, self.change_policy)

    def note(self, rule: str) -> str:
        if rule != "run-as-user":
            return ""
        note = ""
        if self.fs_group is not None:
            note += (
                f"; with the pod fsGroup: {self.fs_group}, so that it may still write its "
                f"volume at {', '.join(self.paths)}"
            )
        if self.kept:
            note += (
                f"; the kubelet keeps the owner of its volume at {', '.join(self.kept)} (hostPath or "
                f"nfs): make sure user {self.user} may write there"
            )
        return note


class PodAdditions(NamedTuple):
    """What a container's fix adds to the pod's securityContext, as one merge: two merges that each
    create a missing securityContext would both add the key."""

    ownership: VolumeOwnership
    ports: LowPorts

    def changes(self, ctx: Context, spec: Mapping, rule: str) -> list[Change]:
        wanted = {**self.ownership.wanted(rule), **self.ports.wanted(rule)}
        if not wanted:
            return []
        after, first = pod_placement(spec)
        return merge(ctx, spec, "securityContext", wanted, after=after, first=first)

    def note(self, rule: str) -> str:
        return self.ownership.note(rule) + self.ports.note(rule)


class Pod(NamedTuple):
    """What the fix safety of a pod's rules depends on: the pod's securityContext, each
    container's own (plain data), and what is known of their images."""

    context: Any
    own_contexts: list[Any]
    images: list[Image | None]

    def all_known_non_root(self) -> bool:
        return all(
            known_non_root(own, self.context, image)
            for own, image in zip(self.own_contexts, self.images, strict=True)
        )

    def all_with_user(self) -> bool:
        """Every container that inherits the pod's runAsNonRoot has a non-root user id of its own or
        from the pod: ``runAsNonRoot: true`` changes nothing for them."""
        return all(
            is_set(own, "runAsNonRoot") or (is_id(u := effective("runAsUser", own, self.context)) and u > 0)
            for own in self.own_contexts
        )


class SecurityContext(Fixer):
    id = "security-context"
    code = "K8S004"
    Options = Options
    writes = (
        "securityContext",
        "runAsNonRoot",
        "seccompProfile",
        "type",
        "runAsUser",
        "runAsGroup",
        "readOnlyRootFilesystem",
        "allowPrivilegeEscalation",
        "capabilities",
        "drop",
        "privileged",
        "volumeMounts",
        "volumes",
        "name",
        "mountPath",
        "emptyDir",
        "sysctls",
        "value",
        "fsGroup",
        "fsGroupChangePolicy",
    )
    rules = (
        "run-as-non-root",
        "seccomp-profile",
        "run-as-user",
        "read-only-root-filesystem",
        "privilege-escalation",
        "capabilities",
        "privileged",
    )

    def check(self, manifest: Manifest, ctx: Context) -> Iterator[Finding]:
        yield from self.guard_findings(manifest, ctx)
        template = pod_template(manifest, ctx.pod_kinds)
        if template is None:
            return
        options: Options = self.options
        fields = options.fields() - kube_score_ignored(manifest, template.metadata)
        spec = template.spec
        if is_windows_pod(spec):
            fields &= WINDOWS_FIELDS
        if not fields:
            return
        pod = context_data(spec.get("securityContext"))
        listed = list(containers(spec, CONTAINER_LISTS))
        own_contexts = [context_data(c.node.get("securityContext")) for c in listed]
        images = [ctx.images.lookup(c.image) for c in listed]
        plans = [
            container_plan(own, pod, fields, options, image)
            for own, image in zip(own_contexts, images, strict=True)
        ]
        lowest = _low_ports.lowest(
            (container, image)
            for container, image, plan in zip(listed, images, plans, strict=True)
            if made_non_root(plan, image)
        )
        disks = _volume_ownership.PodVolumes.of(spec)
        groups = [
            VolumeOwnership.group(container, own, pod, plan, image, disks.claimed)
            for container, own, image, plan in zip(listed, own_contexts, images, plans, strict=True)
        ]
        fs_group = None if _volume_ownership.sets_fs_group(spec) else _volume_ownership.first_group(groups)
        for container, own, image, plan in zip(listed, own_contexts, images, plans, strict=True):
            non_root = known_non_root(own, pod, image)
            keeps = None if non_root else root_command(container)
            if keeps and "capabilities" in plan.missing:
                del plan.missing["capabilities"]
                message = (
                    f"{container.subject} keeps its capabilities: it runs {keeps} as root, which needs "
                    "some of those that drop: [ALL] removes; drop the others by hand"
                )
                yield self.finding(
                    manifest, container.node, message, container=container, rule="capabilities"
                )
            known = Known(non_root, image, mount_paths(container))
            hidden = known.unmounted_own_volume()
            if hidden and "readOnlyRootFilesystem" in plan.missing:
                del plan.missing["readOnlyRootFilesystem"]
                message = (
                    f"{container.subject} has no readOnlyRootFilesystem: true; not added, as its image "
                    f"writes to {', '.join(hidden)}, where an emptyDir will not do (it ships files there, "
                    "or must own the directory): mount a volume of your own there, then set it"
                )
                node = container.node
                yield self.finding(
                    manifest, node, message, container=container, rule="read-only-root-filesystem"
                )
            scratch = known.unmounted_writes() if "readOnlyRootFilesystem" in plan.missing else []
            volumes = Volumes(spec, container, scratch)
            ports = LowPorts.of(ctx, spec, container, plan, known, lowest)
            ownership = VolumeOwnership.of(ctx, container, plan, image, disks, fs_group)
            yield from self.container_findings(
                manifest, ctx, spec, container, plan, known, volumes, PodAdditions(ownership, ports)
            )
        names = [c.subject for c in listed]
        plan = pod_plan(pod, own_contexts, fields, options, names)
        yield from self.pod_findings(manifest, ctx, spec, plan, Pod(pod, own_contexts, images))

    def container_findings(
        self,
        manifest: Manifest,
        ctx: Context,
        spec: Mapping,
        container: Container,
        plan: Plan,
        known: Known,
        volumes: Volumes,
        additions: PodAdditions,
    ) -> Iterator[Finding]:
        who = container.subject
        node = container.node
        groups = missing_by_rule(plan.missing)

        def besides(rule: str) -> Callable[[], list[Change]]:
            """What the fix of ``rule`` changes besides the container's securityContext."""
            return lambda: volumes.builder(ctx, rule)() + additions.changes(ctx, spec, rule)

        missing_findings = [
            self.missing_finding(
                manifest,
                ctx,
                node,
                who,
                rule,
                missing,
                known.safe(rule, missing),
                container=container,
                note=known.note(rule) + volumes.note(rule) + additions.note(rule),
                also=besides(rule),
            )
            for rule, missing in groups.items()
        ]
        yield from self.sharing_one_fix(
            missing_findings,
            ctx,
            lambda found: (
                [change for finding in found for change in besides(finding.rule)()]
                + self.merged(ctx, node, groups, found)
            ),
        )
        if plan.withheld:
            message = (
                f"{who} has no {' or '.join(plan.withheld)}: not added, as it runs with runAsNonRoot: "
                "false on purpose"
            )
            yield self.finding(manifest, node, message, container=container, rule="run-as-user")
        if plan.blocked and all(explicit.path != plan.blocked.path for explicit in plan.explicit):
            message = (
                f"{who} lacks allowPrivilegeEscalation: false, which Kubernetes refuses together "
                f"with {plan.blocked.text}"
            )
            yield self.finding(manifest, node, message, container=container, rule="privilege-escalation")
        context = node.get("securityContext")
        for explicit in plan.explicit:
            yield self.explicit_finding(manifest, ctx, context, who, explicit, container)

    def pod_findings(
        self, manifest: Manifest, ctx: Context, spec: Mapping, plan: Plan, pod: Pod
    ) -> Iterator[Finding]:
        groups = missing_by_rule(plan.missing)
        placement = pod_placement(spec)
        missing_findings = []
        for rule, missing in groups.items():
            if rule == "run-as-non-root":
                safe = pod.all_with_user()
            else:
                safe = rule in SAFE_FOR_NON_ROOT and pod.all_known_non_root()
            missing_findings.append(
                self.missing_finding(manifest, ctx, spec, "pod", rule, missing, safe, placement=placement)
            )
        yield from self.sharing_one_fix(
            missing_findings, ctx, lambda found: self.merged(ctx, spec, groups, found, placement)
        )
        if plan.blocked:
            message = (
                f"pod lacks runAsNonRoot: true, left out while {plan.blocked.text}: the kubelet would "
                "not start it"
            )
            yield self.finding(manifest, spec, message, rule="run-as-non-root")
        context = spec.get("securityContext")
        for explicit in plan.explicit:
            yield self.explicit_finding(manifest, ctx, context, "pod", explicit)

    @staticmethod
    def merged(
        ctx: Context,
        owner: Mapping,
        groups: dict[str, dict[str, Any]],
        found: list[Finding],
        placement: tuple[tuple[str, ...], bool] = ((), False),
    ) -> list[Change]:
        """One merge of what several rules' findings add to ``owner``'s securityContext, in the
        order of the rules (the order applying them one by one gives)."""
        wanted: dict[str, Any] = {}
        for finding in found:
            wanted.update(groups[finding.rule])
        return merge(ctx, owner, "securityContext", wanted, after=placement[0], first=placement[1])

    def missing_finding(
        self,
        manifest: Manifest,
        ctx: Context,
        owner: Mapping,
        who: str,
        rule: str,
        missing: dict[str, Any],
        safe: bool,
        container: Container | None = None,
        placement: tuple[tuple[str, ...], bool] = ((), False),
        note: str = "",
        also: Callable[[], list[Change]] = list,
    ) -> Finding:
        """One finding for what a securityContext lacks under one rule, fixed by one merge and the
        changes ``also`` makes (the volumes a read-only root filesystem needs); ``note`` ends its
        message (what is known of the image)."""
        existing = owner.get("securityContext")
        wanted = ", ".join(flatten(missing))
        if existing is None or is_empty(existing):
            message = f"{who} has no securityContext (needs {wanted})"
            title = f"add securityContext with {wanted}"
        else:
            message = f"{who} securityContext lacks {wanted}"
            title = f"add {wanted} to securityContext"
        message += note
        return self.finding(
            manifest,
            owner,
            message,
            container=container,
            fix=(
                title,
                # the volumes first: a list item appended where a key is added goes before the key
                lambda: (
                    also()
                    + merge(ctx, owner, "securityContext", missing, after=placement[0], first=placement[1])
                ),
            ),
            applicability=Applicability.SAFE if safe else Applicability.UNSAFE,
            rule=rule,
        )

    def explicit_finding(
        self,
        manifest: Manifest,
        ctx: Context,
        context: Node | None,
        who: str,
        explicit: Explicit,
        container: Container | None = None,
    ) -> Finding:
        """A value set on purpose: reported where it is, replaced only with override-explicit (an
        unsafe fix: it changes what someone chose)."""
        assert isinstance(context, Mapping)
        node = follow(context, explicit.path) or follow(context, explicit.path[:1]) or context
        message = f"{who} {explicit.problem}"
        rule = RULE_OF[explicit.path[0]]
        if explicit.wanted is None:
            return self.finding(
                manifest, node, f"{message}; change it by hand", container=container, rule=rule
            )
        target = f"{'.'.join(explicit.path)}: {show(explicit.wanted)}"
        if not self.options.override_explicit:
            return self.finding(
                manifest,
                node,
                f"{message}; left as set on purpose (override-explicit: true changes it to {target})",
                container=container,
                rule=rule,
            )
        return self.finding(
            manifest,
            node,
            message,
            container=container,
            fix=(f"set {target}", lambda: self.checked_override(ctx, context, explicit)),
            applicability=Applicability.UNSAFE,
            rule=rule,
        )

    @staticmethod
    def checked_override(ctx: Context, context: Mapping, explicit: Explicit) -> list[Change]:
        """The override, unless Kubernetes would refuse the result (then it waits for the blocker)."""
        if explicit.path == ("allowPrivilegeEscalation",):
            data = to_data(context)
            blocker = escalation_blocker(data.get("privileged") is True, capabilities_added(data))
            if blocker:
                raise Uneditable(
                    f"Kubernetes refuses allowPrivilegeEscalation: false together with {blocker.text}"
                )
        return override(ctx, context, explicit)
