"""Containers without CPU and memory requests and limits.

What it does:
    Looks at every container and init container of a pod-bearing object (ephemeral containers
    cannot have resources) and, as kube-score's ``container-resources`` check does, asks for
    ``resources.requests.cpu``, ``requests.memory``, ``limits.cpu`` and ``limits.memory``. A
    quantity of 0 counts as unset, as it does for kube-score, Polaris and kube-linter. Missing
    quantities are added; an existing one is never changed:

    - neither request nor limit set: the configured defaults (requests ``cpu: 100m``,
      ``memory: 64Mi``; limits ``cpu: 200m``, ``memory: 128Mi``, the values of the tutorial
      "Securing Kubernetes Deployments");
    - only the limit set: the request copies it, which is what Kubernetes does already, so the
      pod's behaviour does not change;
    - only the request set: the limit is ``limit-ratio`` times the request (default 2, so
      ``250m`` gives ``500m`` and ``1Gi`` gives ``2Gi``), written in the request's unit; a CPU
      limit is rounded up to a whole millicore (``33m`` times 1.5 is ``50m``). A request written
      as a YAML number (``cpu: 1``) gets a limit written as a number (``cpu: 2``).

    With ``ephemeral-storage`` the same goes for ``ephemeral-storage`` (kube-score's
    ``container-ephemeral-storage-request-and-limit``). A missing ``resources`` gets one block at
    the end of the container, ``requests`` before ``limits``, each with ``cpu``, ``memory`` and
    ``ephemeral-storage`` in that order; in a partial one only the missing keys are added (a
    ``memory`` under an existing ``limits``). Empty values (``resources: {}``, ``limits:`` with
    nothing after it) are filled in.

Why it matters:
    The scheduler places pods by their requests: a container without them can land on a full node,
    and a pod without any requests or limits is "BestEffort", the first to be evicted when the node
    runs short of memory. A container without limits can take a node's whole memory or CPU from its
    neighbours. kube-score reports missing limits as critical and missing requests as a warning.

Example:
    Before::

        containers:
        - name: web
          image: registry.example/web:1.4

    After::

        containers:
        - name: web
          image: registry.example/web:1.4
          resources:
            requests:
              cpu: 100m
              memory: 64Mi
            limits:
              cpu: 200m
              memory: 128Mi

Options:
    cpu-request, memory-request, cpu-limit, memory-limit: the quantities a container gets where
        neither its request nor its limit is set (defaults ``100m``, ``64Mi``, ``200m``,
        ``128Mi``). A request must not exceed its limit (a CPU request may when no CPU limit is
        required: the CPU limit options are not used then).
    limit-ratio: the limit added beside an existing request is this many times the request
        (default 2; at least 1).
    require-cpu-limit: when false (default true), the "no CPU limit" policy of teams that avoid
        CPU throttling: a missing CPU limit is not a finding and none is added (kube-score's
        ``--ignore-container-cpu-limit``). CPU requests are still required.
    ephemeral-storage: when true (default false), ``ephemeral-storage`` requests and limits are
        required too, with ``ephemeral-storage-request`` (default ``512Mi``) and
        ``ephemeral-storage-limit`` (default ``1Gi``). A container that writes more than its limit
        to its filesystem and logs is evicted.
    overrides: other quantities for some containers (default: none). Each entry has one or more
        of the matchers ``name`` (the container's name), ``image`` and ``kind`` (the object's
        kind), all glob patterns that must all match, and the quantities it changes, with the
        option names above; what it leaves out comes from the options. The first entry that
        matches a container wins. For example::

            overrides:
            - name: jvm-*
              memory-request: 512Mi
              memory-limit: 1Gi
            - image: "registry.example/batch/*"
              kind: CronJob
              cpu-limit: "1"

Fix safety:
    Requests and limits are two findings of one container, each with its own fix:

    - ``requests``: safe when every request added is copied from its limit (Kubernetes already uses
      the limit as the request: nothing changes) or is small (at most ``500m`` CPU, ``512Mi``
      memory, ``1Gi`` ephemeral-storage, as the defaults are): a request only reserves room, it
      never stops a running container. Unsafe above that: a pod can become unschedulable where
      nodes or a namespace quota have less room than it asks for.
    - ``limits``: unsafe. A memory limit below what the app needs gets it OOM-killed (a database
      given 128Mi never starts), a CPU limit throttles it, and a throttled start can miss its
      probes. A memory limit is never below the floor of a known image (512Mi for mysql: see
      :mod:`remediate.kube.images`). The defaults fit small services; set ``overrides`` for the
      containers that need more (or ``extend-safe-fixes: [container-resources/limits]`` where
      they fit every container).

Limitations:
    A quantity of 0 is reported but left alone (no value is overwritten); so is a missing request
    beside a limit of 0 (nothing fits below it) and a missing partner of a value that is not a
    Kubernetes quantity (``1gb``, ``${CPU}``): the finding says which. A namespace's LimitRange is
    not consulted, and pod-level ``spec.resources`` (Kubernetes 1.32+) does not count: as for
    kube-score, every container needs its own. Resources that come from a merge key
    (``<<: *base``) or sit inside an anchor that aliases reuse elsewhere are reported without a
    fix. In a flow or JSON mapping whose entries are on lines of their own a new entry goes before
    the last one, never after it (which would change that entry's line), so there ``limits`` can
    come before ``requests``. kube-score's ``kube-score/ignore: container-resources`` switches the
    fixer off for an object, and ``container-ephemeral-storage-request-and-limit`` only its
    ephemeral-storage part.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from decimal import Decimal
from fnmatch import fnmatchcase
from functools import cached_property, partial
from typing import Any, Literal

from remediate.kube import ignore
from remediate.kube.findings import Finding
from remediate.kube.fixer import Context, Fixer
from remediate.kube.images import Image
from remediate.kube.k8s import DECLARED_CONTAINERS, Container, Manifest, containers, pod_template
from remediate.kube.quantities import Quantity, amount_of, quantity_of
from remediate.yaml import render
from remediate.yaml.document import Mapping, Node, Scalar
from remediate.yaml.edits import Change, Uneditable, is_empty, own_value
from remediate.yaml.model import Applicability

SECTIONS = ("requests", "limits")
"""The two sets of quantities in a container's ``resources``, in the order they are written."""

