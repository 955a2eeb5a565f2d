"""Containers without ``imagePullPolicy: Always`` (or the policy you configure).

What it does:
    Every container and init container of a pod-bearing object gets the configured
    ``imagePullPolicy``: inserted after its ``image`` when missing, replaced when it holds another
    value. In ``tag-aware`` mode the policy follows the image reference instead: ``Always`` for
    ``:latest`` and untagged images, ``IfNotPresent`` for digests and version tags.

Why it matters:
    With ``IfNotPresent`` a node runs whatever image it cached under that tag, even when the tag
    was pushed again, and a pod can start from an image its ``imagePullSecrets`` no longer grant
    access to. ``Always`` makes the kubelet check the registry (and the credentials) at every start.
    kube-score reports this as critical (``container-image-pull-policy``).

Example:
    Before::

        containers:
        - name: web
          image: registry.example/web:1.4

    After::

        containers:
        - name: web
          image: registry.example/web:1.4
          imagePullPolicy: Always

Options:
    policy: the policy to set, ``Always`` (default), ``IfNotPresent`` or ``Never``.
    mode: ``fixed`` (default) sets ``policy`` everywhere; ``tag-aware`` chooses per image, as
        Checkov's CKV_K8S_15 and Kyverno's sample policy do.
    keep-existing: when true, an explicit ``imagePullPolicy`` is left alone and only missing ones
        are added (default false).

Fix safety:
    - safe: adding a missing policy, and replacing ``IfNotPresent``. Kubernetes already defaults an
      unset policy to ``Always`` for ``:latest`` and untagged images; elsewhere the fix adds a
      registry round-trip at container start, which the pod's pull secrets already allow.
    - unsafe: replacing ``Never``, and writing ``Never`` (``policy: Never``). ``Never`` is for images
      loaded onto the nodes by hand (kind, minikube, air-gapped nodes): pulling such an image fails,
      and a ``Never`` container whose image is not on the node does not start. ``IfNotPresent`` set
      on purpose can be kept with ``keep-existing``.

Limitations:
    A container whose ``image`` is missing or not a string is reported, not guessed at. Containers
    inside an anchor that aliases reuse elsewhere are reported without a fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Literal

from remediate.kube.findings import Finding
from remediate.kube.fixer import Context, Fixer
from remediate.kube.k8s import DECLARED_CONTAINERS, Manifest, containers, pod_template
from remediate.yaml.document import Mapping
from remediate.yaml.edits import Change
from remediate.yaml.model import Applicability


@dataclass(frozen=True)
class Options:
    policy: Literal["Always", "IfNotPresent", "Never"] = "Always"
    mode: Literal["fixed", "tag-aware"] = "fixed"
    keep_existing: bool = False


def policy_for_image(image: str) -> str:
    """``Always`` for ``:latest`` or untagged images, ``IfNotPresent`` for digests and other tags."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "Always"
    return "Always" if last.rsplit(":", 1)[1] == "latest" else "IfNotPresent"


def applicability(current: object, wanted: str) -> Applicability:
    """Unsafe where ``Never`` is involved: the image may exist only on the nodes, or only in a
    registry (see the docstring's Fix safety)."""
    return Applicability.UNSAFE if "Never" in (current, wanted) else Applicability.SAFE


def set_policy(ctx: Context, container: Mapping, policy: str) -> list[Change]:
    """Set the container's policy: a new key after ``image``, or its own value replaced, or one it
    merges in (``<<: *base``) overridden."""
    if "imagePullPolicy" in container.own:
        return [ctx.editor.set_value(container, "imagePullPolicy", policy)]
    return [ctx.editor.add_key(container, "imagePullPolicy", policy, after=("image",))]


class ImagePullPolicy(Fixer):
    id = "image-pull-policy"
    code = "K8S001"
    Options = Options
    writes = ("imagePullPolicy",)

    def check(self, manifest: Manifest, ctx: Context) -> Iterator[Finding]:
        template = pod_template(manifest, ctx.pod_kinds)
        if template is None:
            return
        options: Options = self.options
        for container in containers(template.spec, DECLARED_CONTAINERS):
            image = container.image
            wanted: str = options.policy
            if options.mode == "tag-aware":
                if image is None:
                    continue
                wanted = policy_for_image(image)
            current = container.node.get("imagePullPolicy")
            who = container.subject
            if current is None:
                yield self.finding(
                    manifest,
                    container.node,
                    f"{who} has no imagePullPolicy (should be {wanted})",
                    container=container,
                    fix=(f"set imagePullPolicy: {wanted}", partial(set_policy, ctx, container.node, wanted)),
                    applicability=applicability(None, wanted),
                )
            elif getattr(current, "data", None) != wanted and not options.keep_existing:
                shown = getattr(current, "value", "a non-string value")
                yield self.finding(
                    manifest,
                    current,
                    f'{who} has imagePullPolicy "{shown}" (should be {wanted})',
                    container=container,
                    fix=(f"set imagePullPolicy: {wanted}", partial(set_policy, ctx, container.node, wanted)),
                    applicability=applicability(getattr(current, "data", None), wanted),
                )
