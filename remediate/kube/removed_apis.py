"""Every API version Kubernetes stopped serving, and where its objects go instead (data, not code).

Each row is one removal from the Kubernetes deprecated API migration guide
(https://kubernetes.io/docs/reference/using-api/deprecation-guide/): the ``apiVersion`` and kinds
that a cluster of version ``removed_in`` or later rejects, the ``replacement`` apiVersion (None when
there is none), the version since which the replacement is served, and the name of the structural
``rewrite`` the move needs where the schema changed (implemented by the deprecated-api fixer).

A replacement may itself be removed later (flow control went v1beta1 -> v1beta2 -> v1beta3 -> v1):
:func:`destination` follows the chain and picks the newest API the target version serves.
"""

from __future__ import annotations

from typing import NamedTuple

Version = tuple[int, int]


class RemovedApi(NamedTuple):
    """One removed API version of some kinds; see the module docstring for the fields."""

    api_version: str
    kinds: tuple[str, ...]
    removed_in: Version
    replacement: str | None
    since: Version | None = None
    """The first version that serves ``replacement``."""
    rewrite: str | None = None
    note: str = ""
    """Why there is no replacement, said to the user."""


_APPS = "apps/v1"
_WORKLOADS = ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet")
_FLOW = ("FlowSchema", "PriorityLevelConfiguration")
_PSP_NOTE = (
    "enforce the Pod Security Standards with the namespace label pod-security.kubernetes.io/enforce "
    "(Pod Security Admission) or a policy engine such as Kyverno or Gatekeeper, then delete the policy"
)

REMOVED_APIS: tuple[RemovedApi, ...] = (
    # v1.16
    RemovedApi(
        "extensions/v1beta1", ("Deployment", "DaemonSet", "ReplicaSet"), (1, 16), _APPS, (1, 9), "workload"
    ),
    RemovedApi(
        "apps/v1beta1", ("Deployment", "StatefulSet", "ReplicaSet"), (1, 16), _APPS, (1, 9), "workload"
    ),
    RemovedApi("apps/v1beta2", _WORKLOADS, (1, 16), _APPS, (1, 9), "workload"),
    RemovedApi("apps/v1beta1", ("ControllerRevision",), (1, 16), _APPS, (1, 9)),
    RemovedApi("apps/v1beta2", ("ControllerRevision",), (1, 16), _APPS, (1, 9)),
    RemovedApi("extensions/v1beta1", ("NetworkPolicy",), (1, 16), "networking.k8s.io/v1", (1, 8)),
    RemovedApi("extensions/v1beta1", ("PodSecurityPolicy",), (1, 16), "policy/v1beta1", (1, 10)),
    # v1.22
    RemovedApi("extensions/v1beta1", ("Ingress",), (1, 22), "networking.k8s.io/v1", (1, 19), "ingress"),
    RemovedApi(
        "networking.k8s.io/v1beta1", ("Ingress",), (1, 22), "networking.k8s.io/v1", (1, 19), "ingress"
    ),
    RemovedApi("networking.k8s.io/v1beta1", ("IngressClass",), (1, 22), "networking.k8s.io/v1", (1, 19)),
    RemovedApi(
        "admissionregistration.k8s.io/v1beta1",
        ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"),
        (1, 22),
        "admissionregistration.k8s.io/v1",
        (1, 16),
        "webhooks",
    ),
    RemovedApi(
        "apiextensions.k8s.io/v1beta1",
        ("CustomResourceDefinition",),
        (1, 22),
        "apiextensions.k8s.io/v1",
        (1, 16),
        "custom-resource-definition",
    ),
    RemovedApi(
        "apiregistration.k8s.io/v1beta1", ("APIService",), (1, 22), "apiregistration.k8s.io/v1", (1, 10)
    ),
    RemovedApi(
        "authentication.k8s.io/v1beta1", ("TokenReview",), (1, 22), "authentication.k8s.io/v1", (1, 6)
    ),
    RemovedApi(
        "authorization.k8s.io/v1beta1",
        ("LocalSubjectAccessReview", "SelfSubjectAccessReview", "SubjectAccessReview"),
        (1, 22),
        "authorization.k8s.io/v1",
        (1, 6),
        "access-review",
    ),
    RemovedApi(
        "certificates.k8s.io/v1beta1",
        ("CertificateSigningRequest",),
        (1, 22),
        "certificates.k8s.io/v1",
        (1, 19),
        "certificate-signing-request",
    ),
    RemovedApi("coordination.k8s.io/v1beta1", ("Lease",), (1, 22), "coordination.k8s.io/v1", (1, 14)),
    RemovedApi(
        "rbac.authorization.k8s.io/v1beta1",
        ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"),
        (1, 22),
        "rbac.authorization.k8s.io/v1",
        (1, 8),
    ),
    RemovedApi("scheduling.k8s.io/v1beta1", ("PriorityClass",), (1, 22), "scheduling.k8s.io/v1", (1, 14)),
    RemovedApi("storage.k8s.io/v1beta1", ("CSIDriver",), (1, 22), "storage.k8s.io/v1", (1, 19)),
    RemovedApi("storage.k8s.io/v1beta1", ("CSINode",), (1, 22), "storage.k8s.io/v1", (1, 17)),
    RemovedApi("storage.k8s.io/v1beta1", ("StorageClass",), (1, 22), "storage.k8s.io/v1", (1, 6)),
    RemovedApi("storage.k8s.io/v1beta1", ("VolumeAttachment",), (1, 22), "storage.k8s.io/v1", (1, 13)),
    # v1.25
    RemovedApi("batch/v1beta1", ("CronJob",), (1, 25), "batch/v1", (1, 21)),
    RemovedApi(
        "discovery.k8s.io/v1beta1",
        ("EndpointSlice",),
        (1, 25),
        "discovery.k8s.io/v1",
        (1, 21),
        "endpoint-slice",
    ),
    RemovedApi("events.k8s.io/v1beta1", ("Event",), (1, 25), "events.k8s.io/v1", (1, 19)),
    RemovedApi(
        "autoscaling/v2beta1", ("HorizontalPodAutoscaler",), (1, 25), "autoscaling/v2", (1, 23), "hpa-metrics"
    ),
    RemovedApi(
        "policy/v1beta1", ("PodDisruptionBudget",), (1, 25), "policy/v1", (1, 21), "disruption-budget"
    ),
    RemovedApi("policy/v1beta1", ("PodSecurityPolicy",), (1, 25), None, note=_PSP_NOTE),
    RemovedApi("node.k8s.io/v1beta1", ("RuntimeClass",), (1, 25), "node.k8s.io/v1", (1, 20)),
    # v1.26
    RemovedApi("autoscaling/v2beta2", ("HorizontalPodAutoscaler",), (1, 26), "autoscaling/v2", (1, 23)),
    RemovedApi(
        "flowcontrol.apiserver.k8s.io/v1beta1",
        _FLOW,
        (1, 26),
        "flowcontrol.apiserver.k8s.io/v1beta2",
        (1, 23),
    ),
    # v1.27
    RemovedApi("storage.k8s.io/v1beta1", ("CSIStorageCapacity",), (1, 27), "storage.k8s.io/v1", (1, 24)),
    # v1.29
    RemovedApi(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        _FLOW,
        (1, 29),
        "flowcontrol.apiserver.k8s.io/v1beta3",
        (1, 26),
        "concurrency-shares",
    ),
    # v1.32
    RemovedApi(
        "flowcontrol.apiserver.k8s.io/v1beta3", _FLOW, (1, 32), "flowcontrol.apiserver.k8s.io/v1", (1, 29)
    ),
)
"""Every removal, by release."""