RESOURCES = ("cpu", "memory", "ephemeral-storage")
"""The resources this fixer asks for, in the order they are written."""

Slot = tuple[str, str]
"""Where a quantity goes: (section, resource), e.g. ``("limits", "memory")``."""

SLOTS: tuple[Slot, ...] = tuple((section, resource) for section in SECTIONS for resource in RESOURCES)
LABELS = {"cpu": "CPU", "memory": "memory", "ephemeral-storage": "ephemeral-storage"}
FINEST = {"cpu": Decimal("0.001")}
"""The smallest amount Kubernetes counts: "Kubernetes doesn't allow you to specify CPU resources
with a precision finer than 1m" (its documentation); memory and storage take any byte count."""
SINGULAR = {"requests": "request", "limits": "limit"}
SMALL_REQUESTS = {"cpu": Decimal("0.5"), "memory": Decimal(512 * 2**20), "ephemeral-storage": Decimal(2**30)}
"""The largest request added as a safe fix, in base units (cores, bytes): no node is that full."""
EPHEMERAL_STORAGE_CHECK = "container-ephemeral-storage-request-and-limit"
"""The kube-score check id that switches off the ephemeral-storage part in ``kube-score/ignore``."""

MATCHERS = ("name", "image", "kind")
OverrideKey = Literal[
    "name",
    "image",
    "kind",
    "cpu-request",
    "cpu-limit",
    "memory-request",
    "memory-limit",
    "ephemeral-storage-request",
    "ephemeral-storage-limit",
]


# -- options ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    cpu_request: str = "100m"
    memory_request: str = "64Mi"
    cpu_limit: str = "200m"
    memory_limit: str = "128Mi"
    limit_ratio: float = 2.0
    require_cpu_limit: bool = True
    ephemeral_storage: bool = False
    ephemeral_storage_request: str = "512Mi"
    ephemeral_storage_limit: str = "1Gi"
    overrides: tuple[dict[OverrideKey, str], ...] = ()

    def __post_init__(self) -> None:
        """Reject what would write invalid objects; the config reports the error with the key."""
        if not math.isfinite(self.limit_ratio) or self.limit_ratio < 1:
            raise ValueError(
                f"limit-ratio: must be a number of at least 1 (a limit below its request is "
                f"invalid), got {self.limit_ratio:g}"
            )
        unlimited = () if self.require_cpu_limit else ("cpu",)  # no CPU limit is ever written
        check_quantities(self.defaults, "", unlimited)
        for number, entry in enumerate(self.overrides, 1):
            merged = {**self.defaults, **override_values(entry)}
            check_override(entry, merged, f"overrides[{number}]", unlimited)

    @cached_property
    def defaults(self) -> dict[Slot, str]:
        """The quantities a container gets where neither its request nor its limit is set."""
        return {slot: getattr(self, option_name(slot).replace("-", "_")) for slot in SLOTS}

    def defaults_for(self, kind: str, container: Container) -> dict[Slot, str]:
        """The quantities for one container: the first matching override's over the options'."""
        for entry in self.overrides:
            if matches(entry, kind, container):
                return {**self.defaults, **override_values(entry)}
        return self.defaults


