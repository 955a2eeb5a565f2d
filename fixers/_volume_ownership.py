"""The pod ``fsGroup`` that lets a container made to run as a non-root user still write its disks.

A new persistent volume starts with its root directory owned by root and writable by root only, and
what a container running as root wrote there is root's too. Given ``runAsUser: 10001``, such a
container can no longer write it: WordPress's entrypoint fails to copy its files into the claim at
``/var/www/html``, a database cannot create its data directory, and the pod restarts for ever. The
kubelet can hand the volume over: with the pod's ``securityContext.fsGroup`` set, it makes the volume
group-owned by that group and group-writable when it mounts it, and runs every container with that
group as a supplementary one. So the fix that makes such a container run as non-root also sets it,
to the group the container gets, as a human would::

      securityContext:
        fsGroup: 10001
        fsGroupChangePolicy: OnRootMismatch

``fsGroupChangePolicy: OnRootMismatch`` (general in Kubernetes 1.23) has the kubelet walk the volume
only while its root directory is not yet so owned, not at every start: a volume of millions of files
would otherwise delay each start by minutes. Before 1.23 the fix sets ``fsGroup`` alone.

Only the volumes whose ownership the kubelet manages count: claims (a pod's
``persistentVolumeClaim``, a StatefulSet's ``volumeClaimTemplates``, ``ephemeral`` ones) and the
in-tree disks. An ``emptyDir`` is writable by everyone already; ``configMap``, ``secret`` and the
like are read-only; the kubelet never changes the owner of a ``hostPath`` or ``nfs`` volume, so the
fsGroup would not help there (the finding names such a volume, for a human to check). A mount
with ``readOnly: true`` needs no write access. A pod that sets an ``fsGroup`` already keeps it:
someone chose it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from remediate.kube.k8s import Container
from remediate.yaml.document import Mapping
from remediate.yaml.values import to_data

OWNED_BY_KUBELET = frozenset(
    {
        "persistentVolumeClaim",
        "ephemeral",
        "awsElasticBlockStore",
        "azureDisk",
        "cinder",
        "fc",
        "gcePersistentDisk",
        "iscsi",
        "rbd",
        "vsphereVolume",
    }
)
"""The kinds of pod volume the kubelet gives the pod's ``fsGroup`` when it mounts them."""

KEEPS_ITS_OWNER = frozenset({"hostPath", "nfs"})
"""The kinds of pod volume whose owner the kubelet never changes: a finding names them."""

CHANGE_POLICY_SINCE = (1, 23)
"""The first Kubernetes where ``fsGroupChangePolicy`` is generally available."""


def _listed(node: Any) -> list[Any]:
    data = to_data(node) if node is not None else None
    return data if isinstance(data, list) else []


def volumes_of_kinds(spec: Mapping, kinds: frozenset[str]) -> frozenset[str]:
    """The names of the pod's volumes of one of ``kinds``."""
    return frozenset(
        str(volume["name"])
        for volume in _listed(spec.get("volumes"))
        if isinstance(volume, dict) and "name" in volume and kinds.intersection(volume)
    )


def claimed_volumes(spec: Mapping) -> frozenset[str]:
    """The names of the pod's volumes whose ownership the kubelet manages: those of the kinds in
    :data:`OWNED_BY_KUBELET`, and the claims a StatefulSet's ``volumeClaimTemplates`` add."""
    names = set(volumes_of_kinds(spec, OWNED_BY_KUBELET))
    template = spec.parent
    owner = template.parent if template is not None else None
    if isinstance(owner, Mapping):
        for claim in _listed(owner.get("volumeClaimTemplates")):
            metadata = claim.get("metadata") if isinstance(claim, dict) else None
            if isinstance(metadata, dict) and "name" in metadata:
                names.add(str(metadata["name"]))
    return frozenset(names)


class PodVolumes(NamedTuple):
    """The names of a pod's volumes that matter when its containers change users."""

    claimed: frozenset[str]
    """Those the kubelet hands to the pod's fsGroup (:func:`claimed_volumes`)."""
    keeping_owner: frozenset[str]
    """Those whose owner it never changes (:data:`KEEPS_ITS_OWNER`)."""

    @classmethod
    def of(cls, spec: Mapping) -> PodVolumes:
        return cls(claimed_volumes(spec), volumes_of_kinds(spec, KEEPS_ITS_OWNER))


def written_mounts(container: Container, claimed: frozenset[str]) -> list[str]:
    """Where ``container`` mounts one of the ``claimed`` volumes without ``readOnly: true``."""
    return [
        str(mount.get("mountPath"))
        for mount in _listed(container.node.get("volumeMounts"))
        if isinstance(mount, dict) and str(mount.get("name")) in claimed and mount.get("readOnly") is not True
    ]


def sets_fs_group(spec: Mapping) -> bool:
    """True when the pod's securityContext sets ``fsGroup``, to whatever value."""
    context = spec.get("securityContext")
    data = to_data(context) if context is not None else None
    return isinstance(data, dict) and data.get("fsGroup") is not None


def first_group(groups: Iterable[int | None]) -> int | None:
    """The pod's value: the group of the first container that needs one (each container's fix sets
    the same value, whichever is applied first)."""
    return next((group for group in groups if group is not None), None)


def wanted(group: int, change_policy: bool) -> dict[str, Any]:
    """What the pod's securityContext gets, to let ``group`` write the pod's disks (with the change
    policy that spares a walk of the volume at every start, where the Kubernetes targeted has it)."""
    if not change_policy:
        return {"fsGroup": group}
    return {"fsGroup": group, "fsGroupChangePolicy": "OnRootMismatch"}
