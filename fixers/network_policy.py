"""Pods that no NetworkPolicy selects for Ingress, or for Egress.

What it does:
    For every pod-bearing object (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
    ReplicationController, Job, CronJob, ``kind: List`` items and the config's ``pod-kinds``), looks
    for NetworkPolicies of the pods' namespace that select the pod template's labels, in every file
    of the run and in ``--context`` paths. Selection follows the API server: ``matchLabels`` and
    ``matchExpressions``, ``podSelector: {}`` selects every pod of the namespace (so a namespace's
    default deny policy covers them), and an omitted ``policyTypes`` means Ingress, plus Egress when
    the policy has egress rules. Only ``networking.k8s.io`` policies cover pods; other engines'
    policies stop new ones (see Limitations).

    Pods missing a policy for one direction or both get one new NetworkPolicy, for exactly the
    missing directions, appended as a new document at the end of the object's file. It is rendered
    from the ``template`` option; the default, ``allow-all``, is the explicit allow-all policy
    (``ingress: [{}]``, ``egress: [{}]``) for those directions, which changes no traffic. It is named
    ``<object>-<template>`` (``<object>-<kind>-<template>`` when objects of two kinds share the name,
    and ``-2``, ``-3``... when a policy of that namespace has the name), selects the pods with
    ``matchLabels`` by the labels Kubernetes itself finds them by (the workload's
    ``spec.selector.matchLabels``, else the pod template's labels), never by labels that change at
    the next release (``version``, ``app.kubernetes.io/version``, ``helm.sh/chart``, hashes), and
    gets ``metadata.namespace`` only when the object states one. A
    leading comment says what it allows. Objects that share labels share a policy: the first one's
    policy covers the others, so it is added once. A policy added by an earlier run is found like
    any other, so a second run adds nothing.

Why it matters:
    A pod that no policy selects accepts connections from, and opens connections to, anything the
    cluster network reaches: one compromised pod can probe every other one. kube-score reports it as
    critical (``pod-networkpolicy``), and only a policy of its own can later be narrowed to the
    traffic the app needs. The default template records today's behaviour explicitly, as the
    starting point for that.

Example:
    Before (no NetworkPolicy in the run selects ``app: web``)::

        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          template:
            metadata:
              labels:
                app: web

    After, at the end of the same file::

        ---
        # Allows all Ingress and Egress traffic, as without a policy; narrow it to what these pods need.
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web-allow-all
        spec:
          podSelector:
            matchLabels:
              app: web
          ingress:
          - {}
          egress:
          - {}
          policyTypes:
          - Ingress
          - Egress

Options:
    template: the policy to add (default ``allow-all``). Built in: ``allow-all``; ``deny-all``
        (``policyTypes`` only, no rules: no traffic of those directions); ``same-namespace`` (ingress
        from and egress to the pods of the same namespace, plus egress to port 53 anywhere for DNS).
        Any other value is the path of a jinja2 template of your own, relative to the config file's
        directory (to the working directory when no config file is used); its file name without
        ``.j2``/``.yaml`` is the ``<template>`` part of the policy names. It is rendered in jinja2's
        sandbox with the variables ``name`` (the policy name to use), ``namespace`` (the object's
        stated namespace, or none), ``labels`` (the labels to select the pods by, as above),
        ``policy_types`` (the
        missing directions, e.g. ``["Egress"]``), ``workload`` (``kind``, ``name``, ``apiVersion``,
        ``namespace``), ``ports`` (the containers' ports: ``container``, ``name``, ``port``,
        ``protocol``) and ``template``; ``tojson`` writes a value safely (``{{ labels | tojson }}``).
        It must render one NetworkPolicy of ``networking.k8s.io/v1`` in the pods' namespace that
        selects these pods for exactly ``policy_types``. Its leading ``#`` comment lines are kept
        above it; other comments are not, as the policy is written in the file's own indentation
        and style. The built-in templates in ``fixers/templates/network_policy/`` are examples.
        A template is one file (``include`` and ``import`` find nothing) and is rendered within
        bounds, since a repository's config may name it: 100,000 loop items in all, a million
        characters, five seconds (see ``remediate/kube/sandbox.py``); past them, the findings say so.
    policy-file: a file name (or a path relative to each workload's directory), e.g.
        ``network-policies.yaml``: the new policies of a directory's workloads go to that one file
        (created when missing) instead of the end of each workload's own file, so JSON files get
        policies too. The file is consulted even when it is not among the paths given (a pre-commit
        run on one staged file still sees the policies it holds), and written after all other files,
        with the same verification. It must be a ``.yaml``/``.yml`` path inside the workload's
        directory: an absolute path or ``..`` is a configuration error, and a file that a symbolic
        link takes out of the directory, or that is not a regular file, is not read or written.
        Default: empty (each workload's own file).

Fix safety:
    - unsafe, whatever the template. Policies add up, and k8sfix sees only the policies of the
      run: a namespace locked down by a default-deny applied from elsewhere (another repository,
      an operator, a platform team's baseline) is opened by an ``allow-all``, which changes no
      traffic only where no policy selects the pods. Within the run it is added only for
      directions in which no policy selects the pods; a policy with rules would also widen the
      traffic of other pods it selects (pods with more labels) whose traffic policies limit, so
      when the run knows such pods, no policy is added and the finding names the object in the
      way (give the pods a label of their own). ``deny-all`` and ``same-namespace`` change traffic
      on purpose, and ``deny-all`` of Egress blocks DNS lookups too. A team that knows every
      policy of its namespaces is in the repository can make them safe with
      ``extend-safe-fixes: [network-policy]``.

Limitations:
    A Job whose pod template has no labels is selected by ``batch.kubernetes.io/job-name``, the
    label the Job controller gives its pods since Kubernetes 1.27 (not when the run targets an
    older version, nor for a ``generateName``).
    A run that sees a policy of another engine for the namespace or the whole cluster (Cilium,
    Calico, Antrea, AdminNetworkPolicy) that may select the pods adds no NetworkPolicy for them
    and says why. Cilium's ``endpointSelector``, Antrea's ``appliedTo`` pod selectors and the
    ``subject.pods`` of AdminNetworkPolicies for every namespace are read, so pods they do not
    select still get a policy; any other selector (Calico's expressions, namespace selectors)
    counts as selecting them.
    Pods with ``hostNetwork: true`` get no policy, only a note: they share the node's network,
    where NetworkPolicies have no effect.
    Kustomize: a policy goes where the labels it selects are final. No policy is added to a base
    when a kustomization of the run that builds it (an overlay, seen in the run or ``--context``)
    gives the pods another value of a selected label by a patch or by ``labels`` with
    ``includeTemplates`` (``commonLabels`` and ``includeSelectors`` rewrite the policy's
    ``podSelector`` in the same build, so they are fine); the finding names the overlay, where
    the policy has to be written by hand. Nor is a ``policy-file`` written that the kustomization
    building the workload's file does not list in its ``resources``: its build would leave the
    policy out.
    Without ``policy-file``, a JSON file, which holds one object, gets no policy (the finding says
    so), and objects in a ``kind: List`` get a document after the List, not a new item. Pods whose
    template has no labels (a Pod, a CronJob) are labelled ``app.kubernetes.io/name: <object
    name>`` by the fix, and the next pass adds a policy that selects that label: a policy without
    labels would select every pod of the namespace. A Job without labels (before Kubernetes 1.27)
    is reported without a fix, since its pod template cannot change once the Job exists.
    Coverage is judged from the objects of the run and ``--context`` only: policies that exist only
    in the cluster are not seen, nor are pods outside the run when checking what a new policy would
    widen; objects with the same labels in two files of one run each get a policy. Objects without
    ``metadata.namespace`` are placed as described for ``--namespace``. kube-score itself counts
    only policies whose ``matchLabels`` share a pair with the pods and that list ``policyTypes``;
    the added policies satisfy it, but it still reports pods that only ``podSelector: {}`` or
    ``matchExpressions`` cover.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from fixers._builtin_policies import BUILT_IN
from fixers._common import TemplateProblem
from remediate.kube import ignore, kustomize, sandbox
from remediate.kube.findings import Finding
from remediate.kube.fixer import Context, Fixer, SetupProblem
from remediate.kube.index import (
    NETWORK_POLICY_API_VERSIONS,
    OTHER_POLICY_KINDS,
    RULES,
    IndexedObject,
    RunIndex,
    labels_of,
    other_policy_covers,
    policy_spec,
    policy_types,
    selects,
)
from remediate.kube.k8s import (
    DECLARED_CONTAINERS,
    Manifest,
    PodTemplate,
    containers,
    declared_ports,
    follow,
    manifests,
    pod_kind,
    pod_template,
)
from remediate.yaml.document import Mapping as MappingNode
from remediate.yaml.document import Node, Scalar, parse
from remediate.yaml.edits import Change, Editor, Uneditable
from remediate.yaml.model import Applicability, NewDocument
from remediate.yaml.source import InputError, read_regular
from remediate.yaml.values import to_data

BUILTIN_TEMPLATES = ("allow-all", "deny-all", "same-namespace")
TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates", "network_policy")
"""Where the built-in templates are, beside this module (as the package installs them)."""
PLANNED = "<NetworkPolicies being added>"
"""The index 'file' that holds the policies planned for this file, so later objects see them."""

MAX_NAME_LENGTH = 253
"""Object names are DNS subdomains of at most 253 characters."""


@dataclass(frozen=True)
class Options:
    template: str = "allow-all"
    policy_file: str = ""

    def __post_init__(self) -> None:
        """A ``policy-file`` stays inside the directory it serves and is YAML: a committed config must
        not name a file elsewhere on the machine of whoever runs k8sfix (``/dev/null``, ``../../x``)."""
        path = self.policy_file
        if not path:
            return
        parts = path.replace("\\", "/").split("/")
        if os.path.isabs(path) or path.startswith("~") or ".." in parts:
            raise ValueError(
                f"policy-file: {path!r} must be a path inside each workload's directory "
                "(relative, without '..')"
            )
        if not path.endswith((".yaml", ".yml")):
            raise ValueError(
                f"policy-file: {path!r} must be a YAML file (.yaml or .yml): policies are added as documents"
            )


# -- the template -------------------------------------------------------------------------------


def load_template(option: str, config_path: str | None) -> str:
    """The text of a built-in template, or of the user's template file (relative to the config's
    directory)."""
    if option in BUILTIN_TEMPLATES:
        with open(os.path.join(TEMPLATES, f"{option}.yaml.j2"), encoding="utf-8") as stream:
            return stream.read()
    path = template_path(option, config_path)
    try:
        data, _ = read_regular(path)
        return data.decode("utf-8")
    except OSError as exc:
        raise TemplateProblem(f"the template {path} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise TemplateProblem(f"the template {path} is not UTF-8") from None


def template_path(option: str, config_path: str | None) -> str:
    """Where a user's template is: relative to the config file's directory, and inside it (a
    repository's config names a template of the repository, not a file elsewhere on the machine)."""
    base = os.path.dirname(os.path.abspath(config_path)) if config_path else os.getcwd()
    parts = option.replace("\\", "/").split("/")
    path = os.path.join(base, option)
    if os.path.isabs(option) or option.startswith("~") or ".." in parts or not _inside(path, base):
        raise TemplateProblem(
            f"the template {option!r} must be a path inside {base} (relative, without '..'; links "
            "may not lead out of it)"
        )
    return path


def _inside(path: str, directory: str) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(directory)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def template_name(option: str) -> str:
    """The ``<template>`` part of policy names: a built-in's name, or the file name without
    ``.j2``/``.yaml``/``.yml``, in the characters an object name allows."""
    if option in BUILTIN_TEMPLATES:
        return option
    stem = os.path.basename(option)
    for suffix in (".j2", ".jinja", ".jinja2", ".yaml", ".yml"):
        stem = stem.removesuffix(suffix)
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "policy"


def render(text: str, variables: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Render a template (within :mod:`remediate.kube.sandbox`'s bounds) and read it: the policy as plain
    data, and its leading comment."""
    try:
        rendered = sandbox.render(text, variables)
    except sandbox.TemplateFailure as failure:
        raise TemplateProblem(f"the template fails: {failure}") from None
    try:
        documents = [d for d in parse(rendered) if not (isinstance(d.root, Scalar) and d.root.is_null)]
    except InputError as exc:
        raise TemplateProblem(f"the template does not render YAML: {exc.message} (line {exc.line})") from None
    if len(documents) != 1 or not isinstance(documents[0].root, MappingNode):
        raise TemplateProblem("the template must render one YAML mapping, a NetworkPolicy")
    return to_data(documents[0].root), leading_comment(rendered)


def leading_comment(text: str) -> str | None:
    """The ``#`` comment lines before the first YAML line, without their ``# ``."""
    lines: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            lines.append(stripped[1:].removeprefix(" "))
        elif stripped not in ("", "---"):
            break
    return "\n".join(lines) or None


# -- what one object needs ----------------------------------------------------------------------


class Unlabeled(TemplateProblem):
    """The pod template has no labels to select its pods by (the fix may give it one)."""


NAME_LABEL = "app.kubernetes.io/name"
"""The label the fix gives pods that have none, valued with the object's name (the recommended
label for the name of an application)."""


def label_value(name: str) -> str | None:
    """``name`` as a label value (at most 63 characters of letters, digits, ``-``, ``_`` and ``.``,
    starting and ending with a letter or digit); None when nothing of it is left."""
    value = re.sub(r"[^A-Za-z0-9._-]", "-", name)[:63]
    value = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", value)
    return value or None


JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
JOB_NAME_SINCE = (1, 27)
"""The Job controller labels every pod of a Job with its name since Kubernetes 1.27."""


def job_labels(manifest: Manifest, target: tuple[int, int]) -> dict[str, str]:
    """The labels the Job controller gives the pods of a Job whose template has none, on the
    targeted Kubernetes version (none for a ``generateName``, known only once created)."""
    metadata = manifest.metadata
    name = metadata.str("name") if metadata is not None else None
    if manifest.kind != "Job" or not name or target < JOB_NAME_SINCE:
        return {}
    return {JOB_NAME_LABEL: name}


UNSTABLE_LABELS = frozenset(
    {
        "app.kubernetes.io/version",
        "version",
        "helm.sh/chart",
        "chart",
        "pod-template-hash",
        "controller-revision-hash",
        "pod-template-generation",
    }
)
"""Labels whose values change with each release or rollout: a selector never uses them."""


class Workload(NamedTuple):
    """A pod-bearing object of the file and what the run's policies leave uncovered."""

    manifest: Manifest
    template: PodTemplate
    labels: dict[str, str]
    namespace: str
    missing: tuple[str, ...]

    @property
    def selector(self) -> dict[str, str]:
        """The labels a new policy selects the pods by: the workload's own ``spec.selector``
        (``matchLabels``), which Kubernetes finds its pods by, else the pod template's labels;
        without the labels that change from one release to the next (:data:`UNSTABLE_LABELS`),
        so that the policy keeps selecting the pods after an upgrade."""
        node = follow(self.manifest.node, ("spec", "selector", "matchLabels"))
        found = to_data(node) if node is not None else None
        chosen: dict[str, str] = self.labels
        if isinstance(found, dict) and found and all(self.labels.get(k) == v for k, v in found.items()):
            chosen = found
        return {key: value for key, value in chosen.items() if key not in UNSTABLE_LABELS}

    @property
    def node(self) -> Node:
        """Where the finding points: the pod template's labels, else its metadata, else its spec."""
        metadata = self.template.metadata
        labels = metadata.get("labels") if metadata is not None else None
        return labels if isinstance(labels, MappingNode) else metadata or self.template.spec

    def variables(self, name: str, template: str, directions: tuple[str, ...]) -> dict[str, Any]:
        """What a template sees."""
        manifest = self.manifest
        return {
            "name": name,
            "namespace": manifest.namespace,
            "labels": self.selector,
            "policy_types": list(directions),
            "workload": {
                "kind": manifest.kind,
                "name": manifest.name,
                "apiVersion": manifest.api_version,
                "namespace": manifest.namespace,
            },
            "ports": container_ports(self.template.spec),
            "template": template,
        }


def container_ports(spec: MappingNode) -> list[dict[str, Any]]:
    """The ports the pod's containers declare, protocol defaulted to TCP as the API server does."""
    ports = []
    for container in containers(spec, DECLARED_CONTAINERS):
        for port in declared_ports(container.node):
            ports.append(
                {
                    "container": container.name,
                    "name": port.name,
                    "port": port.number,
                    "protocol": port.protocol,
                }
            )
    return ports


class NewPolicy(NamedTuple):
    """A policy to append: its document, its leading comment, and its index entry."""

    value: dict[str, Any]
    comment: str | None
    indexed: IndexedObject


class Plan:
    """What a file needs: the policies to append, in order, and each uncovered object's entry
    (with the reason it gets no fix, if any); ``unlabeled``: the objects whose pods have no labels
    (their fix labels them first)."""

    __slots__ = ("built", "policies", "sending", "unlabeled", "workloads")

    def __init__(self) -> None:
        self.policies: list[NewPolicy] = []
        self.workloads: dict[int, tuple[Workload, str | None]] = {}
        self.unlabeled: set[int] = set()
        self.built: Change | str | None = None
        self.sending: Change | None = None

    @property
    def title(self) -> str:
        names = [policy.indexed.name for policy in self.policies[:3]]
        more = len(self.policies) - len(names)
        return f"add NetworkPolicy {', '.join(names)}" + (f" and {more} more" if more else "")

    def change(self, editor: Editor) -> Change:
        """One change that appends every planned policy (built once: each finding shares it)."""
        if self.built is None:
            try:
                self.built = editor.append_documents([(p.value, p.comment) for p in self.policies])
            except Uneditable as reason:
                self.built = str(reason)
        if isinstance(self.built, str):
            raise Uneditable(self.built)
        return self.built

    def sent(self, target: str) -> Change:
        """One change that sends every planned policy to ``target`` (made once: each finding shares it)."""
        if self.sending is None:
            self.sending = Change(
                (), (), tuple(NewDocument(target, p.value, p.comment) for p in self.policies)
            )
        return self.sending


def unique_name(base: str, namespace: str, index: RunIndex) -> str:
    """``base``, or ``base-2``, ``base-3``... when a NetworkPolicy of the namespace has that name."""
    name, number = base, 2
    while index.has_policy_named(namespace, name):
        name = f"{base}-{number}"
        number += 1
    return name


def base_name(manifest: Manifest, template: str, namespace: str, index: RunIndex) -> str:
    """``<object>-<template>``, shortened to fit an object name; ``<object>-<kind>-<template>`` when
    an object of another kind has the same name in the namespace (say a Deployment and a CronJob
    ``web`` in two files of the run, which would otherwise both add ``web-allow-all``)."""
    owner = (manifest.name or manifest.kind.lower()).rstrip("-.")
    if any(other.kind != manifest.kind for other in index.workloads_named(namespace, manifest.name)):
        owner = f"{owner}-{manifest.kind.lower()}"
    room = MAX_NAME_LENGTH - len(template) - 1 - 4  # keep room for a "-NNN" suffix
    return f"{owner[:room].rstrip('-.')}-{template}"


NAMESPACE_DEFAULT = re.compile(r"podSelector:\s*\{\s*\}")
"""How a template says, in its own text, that its policy is for every pod of the namespace."""


def selects_every_pod(spec: dict[str, Any]) -> bool:
    """True for a policy whose ``podSelector`` is empty: it selects every pod of its namespace."""
    selector = spec.get("podSelector")
    if not isinstance(selector, dict):
        return selector is None
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


def check_policy(
    policy: IndexedObject,
    workload: Workload,
    needed: tuple[str, ...],
    index: RunIndex,
    namespace_default: bool = False,
) -> None:
    """Raise TemplateProblem unless ``policy`` covers exactly the ``needed`` directions of these
    pods, and would not widen the traffic of other known pods that policies already limit.

    A policy that selects every pod of the namespace is refused unless the template is a
    namespace default on purpose (``namespace_default``: its text says ``podSelector: {}``), as an
    empty selector from a template variable would change the traffic of every other pod there.
    """
    spec = policy_spec(policy)
    if policy.kind != "NetworkPolicy" or policy.api_version not in NETWORK_POLICY_API_VERSIONS:
        shown = f"{policy.api_version} {policy.kind}".strip() or "an object without kind"
        raise TemplateProblem(f"the template renders {shown}, not a networking.k8s.io/v1 NetworkPolicy")
    if not isinstance(spec, dict):
        raise TemplateProblem("the template's policy has a spec that is not a mapping")
    if not policy.name:
        raise TemplateProblem("the template's policy has no metadata.name")
    if index.has_policy_named(policy.namespace, policy.name):
        raise TemplateProblem(f'the template names it "{policy.name}", a name another NetworkPolicy has')
    if policy.namespace != workload.namespace:
        raise TemplateProblem(
            f'the template puts the policy in namespace "{policy.namespace}", not "{workload.namespace}"'
        )
    if not selects(spec, workload.labels):
        raise TemplateProblem("the template's podSelector does not select these pods")
    if set(policy_types(spec)) != set(needed):
        raise TemplateProblem(
            f"the template's policy is for {', '.join(policy_types(spec))}; it must be for exactly "
            f"{', '.join(needed)} (the variable policy_types)"
        )
    if selects_every_pod(spec) and not namespace_default:
        raise TemplateProblem(
            "the template's policy selects every pod of the namespace (an empty podSelector), not only "
            "these; write podSelector: {} in the template itself if it is a namespace default on purpose"
        )
    for direction in needed:
        if spec.get(RULES[direction][0]):
            _check_not_widening(spec, direction, workload.namespace, index)


def _check_not_widening(spec: dict[str, Any], direction: str, namespace: str, index: RunIndex) -> None:
    for other in index.workloads_selected_by(spec.get("podSelector"), namespace):
        labels = other.pod_labels or {}
        if index.restricts(labels, namespace, direction):
            raise TemplateProblem(
                f"a policy for these labels would also select the pods of {other.kind}/{other.name}, whose "
                f"{direction} traffic other policies limit, and let more of it through; give these pods "
                "a label of their own"
            )


# -- the fixer ----------------------------------------------------------------------------------


class NetworkPolicy(Fixer):
    id = "network-policy"
    code = "K8S005"
    Options = Options
    writes = ("NetworkPolicy", "metadata", "labels", NAME_LABEL)
    needs_index = True

    template_text = ""
    """The template's text, read once by :meth:`setup`."""

    def check(self, manifest: Manifest, ctx: Context) -> Iterator[Finding]:
        if pod_template(manifest, ctx.pod_kinds) is None:
            return
        plan: Plan = ctx.plan(self)
        found = plan.workloads.get(id(manifest.node))
        if found is None:
            return
        workload, reason = found
        if id(manifest.node) in plan.unlabeled:
            yield self.label_finding(manifest, ctx, workload, reason)
            return
        target = policy_file(self.options.policy_file, ctx)
        building = kustomize.leaving_out(ctx.source.name, target) if target else None
        if building is not None and reason is None:
            reason = (
                f"kustomization {os.path.relpath(building)} builds this file but not {target}, so "
                f"kustomize build would leave the policy out: list {os.path.basename(target or '')} in its "
                "resources (k8sfix creates the file)"
            )
        if target is None:
            title, build = plan.title, lambda: [append_policies(plan, ctx, reason)]
        else:
            title, build = f"{plan.title} to {target}", lambda: [send_policies(plan, target, reason)]
        yield self.finding(
            manifest, workload.node, message(workload), fix=(title, build), applicability=Applicability.UNSAFE
        )

    def label_finding(
        self, manifest: Manifest, ctx: Context, workload: Workload, reason: str | None
    ) -> Finding:
        """The finding of pods without labels: the fix labels them (the next pass adds their policy).

        A Job is left alone: its pod template cannot change once it is created, so the API server
        would refuse the labelled Job (and from Kubernetes 1.27 its pods are labelled with its name).
        """
        value = label_value(manifest.name)
        if manifest.kind == "Job" or value is None:
            why = reason
            if manifest.kind == "Job":
                why = f"{reason} to the Job (its pod template cannot change once the Job exists: recreate it)"
            return self.finding(
                manifest, workload.node, f"{message(workload)} (not fixed automatically: {why})"
            )
        label = {NAME_LABEL: value}
        taken = label_in_use(ctx, label, workload)
        if taken is not None:
            return self.finding(
                manifest,
                workload.node,
                f"{message(workload)} (not fixed automatically: {reason}; {NAME_LABEL}={value} would put "
                f"these pods under {taken}: give them a label of their own)",
            )
        text = (
            f"{message(workload)}; its pod template has no labels to select them by: the fix labels them "
            f"{NAME_LABEL}={value}, then adds a policy that selects them"
        )
        return self.finding(
            manifest,
            workload.node,
            text,
            fix=(f"label the pods {NAME_LABEL}={value}", lambda: [add_labels(ctx, workload.template, label)]),
            applicability=Applicability.UNSAFE,
        )

    def notes(self, manifest: Manifest, ctx: Context) -> Iterator[str]:
        template = pod_template(manifest, ctx.pod_kinds)
        if template is not None and on_host_network(template):
            yield (
                f"{manifest.label} gets no NetworkPolicy: its pods use the node's network "
                "(hostNetwork: true), where NetworkPolicies have no effect"
            )

    def setup(self) -> None:
        """Read the template, and compile a user's one: one that cannot be read or compiled is a
        configuration error (the built-in ones are tested, and jinja2 stays unimported until a
        policy is rendered)."""
        try:
            self.template_text = load_template(self.options.template, self.config_path)
            if self.options.template not in BUILTIN_TEMPLATES:
                sandbox.compiled(self.template_text)
        except TemplateProblem as problem:
            raise SetupProblem("template", str(problem)) from None
        except sandbox.TemplateFailure as failure:
            raise SetupProblem("template", f"the template fails: {failure}") from None

    def receiving_files(self, paths: list[str]) -> dict[str, str]:
        """The ``policy-file`` of each input's directory, which it must stay inside."""
        if not self.options.policy_file:
            return {}
        return {
            target_in(path, self.options.policy_file): os.path.dirname(path) or "."
            for path in paths
            if path != "-"
        }

    def plan_file(self, ctx: Context) -> Plan:
        """The file's plan, which every object's finding shares: go through the file's pod-bearing
        objects in order; each one that the run's policies, and those already planned, leave
        uncovered gets a policy for what is still missing."""
        plan = Plan()
        planned = ctx.index.with_file(PLANNED, [])
        for workload in self._uncovered(ctx):
            still = planned.policy_coverage(workload.labels, workload.namespace).missing()
            reason = None
            if still:
                try:
                    plan.policies.append(self._new_policy(workload, still, planned, ctx))
                except Unlabeled as problem:
                    reason = str(problem)
                    plan.unlabeled.add(id(workload.manifest.node))
                except TemplateProblem as problem:
                    reason = str(problem)
                else:
                    planned.add([plan.policies[-1].indexed])
            plan.workloads[id(workload.manifest.node)] = (workload, reason)
        return plan

    def _uncovered(self, ctx: Context) -> Iterator[Workload]:
        codes = {self.code: self.id}
        for manifest in manifests(ctx.documents):
            template = pod_template(manifest, ctx.pod_kinds)
            if template is None or ignore.ignored(manifest, ctx.pod_kinds, codes) & {ignore.ALL, self.id}:
                continue
            if on_host_network(template):
                continue  # NetworkPolicies do not apply to pods in the node's network namespace
            labels = labels_of(template.metadata) or job_labels(manifest, ctx.target_version)
            namespace = ctx.namespace_of(manifest)
            missing = ctx.index.policy_coverage(labels, namespace).missing()
            if missing:
                yield Workload(manifest, template, labels, namespace, missing)

    def _new_policy(
        self, workload: Workload, needed: tuple[str, ...], index: RunIndex, ctx: Context
    ) -> NewPolicy:
        others = [
            other
            for other in index.other_engine_policies(workload.namespace)
            if other_policy_covers(other, workload.labels, workload.namespace)
        ]
        if others:
            first = others[0]
            cluster_wide = (
                OTHER_POLICY_KINDS.get((first.api_version.split("/", 1)[0], first.kind)) == "cluster"
            )
            where = "the cluster" if cluster_wide else f'namespace "{workload.namespace}"'
            raise TemplateProblem(
                f"{first.kind} {first.name} ({first.api_version}) decides traffic in {where} too, and a "
                "NetworkPolicy added beside it could open what it closes; write the policy for that "
                "engine by hand"
            )
        if not workload.labels:
            raise Unlabeled(
                "its pod template has no labels, and a policy without labels to select would select "
                "every pod of the namespace; add labels"
            )
        relabelled = relabelling(workload, ctx)
        if relabelled is not None:
            kustomization, key, label = relabelled
            raise TemplateProblem(
                f"kustomization {kustomization} gives these pods {key}={label} (by a patch, or labels with "
                "includeTemplates), which a policy written here would not select: add the policy to that "
                "overlay by hand"
            )
        if not workload.selector:
            raise TemplateProblem(
                "its pods have only labels that change from one release to the next (version, chart, "
                "hashes): a policy selecting them would stop matching at the next upgrade; add a stable "
                "label such as app.kubernetes.io/name"
            )
        template = template_name(self.options.template)
        base = base_name(workload.manifest, template, workload.namespace, index)
        name = unique_name(base, workload.namespace, index)
        variables = workload.variables(name, template, needed)
        built_in = BUILT_IN.get(self.options.template)  # the same policy, without importing jinja2
        value, comment = built_in(variables) if built_in else render(self.template_text, variables)
        metadata = value.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        indexed = IndexedObject(
            file=PLANNED,
            kind=str(value.get("kind") or ""),
            api_version=str(value.get("apiVersion") or ""),
            name=str(metadata.get("name") or ""),
            namespace=str(metadata.get("namespace") or ctx.namespace),
            labels={},
            spec=value.get("spec"),
        )
        namespace_default = NAMESPACE_DEFAULT.search(self.template_text) is not None
        check_policy(indexed, workload, needed, index, namespace_default)
        return NewPolicy(value, comment, indexed)


def on_host_network(template: PodTemplate) -> bool:
    """True for pods in the node's network namespace (``hostNetwork: true``)."""
    host_network = template.spec.get("hostNetwork")
    return isinstance(host_network, Scalar) and host_network.data is True


def relabelling(workload: Workload, ctx: Context) -> tuple[str, str, str] | None:
    """A kustomization of the run that builds this file and gives the pods another value of a
    label the policy would select (kustomization, key, value), if any: a policy added here, in the
    base, would not select them in that build."""
    entry = pod_kind(workload.manifest, ctx.pod_kinds)
    if ctx.from_stdin or entry is None:
        return None
    path = os.path.abspath(ctx.source.name)
    selector = workload.selector
    for kustomization in ctx.index.kustomizations():
        if path not in kustomize.included_files(kustomization.name):
            continue
        manifest = workload.manifest
        labels = kustomize.template_labels_set(
            kustomization.name, manifest.kind, manifest.name, entry.pod_spec_path[:-1]
        )
        for key, value in labels.items():
            if key in selector and selector[key] != value:
                return os.path.relpath(kustomization.name), key, value
    return None


def message(workload: Workload) -> str:
    """The problem: which namespace, which pods, which directions."""
    pods = ", ".join(f"{key}={value}" for key, value in workload.labels.items())
    pods = f"its pods ({pods})" if pods else "its pods"
    return (
        f'no NetworkPolicy of namespace "{workload.namespace}" selects {pods} '
        f"for {' and '.join(workload.missing)}"
    )


def policy_file(option: str, ctx: Context) -> str | None:
    """Where the file's new policies go when not at its own end: the ``policy-file`` of its
    directory (None: the file itself, also when it is that file or is read from stdin)."""
    if not option or ctx.from_stdin:
        return None
    target = target_in(ctx.source.name, option)
    return None if target == os.path.normpath(ctx.source.name) else target


def target_in(path: str, option: str) -> str:
    """The ``policy-file`` of the directory of ``path``, as a normalized path."""
    return os.path.normpath(os.path.join(os.path.dirname(path), option))


def label_in_use(ctx: Context, labels: dict[str, str], workload: Workload) -> str | None:
    """What in the run already selects or carries ``labels`` in the workload's namespace (a Service
    that would send the pods traffic, a policy that would cover them, other pods a selector would
    then count with them), or None."""
    namespace = workload.namespace
    services = ctx.index.services_selecting(labels, namespace)
    if services:
        return f"Service {services[0].name}"
    coverage, before = ctx.index.policy_coverage(labels, namespace), ctx.index.policy_coverage({}, namespace)
    for direction in ("Ingress", "Egress"):
        added = [p for p in coverage.of(direction) if p not in before.of(direction)]
        if added:
            return f"NetworkPolicy {added[0].name}"
    others = [o for o in ctx.index.workloads_selected_by({"matchLabels": labels}, namespace)]
    if others:
        return f"the selectors of {others[0].kind}/{others[0].name}'s pods"
    return None


def add_labels(ctx: Context, template: PodTemplate, labels: dict[str, str]) -> Change:
    """The change that gives a pod template without labels ``labels`` (and ``metadata`` if it has
    none: a CronJob's job template often has not)."""
    metadata = template.metadata
    if metadata is None:
        owner = template.spec.parent
        if not isinstance(owner, MappingNode):
            raise Uneditable("the pod template is not a mapping")
        return ctx.editor.add_key(owner, "metadata", {"labels": labels}, first=True)
    if "labels" in metadata.own:
        return ctx.editor.set_value(metadata, "labels", labels)
    return ctx.editor.add_key(metadata, "labels", labels)


def send_policies(plan: Plan, target: str, reason: str | None) -> Change:
    """The change that adds the file's planned policies to ``target``, another file."""
    if reason is not None:
        raise Uneditable(reason)
    return plan.sent(target)


def append_policies(plan: Plan, ctx: Context, reason: str | None) -> Change:
    """The shared change that appends the file's planned policies, or why this object gets none."""
    if reason is not None:
        raise Uneditable(reason)
    if ctx.editor.layout.json:
        raise Uneditable(
            "a JSON file holds one object; set the policy-file option to add policies to a YAML file "
            "beside it"
        )
    return plan.change(ctx.editor)