def option_name(slot: Slot) -> str:
    """The option (and override key) of a slot: ``cpu-request``, ``ephemeral-storage-limit``."""
    section, resource = slot
    return f"{resource}-{SINGULAR[section]}"


def override_values(entry: MappingABC[Any, str]) -> dict[Slot, str]:
    """The quantities an override entry sets."""
    return {slot: entry[option_name(slot)] for slot in SLOTS if option_name(slot) in entry}


def matches(entry: MappingABC[Any, str], kind: str, container: Container) -> bool:
    """True when every matcher of an override entry matches (glob patterns, case-sensitive).

    A container without an ``image`` matches no ``image`` pattern.
    """
    subjects = {"name": container.name, "image": container.image, "kind": kind}
    for key in MATCHERS:
        if key in entry:
            subject = subjects[key]
            if subject is None or not fnmatchcase(subject, entry[key]):
                return False
    return True


def check_override(
    entry: MappingABC[Any, str], merged: dict[Slot, str], where: str, unlimited: tuple[str, ...]
) -> None:
    """Raise ValueError, naming the entry, for an override without matchers or quantities."""
    if not any(key in entry for key in MATCHERS):
        raise ValueError(
            f"{where}: needs at least one of {', '.join(MATCHERS)} to say which containers it is for"
        )
    if not override_values(entry):
        raise ValueError(f"{where}: sets no quantity (e.g. cpu-request, memory-limit)")
    check_quantities(merged, f"{where}.", unlimited)


def check_quantities(values: dict[Slot, str], where: str, unlimited: tuple[str, ...] = ()) -> None:
    """Raise ValueError, naming the option, for a quantity that is not positive or above its limit.

    The resources in ``unlimited`` get no limits, so their requests may exceed the limit options.
    """
    for slot, text in values.items():
        quantity = Quantity.parse(text)
        if quantity is None or quantity.amount <= 0:
            raise ValueError(
                f"{where}{option_name(slot)}: {text!r} is not a positive Kubernetes quantity "
                f"(e.g. 100m, 0.5, 64Mi, 1G)"
            )
    for resource in (resource for resource in RESOURCES if resource not in unlimited):
        request, limit = ("requests", resource), ("limits", resource)
        if amount_of(values[request]) > amount_of(values[limit]):
            raise ValueError(
                f"{where}{option_name(request)}: {values[request]} is above "
                f"{option_name(limit)} {values[limit]}; a request cannot exceed its limit"
            )


# -- what a container lacks ---------------------------------------------------------------------


class Plan:
    """What one container lacks, and what its fix adds.

    ``missing`` are the unset slots, ``zero`` the required slots set to 0 (which counts as unset),
    ``blocked`` says why some missing slots get no value; ``additions`` maps each section to the
    quantities to add, in writing order; ``copied`` are the added requests that copy their limit
    (which Kubernetes uses as the request already).
    """

    __slots__ = ("additions", "blocked", "copied", "missing", "zero")

    def __init__(self) -> None:
        self.missing: list[Slot] = []
        self.zero: list[Slot] = []
        self.blocked: list[str] = []
        self.additions: dict[str, dict[str, Any]] = {}
        self.copied: set[Slot] = set()

    def add(self, slot: Slot, value: Any) -> None:
        section, resource = slot
        self.additions.setdefault(section, {})[resource] = value

    def applicability(self) -> Applicability:
        """Safe for requests that are copied or small; limits are always unsafe (Fix safety)."""
        for section, values in self.additions.items():
            if section == "limits":
                return Applicability.UNSAFE
            for resource, value in values.items():
                quantity = Quantity.parse(value)
                small = quantity is not None and quantity.amount <= SMALL_REQUESTS[resource]
                if (section, resource) not in self.copied and not small:
                    return Applicability.UNSAFE
        return Applicability.SAFE


