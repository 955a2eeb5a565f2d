"""How results are shown: the text report, unified diffs, JSON, SARIF, GitHub annotations, and the run
and migration reports.
"""
