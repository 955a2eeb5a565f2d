"""A NetworkPolicy for a Helm chart: a new template of the chart, behind a value, as charts have one.

No value of a chart can add an object, so the network-policy fix of a chart is a template of its
own, ``templates/networkpolicy.yaml``, written the way ``helm create`` charts write theirs: named
by the chart's ``fullname`` helper, labelled by its ``labels`` helper, selecting the pods by its
``selectorLabels`` helper (the labels its workloads' selectors use, which do not change at an
upgrade), and switched on by ``networkPolicy.enabled`` in ``values.yaml``. Like the policy of a
plain file it allows all traffic, as without a policy, for the user to narrow.

It is written only for a chart that has neither a ``networkpolicy.yaml`` template nor a
``networkPolicy`` value (a chart with its own policy template has a reason to keep it off), whose
helpers define ``selectorLabels`` (or that vendors Bitnami's ``common`` library, whose
``common.labels.matchLabels`` its workloads select by), and it is proven like every chart fix:
the chart, copied with the new template and values, renders the old objects unchanged plus one
NetworkPolicy, with no new ``helm lint`` warning, after which the network-policy check finds no pod
of the chart uncovered.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from remediate.kube.findings import Finding
from remediate.run.chart_values import checked_templates
from remediate.run.charts import Release, Rendered, RenderError, render_changed, subcharts, template_files
from remediate.run.runner import Engine
from remediate.yaml.document import parse
from remediate.yaml.source import InputError

TEMPLATE = "templates/networkpolicy.yaml"
NETWORK_POLICY = "network-policy"
HELPER = re.compile(r'define\s+"([^"]+)\.selectorLabels"')

VALUES_BLOCK = """
# -- A NetworkPolicy for the chart's pods (templates/networkpolicy.yaml, added by k8sfix). It
# allows all traffic, as without a policy: narrow its rules to what the pods need.
networkPolicy:
  enabled: true
"""
"""The values that switch the policy on, documented as helm-docs reads a chart's values."""

PARAM_BLOCK = """
## @section NetworkPolicy parameters (added by k8sfix)

## @param networkPolicy.enabled An allow-all NetworkPolicy (templates/networkpolicy.yaml): narrow its rules
##
networkPolicy:
  enabled: true
"""
"""The same, documented with ``## @param`` as Bitnami's readme generator reads them, for a chart
whose values are documented so."""


class NewPolicy(NamedTuple):
    """The chart's new policy template and its values text, and the findings it fixes."""

    template: str
    values_text: str
    fixed: list[tuple[str, Finding]]
    rendered: Rendered


class Helpers(NamedTuple):
    """How the chart's own templates name a release's objects, label them and select its pods:
    the ``include`` of each (``include "web.fullname" .``)."""

    fullname: str
    labels: str
    selector: str


def template_text(helpers: Helpers) -> str:
    """The policy template for a chart with these helpers."""
    return (
        "{{- if .Values.networkPolicy.enabled }}\n"
        "# Allows all Ingress and Egress traffic, as without a policy; narrow it to what these pods need.\n"
        "apiVersion: networking.k8s.io/v1\n"
        "kind: NetworkPolicy\n"
        "metadata:\n"
        f"  name: {{{{ {helpers.fullname} }}}}\n"
        "  labels:\n"
        f"    {{{{- {helpers.labels} | nindent 4 }}}}\n"
        "spec:\n"
        "  podSelector:\n"
        "    matchLabels:\n"
        f"      {{{{- {helpers.selector} | nindent 6 }}}}\n"
        "  ingress:\n"
        "    - {}\n"
        "  egress:\n"
        "    - {}\n"
        "  policyTypes:\n"
        "    - Ingress\n"
        "    - Egress\n"
        "{{- end }}\n"
    )


def _has_policy_template(root: str) -> bool:
    """True when a template of the chart (whatever its name, switched on or not) writes a
    NetworkPolicy: its owner has one, and a second would not be the owner's choice."""
    return any(re.search(r"kind:\s*NetworkPolicy\b", text) for _, text in template_files(root))


COMMON = Helpers(
    'include "common.names.fullname" .',
    'include "common.labels.standard" (dict "context" $)',
    'include "common.labels.matchLabels" (dict "context" $)',
)
"""The helpers of Bitnami's ``common`` library chart, vendored in ``charts/`` by the charts built on it."""


def helpers_of(root: str) -> Helpers | None:
    """The chart's helpers: ``<prefix>.selectorLabels``, ``<prefix>.fullname`` and
    ``<prefix>.labels`` as ``helm create`` writes them (in the chart's own ``.tpl`` files), else
    those of a vendored ``common`` library (:data:`COMMON`)."""
    text = "\n".join(
        body
        for relative, body in template_files(root)
        if relative.endswith(".tpl") and os.path.dirname(relative) == "templates"
    )
    for prefix in HELPER.findall(text):
        if f'define "{prefix}.fullname"' in text and f'define "{prefix}.labels"' in text:
            return Helpers(
                f'include "{prefix}.fullname" .',
                f'include "{prefix}.labels" .',
                f'include "{prefix}.selectorLabels" .',
            )
    library = "\n".join(
        body
        for folder in subcharts(root).values()
        for relative, body in template_files(folder)
        if relative.endswith(".tpl")
    )
    names = ("common.names.fullname", "common.labels.standard", "common.labels.matchLabels")
    return COMMON if all(f'define "{name}"' in library for name in names) else None


def propose(
    engine: Engine, root: str, release: Release, rendered: Rendered, values_text: str
) -> NewPolicy | None:
    """The chart's new policy (see the module docstring), or None."""
    checked = checked_templates(engine, rendered, release.namespace)
    wanted = [
        (template, finding)
        for template, entry in checked.items()
        for finding in entry.findings
        if finding.fixer == NETWORK_POLICY
    ]
    if (
        not wanted
        or _has_policy_template(root)
        or re.search(r"^networkPolicy\s*:", values_text, re.MULTILINE)
    ):
        return None
    helpers = helpers_of(root)
    if helpers is None:
        return None
    text = template_text(helpers)
    newline = "\r\n" if "\r\n" in values_text else "\n"
    block = (PARAM_BLOCK if "## @param " in values_text else VALUES_BLOCK).replace("\n", newline)
    new_values = values_text + ("" if values_text.endswith("\n") else newline) + block
    try:
        after = render_changed(root, release, {TEMPLATE: text, "values.yaml": new_values}, lint=True)
    except RenderError:
        return None
    if set(after.templates) != set(rendered.templates) | {TEMPLATE} or after.new_lint(rendered):
        return None
    if any(after.templates[t] != rendered.templates[t] for t in rendered.templates):
        return None
    try:
        policies = parse(after.templates[TEMPLATE])
    except InputError:
        return None
    if len(policies) != 1:
        return None
    left = checked_templates(engine, after, release.namespace)
    if any(f.fixer == NETWORK_POLICY for entry in left.values() for f in entry.findings):
        return None
    return NewPolicy(text, new_values, wanted, after)