def existing(container: Mapping, slot: Slot) -> Node | None:
    """The value node of ``resources.<section>.<resource>`` (merge keys seen), if any."""
    section, resource = slot
    resources = container.get("resources")
    values = resources.get(section) if isinstance(resources, Mapping) else None
    return values.get(resource) if isinstance(values, Mapping) else None


def plan_for(
    container: Mapping, required: tuple[Slot, ...], defaults: dict[Slot, str], ratio: Decimal
) -> Plan:
    """Decide, slot by slot, what is missing and which value fills each gap.

    ``required`` lists the slots that must be set, requests before limits. A missing request copies
    its limit, a missing limit is ``ratio`` times its request, and where neither is set both get
    the defaults. A request that equals the default request gets the default limit: it is the
    pair of defaults, the request added by an earlier fix (requests and limits are fixed apart).
    Nothing is derived from a partner that is 0 or not a quantity.
    """
    plan = Plan()
    for slot in required:
        section, resource = slot
        node = existing(container, slot)
        partner_slot = ("limits" if section == "requests" else "requests", resource)
        partner = existing(container, partner_slot)
        quantity, partner_quantity = quantity_of(node), quantity_of(partner)
        if quantity is not None and quantity.amount == 0:
            plan.zero.append(slot)
        if not is_empty(node):
            continue
        plan.missing.append(slot)
        partner_is_zero = partner_quantity is not None and partner_quantity.amount == 0
        if is_empty(partner) or (section == "limits" and partner_is_zero):  # any limit is above a 0 request
            plan.add(slot, defaults[slot])
        elif partner_quantity is None:
            plan.blocked.append(
                f"no {label(slot)} is derived from its {SINGULAR[partner_slot[0]]} "
                f'"{shown(partner)}", which is not a valid quantity'
            )
        elif partner_is_zero:
            plan.blocked.append(f"no {label(slot)} fits below a {label(partner_slot)} of 0")
        elif section == "requests":
            plan.add(slot, partner_quantity.value())
            plan.copied.add(slot)
        elif partner_quantity.amount == amount_of(defaults[partner_slot]):
            plan.add(slot, defaults[slot])
        else:
            plan.add(slot, partner_quantity.times(ratio, FINEST.get(resource)).value())
    return plan


def label(slot: Slot) -> str:
    """``CPU request``, ``memory limit``."""
    section, resource = slot
    return f"{LABELS[resource]} {SINGULAR[section]}"


def shown(node: Node | None) -> str:
    return node.value if isinstance(node, Scalar) else "a collection"


def describe(plan: Plan) -> str:
    """``has no CPU or memory request and no memory limit``, then zeros, then what is left out."""
    parts = []
    for section in SECTIONS:
        names = [LABELS[resource] for s, resource in plan.missing if s == section]
        if names:
            parts.append(f"no {_join(names, 'or')} {SINGULAR[section]}")
    parts.extend(f"a {label(slot)} of 0" for slot in plan.zero)
    notes = (["0 counts as unset"] if plan.zero else []) + plan.blocked
    return "has " + _join(parts, "and") + (f" ({'; '.join(notes)})" if notes else "")


def _join(words: list[str], last: str) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


# -- the changes --------------------------------------------------------------------------------


def changes_for(ctx: Context, container: Mapping, additions: dict[str, dict[str, Any]]) -> list[Change]:
    """Insert ``additions``: a whole ``resources`` block, or the keys a partial one lacks."""
    resources = container.get("resources")
    if resources is None:
        return [ctx.editor.add_key(container, "resources", additions)]
    own_value(container, "resources")
    if is_empty(resources):
        return [ctx.editor.set_value(container, "resources", additions)]
    if not isinstance(resources, Mapping):
        raise Uneditable("its resources is not a mapping")
    changes = []
    for section, values in additions.items():
        current = resources.get(section)
        if current is None:
            changes.append(_insert_section(ctx, resources, section, values))
            continue
        own_value(resources, section)
        if is_empty(current):
            changes.append(ctx.editor.set_value(resources, section, values))
        elif isinstance(current, Mapping):
            changes.extend(_insert_quantity(ctx, current, name, value) for name, value in values.items())
        else:
            raise Uneditable(f"its resources.{section} is not a mapping")
    return changes


