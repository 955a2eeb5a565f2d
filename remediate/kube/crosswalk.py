"""Which checks of other scanners each k8sfix fixer answers (data, not code).

Users migrating from kube-score, Checkov, Polaris, kube-linter, Kubescape or the Pod Security
Standards recognise their findings here; ``k8sfix --explain ID`` prints the row, and kube-score's
own ``kube-score/ignore`` annotation is honoured through the kube-score column.
"""

from __future__ import annotations

CROSSWALK: dict[str, dict[str, tuple[str, ...]]] = {
    "image-pull-policy": {
        "kube-score": ("container-image-pull-policy",),
        "Checkov": ("CKV_K8S_15",),
        "Polaris": ("pullPolicyNotAlways",),
        "Kubescape": ("C-0075",),
    },
    "container-resources": {
        # kube-score's container-ephemeral-storage-request-and-limit is answered too (option
        # ephemeral-storage); in a kube-score/ignore annotation it switches off only that part inside
        # the fixer, so only the umbrella check (which switches off the whole fixer) is listed here.
        "kube-score": ("container-resources",),
        "Checkov": ("CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13"),
        "Polaris": ("cpuRequestsMissing", "cpuLimitsMissing", "memoryRequestsMissing", "memoryLimitsMissing"),
        "kube-linter": ("unset-cpu-requirements", "unset-memory-requirements"),
        "Kubescape": ("C-0050", "C-0004", "C-0268", "C-0269", "C-0270", "C-0271"),
    },
    "container-probes": {
        "kube-score": ("pod-probes", "pod-probes-identical"),
        "Checkov": ("CKV_K8S_8", "CKV_K8S_9"),
        "Polaris": ("readinessProbeMissing", "livenessProbeMissing"),
        "kube-linter": ("no-readiness-probe", "no-liveness-probe"),
        "Kubescape": ("C-0018", "C-0056"),
    },
    "security-context": {
        # kube-score's user-group-id, privileged and readonlyrootfilesystem checks are answered too;
        # their ids in a kube-score/ignore annotation switch off single fields inside the fixer, so
        # only the umbrella check (which switches off the whole fixer) is listed here.
        "kube-score": ("container-security-context",),
        "Checkov": (
            "CKV_K8S_16",
            "CKV_K8S_20",
            "CKV_K8S_22",
            "CKV_K8S_23",
            "CKV_K8S_28",
            "CKV_K8S_29",
            "CKV_K8S_30",
            "CKV_K8S_31",
            "CKV_K8S_37",
            "CKV_K8S_40",
        ),
        "Polaris": (
            "runAsRootAllowed",
            "runAsPrivileged",
            "notReadOnlyRootFilesystem",
            "privilegeEscalationAllowed",
            "insecureCapabilities",
        ),
        "kube-linter": (
            "run-as-non-root",
            "no-read-only-root-fs",
            "privilege-escalation-container",
            "privileged-container",
            "drop-net-raw-capability",
        ),
        "Kubescape": ("C-0013", "C-0016", "C-0017", "C-0046", "C-0055", "C-0057"),
        "Pod Security Standards": (
            "restricted: Privilege Escalation",
            "restricted: Running as Non-root",
            "restricted: Running as Non-root user",
            "restricted: Seccomp",
            "restricted: Capabilities",
            "baseline: Privileged Containers",
        ),
    },
    "network-policy": {
        "kube-score": ("pod-networkpolicy",),
        "Checkov": ("CKV2_K8S_6",),  # a graph check: pods without an associated NetworkPolicy
        "kube-linter": ("non-isolated-pod",),
        "Kubescape": ("C-0260",),
    },
    "deprecated-api": {
        # kube-linter's check covers extensions/v1beta1 only; kubeaudit's auditor every removed API.
        "kube-linter": ("no-extensions-v1beta",),
        "kubeaudit": ("deprecatedapis",),
    },
}
"""fixer id -> scanner -> the check IDs of that scanner which the fixer answers."""


def kube_score_ignores(check_ids: str) -> set[str]:
    """The k8sfix fixer ids that a ``kube-score/ignore`` annotation value switches off."""
    wanted = {part.strip() for part in check_ids.split(",") if part.strip()}
    if not wanted:
        return set()
    return {
        fixer for fixer, scanners in CROSSWALK.items() if wanted.intersection(scanners.get("kube-score", ()))
    }
