"""The built-in NetworkPolicy templates of the network-policy fixer, as Python.

``fixers/templates/network_policy/*.yaml.j2`` are the built-in templates as users read and copy
them. A run that uses one gets the same policy from here instead of from jinja2: importing jinja2
and compiling a template cost a one-file run (a pre-commit hook's) about 50 ms, more than the rest of
its fixing. ``tests/test_network_policy.py`` renders each template with jinja2 for many inputs and
holds these to give the same policy, key order and types included, and the same leading comment.
User templates are always rendered by jinja2 (:mod:`remediate.kube.sandbox`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Policy = tuple[dict[str, Any], str | None]
"""A rendered template read back: the policy as plain data, and its leading comment."""


def _policy(variables: Mapping[str, Any], rules: Mapping[str, Any]) -> dict[str, Any]:
    """The policy every built-in template writes, with ``rules`` (``ingress``, ``egress``) before
    ``policyTypes``. ``tojson`` sorts keys: the labels are in sorted order."""
    metadata: dict[str, Any] = {"name": variables["name"]}
    if variables["namespace"]:
        metadata["namespace"] = variables["namespace"]
    labels = dict(sorted(variables["labels"].items()))
    spec: dict[str, Any] = {"podSelector": {"matchLabels": labels}, **rules}
    spec["policyTypes"] = list(variables["policy_types"])
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata, "spec": spec}


RULE_KEYS = (("ingress", "Ingress"), ("egress", "Egress"))
"""The spec key of each direction's rules."""


def allow_all(variables: Mapping[str, Any]) -> Policy:
    """``allow-all.yaml.j2``: one rule that allows everything, for each direction."""
    types = variables["policy_types"]
    rules: dict[str, Any] = {key: [{}] for key, direction in RULE_KEYS if direction in types}
    shown = " and ".join(types)
    comment = f"Allows all {shown} traffic, as without a policy; narrow it to what these pods need."
    return _policy(variables, rules), comment


def deny_all(variables: Mapping[str, Any]) -> Policy:
    """``deny-all.yaml.j2``: no rules."""
    shown = " and ".join(variables["policy_types"])
    dns = " (DNS lookups too)" if "Egress" in variables["policy_types"] else ""
    comment = f"Denies all {shown} traffic of these pods{dns}; add rules for what they need."
    return _policy(variables, {}), comment


def same_namespace(variables: Mapping[str, Any]) -> Policy:
    """``same-namespace.yaml.j2``: peers of the policy's own namespace, and DNS anywhere."""
    types = list(variables["policy_types"])
    rules: dict[str, Any] = {}
    if "Ingress" in types:
        rules["ingress"] = [{"from": [{"podSelector": {}}]}]
    if "Egress" in types:
        dns = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
        rules["egress"] = [{"to": [{"podSelector": {}}]}, {"ports": dns}]
    if types == ["Ingress"]:
        comment = "Allows Ingress only from pods of the same namespace."
    elif types == ["Egress"]:
        comment = "Allows Egress only to pods of the same namespace, and DNS lookups."
    else:
        comment = "Allows traffic only from and to pods of the same namespace, and DNS lookups."
    return _policy(variables, rules), comment


BUILT_IN: dict[str, Callable[[Mapping[str, Any]], Policy]] = {
    "allow-all": allow_all,
    "deny-all": deny_all,
    "same-namespace": same_namespace,
}
"""Each built-in template by its name (the ``template`` option)."""
