"""Objects written in an apiVersion that the target Kubernetes version no longer serves.

What it does:
    Every object whose ``apiVersion`` was removed at or before the target version
    (``--kubernetes-version``, or the config's ``kubernetes-version``; default: the newest version
    the ``kubernetes-validate`` package knows) moves to the newest API that version serves, following
    the migration guide's table of removals (``remediate/kube/removed_apis.py``). Where the schema
    changed, the object is rewritten to match:

    - Deployment, DaemonSet, StatefulSet, ReplicaSet (extensions/v1beta1, apps/v1beta1,
      apps/v1beta2 -> apps/v1): ``spec.selector`` is now required, so it is built from the pod
      template's labels (what the old API defaulted it to); ``spec.rollbackTo`` and
      ``spec.templateGeneration``, gone from apps/v1, are removed.
    - Ingress (extensions/v1beta1, networking.k8s.io/v1beta1 -> networking.k8s.io/v1):
      ``spec.backend`` becomes ``spec.defaultBackend``; ``serviceName`` / ``servicePort`` become
      ``service.name`` / ``service.port.number`` (or ``port.name`` for a named port); each path gets
      the now required ``pathType`` (option ``path-type``).
    - HorizontalPodAutoscaler autoscaling/v2beta1 -> autoscaling/v2: ``targetAverageUtilization``,
      ``targetAverageValue``, ``targetValue``, ``metricName`` and ``metricSelector`` become the
      ``metric`` and ``target`` (``type``, ``averageUtilization``, ``averageValue``, ``value``) of v2;
      an Object metric's ``target`` becomes ``describedObject``.
    - Webhook configurations admissionregistration.k8s.io/v1beta1 -> v1: the v1beta1 defaults of
      ``failurePolicy`` (Ignore), ``matchPolicy`` (Exact) and ``timeoutSeconds`` (30) are written
      out, since v1 defaults to Fail, Equivalent and 10.
    - CustomResourceDefinition apiextensions.k8s.io/v1beta1 -> v1, when every entry of
      ``spec.versions`` already has a structural ``schema.openAPIV3Schema``: the redundant
      ``spec.version`` goes, the old default ``scope: Namespaced`` is written out, and printer
      columns' ``JSONPath`` is spelled ``jsonPath``.
    - PriorityLevelConfiguration (flow control v1beta1/v1beta2 -> v1beta3 or v1):
      ``assuredConcurrencyShares`` is renamed ``nominalConcurrencyShares``; SubjectAccessReview and
      friends: ``spec.group`` becomes ``spec.groups``.
    - Everything else (RBAC, NetworkPolicy, CronJob, PodDisruptionBudget, IngressClass, storage,
      scheduling, coordination, events, node, flow control, ...) only changes its ``apiVersion``.

Why it matters:
    A cluster rejects an object in a removed API (``no matches for kind "Deployment" in version
    "extensions/v1beta1"``), so an upgrade, a fresh cluster or a ``kubectl apply`` of an old repository
    fails. Legacy repositories are full of them; each migration has its own small structural traps.

Example:
    Before::

        apiVersion: extensions/v1beta1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: 2
          template:
            metadata:
              labels:
                app: web

    After::

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
              labels:
                app: web

Options:
    path-type: the ``pathType`` given to Ingress paths that have none: ``ImplementationSpecific``
        (default; what v1beta1 did, matching as the ingress controller decides), ``Prefix`` or
        ``Exact``. A path without ``path`` always gets ``ImplementationSpecific``.

Fix safety:
    - safe: the new object means what the old one meant, except for defaults the new APIs brought
      that change how a workload is rolled out, not whether its pods start: apps/v1 Deployments
      default to ``progressDeadlineSeconds: 600``, ``revisionHistoryLimit: 10`` and 25%
      ``maxSurge``/``maxUnavailable``. The selector built from the template labels is the one the
      old API defaulted to, so a running workload keeps its pods (apps/v1 selectors are immutable).
    - unsafe: a DaemonSet from extensions/v1beta1 or a StatefulSet from apps/v1beta1 without an
      ``updateStrategy``. They defaulted to ``OnDelete``; the new APIs default to
      ``RollingUpdate``, so the next change of the template restarts every pod on its own, which
      the old object never did. Set ``updateStrategy: {type: OnDelete}`` by hand to keep it.

Limitations:
    No fix, only a finding that says what to do, for: PodSecurityPolicy (removed in 1.25 without a
    replacement); a v1beta1 CustomResourceDefinition with a top-level ``validation``,
    ``subresources`` or ``additionalPrinterColumns``, a version without a structural schema (every
    node typed: a light check, the API server checks more), an old-style webhook ``conversion`` or
    ``preserveUnknownFields: true`` (moving a whole schema would rewrite every line of it; a cluster's
    ``kubectl get crd NAME -o yaml`` shows the v1 form); a PodDisruptionBudget whose empty
    ``selector`` selected no pods in policy/v1beta1 but selects every pod of its namespace in
    policy/v1; webhooks whose ``sideEffects`` is not ``None`` or ``NoneOnDryRun`` or that lack
    ``admissionReviewVersions`` (both required in v1); CertificateSigningRequests without
    ``signerName`` and ``usages``; EndpointSlices that use ``topology``; a workload whose pod
    template has no labels. An object is migrated whole or not at all. Comments inside a rewritten
    value (an Ingress ``spec.backend``, an HPA metric source, but not on its first line) and on
    removed lines are lost; other comments stay. Values set through an anchor that aliases reuse,
    or through a merge key (``<<``), are not rewritten. Fields that were never valid in the old API
    (an autoscaling/v1 ``targetCPUUtilizationPercentage`` in a v2beta1 HPA) are left as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from remediate.kube import removed_apis, versions
from remediate.kube.findings import Finding
from remediate.kube.fixer import Context, Fixer
from remediate.kube.k8s import Manifest, follow
from remediate.yaml.document import Mapping, Node, Scalar, Sequence
from remediate.yaml.edits import Change, Editor, Uneditable, own_value
from remediate.yaml.model import Applicability
from remediate.yaml.render import OneLine
from remediate.yaml.values import to_data

PathType = Literal["ImplementationSpecific", "Prefix", "Exact"]


@dataclass(frozen=True)
class Options:
    path_type: PathType = "ImplementationSpecific"


Rewrite = Callable[[Editor, Mapping, Options], list[Change]]


def _mappings(node: Node | None) -> Iterator[Mapping]:
    """The mapping items of a sequence."""
    if isinstance(node, Sequence):
        for item in node.items:
            item = item.resolve()
            if isinstance(item, Mapping):
                yield item


def _rewrite_workload(editor: Editor, obj: Mapping, options: Options) -> list[Change]:
    """apps/v1: a required selector, from the template labels; no rollbackTo or templateGeneration."""
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        return []
    gone = tuple(key for key in ("rollbackTo", "templateGeneration") if own_value(spec, key) is not None)
    changes = [editor.replace_entries(spec, gone, {})] if gone else []
    if spec.get("selector") is None:
        labels = follow(spec, ("template", "metadata", "labels"))
        if not isinstance(labels, Mapping) or not labels.pairs:
            raise Uneditable(
                "apps/v1 requires spec.selector, and the pod template has no labels to build it from"
            )
        selector = {"matchLabels": OneLine(to_data(labels))}
        after = tuple(key for key in ("replicas", "serviceName") if key in spec.own)
        changes.append(editor.add_key(spec, "selector", selector, after=after, first=not after))
    return changes


def v1_backend(backend: dict[str, Any]) -> dict[str, Any]:
    """An Ingress backend as networking.k8s.io/v1 writes it (``serviceName``/``servicePort`` moved
    into ``service``; a numeric string port is a number)."""
    result: dict[str, Any] = {}
    for key, value in backend.items():
        if key == "serviceName" or (key == "servicePort" and "serviceName" not in backend):
            result["service"] = _service(backend)
        elif key != "servicePort":
            result[key] = value
    return result


def _service(backend: dict[str, Any]) -> dict[str, Any]:
    service: dict[str, Any] = {"name": backend.get("serviceName")}
    port = backend.get("servicePort")
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if isinstance(port, int) and not isinstance(port, bool):
        service["port"] = {"number": port}
    elif port is not None:
        service["port"] = {"name": port}
    return service


def _backend_change(editor: Editor, backend: Mapping) -> list[Change]:
    keys = tuple(key for key in ("serviceName", "servicePort") if own_value(backend, key) is not None)
    if not keys:
        return []
    new = v1_backend(to_data(backend))
    return [editor.replace_entries(backend, keys, {"service": new["service"]})]


def _rewrite_ingress(editor: Editor, obj: Mapping, options: Options) -> list[Change]:
    """networking.k8s.io/v1: defaultBackend, service.name/port, and a pathType on every path."""
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        return []
    changes = []
    default = own_value(spec, "backend")
    if default is not None:
        data = to_data(default)
        value = v1_backend(data) if isinstance(data, dict) else data
        changes.append(editor.replace_entries(spec, ("backend",), {"defaultBackend": value}))
    for rule in _mappings(spec.get("rules")):
        for path in _mappings(follow(rule, ("http", "paths"))):
            backend = path.get("backend")
            if isinstance(backend, Mapping):
                changes += _backend_change(editor, backend)
            if path.get("pathType") is None:
                path_type = options.path_type if path.get("path") is not None else "ImplementationSpecific"
                changes.append(editor.add_key(path, "pathType", path_type, after=("path",)))
    return changes


_METRIC_SOURCES = {
    "Resource": "resource",
    "ContainerResource": "containerResource",
    "Pods": "pods",
    "Object": "object",
    "External": "external",
}
"""HPA metric type -> the key of its source."""

_V2BETA1_KEYS = (
    "target",
    "metricName",
    "metricSelector",
    "selector",
    "targetAverageUtilization",
    "targetAverageValue",
    "targetValue",
    "averageValue",
)
"""Keys of autoscaling/v2beta1 metric sources that autoscaling/v2 writes differently."""


def v2_metric_source(kind: str, source: dict[str, Any]) -> dict[str, Any]:
    """A v2beta1 metric source as autoscaling/v2 writes it (the order of the new keys follows v2)."""
    result: dict[str, Any] = {}
    if kind == "Object" and "target" in source:
        result["describedObject"] = source["target"]
    if "metricName" in source:
        metric: dict[str, Any] = {"name": source["metricName"]}
        selector = source.get("metricSelector", source.get("selector"))
        if selector is not None:
            metric["selector"] = selector
        result["metric"] = metric
    # what Kubernetes' own v2beta1 -> v2 conversion keeps when a source sets two targets
    if "targetAverageUtilization" in source:
        result["target"] = {"type": "Utilization", "averageUtilization": source["targetAverageUtilization"]}
        if "targetAverageValue" in source:
            result["target"]["averageValue"] = source["targetAverageValue"]
    elif kind == "Object" and "averageValue" in source:  # targetValue is kept too
        result["target"] = {"type": "AverageValue", "averageValue": source["averageValue"]}
        if "targetValue" in source:
            result["target"]["value"] = source["targetValue"]
    elif "targetValue" in source:  # an External source with both: a Value target that keeps both
        result["target"] = {"type": "Value", "value": source["targetValue"]}
        if "targetAverageValue" in source:
            result["target"]["averageValue"] = source["targetAverageValue"]
    elif "targetAverageValue" in source:
        result["target"] = {"type": "AverageValue", "averageValue": source["targetAverageValue"]}
    return result


def _rewrite_hpa_metrics(editor: Editor, obj: Mapping, options: Options) -> list[Change]:
    """autoscaling/v2: metric sources with ``metric`` and ``target``."""
    changes = []
    for metric in _mappings(follow(obj, ("spec", "metrics"))):
        kind = metric.str("type") or ""
        source_key = _METRIC_SOURCES.get(kind)
        source = metric.get(source_key) if source_key else None
        if not isinstance(source, Mapping):
            continue
        old_target = kind == "Object" and source.get("describedObject") is None  # v2beta1's object reference
        old = tuple(
            key
            for key in _V2BETA1_KEYS
            if (key != "target" or old_target) and own_value(source, key) is not None
        )
        if old:
            new = v2_metric_source(kind, {key: to_data(source.own[key]) for key in old})
            changes.append(editor.replace_entries(source, old, new))
    return changes


def _rewrite_disruption_budget(editor: Editor, obj: Mapping, options: Options) -> list[Change]:
    """policy/v1 reads an empty selector as every pod of the namespace; v1beta1 read it as none."""
    selector = follow(obj, ("spec", "selector"))
    if isinstance(selector, Mapping) and not any(to_data(selector).values()):
        raise Uneditable(
            "its empty spec.selector selects no pods in policy/v1beta1 but every pod of the namespace in "
            "policy/v1; write the selector you mean, or delete the budget"
        )
    return []


_WEBHOOK_V1BETA1_DEFAULTS = {"failurePolicy": "Ignore", "matchPolicy": "Exact", "timeoutSeconds": 30}
"""What admissionregistration.k8s.io/v1beta1 defaulted and v1 defaults differently."""


def _rewrite_webhooks(editor: Editor, obj: Mapping, options: Options) -> list[Change]:
    """admissionregistration.k8s.io/v1: declared side effects and review versions; old defaults kept."""
    changes = []
    for webhook in _mappings(obj.get("webhooks")):
        who = f'webhook "{webhook.str("name") or "?"}"'
        side_effects = webhook.str("sideEffects")
        if side_effects not in ("None", "NoneOnDryRun"):
            raise Uneditable(
                f"{who} has sideEffects {side_effects or 'unset'}; v1 accepts only None or NoneOnDryRun: "
                "check what the webhook does and declare it"
            )
        if webhook.get("admissionReviewVersions") is None:
            raise Uneditable(
                f"{who} has no admissionReviewVersions, required in v1: list the AdmissionReview versions "
                "the webhook understands (v1beta1 was implied)"
            )
        for key, value in _WEBHOOK_V1BETA1_DEFAULTS.items():
            if webhook.get(key) is None:
                changes.append(editor.add_key(webhook, key, value))
    return changes


def is_structural(schema: Any) -> bool:
    """A light check of the structural schema rule that matters most: every node says its ``type``
    (or is ``x-kubernetes-int-or-string`` / ``x-kubernetes-preserve-unknown-fields``)."""
    if not isinstance(schema, dict):
        return False
    if "type" not in schema and not (
        schema.get("x-kubernetes-int-or-string") or schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        return False
    children = list((schema.get("properties") or {}).values())
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            children.append(schema[key])
    return all(is_structural(child) for child in children)


_CRD_MOVED_TO_VERSIONS = ("validation", "subresources", "additionalPrinterColumns")
"""CRD v1beta1 spec keys that v1 keeps per version only."""


def _rewrite_custom_resource_definition(editor: Editor, obj: Mapping, options: Options) -> list[Change]:
    """apiextensions.k8s.io/v1, for a CRD already written per version with structural schemas."""
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        raise Uneditable("it has no spec")
    moved = [key for key in _CRD_MOVED_TO_VERSIONS if spec.get(key) is not None]
    entries = list(_mappings(spec.get("versions")))
    schemaless = [
        entry.str("name") or "?"
        for entry in entries
        if not is_structural(to_data(entry).get("schema", {}).get("openAPIV3Schema"))
    ]
    if moved or not entries or schemaless:
        if moved:
            what = f"spec.{moved[0]} moves into spec.versions"
        elif not entries:
            what = "it has no spec.versions"
        else:
            what = f"version {schemaless[0]} has no structural schema.openAPIV3Schema"
        raise Uneditable(
            f"apiextensions.k8s.io/v1 needs a structural openAPIV3Schema in every spec.versions entry, "
            f"and {what}; migrate it by hand (kubectl get crd NAME -o yaml on a cluster shows the v1 form)"
        )
    conversion = spec.get("conversion")
    old_conversion = {"webhookClientConfig", "conversionReviewVersions"}
    if isinstance(conversion, Mapping) and old_conversion & set(conversion.own):
        raise Uneditable("spec.conversion moves into spec.conversion.webhook in v1; migrate it by hand")
    preserve = spec.get("preserveUnknownFields")
    if isinstance(preserve, Scalar) and preserve.data is True:
        raise Uneditable(
            "v1 refuses preserveUnknownFields: true; use x-kubernetes-preserve-unknown-fields in the schema"
        )
    changes = []
    version = spec.str("version")
    if version is not None:
        if version != entries[0].str("name"):
            raise Uneditable(f"spec.version {version} is not the first of spec.versions")
        changes.append(editor.remove_key(spec, "version"))
    if spec.get("scope") is None:  # v1beta1 defaulted it; v1 requires it
        changes.append(editor.add_key(spec, "scope", "Namespaced", after=("names", "group")))
    for entry in entries:
        for column in _mappings(entry.get("additionalPrinterColumns")):
            if own_value(column, "JSONPath") is not None:
                changes.append(editor.rename_key(column, "JSONPath", "jsonPath"))
    return changes


def _rewrite_access_review(editor: Editor, obj: Mapping, options: Options) -> list[Change]:
    """authorization.k8s.io/v1 renamed spec.group to spec.groups."""
    spec = obj.get("spec")
    if not isinstance(spec, Mapping) or own_value(spec, "group") is None:
        return []
    return [editor.rename_key(spec, "group", "groups")]


def _rewrite_certificate_signing_request(editor: Editor, obj: Mapping, options: Options) -> list[Change]:
    spec = obj.get("spec")
    signer = spec.str("signerName") if isinstance(spec, Mapping) else None
    if signer in (None, "kubernetes.io/legacy-unknown"):
        raise Uneditable("certificates.k8s.io/v1 requires spec.signerName (not kubernetes.io/legacy-unknown)")
    if not isinstance(spec, Mapping) or spec.get("usages") is None:
        raise Uneditable("certificates.k8s.io/v1 requires spec.usages")
    return []


def _rewrite_endpoint_slice(editor: Editor, obj: Mapping, options: Options) -> list[Change]:
    for endpoint in _mappings(obj.get("endpoints")):
        if endpoint.get("topology") is not None:
            raise Uneditable("discovery.k8s.io/v1 has no endpoints[].topology: use nodeName and zone instead")
    return []


def _rewrite_concurrency_shares(editor: Editor, obj: Mapping, options: Options) -> list[Change]:
    """flowcontrol v1beta3 and v1 renamed spec.limited.assuredConcurrencyShares."""
    limited = follow(obj, ("spec", "limited"))
    if not isinstance(limited, Mapping) or own_value(limited, "assuredConcurrencyShares") is None:
        return []
    return [editor.rename_key(limited, "assuredConcurrencyShares", "nominalConcurrencyShares")]


REWRITES: dict[str, Rewrite] = {
    "workload": _rewrite_workload,
    "ingress": _rewrite_ingress,
    "hpa-metrics": _rewrite_hpa_metrics,
    "disruption-budget": _rewrite_disruption_budget,
    "webhooks": _rewrite_webhooks,
    "custom-resource-definition": _rewrite_custom_resource_definition,
    "access-review": _rewrite_access_review,
    "certificate-signing-request": _rewrite_certificate_signing_request,
    "endpoint-slice": _rewrite_endpoint_slice,
    "concurrency-shares": _rewrite_concurrency_shares,
}
"""The structural rewrites named in :data:`remediate.kube.removed_apis.REMOVED_APIS`."""


ON_DELETE_BY_DEFAULT = {("DaemonSet", "extensions/v1beta1"), ("StatefulSet", "apps/v1beta1")}
"""Old APIs whose default ``updateStrategy`` was ``OnDelete``; their replacements roll pods."""


def applicability(manifest: Manifest) -> Applicability:
    """Unsafe where the move changes the default update strategy (see the docstring's Fix safety)."""
    if (manifest.kind, manifest.api_version) not in ON_DELETE_BY_DEFAULT:
        return Applicability.SAFE
    spec = manifest.node.get("spec")
    strategy = spec.get("updateStrategy") if isinstance(spec, Mapping) else None
    return Applicability.SAFE if strategy is not None else Applicability.UNSAFE


class DeprecatedApi(Fixer):
    id = "deprecated-api"
    code = "K8S006"
    Options = Options
    writes = (
        "apiVersion",
        "selector",
        "matchLabels",
        "rollbackTo",
        "revision",
        "templateGeneration",
        "backend",
        "defaultBackend",
        "serviceName",
        "servicePort",
        "service",
        "name",
        "port",
        "number",
        "resource",
        "apiGroup",
        "kind",
        "pathType",
        "metric",
        "target",
        "type",
        "averageUtilization",
        "averageValue",
        "value",
        "describedObject",
        "targetAverageUtilization",
        "targetAverageValue",
        "targetValue",
        "metricName",
        "metricSelector",
        "failurePolicy",
        "matchPolicy",
        "timeoutSeconds",
        "group",
        "assuredConcurrencyShares",
        "nominalConcurrencyShares",
        "version",
        "scope",
        "JSONPath",
        "jsonPath",
    )

    def check(self, manifest: Manifest, ctx: Context) -> Iterator[Finding]:
        target = ctx.target_version
        move = removed_apis.destination(manifest.api_version, manifest.kind, target)
        if move is None:
            return
        node = manifest.node.get("apiVersion")
        assert node is not None
        removed = removed_apis.removal(manifest.api_version, manifest.kind)
        assert removed is not None
        problem = (
            f"apiVersion {manifest.api_version} of {manifest.kind} was removed in Kubernetes "
            f"{versions.show(removed.removed_in)} (target: {versions.show(target)})"
        )
        if move.api_version is None:
            yield self.finding(
                manifest,
                node,
                f"{problem}, and nothing replaces it in {versions.show(target)}: {move.last.note}",
            )
            return
        yield self.finding(
            manifest,
            node,
            problem,
            fix=(
                f"move to {move.api_version}",
                lambda: self._migrate(ctx.editor, manifest.node, move.api_version or "", move.rewrites),
            ),
            applicability=applicability(manifest),
        )

    def _migrate(
        self, editor: Editor, obj: Mapping, api_version: str, rewrites: tuple[str, ...]
    ) -> list[Change]:
        own_value(obj, "apiVersion")  # refuses an apiVersion that a merge key brings in
        changes = [editor.set_value(obj, "apiVersion", api_version)]
        for name in rewrites:
            changes += REWRITES[name](editor, obj, self.options)
        return changes