_BY_API_AND_KIND = {(row.api_version, kind): row for row in REMOVED_APIS for kind in row.kinds}


def removal(api_version: str, kind: str) -> RemovedApi | None:
    """The row that removes ``kind`` in ``api_version``, if any (whatever the target version)."""
    return _BY_API_AND_KIND.get((api_version, kind))


class Move(NamedTuple):
    """Where an object of a removed API goes for a target version.

    ``api_version`` is None when nothing replaces it (``last`` then says why); ``rewrites`` names the
    structural rewrites of every step on the way, in order.
    """

    api_version: str | None
    rewrites: tuple[str, ...]
    last: RemovedApi


def destination(api_version: str, kind: str, target: Version) -> Move | None:
    """Where ``kind`` in ``api_version`` goes for ``target``; None when ``target`` still serves it.

    The chain of replacements is followed, and the newest API on it that ``target`` serves is
    chosen: flow control's v1beta1 goes to v1 for 1.29 or later, to v1beta3 for 1.26 to 1.28.
    """
    row = removal(api_version, kind)
    if row is None or target < row.removed_in:
        return None
    chosen: Move | None = None
    rewrites: list[str] = []
    last = row
    while row is not None:
        last = row
        if row.rewrite:
            rewrites.append(row.rewrite)
        if row.replacement is None:
            break
        following = removal(row.replacement, kind)
        if (row.since or (0, 0)) <= target and (following is None or target < following.removed_in):
            chosen = Move(row.replacement, tuple(rewrites), row)
        row = following
    return chosen or Move(None, tuple(rewrites), last)
