"""``emptyDir`` volumes for the paths a container writes, so that its root filesystem can be read-only.

An image that writes a cache, a pid file or ``/tmp`` fails on a read-only root filesystem unless
those paths are volumes. Where the image table (:mod:`remediate.kube.images`) knows that such a path
starts empty (nothing the image ships lives there), an ``emptyDir`` mounted there takes the writes,
as a human makes nginx read-only::

        volumeMounts:
        - name: var-cache-nginx
          mountPath: /var/cache/nginx
      volumes:
      - name: var-cache-nginx
        emptyDir: {}

Each new volume is named after its path (``/var/cache/nginx`` → ``var-cache-nginx``), with a number
added where the pod already has a volume of that name.
"""

from __future__ import annotations

import re
from typing import Any

from remediate.kube.fixer import Context
from remediate.kube.k8s import Container
from remediate.yaml.document import Mapping, Scalar, Sequence
from remediate.yaml.edits import Change, Uneditable, is_empty
from remediate.yaml.values import to_data

NAME_LIMIT = 63
"""A volume's name is a DNS label: lower-case letters, digits and ``-``, at most 63 characters."""


def volume_name(path: str) -> str:
    """The name of a new volume for ``path``: ``/var/cache/nginx`` → ``var-cache-nginx``."""
    name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    return name[:NAME_LIMIT].rstrip("-") or "scratch"


def volume_names(spec: Mapping) -> set[str]:
    """The names of the volumes the pod spec declares, and of the claims a StatefulSet's
    ``volumeClaimTemplates`` add to its pods (their names are volume names too)."""
    node = spec.get("volumes")
    listed = to_data(node) if node is not None else None
    names = {
        str(volume["name"])
        for volume in (listed if isinstance(listed, list) else [])
        if isinstance(volume, dict) and "name" in volume
    }
    template = spec.parent
    owner = template.parent if template is not None else None
    claims_node = owner.get("volumeClaimTemplates") if isinstance(owner, Mapping) else None
    claims = to_data(claims_node) if claims_node is not None else None
    for claim in claims if isinstance(claims, list) else []:
        metadata = claim.get("metadata") if isinstance(claim, dict) else None
        if isinstance(metadata, dict) and "name" in metadata:
            names.add(str(metadata["name"]))
    return names


def new_names(spec: Mapping, paths: list[str]) -> list[str]:
    """A name for each path's new volume that no volume of the pod (nor another new one) has."""
    taken = volume_names(spec)
    names = []
    for path in paths:
        base = volume_name(path)
        name, number = base, 1
        while name in taken:
            number += 1
            suffix = f"-{number}"
            name = base[: NAME_LIMIT - len(suffix)] + suffix
        taken.add(name)
        names.append(name)
    return names


def scratch_volumes(ctx: Context, spec: Mapping, container: Container, paths: list[str]) -> list[Change]:
    """The changes that mount an ``emptyDir`` at each of ``paths`` in ``container``: its
    ``volumeMounts`` and the pod's ``volumes``, each created or appended to."""
    names = new_names(spec, paths)
    mounts = [{"name": name, "mountPath": path} for name, path in zip(names, paths, strict=True)]
    volumes = [{"name": name, "emptyDir": {}} for name in names]
    return [
        add_items(ctx, container.node, "volumeMounts", mounts),
        add_items(ctx, spec, "volumes", volumes),
    ]


def add_items(ctx: Context, mapping: Mapping, key: str, items: list[Any]) -> Change:
    """Append ``items`` to the list ``key`` of ``mapping``; create the key, or fill an empty value."""
    node = mapping.own.get(key)
    if node is None and mapping.get(key) is not None:  # from a merge key: an own one would replace it
        raise Uneditable(f'"{key}" comes from a merge key (<<)')
    if node is None:
        return ctx.editor.add_key(mapping, key, items)
    if isinstance(node, Sequence) and node.items:
        return ctx.editor.append_items(node, items)
    if is_empty(node) or (isinstance(node, Scalar) and node.is_null):
        return ctx.editor.set_value(mapping, key, items)
    raise Uneditable(f'"{key}" is not a list')
