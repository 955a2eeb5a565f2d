"""Kubernetes knowledge as code and data: kinds and pod templates, the run index, selectors, removed
APIs, versions, schemas and validation, kustomize, ignore annotations, skips, and the fixer interface.
"""
