"""The exit codes of ``k8sfix`` (pre-commit's contract), in one place for the shell and the run.

0: nothing to fix. 1: findings remain, or files changed (``--write``) or would change (``--diff``).
2: an error (unreadable or invalid input, bad config, a fix that failed verification); the other
files are still processed.
"""

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