def _insert_section(ctx: Context, resources: Mapping, section: str, values: dict[str, Any]) -> Change:
    """``requests`` goes just before an existing ``limits``; ``limits`` after ``requests`` or last."""
    keys = [str(getattr(key, "key_value", "")) for key, _ in resources.pairs]
    if section == "requests" and "limits" in keys:
        previous = tuple(keys[: keys.index("limits")][-1:])  # the key just before limits, if any
        return ctx.editor.add_key(resources, section, values, after=previous, first=not previous)
    return ctx.editor.add_key(resources, section, values, after=("requests",))


def _insert_quantity(ctx: Context, values: Mapping, resource: str, value: Any) -> Change:
    """Fill a null entry, or add one after the resources that precede it in writing order."""
    if resource in values.own:
        return ctx.editor.set_value(values, resource, value)
    earlier = tuple(reversed(RESOURCES[: RESOURCES.index(resource)]))
    first = not any(name in values.own for name in earlier)
    return ctx.editor.add_key(values, resource, value, after=earlier, first=first)


def raise_to_floor(plan: Plan, image: Image | None) -> None:
    """Never a memory limit below what the image needs to start (:mod:`remediate.kube.images`)."""
    limits = plan.additions.get("limits", {})
    if image is None or image.memory_floor is None or "memory" not in limits:
        return
    added = Quantity.parse(limits["memory"])
    if added is not None and added.amount < amount_of(image.memory_floor):
        limits["memory"] = image.memory_floor


def changes_together(
    ctx: Context, container: Mapping, additions: dict[str, dict[str, dict[str, Any]]], found: list[Finding]
) -> list[Change]:
    """The change of the requests and limits findings ``found`` at once: one block, requests first."""
    merged: dict[str, dict[str, Any]] = {}
    for finding in found:
        merged.update(additions[finding.rule])
    return changes_for(ctx, container, merged)


def title_for(additions: dict[str, dict[str, Any]]) -> str:
    """``add requests {cpu: 100m, memory: 64Mi} and limits {cpu: 200m, memory: 128Mi}``"""
    return "add " + " and ".join(f"{section} {render.flow(values)}" for section, values in additions.items())


# -- the fixer ----------------------------------------------------------------------------------


class ContainerResources(Fixer):
    id = "container-resources"
    code = "K8S002"
    Options = Options
    writes = ("resources", "requests", "limits", "cpu", "memory", "ephemeral-storage")
    rules = SECTIONS

    def check(self, manifest: Manifest, ctx: Context) -> Iterator[Finding]:
        yield from self.guard_findings(manifest, ctx)
        template = pod_template(manifest, ctx.pod_kinds)
        if template is None:
            return
        options: Options = self.options
        required = self.required_slots(manifest, template.metadata)
        ratio = Decimal(repr(options.limit_ratio))
        for container in containers(template.spec, DECLARED_CONTAINERS):
            defaults = options.defaults_for(manifest.kind, container)
            found: list[Finding] = []
            additions: dict[str, dict[str, dict[str, Any]]] = {}
            for section in SECTIONS:
                slots = tuple(slot for slot in required if slot[0] == section)
                plan = plan_for(container.node, slots, defaults, ratio)
                if not plan.missing and not plan.zero:
                    continue
                raise_to_floor(plan, ctx.images.lookup(container.image))
                fix = None
                if plan.additions:
                    additions[section] = plan.additions
                    fix = (
                        title_for(plan.additions),
                        lambda c=container.node, a=plan.additions: changes_for(ctx, c, a),
                    )
                found.append(
                    self.finding(
                        manifest,
                        container.node,
                        f"{container.subject} {describe(plan)}",
                        container=container,
                        fix=fix,
                        applicability=plan.applicability(),
                        rule=section,
                    )
                )
            yield from self.sharing_one_fix(
                found, ctx, partial(changes_together, ctx, container.node, additions)
            )

    def required_slots(self, manifest: Manifest, pod_metadata: Mapping | None) -> tuple[Slot, ...]:
        """The slots every container of this object must set, requests before limits."""
        options: Options = self.options
        storage = options.ephemeral_storage and not ignores_ephemeral_storage(manifest, pod_metadata)
        resources = RESOURCES if storage else RESOURCES[:2]
        skipped = set() if options.require_cpu_limit else {("limits", "cpu")}
        return tuple(slot for slot in SLOTS if slot[1] in resources and slot not in skipped)


def ignores_ephemeral_storage(manifest: Manifest, pod_metadata: Mapping | None) -> bool:
    """True when a ``kube-score/ignore`` annotation names kube-score's ephemeral-storage check."""
    return EPHEMERAL_STORAGE_CHECK in ignore.kube_score_checks(manifest, pod_metadata)
