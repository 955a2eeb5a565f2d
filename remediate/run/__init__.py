"""Running k8sfix over files: configuration, the fixer registry, the per-file pipeline, walks and
atomic writes, the worker pool, and the files that fixes add documents to.
"""
